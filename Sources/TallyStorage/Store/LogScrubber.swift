import Dispatch
import Synchronization
import TallyCore

/// Re-reads the whole log in the background at a bounded rate (see ``SegmentStore/scrub(pace:)``), so that
/// damage the disk does to stored events is found while the server runs, not by the next full replay.
///
/// The first pass starts at ``start()``; each later one starts ``Configuration/intervalSeconds`` after the
/// last ended. Every change in what a pass finds is logged through the store's log.
public final class LogScrubber: Sendable {
    /// How often and how fast the log is re-read.
    public struct Configuration: Sendable, Equatable {
        /// Seconds from the end of one pass to the start of the next (default a day; taken as at least 1 and
        /// at most a year).
        public var intervalSeconds: Int64
        /// The most bytes read per second (default 64 MiB; taken as at least 1).
        public var bytesPerSecond: Int64

        /// A configuration; the defaults re-read the log daily at up to 64 MiB/s.
        public init(intervalSeconds: Int64 = 86_400, bytesPerSecond: Int64 = 64 << 20) {
            self.intervalSeconds = max(1, intervalSeconds)
            self.bytesPerSecond = max(1, bytesPerSecond)
        }
    }

    /// What the passes so far found.
    public struct Status: Sendable, Equatable {
        /// Passes that reached the log's end.
        public var passes = 0
        /// Bytes checked by every pass so far, stopped ones included.
        public var bytesChecked: Int64 = 0
        /// When the last complete pass ended.
        public var lastPassEnded: Timestamp?
        /// What the last complete pass found wrong (empty when nothing): one line per damaged segment.
        public var problems: [String] = []
    }

    /// The store it reads.
    public let store: SegmentStore
    /// Its settings.
    public let configuration: Configuration
    private let current = Mutex(Status())
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let log: @Sendable (String) -> Void

    /// A scrubber, not yet started.
    /// - Parameters:
    ///   - store: The store whose log it reads.
    ///   - configuration: How often and how fast.
    ///   - log: Where its lines go; by default the store's log.
    public init(
        store: SegmentStore, configuration: Configuration = Configuration(),
        log: (@Sendable (String) -> Void)? = nil
    ) {
        self.store = store
        self.configuration = configuration
        self.log = log ?? store.configuration.log
    }

    /// What the passes so far found.
    public var status: Status { current.withLock { $0 } }

    /// Starts the background thread; a second call does nothing.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        BackgroundThread.start(name: "tally-scrubber") { [self] in run() }
    }

    /// Stops the pass under way, if any, and waits for the thread to end. Safe to call more than once, from
    /// any thread, and without ``start()``: every call returns once the thread has ended.
    public func stop() {
        let first = !stopping.exchange(true, ordering: .acquiringAndReleasing)
        if first { wake.signal() }
        guard started.load(ordering: .acquiring) else { return }
        // Each waiter passes the signal on to the next.
        finished.wait()
        finished.signal()
    }

    /// Whether `stop()` was called: it is checked after each frame and in every wait.
    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// The longest wait between passes (a year): a longer interval would overflow the semaphore's deadline.
    package static let longestIntervalSeconds: Int64 = 365 * 86_400

    private func run() {
        defer { finished.signal() }
        while !isStopping {
            let began = MonotonicClock.nanoseconds()
            var pacer = ScrubPacer(bytesPerSecond: max(1, configuration.bytesPerSecond))
            let report = store.scrub { [self] bytes in
                current.withLock { $0.bytesChecked += bytes }
                let wait = pacer.wait(afterReading: bytes, elapsedNanoseconds: MonotonicClock.nanoseconds() - began)
                if wait > 0 { _ = wake.wait(timeout: .now() + .nanoseconds(Int(wait))) }
                return !isStopping
            }
            if report.interrupted { break }
            let previous = current.withLock { $0.problems }
            let seconds = Double(MonotonicClock.nanoseconds() - began) / 1e9
            let segments = "\(report.segmentsChecked) segment\(report.segmentsChecked == 1 ? "" : "s")"
            let summary = "log scrub: read \(segments) (\(report.bytesChecked) bytes) in \(Int(seconds.rounded())) s"
            // Logged before the status changes: whoever sees the new status finds the line already written.
            if report.problems.isEmpty {
                log(previous.isEmpty ? "\(summary): no damage" : "\(summary): the damage found before is gone")
            } else if report.problems != previous {
                log("\(summary): the log is damaged: \(report.problems.joined(separator: "; ")). \(Self.remedy)")
            }
            if !report.unreadable.isEmpty {
                log(
                    "log scrub: could not read \(report.unreadable.joined(separator: "; ")); not taken for damage, the next pass reads them again"
                )
            }
            current.withLock { status in
                status.passes += 1
                status.lastPassEnded = Timestamp.now()
                status.problems = report.problems
            }
            let interval = min(max(1, configuration.intervalSeconds), Self.longestIntervalSeconds)
            _ = wake.wait(timeout: .now() + .seconds(Int(interval)))
        }
    }

    /// What an operator does about damage a pass found.
    public static let remedy =
        "The live stats are whole and the server keeps serving, but a full replay stops at the damage, and so can a restart: before restarting, run `tally verify` for the full report, then stop the server, run `tally salvage --out DIR` and serve the salvaged store"
}
