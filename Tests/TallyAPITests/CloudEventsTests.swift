import TallyCore
import Testing

@testable import TallyAPI

/// The typo guard on CloudEvents extension attributes: one edit (insert, delete, change, swap of adjacent
/// letters) from a known attribute is a typo; anything further, or a short name, is an extension.
@Suite struct CloudEventsTests {
    @Test(arguments: [
        ("tenantd", "tenantid"),  // a letter dropped
        ("tennantid", "tenantid"),  // a letter added
        ("tenentid", "tenantid"),  // a letter changed
        ("tneantid", "tenantid"),  // two adjacent letters swapped
        ("tiem", "time"),
        ("tyep", "type"),
        ("subjet", "subject"),
        ("specversoin", "specversion"),
        ("datacontentype", "datacontenttype"),
        ("dataa", "data"),
    ])
    func aLetterAwayIsATypo(name: String, meant: String) {
        #expect(CloudEvents.likelyTypo(of: name, in: JSONObject()) == meant)
        // Beside the attribute it resembles, it is an extension of its own.
        var beside = JSONObject()
        beside.set(meant, .string("x"))
        #expect(CloudEvents.likelyTypo(of: name, in: beside) == nil)
    }

    @Test(arguments: [
        "tenantid", "time", "subject", "data", "id",  // known attributes themselves
        "ip", "ts", "idx",  // too short to call a typo
        "traceparent", "tracestate", "partitionkey", "sequence", "dataref", "knativearrivaltime",
        "tnenatdi",  // more than one edit
        "tienm",  // a swap that is not of adjacent letters, plus more
        "tenantidxx",  // two letters added
    ])
    func furtherIsAnExtension(name: String) {
        #expect(CloudEvents.likelyTypo(of: name, in: JSONObject()) == nil, "\(name)")
    }

    @Test func oneEditIsSymmetricAndExact() {
        func away(_ a: String, _ b: String) -> Bool { CloudEvents.isOneEditAway(Array(a.utf8), Array(b.utf8)) }
        #expect(away("abc", "abd") && away("abd", "abc"))
        #expect(away("abc", "abcd") && away("abcd", "abc") && away("abc", "xabc") && away("abc", "ac"))
        #expect(away("abcd", "abdc") && away("abcd", "bacd"))
        #expect(!away("abc", "abc"), "no edit is not one edit")
        #expect(!away("abcd", "badc") && !away("abcd", "dbca") && !away("abc", "a") && !away("abc", "xyz"))
        #expect(!away("", "ab") && away("", "a"))
    }
}
