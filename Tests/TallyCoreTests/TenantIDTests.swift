import TallyCore
import TallyTestSupport
import Testing

@Suite struct TenantIDTests {
    @Test func parsesAnyCaseAndPrintsLowercase() throws {
        let upper = try #require(TenantID("3FA85F64-5717-4562-B3FC-2C963F66AFA6"))
        let lower = try #require(TenantID("3fa85f64-5717-4562-b3fc-2c963f66afa6"))
        #expect(upper == lower)
        #expect(upper.description == "3fa85f64-5717-4562-b3fc-2c963f66afa6")
        #expect(upper.high == 0x3FA8_5F64_5717_4562 && upper.low == 0xB3FC_2C96_3F66_AFA6)
    }

    @Test func version4KeepsTheRandomBitsAndSetsVersionAndVariant() {
        let all = TenantID.version4(randomHigh: .max, randomLow: .max)
        #expect(all.description == "ffffffff-ffff-4fff-bfff-ffffffffffff")
        let none = TenantID.version4(randomHigh: 0, randomLow: 0)
        #expect(none.description == "00000000-0000-4000-8000-000000000000")
        let mixed = TenantID.version4(randomHigh: 0x3FA8_5F64_5717_E562, randomLow: 0x73FC_2C96_3F66_AFA6)
        #expect(mixed.description == "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    }

    @Test(arguments: [
        "", "3fa85f64571745 62b3fc2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afa",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6a",
        "3fa85f6445717-4562-b3fc-2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afg6",
        "{3fa85f64-5717-4562-b3fc-2c963f66afa6}",
    ])
    func rejectsMalformedText(text: String) {
        #expect(TenantID(text) == nil)
    }

    /// Every byte value at every position of a valid UUID: accepted exactly when it keeps the text a UUID
    /// (a hex digit of either case where digits go, a dash where dashes go), with the value that digit gives.
    @Test func everySingleByteChangeIsJudgedExactly() {
        let valid = Array("3fa85f64-5717-4562-b3fc-2c963f66afa6".utf8)
        let hexDigits = Array("0123456789abcdef".utf8)
        for position in valid.indices {
            for value in 0...255 {
                var text = valid
                text[position] = UInt8(value)
                let parsed = text.withUnsafeBytes { TenantID(utf8: $0) }
                let isDash = [8, 13, 18, 23].contains(position)
                let lower = UInt8(value) | (UInt8(value) >= 0x41 && UInt8(value) <= 0x46 ? 0x20 : 0)
                let expected = isDash ? value == 0x2D : hexDigits.contains(lower)
                #expect((parsed != nil) == expected, "byte \(value) at \(position)")
                if let parsed, !isDash {
                    var canonical = valid
                    canonical[position] = lower
                    #expect(parsed.description == String(decoding: canonical, as: UTF8.self))
                }
            }
        }
    }

    @Test func roundTripsRandomValues() {
        var random = SplitMix64(seed: 3)
        for _ in 0..<500 {
            let id = TenantID(high: random.next(), low: random.next())
            #expect(TenantID(id.description) == id)
        }
    }
}
