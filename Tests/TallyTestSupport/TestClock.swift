import Synchronization
import TallyCore

/// A clock a test sets and moves, for code that takes a clock closure (the engine's windows, token expiry).
public final class TestClock: Sendable {
    private let time: Mutex<Timestamp>

    /// A clock standing at `start`.
    public init(_ start: Timestamp) {
        time = Mutex(start)
    }

    /// The time now.
    public var now: Timestamp { time.withLock { $0 } }

    /// Moves the clock to `time` (backwards too).
    public func set(_ time: Timestamp) {
        self.time.withLock { $0 = time }
    }

    /// Moves the clock by `microseconds` (negative moves it back).
    public func advance(microseconds: Int64) {
        time.withLock { $0 = Timestamp(microseconds: $0.microseconds + microseconds) }
    }

    /// The wall clock moved to the middle of its UTC month: it reads the 15th at noon when called first and
    /// runs on in real time from there, so a test counting "this month" cannot see the month turn while it
    /// runs, yet tokens and windows stamped from the wall clock stay within days of it.
    public static func midMonth() -> @Sendable () -> Timestamp {
        let now = Timestamp.now()
        let middle = now.calendarMonth.start.microseconds + (14 * 24 + 12) * 3_600_000_000
        let offset = middle - now.microseconds
        return { Timestamp(microseconds: Timestamp.now().microseconds + offset) }
    }

    /// The clock as the closure a configuration takes.
    public var reading: @Sendable () -> Timestamp { { [self] in now } }
}
