import TallyCore
import TallyTestSupport
import Testing

/// Raw bytes that must be rejected, with the expected error kind and offset.
struct ByteCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var kind: JSONParseError.Kind
    var offset: Int
    var testDescription: String { name }
}

@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    static let quote: UInt8 = 0x22

    static let invalidCases: [ByteCase] = [
        ByteCase(name: "overlong C0 80", bytes: [quote, 0xC0, 0x80, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "overlong C1 BF", bytes: [quote, 0xC1, 0xBF, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "overlong E0 80 80", bytes: [quote, 0xE0, 0x80, 0x80, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "overlong E0 9F BF", bytes: [quote, 0xE0, 0x9F, 0xBF, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(
            name: "overlong F0 8F BF BF", bytes: [quote, 0xF0, 0x8F, 0xBF, 0xBF, quote], kind: .invalidUTF8,
            offset: 1),
        ByteCase(name: "surrogate ED A0 80", bytes: [quote, 0xED, 0xA0, 0x80, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "surrogate ED BF BF", bytes: [quote, 0xED, 0xBF, 0xBF, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(
            name: "above U+10FFFF F4 90 80 80", bytes: [quote, 0xF4, 0x90, 0x80, 0x80, quote],
            kind: .invalidUTF8, offset: 1),
        ByteCase(name: "lead F5", bytes: [quote, 0xF5, 0x80, 0x80, 0x80, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "byte FF", bytes: [quote, 0xFF, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "byte FE", bytes: [quote, 0xFE, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "lone continuation 80", bytes: [quote, 0x80, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(
            name: "lone continuation BF after ASCII", bytes: [quote, 0x61, 0xBF, quote], kind: .invalidUTF8,
            offset: 2),
        ByteCase(name: "truncated E2 82", bytes: [quote, 0xE2, 0x82, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "truncated F0 9F 98", bytes: [quote, 0xF0, 0x9F, 0x98, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(name: "two-byte lead then ASCII", bytes: [quote, 0xC3, 0x41, quote], kind: .invalidUTF8, offset: 1),
        ByteCase(
            name: "truncated by end of input", bytes: [quote, 0x61, 0xE2, 0x82], kind: .unexpectedEnd,
            offset: 4),
        ByteCase(
            name: "in a key", bytes: Array(#"{""#.utf8) + [0xC0, 0x80] + Array(#"":1}"#.utf8),
            kind: .invalidUTF8, offset: 2),
        ByteCase(
            name: "after an escape", bytes: Array(#""\n"#.utf8) + [0xED, 0xA0, 0x80, quote],
            kind: .invalidUTF8, offset: 3),
        ByteCase(
            name: "inside a long ASCII run",
            bytes: [quote] + Array("abcdefghijklmnop".utf8) + [0xC0, 0x80]
                + Array("qrstuvwxyz".utf8) + [quote], kind: .invalidUTF8, offset: 17),
        ByteCase(name: "outside a string", bytes: [0x5B, 0xC3, 0xA9, 0x5D], kind: .unexpectedByte, offset: 1),
    ]

    @Test("Ill-formed UTF-8 is rejected at the start of the bad sequence", arguments: invalidCases)
    func illFormedUTF8IsRejected(_ testCase: ByteCase) {
        let error = parseError(testCase.bytes)
        #expect(error?.kind == testCase.kind, "\(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.offset == testCase.offset, "\(error.map(String.init(describing:)) ?? "no error")")
    }

    @Test(
        "Well-formed boundary scalars decode exactly",
        arguments: [
            0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0xFFFFF, 0x10FFFF,
        ] as [UInt32])
    func boundaryScalarsDecode(_ scalarValue: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(scalarValue))
        let text = "\"" + String(scalar) + "\""
        let value = try JSONParser().parse(Array(text.utf8))
        #expect(identical(value, .string(String(scalar))))
    }

    @Test("Every single byte inside a string is accepted or rejected as UTF-8 requires")
    func everySingleByteInsideAString() {
        for byte in UInt8.min...UInt8.max {
            let error = parseError([0x22, byte, 0x22])
            switch byte {
            case 0x00..<0x20:
                #expect(error?.kind == .controlCharacterInString, "byte \(byte)")
            case 0x22:
                #expect(error?.kind == .trailingData, "byte \(byte)")
            case 0x5C:
                // `\"` is an escaped quote, so the string never closes.
                #expect(error?.kind == .unexpectedEnd, "byte \(byte)")
            case 0x20..<0x80:
                #expect(error == nil, "byte \(byte)")
            default:
                #expect(error?.kind == .invalidUTF8, "byte \(byte)")
            }
        }
    }

    @Test("Agrees with the standard library's UTF-8 validation on random byte strings")
    func agreesWithStandardLibraryValidation() {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let pieces: [[UInt8]] = [
            [0x61], [0x7E], [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xED, 0xA0, 0x80],
            [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80],
            [0x80], [0xBF], [0xC0], [0xC1, 0x81], [0xE2, 0x82], [0xF0, 0x9F], [0xF5], [0xFF],
        ]
        for _ in 0..<5000 {
            var content: [UInt8] = []
            for _ in 0..<rng.below(12) {
                content += rng.pick(pieces)
            }
            let standardAccepts = String(validating: content, as: UTF8.self) != nil
            let error = parseError([0x22] + content + [0x22])
            #expect((error == nil) == standardAccepts, "\(content)")
            if let error {
                #expect(error.kind == .invalidUTF8)
            }
        }
    }
}
