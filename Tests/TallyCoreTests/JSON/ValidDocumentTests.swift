import TallyCore
import TallyTestSupport
import Testing

/// A JSON text and the value it must parse to.
struct ValidCase: Sendable, CustomTestStringConvertible {
    var text: String
    var expected: JSONValue
    var testDescription: String { text.debugDescription }

    init(_ text: String, _ expected: JSONValue) {
        self.text = text
        self.expected = expected
    }
}

@Suite("Valid documents")
struct ValidDocumentTests {
    static let cases: [ValidCase] = [
        // Literals
        ValidCase("null", .null),
        ValidCase("true", .bool(true)),
        ValidCase("false", .bool(false)),
        // Integers
        ValidCase("0", .int(0)),
        ValidCase("-0", .int(0)),
        ValidCase("7", .int(7)),
        ValidCase("-42", .int(-42)),
        ValidCase("9223372036854775807", .int(.max)),
        ValidCase("-9223372036854775808", .int(.min)),
        // Integral literals outside Int64 become doubles
        ValidCase("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ValidCase("-9223372036854775809", .double(-9_223_372_036_854_775_809)),
        ValidCase("18446744073709551616", .double(18_446_744_073_709_551_616)),
        ValidCase("123456789012345678901234567890", .double(1.2345678901234568e29)),
        // Fractions and exponents are always doubles
        ValidCase("0.0", .double(0)),
        ValidCase("-0.0", .double(-0.0)),
        ValidCase("1.0", .double(1)),
        ValidCase("1.5", .double(1.5)),
        ValidCase("-12.375", .double(-12.375)),
        ValidCase("0.1", .double(0.1)),
        ValidCase("0.30000000000000004", .double(0.30000000000000004)),
        ValidCase("1e2", .double(100)),
        ValidCase("1E2", .double(100)),
        ValidCase("1e+2", .double(100)),
        ValidCase("1e-2", .double(0.01)),
        ValidCase("0e0", .double(0)),
        ValidCase("-0e-0", .double(-0.0)),
        ValidCase("123.456e-7", .double(1.23456e-5)),
        ValidCase("1e22", .double(1e22)),
        ValidCase("1e23", .double(1e23)),
        ValidCase("9007199254740993", .int(9_007_199_254_740_993)),
        ValidCase("9007199254740993.0", .double(9_007_199_254_740_992)),
        ValidCase("3.14159265358979323846264338327950288", .double(.pi)),
        ValidCase("2.2250738585072014e-308", .double(2.2250738585072014e-308)),
        ValidCase("4.9406564584124654e-324", .double(.leastNonzeroMagnitude)),
        ValidCase("1.7976931348623157e308", .double(.greatestFiniteMagnitude)),
        ValidCase("1e-400", .double(0)),
        ValidCase("-1e-400", .double(-0.0)),
        ValidCase("1e0000000000000000000000002", .double(100)),
        // Strings
        ValidCase(#""""#, .string("")),
        ValidCase(#""abc""#, .string("abc")),
        ValidCase(
            #""a longer ASCII string that spans several words""#,
            .string("a longer ASCII string that spans several words")),
        ValidCase(#""\"\\\/\b\f\n\r\t""#, .string("\"\\/\u{8}\u{C}\n\r\t")),
        ValidCase(#""\u0041\u00e9\u20AC\uFFFF""#, .string("A\u{E9}\u{20AC}\u{FFFF}")),
        ValidCase(#""\ud83d\ude00 \uD83D\uDE00""#, .string("😀 😀")),
        ValidCase(#""\uDBFF\uDFFF""#, .string("\u{10FFFF}")),
        ValidCase(#""\u0000""#, .string("\u{0}")),
        ValidCase(#""a\u0000b""#, .string("a\u{0}b")),
        ValidCase("\"h\u{E9}llo \u{1F600} \u{4E2D}\u{6587}\"", .string("h\u{E9}llo \u{1F600} \u{4E2D}\u{6587}")),
        ValidCase("\"e\u{301}\"", .string("e\u{301}")),
        ValidCase("\"\u{7F}\"", .string("\u{7F}")),
        ValidCase("\"\u{2028}\u{2029}\"", .string("\u{2028}\u{2029}")),
        ValidCase(#""escape at the end of a long run\n""#, .string("escape at the end of a long run\n")),
        ValidCase(#""\n escape at the start of a long run""#, .string("\n escape at the start of a long run")),
        ValidCase("\"mixed \\t and \u{E9} and \\u00e9 and \u{1F600}\"", .string("mixed \t and é and é and 😀")),
        // Containers
        ValidCase("[]", .array([])),
        ValidCase("{}", .object(JSONObject())),
        ValidCase("[1,2,3]", .array([.int(1), .int(2), .int(3)])),
        ValidCase("[[[]]]", .array([.array([.array([])])])),
        ValidCase(#"{"a":1}"#, object(["a": .int(1)])),
        ValidCase(#"{"b":1,"a":2}"#, object(["b": .int(1), "a": .int(2)])),
        ValidCase(
            #"{"a":{"b":[null,true,false,"x",1.5,-3]}}"#,
            object([
                "a": object([
                    "b": .array([
                        .null, .bool(true), .bool(false), .string("x"), .double(1.5),
                        .int(-3),
                    ])
                ])
            ])),
        ValidCase(#"{"":""}"#, object(["": .string("")])),
        ValidCase(#"{"\u0061":1,"a\u0000":2}"#, object(["a": .int(1), "a\u{0}": .int(2)])),
        ValidCase("{\"\u{E9}\":1,\"e\u{301}\":2}", object(["\u{E9}": .int(1), "e\u{301}": .int(2)])),
        // Whitespace: only space, tab, line feed and carriage return, anywhere between tokens
        ValidCase(" \t\r\n1\n", .int(1)),
        ValidCase(" [ 1 , { \"a\" : [ ] } ] ", .array([.int(1), object(["a": .array([])])])),
        ValidCase("{\r\n\t\"k\"\t:\r\n\"v\"\r\n}", object(["k": .string("v")])),
    ]

    @Test("Valid documents parse to the expected value", arguments: cases)
    func validDocumentParsesToExpectedValue(_ testCase: ValidCase) throws {
        let value = try JSONParser().parse(testCase.text)
        #expect(identical(value, testCase.expected), "got \(value)")
    }

    @Test("The String, byte-array and raw-buffer entry points agree", arguments: cases)
    func entryPointsAgree(_ testCase: ValidCase) throws {
        let parser = JSONParser()
        let bytes = Array(testCase.text.utf8)
        let fromString = try parser.parse(testCase.text)
        let fromArray = try parser.parse(bytes)
        let fromBuffer = try bytes.withUnsafeBytes { buffer throws(JSONParseError) in try parser.parse(buffer) }
        #expect(identical(fromString, fromArray))
        #expect(identical(fromString, fromBuffer))
    }

    @Test("Integral literals become .int and every other number becomes .double")
    func numberKindFollowsLiteralShape() throws {
        let parser = JSONParser()
        #expect(try parser.parse("10") == .int(10))
        #expect(try parser.parse("10.0") == .double(10))
        #expect(try parser.parse("1e1") == .double(10))
        #expect(try parser.parse("-9223372036854775808") == .int(.min))
        #expect(try parser.parse("-9223372036854775809") == .double(-9_223_372_036_854_775_808))
    }

    @Test("Negative zero keeps its sign as a double")
    func negativeZeroKeepsSign() throws {
        guard case .double(let value) = try JSONParser().parse("-0.0") else {
            Issue.record("expected a double")
            return
        }
        #expect(value == 0 && value.sign == .minus)
    }

    @Test("Duplicate keys are kept in order when allowed")
    func duplicateKeysAreKeptWhenAllowed() throws {
        let parser = JSONParser(limits: .init(rejectDuplicateKeys: false))
        let value = try parser.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(
            identical(
                value,
                .object(
                    JSONObject([
                        .init(key: "a", value: .int(1)), .init(key: "b", value: .int(2)),
                        .init(key: "a", value: .int(3)),
                    ]))))
    }

    @Test("Large objects and arrays parse completely")
    func largeContainersParse() throws {
        let keys = (0..<1000).map { "key\($0)" }
        let text = "{" + keys.enumerated().map { "\"\($1)\":[\($0),\"\($1)\"]" }.joined(separator: ",") + "}"
        guard case .object(let parsed) = try JSONParser().parse(text) else {
            Issue.record("expected an object")
            return
        }
        #expect(parsed.keys == keys)
        #expect(parsed["key999"] == .array([.int(999), .string("key999")]))
    }

    @Test("Nesting up to maxDepth is accepted", arguments: [0, 1, 2, 64, 500])
    func nestingUpToMaxDepthIsAccepted(_ depth: Int) throws {
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let parser = JSONParser(limits: .init(maxDepth: max(depth, 0)))
        if depth == 0 {
            #expect(try parser.parse("1") == .int(1))
        } else {
            var value = try parser.parse(text)
            var levels = 0
            while case .array(let elements) = value {
                levels += 1
                value = elements.first ?? .null
            }
            #expect(levels == depth)
        }
    }
}
