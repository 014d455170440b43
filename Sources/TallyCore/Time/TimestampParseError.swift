/// Why a piece of text is not an RFC 3339 timestamp.
public struct TimestampParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, such as "month must be 01-12".
    public var reason: String

    public var description: String { reason }
}
