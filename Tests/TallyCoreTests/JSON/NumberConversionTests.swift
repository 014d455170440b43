import TallyCore
import TallyTestSupport
import Testing

@Suite("Number conversion")
struct NumberConversionTests {
    /// With `wholeNumbersAsIntegers`, a literal whose exact decimal value is a whole number within Int64 is
    /// an integer, read from its digits (no rounding through a Double); any other stays a Double. Without
    /// it, every fraction or exponent gives a Double.
    @Test(
        "Whole numbers written with a fraction or exponent are exact integers when asked",
        arguments: [
            ("5000.0", JSONValue.int(5000)), ("5e3", .int(5000)), ("5E+3", .int(5000)), ("-0.0", .int(0)),
            ("0e7", .int(0)),
            ("0.000e5", .int(0)), ("12.50e1", .int(125)), ("100e-2", .int(1)), ("-2.0", .int(-2)),
            ("9007199254740993.0", .int(9_007_199_254_740_993)),
            ("1.152921504606847e18", .int(1_152_921_504_606_847_000)),
            ("9223372036854775807.000", .int(.max)), ("-9223372036854775808.0", .int(.min)),
            ("0.0000000000000000000000000000000000000000012e43", .int(12)),
            ("9223372036854775808.0", .double(9_223_372_036_854_775_808)), ("1e19", .double(1e19)),
            ("0.99999999999999999", .double(1)), ("199.99999999999999999", .double(200)), ("1e-400", .double(0)),
            ("10e-2", .double(0.1)), ("1.5", .double(1.5)), ("5", .int(5)),
        ])
    func wholeNumbersAreExactIntegersWhenAsked(literal: String, expected: JSONValue) throws {
        try checkWhole(literal, expected)
    }

    /// Exponents are not saturated into a wrong count: 10^900000 written as a tiny fraction times a huge
    /// power is no integer of 64 bits, 1 written with 100,000 zeros is still 1, and zero stays zero whatever
    /// its exponent.
    @Test func hugeExponentsNeverGiveAWrongInteger() throws {
        let parser = JSONParser(limits: .init(wholeNumbersAsIntegers: true))
        // Beyond any Double too: refused as out of range, never an integer.
        let huge = "0." + String(repeating: "0", count: 99_999) + "1e1000000"
        #expect(throws: JSONParseError.self) { try parser.parse(huge) }
        #expect(try parser.parse("1" + String(repeating: "0", count: 100_000) + "e-100000") == .int(1))
        #expect(try parser.parse("0e100000000") == .int(0))
        #expect(try parser.parse("-0.0e100000000") == .int(0))
        #expect(throws: JSONParseError.self) { try parser.parse("1e100000000") }
        guard case .double = try parser.parse("-1" + String(repeating: "0", count: 100_000) + "e-1000000") else {
            Issue.record("-10^-900000 read as an integer")
            return
        }
    }

    private func checkWhole(_ literal: String, _ expected: JSONValue) throws {
        #expect(try JSONParser(limits: .init(wholeNumbersAsIntegers: true)).parse(literal) == expected, "\(literal)")
        if literal.contains(".") || literal.lowercased().contains("e") {
            guard case .double = try JSONParser().parse(literal) else {
                Issue.record("\(literal): a Double by default")
                return
            }
        }
    }

    @Test("Decimal literals convert exactly like the standard library", arguments: [41, 42, 43] as [UInt64])
    func decimalLiteralsMatchStandardLibrary(_ seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<5000 {
            var literal = rng.chance(1, in: 2) ? "-" : ""
            let integerDigits = 1 + rng.below(rng.chance(1, in: 4) ? 25 : 8)
            literal += rng.chance(1, in: 5) ? "0" : String(1 + rng.below(9))
            if !literal.hasSuffix("0") {
                for _ in 1..<integerDigits {
                    literal += String(rng.below(10))
                }
            }
            if rng.chance(2, in: 3) {
                literal += "."
                for _ in 0..<(1 + rng.below(rng.chance(1, in: 4) ? 30 : 10)) {
                    literal += String(rng.below(10))
                }
            }
            if rng.chance(1, in: 2) || !literal.contains(".") {
                literal += rng.pick(["e", "E", "e+", "e-", "E-"]) + String(rng.below(rng.chance(1, in: 3) ? 330 : 30))
            }
            let expected = try #require(Double(literal))
            let result = parseResult(Array(literal.utf8))
            if expected.isFinite {
                guard case .success(.double(let value)) = result else {
                    Issue.record("\(literal) gave \(result)")
                    continue
                }
                #expect(value.bitPattern == expected.bitPattern, "\(literal)")
            } else {
                guard case .failure(let error) = result else {
                    Issue.record("\(literal) should overflow, gave \(result)")
                    continue
                }
                #expect(error.kind == .numberOutOfRange)
            }
        }
    }

    @Test(
        "Integral literals at the Int64 boundaries choose the right case",
        arguments: [
            ("9223372036854775806", JSONValue.int(9_223_372_036_854_775_806)),
            ("9223372036854775807", .int(.max)),
            ("9223372036854775808", .double(9_223_372_036_854_775_808)),
            ("-9223372036854775807", .int(-9_223_372_036_854_775_807)),
            ("-9223372036854775808", .int(.min)),
            ("-9223372036854775809", .double(-9_223_372_036_854_775_808)),
            ("99999999999999999999", .double(1e20)),
            ("18446744073709551615", .double(18_446_744_073_709_551_615)),
            ("18446744073709551616", .double(18_446_744_073_709_551_616)),
        ])
    func integralBoundaries(_ literal: String, _ expected: JSONValue) throws {
        #expect(identical(try JSONParser().parse(literal), expected))
    }
}
