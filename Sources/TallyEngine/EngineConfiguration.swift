import TallyCore
import TallyStorage

/// Every tunable of the engine, in one place.
public struct EngineConfiguration: Sendable {
    /// The segment store's settings (durability, segment size, log).
    public var store = StoreConfiguration()
    /// How far in the past live events may be (default 35 days). Also the dedup window.
    public var backdateLimitMicroseconds: Int64 = 35 * 86_400 * 1_000_000
    /// How far ahead of the server clock events may be (default 5 minutes).
    public var futureLimitMicroseconds: Int64 = 5 * 60 * 1_000_000
    /// Write a checkpoint after this many events since the last one (default 5,000,000), or after as many
    /// events as the dedup index remembers ids, whichever is more.
    public var checkpointEveryEvents: UInt64 = 5_000_000
    /// Write a checkpoint when this many seconds have passed with new events (default 300).
    public var checkpointEverySeconds: Int64 = 300
    /// Checkpoints kept on disk (default 2).
    public var checkpointsKept = 2
    /// A batch whose records exceed this many bytes is written as several frames (default 32 MiB, half the
    /// store's frame limit; at most that limit).
    public var maxFrameBytes = Int(SegmentFormat.maxFramePayload) / 2
    /// The clock for time windows and reads; tests substitute a fixed one.
    public var clock: @Sendable () -> Timestamp = { Timestamp.now() }

    /// The default configuration.
    public init() {}

    /// A duration for messages, in the largest whole unit: "35 days", "5 minutes", "90 seconds".
    public static func describe(_ microseconds: Int64) -> String {
        let seconds = microseconds / 1_000_000
        for (unit, length) in [("day", Int64(86_400)), ("hour", 3_600), ("minute", 60)] where seconds >= length && seconds % length == 0 {
            let count = seconds / length
            return "\(count) \(unit)\(count == 1 ? "" : "s")"
        }
        return "\(seconds) second\(seconds == 1 ? "" : "s")"
    }
}
