import Synchronization

/// How long the store's fsyncs take: a cumulative histogram for `/metrics`.
public final class SyncStatistics: Sendable {
    /// Upper bounds of the buckets, in seconds.
    public static let bounds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5]

    /// A snapshot: cumulative counts per bound, the total count and the sum of seconds.
    public struct Snapshot: Sendable {
        public var cumulativeCounts: [Int]
        public var count: Int
        public var sumSeconds: Double
    }

    private let state = Mutex(Snapshot(cumulativeCounts: [Int](repeating: 0, count: SyncStatistics.bounds.count),
                                       count: 0, sumSeconds: 0))

    public init() {}

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

    public var snapshot: Snapshot { state.withLock { $0 } }
}
