import Glibc

/// The members of a JSON object, in document order.
///
/// Keys are compared by their UTF-8 bytes (as RFC 8259 suggests), not by Unicode canonical equivalence, so
/// `"\u{E9}"` and `"e\u{301}"` are different keys. Lookups scan linearly, which is fast for the small objects
/// JSON usually carries.
public struct JSONObject: Sendable, Equatable, Sequence {
    /// One `"key": value` pair of an object.
    public struct Member: Sendable, Equatable {
        /// Whether both have the same key bytes and equal values (see ``JSONValue``'s equality).
        public static func == (lhs: Member, rhs: Member) -> Bool {
            JSONObject.keysEqual(lhs.key, rhs.key) && lhs.value == rhs.value
        }

        /// The member's name.
        public var key: String
        /// The member's value.
        public var value: JSONValue

        /// Creates a member.
        ///
        /// - Parameters:
        ///   - key: The member's name.
        ///   - value: The member's value.
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members in document order. May hold repeated keys if the parser was told to allow them.
    public var members: [Member]

    /// Creates an object from members, kept in the given order.
    ///
    /// - Parameter members: The members; repeated keys are kept as given.
    public init(_ members: [Member] = []) {
        self.members = members
    }

    /// The value of the first member named `key`, or `nil` if there is none.
    ///
    /// - Parameter key: The member name, compared by UTF-8 bytes.
    /// - Returns: The first matching member's value, or `nil`.
    public subscript(key: String) -> JSONValue? {
        guard let position = firstIndex(of: key) else { return nil }
        return members[position].value
    }

    /// Replaces the value of the first member named `key` in place, or appends a new member if there is none.
    ///
    /// - Parameters:
    ///   - key: The member name, compared by UTF-8 bytes.
    ///   - value: The new value.
    public mutating func set(_ key: String, _ value: JSONValue) {
        if let position = firstIndex(of: key) {
            members[position].value = value
        } else {
            members.append(Member(key: key, value: value))
        }
    }

    /// Removes every member named `key`; does nothing if there is none.
    ///
    /// - Parameter key: The member name, compared by UTF-8 bytes.
    public mutating func remove(_ key: String) {
        members.removeAll { JSONObject.keysEqual($0.key, key) }
    }

    /// The number of members.
    public var count: Int {
        members.count
    }

    /// The member names in document order.
    public var keys: [String] {
        members.map(\.key)
    }

    /// Returns an iterator over the members in document order.
    ///
    /// - Returns: An iterator yielding each ``Member``.
    public func makeIterator() -> IndexingIterator<[Member]> {
        members.makeIterator()
    }

    private func firstIndex(of key: String) -> Int? {
        members.firstIndex { JSONObject.keysEqual($0.key, key) }
    }

    /// Whether two keys have identical UTF-8 bytes.
    @inline(__always)
    static func keysEqual(_ lhs: String, _ rhs: String) -> Bool {
        lhs.hasSameUTF8(as: rhs)
    }
}
