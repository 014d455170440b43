import TallyCore
import TallyStorage

/// Every tunable of the engine, in one place.
public struct EngineConfiguration: Sendable {
    /// The segment store's settings (durability, segment size, log).
    public var store = StoreConfiguration()
    /// How far in the past live events may be (default 35 days, at most ``maximumBackdateLimitMicroseconds``).
    /// Also the dedup window.
    public var backdateLimitMicroseconds: Int64 = 35 * 86_400 * 1_000_000
    /// How far ahead of the server clock events may be (default 5 minutes, at most
    /// ``maximumFutureLimitMicroseconds``).
    public var futureLimitMicroseconds: Int64 = 5 * 60 * 1_000_000

    /// The longest backdate limit (330 days). The dedup index files each id under its event hour modulo
    /// 2^14 and tells expired hours from current ones by the wrapped difference, so the window, future
    /// limit included, must stay under 2^13 hours (341 days).
    public static let maximumBackdateLimitMicroseconds: Int64 = 330 * 86_400 * 1_000_000
    /// The longest future limit (1 day).
    public static let maximumFutureLimitMicroseconds: Int64 = 86_400 * 1_000_000
    /// Write a checkpoint after this many events since the last one (default 5,000,000), or after as many
    /// events as the dedup index remembers ids, whichever is more.
    public var checkpointEveryEvents: UInt64 = 5_000_000
    /// Write a checkpoint when this many seconds have passed with new events (default 300).
    public var checkpointEverySeconds: Int64 = 300
    /// Disk space a checkpoint leaves free for the log (default 64 MiB): the checkpointer writes none while
    /// the disk holding the store has less free than the newest checkpoint's size plus this, so a checkpoint
    /// never fills the disk the log's next append needs.
    public var checkpointDiskReserve: Int64 = 64 << 20
    /// After a checkpoint fails or is skipped for space, the checkpointer waits this long before the next try
    /// (default 10 s), twice as long after each further one, up to ``checkpointRetryLimit``.
    public var checkpointRetryDelay: Duration = .seconds(10)
    /// The longest wait between checkpoint tries (default 10 minutes).
    public var checkpointRetryLimit: Duration = .seconds(600)
    /// Checkpoints kept on disk (default 2).
    public var checkpointsKept = 2
    /// A checkpoint file is synced whenever this many bytes were written to it since its last sync (default
    /// 8 MiB), so the disk never holds a large flush that the log's own fsyncs would wait behind.
    public var checkpointSyncBytes = 8 << 20
    /// A batch whose records exceed this many bytes is written as several frames (default 32 MiB, half the
    /// store's frame limit; at most that limit).
    public var maxFrameBytes = Int(SegmentFormat.maxFramePayload) / 2
    /// How many events older than the window one backfill (`tally import`) remembers so that a repeat is a
    /// duplicate and a void finds its target (default 4,194,304, about 260 MB at most; at least 1). The
    /// oldest are forgotten first.
    public var backfillRememberedIds = 1 << 22
    /// Reading the targets of a batch's voids from the log (on the log's writer thread, so later batches
    /// wait) logs a warning when it takes this long or longer (default 1 s).
    public var slowVoidReadWarning: Duration = .seconds(1)
    /// How the log is re-read in the background to find damage after open (see ``LogScrubber``), or `nil`
    /// for no background scrub (the default; `tally serve` scrubs daily unless told not to).
    public var scrub: LogScrubber.Configuration? = nil
    /// Whether the background scrub begins as the engine opens; when `false` it waits for
    /// ``Engine/startScrubbing()`` (`tally serve` calls it once it listens, so a start that fails, on a port in
    /// use say, reports no scrub).
    public var scrubStartsWhenOpened = true
    /// The clock for time windows and reads; tests substitute a fixed one.
    public var clock: @Sendable () -> Timestamp = { Timestamp.now() }

    /// The default configuration.
    public init() {}

    /// A setting out of its range: which one, and the message naming the range and the value given.
    public struct InvalidSetting: Error, Sendable, Equatable, CustomStringConvertible {
        /// The setting, as ``EngineConfiguration`` names it (such as `backdateLimitMicroseconds`).
        public var setting: String
        /// What is wrong and what is allowed, for the operator.
        public var description: String
    }

    /// Checks the settings that have limits; ``Engine/init(directory:configuration:fileSystem:)`` calls it.
    /// - Throws: ``InvalidSetting`` naming the first setting out of range.
    public func validate() throws(InvalidSetting) {
        guard backdateLimitMicroseconds > 0, backdateLimitMicroseconds <= Self.maximumBackdateLimitMicroseconds else {
            throw InvalidSetting(
                setting: "backdateLimitMicroseconds",
                description:
                    "the backdate limit must be more than 0 and at most \(Self.describe(Self.maximumBackdateLimitMicroseconds)), got \(Self.describe(backdateLimitMicroseconds))"
            )
        }
        guard futureLimitMicroseconds >= 0, futureLimitMicroseconds <= Self.maximumFutureLimitMicroseconds else {
            throw InvalidSetting(
                setting: "futureLimitMicroseconds",
                description:
                    "the future limit must be from 0 to \(Self.describe(Self.maximumFutureLimitMicroseconds)), got \(Self.describe(futureLimitMicroseconds))"
            )
        }
        guard backfillRememberedIds >= 1 else {
            throw InvalidSetting(
                setting: "backfillRememberedIds",
                description: "a backfill must remember at least 1 older event, got \(backfillRememberedIds)"
            )
        }
    }

    /// A count for messages, with thousands separated by commas: "4,194,304".
    public static func describe(count: Int) -> String {
        let digits = String(count.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return count < 0 ? "-" + grouped : grouped
    }

    /// A duration for messages, in the largest whole unit: "35 days", "5 minutes", "90 seconds".
    public static func describe(_ microseconds: Int64) -> String {
        let seconds = microseconds / 1_000_000
        for (unit, length) in [("day", Int64(86_400)), ("hour", 3_600), ("minute", 60)]
        where seconds >= length && seconds % length == 0 {
            let count = seconds / length
            return "\(count) \(unit)\(count == 1 ? "" : "s")"
        }
        return "\(seconds) second\(seconds == 1 ? "" : "s")"
    }
}
