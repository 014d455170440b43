import Testing

@testable import TallyAPI

/// Header lists are split, trimmed and lowercased byte by byte.
struct HeaderValueTests {
    @Test(arguments: [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        (" \tapplication/x-ndjson \t;q=1", "application/x-ndjson"),
        ("", ""),
        (";", ""),
        ("TEXT/Json", "text/json"),
        ("application/clöudevents+json", "application/clöudevents+json"),
    ])
    func mediaTypeIsTheTrimmedLowercasedPartBeforeParameters(value: String, expected: String) {
        #expect(HeaderValue.mediaType(value) == expected)
    }

    @Test func itemsKeepEmptyOnesAndTrimSpacesAndTabsOnly() {
        #expect(
            HeaderValue.items("gzip, X-GZIP,,\tidentity ", separator: UInt8(ascii: ",")) == [
                "gzip", "x-gzip", "", "identity",
            ])
        #expect(HeaderValue.items("a\u{A0}", separator: UInt8(ascii: ",")) == ["a\u{A0}"])
        #expect(HeaderValue.items("   ", separator: UInt8(ascii: ",")) == [""])
    }
}
