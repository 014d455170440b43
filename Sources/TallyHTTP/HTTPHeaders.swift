/// The header fields of a request, in the order received, with case-insensitive lookup by name.
///
/// Equality compares the fields in order, with names compared exactly as stored.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The element type: one field line.
    public typealias Element = HTTPHeader
    /// The iterator type, walking the fields in order.
    public typealias Iterator = IndexingIterator<[HTTPHeader]>

    /// The stored field lines, in order.
    private var fields: [HTTPHeader]

    /// Creates an empty header collection.
    public init() {
        fields = []
    }

    /// Creates a header collection from field lines, keeping their order.
    ///
    /// - Parameters:
    ///   - fields: The field lines.
    public init(_ fields: [HTTPHeader]) {
        self.fields = fields
    }

    /// Creates a header collection from a literal such as `["Host": "example.com"]`, keeping literal order.
    ///
    /// - Parameters:
    ///   - elements: The name/value pairs.
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { HTTPHeader(name: $0.0, value: $0.1) }
    }

    /// The value of the first field whose name matches `name` case-insensitively, or `nil` if there is none.
    ///
    /// - Parameters:
    ///   - name: The field name to look up (ASCII case-insensitive).
    /// - Returns: The first matching value, or `nil`.
    public subscript(name: String) -> String? {
        for field in fields where Self.namesMatch(field.name, name) {
            return field.value
        }
        return nil
    }

    /// All values of fields whose name matches `name` case-insensitively, in the order received.
    ///
    /// - Parameters:
    ///   - name: The field name to look up (ASCII case-insensitive).
    /// - Returns: The matching values; empty when there are none.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.namesMatch($0.name, name) }.map(\.value)
    }

    /// How many field lines are named `name`, without collecting their values.
    ///
    /// - Parameters:
    ///   - name: The field name to count (ASCII case-insensitive).
    /// - Returns: The number of matching field lines.
    public func occurrences(_ name: String) -> Int {
        var found = 0
        for field in fields where Self.namesMatch(field.name, name) { found += 1 }
        return found
    }

    /// A list-valued field's lines joined into one value, as RFC 9110 §5.3 reads them (`gzip` and `br` on
    /// two lines mean `gzip, br`).
    ///
    /// - Parameters:
    ///   - name: The field name to look up (ASCII case-insensitive).
    /// - Returns: The values joined with `", "`, or `nil` when there is none.
    public func combined(_ name: String) -> String? {
        occurrences(name) > 1 ? values(name).joined(separator: ", ") : self[name]
    }

    /// The number of field lines.
    public var count: Int { fields.count }

    /// Appends a field line at the end.
    ///
    /// - Parameters:
    ///   - name: The field name.
    ///   - value: The field value.
    public mutating func append(name: String, value: String) {
        fields.append(HTTPHeader(name: name, value: value))
    }

    /// Returns an iterator over the field lines in order.
    ///
    /// - Returns: An iterator yielding each ``HTTPHeader``.
    public func makeIterator() -> IndexingIterator<[HTTPHeader]> {
        fields.makeIterator()
    }

    /// Compares two field names, ignoring ASCII case.
    ///
    /// - Parameters:
    ///   - lhs: One name.
    ///   - rhs: The other name.
    /// - Returns: `true` when they are equal ignoring ASCII case.
    static func namesMatch(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.utf8
        let right = rhs.utf8
        guard left.count == right.count else { return false }
        // Names are short and native: compared in their own storage, byte by byte (every lookup on every
        // request scans the fields this way).
        let inPlace = left.withContiguousStorageIfAvailable { left in
            right.withContiguousStorageIfAvailable { right in
                for index in 0..<left.count
                where HTTPGrammar.lowercased(left[index]) != HTTPGrammar.lowercased(right[index]) {
                    return false
                }
                return true
            }
        }
        if let inPlace, let result = inPlace { return result }
        return left.elementsEqual(right) { HTTPGrammar.lowercased($0) == HTTPGrammar.lowercased($1) }
    }
}
