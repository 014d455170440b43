import Synchronization
import TallyCore

/// How long the store's fsyncs take: a cumulative histogram for `/metrics`, and a log line for each one that
/// takes longer than a threshold (a stalling disk shows there, not only as slow requests).
public final class SyncStatistics: Sendable {
    /// Upper bounds of the buckets, in seconds.
    public static let bounds: [Double] = [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
        1, 2.5, 5, 10, 30,
    ]

    /// A snapshot: cumulative counts per bound, the total count and the sum of seconds.
    public struct Snapshot: Sendable {
        /// For each of ``SyncStatistics/bounds``: the syncs that took at most that long.
        public var cumulativeCounts: [Int]
        /// All syncs recorded.
        public var count: Int
        /// Their total duration, in seconds.
        public var sumSeconds: Double
    }

    private let state = Mutex(
        Snapshot(
            cumulativeCounts: [Int](repeating: 0, count: SyncStatistics.bounds.count),
            count: 0, sumSeconds: 0))

    private let slowNanoseconds: UInt64
    private let log: @Sendable (String) -> Void

    /// - Parameters:
    ///   - slowAfter: A sync that takes at least this long is logged; `nil` logs none.
    ///   - log: Receives those lines.
    public init(slowAfter: Duration? = nil, log: @escaping @Sendable (String) -> Void = { _ in }) {
        slowNanoseconds = slowAfter?.nanoseconds ?? .max
        self.log = log
    }

    /// Runs `sync`, the fsync of `path`, and records how long it took; logs it when slow. A sync that
    /// fails is not recorded (its failure is reported on its own).
    /// - Parameter path: What is synced, for the log line (such as `segments/00000000000000000000.seg`).
    /// - Throws: What `sync` throws, after it is timed.
    public func time(_ path: @autoclosure () -> String, _ sync: () throws(StorageError) -> Void) throws(StorageError) {
        let started = MonotonicClock.nanoseconds()
        try sync()
        let elapsed = MonotonicClock.nanoseconds() - started
        record(nanoseconds: elapsed)
        if elapsed >= slowNanoseconds {
            let seconds = (Double(elapsed) / 1e7).rounded() / 100
            log(
                "slow fsync: \(path()) took \(seconds) s (the disk stalled; under `always`, ingest waits for every fsync of the log)"
            )
        }
    }

    /// Records one sync of `nanoseconds`.
    public func record(nanoseconds: UInt64) {
        let seconds = Double(nanoseconds) / 1e9
        state.withLock { state in
            for (index, bound) in SyncStatistics.bounds.enumerated() where seconds <= bound {
                state.cumulativeCounts[index] += 1
            }
            state.count += 1
            state.sumSeconds += seconds
        }
    }

    /// The figures so far, read together under the lock.
    public var snapshot: Snapshot { state.withLock { $0 } }
}
