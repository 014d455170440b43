import Testing
import TallyCore
import TallyTestSupport

@Suite("Writer")
struct WriterTests {
    @Test("Values are written compactly with members in order")
    func valuesAreWrittenCompactly() {
        let value = object([
            "b": .array([.int(1), .double(2.5), .string("x"), .null, .bool(true), .bool(false)]),
            "a": .object(JSONObject()),
            "c": .array([]),
        ])
        #expect(value.jsonString == #"{"b":[1,2.5,"x",null,true,false],"a":{},"c":[]}"#)
        #expect(value.jsonBytes == Array(value.jsonString.utf8))
    }

    @Test("Strings escape quote, backslash and controls, and pass other characters through")
    func stringsAreEscaped() {
        var writer = JSONWriter()
        writer.writeString("\u{0}\u{1}\u{1F}\"\\/\u{8}\u{C}\n\r\t\u{7F}é😀")
        #expect(writer.string == "\"\\u0000\\u0001\\u001f\\\"\\\\/\\b\\f\\n\\r\\t\u{7F}é😀\"")
    }

    @Test("U+2028 and U+2029 are escaped")
    func lineSeparatorsAreEscaped() {
        var writer = JSONWriter()
        writer.writeString("a\u{2028}b\u{2029}c\u{2027}")
        #expect(writer.string == "\"a\\u2028b\\u2029c\u{2027}\"")
    }

    @Test("Integers are written in decimal", arguments: [
        (Int64.min, "-9223372036854775808"), (Int64.max, "9223372036854775807"), (0, "0"), (-7, "-7"),
        (1_000_000, "1000000"),
    ])
    func integersAreWrittenInDecimal(_ number: Int64, _ expected: String) {
        var writer = JSONWriter()
        writer.writeInt(number)
        #expect(writer.string == expected)
    }

    @Test("Unsigned integers are written in decimal")
    func unsignedIntegersAreWrittenInDecimal() {
        var writer = JSONWriter()
        writer.writeUInt(.max)
        writer.writeRaw(",")
        writer.writeUInt(0)
        #expect(writer.string == "18446744073709551615,0")
    }

    @Test("Doubles use the shortest valid JSON form", arguments: [
        (2.0, "2.0"), (0.1, "0.1"), (-0.0, "-0.0"), (1e-5, "1e-05"), (1e16, "1e+16"), (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (123.456, "123.456"),
    ])
    func doublesUseShortestForm(_ number: Double, _ expected: String) {
        var writer = JSONWriter()
        writer.writeDouble(number)
        #expect(writer.string == expected)
    }

    @Test("Non-finite doubles are written as null", arguments: [Double.nan, .infinity, -.infinity, .signalingNaN])
    func nonFiniteDoublesAreNull(_ number: Double) {
        var writer = JSONWriter()
        writer.writeDouble(number)
        #expect(writer.string == "null")
        #expect(JSONValue.array([.double(number)]).jsonString == "[null]")
    }

    @Test("Raw writes append verbatim")
    func rawWritesAppendVerbatim() {
        var writer = JSONWriter(reservingCapacity: 0)
        writer.writeRaw("{")
        writer.writeString("k")
        writer.writeRaw(":")
        writer.writeRaw([UInt8(ascii: "1"), UInt8(ascii: "2")])
        writer.writeRaw("12".utf8)
        writer.writeRaw("}")
        #expect(writer.string == #"{"k":1212}"#)
        #expect(writer.bytes == Array(#"{"k":1212}"#.utf8))
    }

    @Test("Hand-streamed output is parseable")
    func handStreamedOutputIsParseable() throws {
        var writer = JSONWriter()
        writer.writeRaw("[")
        for index in 0..<100 {
            if index > 0 {
                writer.writeRaw(",")
            }
            writer.writeInt(Int64(index) * -3)
        }
        writer.writeRaw("]")
        guard case .array(let elements) = try JSONParser().parse(writer.bytes) else {
            Issue.record("expected an array")
            return
        }
        #expect(elements.count == 100)
        #expect(elements.last == .int(-297))
    }
}
