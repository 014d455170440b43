import Testing

@testable import TallyAuth

@Suite("JWTJSON parser")
struct JWTJSONTests {
    @Test("parses objects, arrays, strings, numbers and literals")
    func parsesAllValueKinds() throws {
        let text = #" { "a" : [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"}, "e": "" } "#
        let value = try #require(JWTJSON.parse(utf8(text)))
        #expect(
            value
                == .object([
                    "a": .array([
                        .integer(1), .integer(-2), .number(3.5), .number(1000), .bool(true), .bool(false), .null,
                    ]),
                    "b": .object(["c": .string("d")]),
                    "e": .string(""),
                ])
        )
    }

    @Test("resolves all string escapes including surrogate pairs")
    func resolvesEscapes() {
        let text = #""q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u20ac \ud83d\ude00 raw é😀""#
        #expect(JWTJSON.parse(utf8(text)) == .string("q\" b\\ s/ \u{8}\u{C}\n\r\t Aé€ 😀 raw é😀"))
    }

    @Test("keeps integers exact up to the Int64 limits and falls back to Double beyond")
    func integerRange() {
        #expect(JWTJSON.parse(utf8("9223372036854775807")) == .integer(Int64.max))
        #expect(JWTJSON.parse(utf8("-9223372036854775808")) == .integer(Int64.min))
        #expect(JWTJSON.parse(utf8("9223372036854775808")) == .number(9_223_372_036_854_775_808))
        #expect(JWTJSON.parse(utf8("-0")) == .integer(0))
        #expect(JWTJSON.parse(utf8("0.5")) == .number(0.5))
        #expect(JWTJSON.parse(utf8("-1.5E-1")) == .number(-0.15))
    }

    @Test("keeps object members in document order and rejects duplicates in small and large objects")
    func objectMembers() throws {
        let members = (0..<40).map { #""k\#($0)":\#($0)"# }
        let parsed = try #require(JWTJSON.parse(utf8("{" + members.joined(separator: ",") + "}")))
        guard case .object(let object) = parsed else {
            Issue.record("expected an object")
            return
        }
        #expect(object.names == (0..<40).map { "k\($0)" })
        #expect(object["k39"] == .integer(39))
        #expect(object["k40"] == nil)
        for duplicate in ["k0", "k15", "k16", "k39"] {
            let text = "{" + (members + [#""\#(duplicate)":0"#]).joined(separator: ",") + "}"
            #expect(JWTJSON.parse(utf8(text)) == nil, "\(duplicate)")
        }
        #expect(JWTJSON.parse(utf8(#"{"b":1,"a":2}"#)) == .object(["b": .integer(1), "a": .integer(2)]))
        #expect(JWTJSON.parse(utf8(#"{"b":1,"a":2}"#)) != .object(["a": .integer(2), "b": .integer(1)]))
    }

    @Test("accepts nesting up to depth 16")
    func acceptsDepth16() {
        let text = String(repeating: "[", count: 16) + String(repeating: "]", count: 16)
        let arrays = (0..<15).reduce(JWTJSON.array([])) { inner, _ in .array([inner]) }
        #expect(JWTJSON.parse(utf8(text)) == arrays)
        let objects = String(repeating: #"{"a":"#, count: 15) + "{}" + String(repeating: "}", count: 15)
        let nested = (0..<15).reduce(JWTJSON.object([:])) { inner, _ in .object(["a": inner]) }
        #expect(JWTJSON.parse(utf8(objects)) == nested)
    }

    /// Documents the strict parser must reject.
    static let invalidDocuments: [(reason: String, bytes: [UInt8])] = [
        ("empty", utf8("")),
        ("whitespace only", utf8("  ")),
        ("depth 17", utf8(String(repeating: "[", count: 17) + String(repeating: "]", count: 17))),
        ("deep hostile nesting", utf8(String(repeating: "[", count: 100_000))),
        ("trailing comma in array", utf8("[1,]")),
        ("trailing comma in object", utf8(#"{"a":1,}"#)),
        ("missing colon", utf8(#"{"a" 1}"#)),
        ("unquoted key", utf8("{a:1}")),
        ("single quotes", utf8("'a'")),
        ("duplicate key", utf8(#"{"a":1,"a":2}"#)),
        ("trailing content", utf8("{} {}")),
        ("leading zero", utf8("01")),
        ("bare fraction", utf8(".5")),
        ("empty fraction", utf8("1.")),
        ("empty exponent", utf8("1e")),
        ("exponent sign only", utf8("1e+")),
        ("plus sign", utf8("+1")),
        ("infinite number", utf8("1e400")),
        ("NaN", utf8("NaN")),
        ("truncated literal", utf8("tru")),
        ("capitalised literal", utf8("True")),
        ("unterminated string", utf8(#""abc"#)),
        ("raw newline in string", utf8("\"a\nb\"")),
        ("raw control char in string", [0x22, 0x01, 0x22]),
        ("invalid escape", utf8(#""\x41""#)),
        ("short unicode escape", utf8(#""\u00""#)),
        ("non-hex unicode escape", utf8(#""\u00g0""#)),
        ("lone high surrogate", utf8(#""\ud83d""#)),
        ("high surrogate then letter", utf8(#""\ud83dx""#)),
        ("high surrogate then non-low escape", utf8(#""\ud83d\u0041""#)),
        ("lone low surrogate", utf8(#""\ude00""#)),
        ("overlong UTF-8", [0x22, 0xC0, 0x80, 0x22]),
        ("UTF-8 encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22]),
        ("invalid UTF-8 byte", [0x22, 0xFF, 0x22]),
        ("truncated UTF-8", [0x22, 0xE2, 0x82, 0x22]),
        ("code point above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
        ("comment", utf8("{} // x")),
    ]

    @Test("rejects invalid documents", arguments: invalidDocuments)
    func rejectsInvalid(reason: String, bytes: [UInt8]) {
        #expect(JWTJSON.parse(bytes) == nil, "\(reason)")
    }

    @Test("writes string literals that it reads back unchanged")
    func escapesRoundTrip() {
        let samples = [
            "", "plain", "quote \" backslash \\ slash /", "controls \u{0}\u{1}\u{8}\u{C}\n\r\t\u{1F}", "é€😀",
        ]
        for sample in samples {
            var output: [UInt8] = []
            JWTJSON.appendStringLiteral(sample, to: &output)
            #expect(JWTJSON.parse(output) == .string(sample))
            #expect(!output.contains { $0 < 0x20 })
        }
    }
}
