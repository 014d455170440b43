import Testing
import TallyCore
import TallyTestSupport

@Suite struct TenantIDTests {
    @Test func parsesAnyCaseAndPrintsLowercase() throws {
        let upper = try #require(TenantID("3FA85F64-5717-4562-B3FC-2C963F66AFA6"))
        let lower = try #require(TenantID("3fa85f64-5717-4562-b3fc-2c963f66afa6"))
        #expect(upper == lower)
        #expect(upper.description == "3fa85f64-5717-4562-b3fc-2c963f66afa6")
        #expect(upper.high == 0x3FA8_5F64_5717_4562 && upper.low == 0xB3FC_2C96_3F66_AFA6)
    }

    @Test(arguments: [
        "", "3fa85f64571745 62b3fc2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afa", "3fa85f64-5717-4562-b3fc-2c963f66afa6a",
        "3fa85f6445717-4562-b3fc-2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afg6", "{3fa85f64-5717-4562-b3fc-2c963f66afa6}",
    ])
    func rejectsMalformedText(text: String) {
        #expect(TenantID(text) == nil)
    }

    @Test func roundTripsRandomValues() {
        var random = SplitMix64(seed: 3)
        for _ in 0..<500 {
            let id = TenantID(high: random.next(), low: random.next())
            #expect(TenantID(id.description) == id)
        }
    }
}
