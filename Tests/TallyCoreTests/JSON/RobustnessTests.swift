import TallyCore
import TallyTestSupport
import Testing

@Suite("Robustness")
struct RobustnessTests {
    @Test("100,000 nested arrays fail with tooDeep instead of overflowing the stack")
    func deepArraysFailWithTooDeep() {
        let error = parseError([UInt8](repeating: UInt8(ascii: "["), count: 100_000))
        #expect(error?.kind == .tooDeep)
        #expect(error?.offset == 64)
    }

    @Test("100,000 nested objects fail with tooDeep")
    func deepObjectsFailWithTooDeep() {
        let text = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        let error = parseError(text)
        #expect(error?.kind == .tooDeep)
        #expect(error?.offset == 64 * 5)
    }

    @Test("Depth counts arrays and objects alike", arguments: [0, 1, 10, 64])
    func depthLimitIsExact(_ maxDepth: Int) {
        let limits = JSONParser.Limits(maxDepth: maxDepth)
        let levels = maxDepth + 1
        let mixed =
            (0..<levels).map { $0 % 2 == 0 ? "[" : #"{"k":"# }.joined()
            + "0" + (0..<levels).reversed().map { $0 % 2 == 0 ? "]" : "}" }.joined()
        let error = parseError(mixed, limits: limits)
        #expect(error?.kind == .tooDeep)
        let fits = (0..<maxDepth).map { _ in "[" }.joined() + "0" + (0..<maxDepth).map { _ in "]" }.joined()
        #expect(parseError(fits, limits: limits) == nil)
    }

    static let documents: [String] = [
        #"{"id":"e-1","type":"api.call","n":-12.5e-3,"ok":[true,false,null],"nested":{"a":[1,{"b":"c"}]}}"#,
        #"["\u00e9\ud83d\ude00\n\t\\\"\/", "héllo 😀 中文", 0, -0.0, 1E+10, 123456789012345678901]"#,
        #"{"": {"": [[], {}, [[[null]]]]}}"#,
        "[\r\n\t 1 ,\r\n\t 2 ]",
        #""a string with \u0041 escapes and a surrogate pair \uD834\uDD1E""#,
    ]

    @Test("Every proper prefix of a valid document fails with unexpectedEnd at its end", arguments: documents)
    func everyPrefixFailsAtItsEnd(_ document: String) throws {
        let bytes = Array(document.utf8)
        _ = try JSONParser().parse(bytes)
        for length in 0..<bytes.count {
            let error = parseError(Array(bytes[..<length]))
            if length == 0 {
                #expect(error?.kind == .emptyInput)
            } else {
                #expect(error?.kind == .unexpectedEnd, "prefix \(length): \(String(describing: error))")
                #expect(error?.offset == length, "prefix \(length)")
            }
        }
    }

    @Test("Randomly corrupted documents never crash and errors stay in bounds", arguments: [1, 2, 3, 4] as [UInt64])
    func corruptedDocumentsNeverCrash(_ seed: UInt64) {
        var random = RandomJSON(seed: seed)
        for _ in 0..<2000 {
            let original = random.text(for: random.value())
            let corrupted = random.mutate(original)
            if let error = parseError(corrupted) {
                #expect(error.offset >= 0 && error.offset <= corrupted.count)
                #expect(error.line >= 1 && error.column >= 1)
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test("Random byte soup never crashes")
    func randomBytesNeverCrash() {
        var rng = SplitMix64(seed: 99)
        let alphabet = Array("[]{}\":,\\0123456789-+.eEtrufalsn \t\n".utf8) + [0x00, 0x80, 0xC3, 0xE2, 0xF0, 0xFF]
        for _ in 0..<5000 {
            let bytes = (0..<rng.below(40)).map { _ in rng.pick(alphabet) }
            _ = parseResult(bytes, limits: .init(maxDepth: 8))
        }
    }

    @Test("Input is read only within the given buffer")
    func inputIsReadOnlyWithinBuffer() throws {
        // The buffer is a slice of a larger array whose following bytes would complete the value.
        let storage = Array(#"[1,2]"#.utf8)
        let error = storage.withUnsafeBytes { whole -> JSONParseError? in
            let prefix = UnsafeRawBufferPointer(rebasing: whole[0..<4])
            do throws(JSONParseError) {
                _ = try JSONParser().parse(prefix)
                return nil
            } catch {
                return error
            }
        }
        #expect(error?.kind == .unexpectedEnd)
        #expect(error?.offset == 4)
    }
}
