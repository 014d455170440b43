import Testing
import TallyCore
import TallyTestSupport

@Suite("Number conversion")
struct NumberConversionTests {
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

    @Test("Integral literals at the Int64 boundaries choose the right case", arguments: [
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
