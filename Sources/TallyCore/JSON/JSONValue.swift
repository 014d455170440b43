/// A parsed JSON value.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// Object members in document order.
public struct JSONObject: Sendable, Equatable, Sequence {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }
    public var members: [Member]
    public init(_ members: [Member] = []) { self.members = members }
    public subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }
    public var count: Int { members.count }
    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }
}
