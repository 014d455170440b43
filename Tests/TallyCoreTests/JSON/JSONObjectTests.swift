import TallyCore
import TallyTestSupport
import Testing

@Suite("JSONObject")
struct JSONObjectTests {
    static let sample = JSONObject([
        .init(key: "a", value: .int(1)), .init(key: "b", value: .int(2)), .init(key: "a", value: .int(3)),
    ])

    @Test("Subscript returns the first matching member")
    func subscriptReturnsFirstMatch() {
        #expect(JSONObjectTests.sample["a"] == .int(1))
        #expect(JSONObjectTests.sample["b"] == .int(2))
        #expect(JSONObjectTests.sample["missing"] == nil)
    }

    @Test("set replaces the first match in place or appends")
    func setReplacesOrAppends() {
        var object = JSONObjectTests.sample
        object.set("a", .string("x"))
        object.set("c", .null)
        #expect(object.keys == ["a", "b", "a", "c"])
        #expect(object.members[0].value == .string("x"))
        #expect(object.members[2].value == .int(3))
        #expect(object["c"] == .null)
    }

    @Test("remove deletes every member with the key")
    func removeDeletesEveryMatch() {
        var object = JSONObjectTests.sample
        object.remove("a")
        #expect(object.keys == ["b"])
        object.remove("missing")
        #expect(object.count == 1)
    }

    @Test("count, keys and iteration follow document order")
    func countKeysAndIterationFollowOrder() {
        let object = JSONObjectTests.sample
        #expect(object.count == 3)
        #expect(object.keys == ["a", "b", "a"])
        #expect(object.map(\.value) == [.int(1), .int(2), .int(3)])
        #expect(JSONObject().count == 0)
        #expect(JSONObject().keys.isEmpty)
    }

    @Test("Keys are matched by bytes, not canonical equivalence")
    func keysMatchByBytes() {
        var object = JSONObject()
        object.set("\u{E9}", .int(1))
        object.set("e\u{301}", .int(2))
        #expect(object.count == 2)
        #expect(object["\u{E9}"] == .int(1))
        #expect(object["e\u{301}"] == .int(2))
        object.remove("e\u{301}")
        #expect(object.keys == ["\u{E9}"])
    }

    @Test("Equality is order sensitive")
    func equalityIsOrderSensitive() {
        let ab = JSONObject([.init(key: "a", value: .null), .init(key: "b", value: .null)])
        let ba = JSONObject([.init(key: "b", value: .null), .init(key: "a", value: .null)])
        #expect(ab != ba)
        #expect(ab == JSONObject(ab.members))
    }

    @Test("Equality compares strings and keys by bytes, as lookups do")
    func equalityComparesBytes() {
        #expect(JSONValue.string("\u{E9}") != .string("e\u{301}"))
        #expect(JSONValue.string("e\u{301}") == .string("e\u{301}"))
        let composedKey = JSONObject([.init(key: "\u{E9}", value: .null)])
        let decomposedKey = JSONObject([.init(key: "e\u{301}", value: .null)])
        #expect(composedKey != decomposedKey)
        let composedValue = JSONValue.object(JSONObject([.init(key: "a", value: .array([.string("\u{E9}")]))]))
        let decomposedValue = JSONValue.object(JSONObject([.init(key: "a", value: .array([.string("e\u{301}")]))]))
        #expect(composedValue != decomposedValue)
        #expect(composedValue == .object(JSONObject([.init(key: "a", value: .array([.string("\u{E9}")]))])))
        #expect(JSONValue.int(1) != .double(1))
    }
}
