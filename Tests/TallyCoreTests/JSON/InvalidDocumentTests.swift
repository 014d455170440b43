import TallyCore
import TallyTestSupport
import Testing

/// A JSON text the parser must reject, with the expected error kind and byte offset.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    var bytes: [UInt8]
    var kind: JSONParseError.Kind
    var offset: Int
    var testDescription: String { String(decoding: bytes, as: UTF8.self).debugDescription }

    init(_ text: String, _ kind: JSONParseError.Kind, at offset: Int) {
        self.bytes = Array(text.utf8)
        self.kind = kind
        self.offset = offset
    }
}

@Suite("Invalid documents")
struct InvalidDocumentTests {
    static let cases: [InvalidCase] = [
        // Empty input
        InvalidCase("", .emptyInput, at: 0),
        InvalidCase(" \t\r\n", .emptyInput, at: 4),
        // Literals must be exact
        InvalidCase("nul", .unexpectedEnd, at: 3),
        InvalidCase("nulx", .unexpectedByte, at: 3),
        InvalidCase("tru", .unexpectedEnd, at: 3),
        InvalidCase("True", .unexpectedByte, at: 0),
        InvalidCase("fals", .unexpectedEnd, at: 4),
        InvalidCase("falsey", .trailingData, at: 5),
        InvalidCase("NaN", .unexpectedByte, at: 0),
        InvalidCase("Infinity", .unexpectedByte, at: 0),
        InvalidCase("-Infinity", .invalidNumber, at: 1),
        InvalidCase("undefined", .unexpectedByte, at: 0),
        InvalidCase("'a'", .unexpectedByte, at: 0),
        InvalidCase("/* c */ 1", .unexpectedByte, at: 0),
        // Number grammar
        InvalidCase("01", .invalidNumber, at: 1),
        InvalidCase("-01", .invalidNumber, at: 2),
        InvalidCase("00", .invalidNumber, at: 1),
        InvalidCase("+1", .unexpectedByte, at: 0),
        InvalidCase(".5", .unexpectedByte, at: 0),
        InvalidCase("5.", .unexpectedEnd, at: 2),
        InvalidCase("5.e3", .invalidNumber, at: 2),
        InvalidCase("[5.]", .invalidNumber, at: 3),
        InvalidCase("-", .unexpectedEnd, at: 1),
        InvalidCase("-a", .invalidNumber, at: 1),
        InvalidCase("--1", .invalidNumber, at: 1),
        InvalidCase("[-]", .invalidNumber, at: 2),
        InvalidCase("1e", .unexpectedEnd, at: 2),
        InvalidCase("1e+", .unexpectedEnd, at: 3),
        InvalidCase("1ex", .invalidNumber, at: 2),
        InvalidCase("1e+-1", .invalidNumber, at: 3),
        InvalidCase("0x10", .trailingData, at: 1),
        InvalidCase("1.5.3", .trailingData, at: 3),
        InvalidCase("1e400", .numberOutOfRange, at: 0),
        InvalidCase("[-1.8e308]", .numberOutOfRange, at: 1),
        InvalidCase("1" + String(repeating: "0", count: 400) + ".0", .numberOutOfRange, at: 0),
        // Structure
        InvalidCase("1 2", .trailingData, at: 2),
        InvalidCase("[1]x", .trailingData, at: 3),
        InvalidCase("{} {}", .trailingData, at: 3),
        InvalidCase("[", .unexpectedEnd, at: 1),
        InvalidCase("[1", .unexpectedEnd, at: 2),
        InvalidCase("[1,", .unexpectedEnd, at: 3),
        InvalidCase("[1,]", .unexpectedByte, at: 3),
        InvalidCase("[,1]", .unexpectedByte, at: 1),
        InvalidCase("[1 2]", .unexpectedByte, at: 3),
        InvalidCase("[1:2]", .unexpectedByte, at: 2),
        InvalidCase("]", .unexpectedByte, at: 0),
        InvalidCase("{", .unexpectedEnd, at: 1),
        InvalidCase(#"{"a""#, .unexpectedEnd, at: 4),
        InvalidCase(#"{"a":"#, .unexpectedEnd, at: 5),
        InvalidCase(#"{"a":1"#, .unexpectedEnd, at: 6),
        InvalidCase(#"{"a"}"#, .unexpectedByte, at: 4),
        InvalidCase(#"{"a" 1}"#, .unexpectedByte, at: 5),
        InvalidCase(#"{"a":}"#, .unexpectedByte, at: 5),
        InvalidCase(#"{"a":1,}"#, .unexpectedByte, at: 7),
        InvalidCase(#"{"a":1 "b":2}"#, .unexpectedByte, at: 7),
        InvalidCase(#"{"a":1]"#, .unexpectedByte, at: 6),
        InvalidCase("{a:1}", .unexpectedByte, at: 1),
        InvalidCase("{1:1}", .unexpectedByte, at: 1),
        InvalidCase("{,}", .unexpectedByte, at: 1),
        // Duplicate keys (rejected by default), compared by bytes
        InvalidCase(#"{"a":1,"a":2}"#, .duplicateKey, at: 7),
        InvalidCase(#"{"a":1,"b":{"c":1,"c":2}}"#, .duplicateKey, at: 18),
        InvalidCase(#"{"a":1,"\u0061":2}"#, .duplicateKey, at: 7),
        // Whitespace is only space, tab, line feed and carriage return
        InvalidCase("\u{C}1", .unexpectedByte, at: 0),
        InvalidCase("[1\u{B}]", .unexpectedByte, at: 2),
        InvalidCase("\u{A0}1", .unexpectedByte, at: 0),
        InvalidCase("\u{FEFF}1", .unexpectedByte, at: 0),
        InvalidCase("1\u{0}", .trailingData, at: 1),
        // Strings
        InvalidCase(#""abc"#, .unexpectedEnd, at: 4),
        InvalidCase("\"", .unexpectedEnd, at: 1),
        InvalidCase("\"a\tb\"", .controlCharacterInString, at: 2),
        InvalidCase("\"line\nbreak\"", .controlCharacterInString, at: 5),
        InvalidCase("\"\u{0}\"", .controlCharacterInString, at: 1),
        InvalidCase("\"\u{1F}\"", .controlCharacterInString, at: 1),
        InvalidCase("\"a long string with a raw\ttab inside\"", .controlCharacterInString, at: 25),
        InvalidCase("\"escape\\n then raw\u{1}\"", .controlCharacterInString, at: 18),
        InvalidCase(#""\x""#, .invalidEscape, at: 1),
        InvalidCase(#""\'""#, .invalidEscape, at: 1),
        InvalidCase(#""\U0041""#, .invalidEscape, at: 1),
        InvalidCase(#""abc\0""#, .invalidEscape, at: 4),
        InvalidCase(#""\"#, .unexpectedEnd, at: 2),
        InvalidCase(#""\u00"#, .unexpectedEnd, at: 5),
        InvalidCase(#""\u12G4""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\u12""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\u-123""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\uD800""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\uDBFF ""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\uDC00""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""ab\uDFFF\uD800""#, .invalidUnicodeEscape, at: 3),
        InvalidCase(#""\uD800\u0041""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\uD800\uD800""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\uD800\n""#, .invalidUnicodeEscape, at: 1),
        InvalidCase(#""\uD800\uDC0""#, .invalidUnicodeEscape, at: 7),
        InvalidCase(#""\uD800"#, .unexpectedEnd, at: 7),
        InvalidCase(#""\uD800\"#, .unexpectedEnd, at: 8),
    ]

    @Test("Invalid documents fail with the expected kind and offset", arguments: cases)
    func invalidDocumentFailsWithKindAndOffset(_ testCase: InvalidCase) {
        let error = parseError(testCase.bytes)
        #expect(error?.kind == testCase.kind, "\(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.offset == testCase.offset, "\(error.map(String.init(describing:)) ?? "no error")")
    }

    @Test("Errors report line, column and a readable message")
    func errorsReportLineColumnAndMessage() {
        let error = parseError(#"{"abc":12345,}"#)
        #expect(error?.kind == .unexpectedByte)
        #expect(error?.line == 1)
        #expect(error?.column == 14)
        #expect(error?.message == "unexpected byte '}' at line 1, column 14 (byte 13): expected a string key")
        #expect(error?.description == error?.message)
    }

    @Test("Line and column count line feeds and bytes")
    func lineAndColumnCountLineFeedsAndBytes() {
        let error = parseError("{\n  \"a\": 1,\r\n  \"\u{E9}\": tru }")
        // Offsets: '{'0 '\n'1 ... '\r'11 '\n'12, then "  \"é\": " occupies 13...20 (é is two bytes).
        #expect(error?.kind == .unexpectedByte)
        #expect(error?.offset == 24)
        #expect(error?.line == 3)
        #expect(error?.column == 12)
    }

    @Test("Messages name non-printable bytes in hex")
    func messagesNameNonPrintableBytesInHex() {
        let error = parseError([0x5B, 0xFF, 0x5D])
        #expect(error?.message == "unexpected byte 0xFF at line 1, column 2 (byte 1): expected a JSON value")
    }

    @Test(
        "Messages describe every kind of failure",
        arguments: [
            ("", "empty input"), ("[1,", "unexpected end of input"), ("01", "invalid number"),
            ("1e999", "number out of range"), (#""\q""#, "invalid escape sequence"),
            (#""\uD800""#, "invalid \\u escape"),
            ("\"\u{1}\"", "unescaped control character 0x01 in string"), (#"{"a":1,"a":1}"#, "duplicate key"),
            ("1 1", "unexpected data after the value"),
        ])
    func messagesDescribeEveryKind(_ text: String, _ prefix: String) {
        let message = parseError(text)?.message ?? ""
        #expect(message.hasPrefix(prefix), "\(message)")
    }

    @Test("Offsets from the String entry point count UTF-8 bytes")
    func stringEntryPointOffsetsCountBytes() {
        do {
            _ = try JSONParser().parse("[\"\u{1F600}\", x]")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .unexpectedByte)
            #expect(error.offset == 9)
        }
    }

    @Test("Duplicate keys are found in large objects too", arguments: [17, 40, 1000])
    func duplicateKeysFoundInLargeObjects(_ memberCount: Int) {
        var text = "{" + (0..<memberCount).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let duplicateOffset = text.utf8.count + 1
        text += ",\"k\(memberCount / 2)\":0}"
        let error = parseError(text)
        #expect(error?.kind == .duplicateKey)
        #expect(error?.offset == duplicateOffset)
    }

    @Test("Keys that differ only in normalization are not duplicates", arguments: [1, 40])
    func normalizationVariantsAreDistinctKeys(_ padding: Int) throws {
        let filler = (0..<padding).map { "\"p\($0)\":0," }.joined()
        let value = try JSONParser().parse("{" + filler + "\"\u{E9}\":1,\"e\u{301}\":2}")
        guard case .object(let parsed) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(parsed.count == padding + 2)
    }

    @Test("An error's public initializer keeps every field")
    func errorInitializerKeepsFields() {
        let error = JSONParseError(kind: .tooDeep, offset: 3, line: 1, column: 4, message: "m")
        #expect(error.kind == .tooDeep && error.offset == 3 && error.line == 1 && error.column == 4)
        #expect(error.description == "m")
    }
}
