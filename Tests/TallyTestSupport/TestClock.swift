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

    /// The clock as the closure a configuration takes.
    public var reading: @Sendable () -> Timestamp { { [self] in now } }
}
