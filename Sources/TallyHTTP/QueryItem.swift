/// One `name=value` pair from the query component of a request-target, percent-decoded with `+` read as space.
public struct QueryItem: Sendable, Equatable, Hashable {
    /// The decoded name.
    public var name: String
    /// The decoded value; empty when the pair had no `=`.
    public var value: String

    /// Creates a query item.
    ///
    /// - Parameters:
    ///   - name: The decoded name.
    ///   - value: The decoded value.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
