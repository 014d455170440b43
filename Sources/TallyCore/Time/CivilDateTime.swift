/// A UTC calendar date and time of day.
public struct CivilDateTime: Sendable, Hashable {
    /// The UTC calendar date.
    public var date: CivilDate
    /// The hour, 0–23.
    public var hour: Int
    /// The minute, 0–59.
    public var minute: Int
    /// The second, 0–59 (no leap seconds).
    public var second: Int
    /// Microseconds into the second, 0–999,999.
    public var microsecond: Int
}
