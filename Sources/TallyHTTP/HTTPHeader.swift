/// One header field line: a name and its value, as received.
public struct HTTPHeader: Sendable, Equatable, Hashable {
    /// The field name with its original spelling (case preserved).
    public var name: String
    /// The field value with leading and trailing optional whitespace removed.
    public var value: String

    /// Creates a header field.
    ///
    /// - Parameters:
    ///   - name: The field name.
    ///   - value: The field value.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
