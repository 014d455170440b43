import TallyCore
import TallyTestSupport
import Testing

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

    @Test("Streamed objects and arrays get their commas from writeKey and writeElementSeparator")
    func streamedMembersAreSeparated() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.writeKey("empty")
        writer.beginObject()
        writer.endObject()
        writer.writeKey("list")
        writer.beginArray()
        for number in 1...3 {
            writer.writeElementSeparator()
            writer.beginObject()
            writer.writeKey("n")
            writer.writeInt(Int64(number))
            writer.writeKey("none")
            writer.writeString(orNull: nil)
            writer.endObject()
        }
        writer.endArray()
        writer.writeKey("noList")
        writer.beginArray()
        writer.endArray()
        writer.writeKey("name")
        writer.writeString(orNull: "a\"b")
        writer.writeKey("at")
        writer.writeTimestamp(try Timestamp(rfc3339: "2025-07-10T16:30:00.123456+02:00"))
        writer.writeKey("never")
        writer.writeTimestamp(nil)
        writer.writeKey("tenant")
        writer.writeTenantID(try #require(TenantID("3FA85F64-5717-4562-B3FC-2C963F66AFA6")))
        writer.endObject()
        #expect(
            writer.string == #"{"empty":{},"list":[{"n":1,"none":null},{"n":2,"none":null},{"n":3,"none":null}],"#
                + #""noList":[],"name":"a\"b","at":"2025-07-10T14:30:00.123Z","never":null,"#
                + #""tenant":"3fa85f64-5717-4562-b3fc-2c963f66afa6"}"#)
        #expect(try JSONParser().parse(writer.bytes) != .null)
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

    @Test(
        "Integers are written in decimal",
        arguments: [
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

    @Test(
        "Doubles use the shortest valid JSON form",
        arguments: [
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
