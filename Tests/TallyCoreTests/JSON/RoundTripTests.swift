import TallyCore
import TallyTestSupport
import Testing

@Suite("Round trip")
struct RoundTripTests {
    @Test("parse(write(v)) == v for random values", arguments: [11, 12, 13, 14, 15] as [UInt64])
    func writtenValuesParseBack(_ seed: UInt64) throws {
        var random = RandomJSON(seed: seed)
        let parser = JSONParser()
        for _ in 0..<1000 {
            let value = random.value(depth: 5)
            let bytes = value.jsonBytes
            let parsed = try parser.parse(bytes)
            #expect(identical(parsed, value), "\(value.jsonString)")
        }
    }

    @Test("Texts written in varied styles parse to their value", arguments: [21, 22, 23] as [UInt64])
    func variedStylesParseToTheirValue(_ seed: UInt64) throws {
        var random = RandomJSON(seed: seed)
        let parser = JSONParser()
        for _ in 0..<1000 {
            let value = random.value(depth: 5)
            let text = random.text(for: value)
            let parsed = try parser.parse(text)
            #expect(identical(parsed, value), "\(String(decoding: text, as: UTF8.self))")
        }
    }

    static let strings: [String] = [
        "",
        String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }),
        "quote \" backslash \\ slash / del \u{7F}",
        "\u{8}\u{C}\n\r\t",
        "caf\u{E9} e\u{301} \u{4E2D}\u{6587} \u{0627}\u{0644}",
        "😀👩‍👩‍👧‍👦🏳️‍🌈 \u{10FFFF} \u{10000}",
        "line separators \u{2028} and \u{2029}",
        "\u{FEFF}BOM-like and \u{FFFD} and \u{FFFF}",
        String(repeating: "long ASCII run without escapes ", count: 40),
        String(repeating: "é\"\n😀", count: 100),
    ]

    @Test("Strings with every escape class survive a round trip", arguments: strings)
    func stringsSurviveRoundTrip(_ text: String) throws {
        let parsed = try JSONParser().parse(JSONValue.string(text).jsonString)
        #expect(identical(parsed, .string(text)))
        let asKey = object([text: .string(text)])
        #expect(identical(try JSONParser().parse(asKey.jsonBytes), asKey))
    }

    @Test("Finite doubles survive a round trip bit for bit")
    func doublesSurviveRoundTrip() throws {
        var rng = SplitMix64(seed: 31)
        let parser = JSONParser()
        var checked = 0
        while checked < 20_000 {
            let number = Double(bitPattern: rng.next())
            guard number.isFinite else { continue }
            checked += 1
            var writer = JSONWriter()
            writer.writeDouble(number)
            let parsed = try parser.parse(writer.bytes)
            guard case .double(let back) = parsed else {
                Issue.record("\(writer.string) parsed as \(parsed)")
                continue
            }
            #expect(back.bitPattern == number.bitPattern, "\(writer.string)")
        }
    }

    @Test("Integers survive a round trip", arguments: [Int64.min, Int64.min + 1, -1, 0, 1, 9, 10, 99, 100, Int64.max])
    func integersSurviveRoundTrip(_ number: Int64) throws {
        #expect(try JSONParser().parse(JSONValue.int(number).jsonString) == .int(number))
    }
}
