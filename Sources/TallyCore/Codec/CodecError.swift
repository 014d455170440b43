/// Why bytes could not be decoded as a record.
public struct CodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, such as "truncated: needed 8 bytes at byte 12, 3 left".
    public var reason: String

    /// Creates a codec error.
    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
