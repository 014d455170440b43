import TallyHTTP
import Testing

/// A valid input and the exact requests it must produce.
struct ValidCase: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: [UInt8]
    var expected: [HTTPRequest]
    var limits = HTTPLimits()

    var testDescription: String { name }
}

/// The valid-request table shared by the table test and the split-point tests.
enum ValidCases {
    static let all: [ValidCase] = [
        ValidCase(
            name: "GET with query",
            raw: bytes(
                "GET /api/v1/events?x=1&name=J%C3%BCrgen+M%26co&flag&=v&&empty= HTTP/1.1\r\nHost: example.com\r\n"
                    + "Accept: */*\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .get, target: "/api/v1/events?x=1&name=J%C3%BCrgen+M%26co&flag&=v&&empty=",
                    path: "/api/v1/events",
                    query: [
                        QueryItem(name: "x", value: "1"), QueryItem(name: "name", value: "Jürgen M&co"),
                        QueryItem(name: "flag", value: ""), QueryItem(name: "", value: "v"),
                        QueryItem(name: "empty", value: ""),
                    ],
                    headers: ["Host": "example.com", "Accept": "*/*"])
            ]),
        ValidCase(
            name: "absolute-form targets route by their path",
            raw: bytes(
                "GET http://example.com:8080/a%20b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
                    + "GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"
                    + "GET http://example.com?x=2 HTTP/1.1\r\nHost: example.com\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .get, target: "http://example.com:8080/a%20b?q=1", path: "/a b",
                    query: [QueryItem(name: "q", value: "1")], headers: ["Host": "example.com"]),
                HTTPRequest(method: .get, target: "HTTPS://example.com", path: "/", headers: ["Host": "example.com"]),
                HTTPRequest(
                    method: .get, target: "http://example.com?x=2", path: "/",
                    query: [QueryItem(name: "x", value: "2")], headers: ["Host": "example.com"]),
            ]),
        ValidCase(
            name: "POST with Content-Length",
            raw: bytes("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"),
            expected: [
                HTTPRequest(
                    method: .post, target: "/submit", path: "/submit",
                    headers: ["Host": "a", "Content-Length": "11"], body: bytes("hello world"))
            ]),
        ValidCase(
            name: "chunked with extensions and trailers",
            raw: bytes(
                "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;name=value\r\nhello\r\n6 ; ext ; q=\"x y\\\" \u{E9}\" ;t = v\r\n world\r\n00A\r\n0123456789\r\n"
                    + "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .post, target: "/upload", path: "/upload",
                    headers: ["Host": "a", "Transfer-Encoding": "chunked"], body: bytes("hello world0123456789"))
            ]),
        ValidCase(
            name: "chunked coding name is case-insensitive, upper-case hex size",
            raw: bytes(
                "PUT /x HTTP/1.1\r\nTransfer-Encoding: ChUnKeD\r\n\r\n1F\r\n" + String(repeating: "z", count: 31)
                    + "\r\n0\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .put, target: "/x", path: "/x", headers: ["Transfer-Encoding": "ChUnKeD"],
                    body: Array(repeating: UInt8(ascii: "z"), count: 31))
            ]),
        ValidCase(
            name: "HTTP/1.0 defaults to close",
            raw: bytes("GET / HTTP/1.0\r\n\r\n"),
            expected: [HTTPRequest(method: .get, target: "/", path: "/", minorVersion: 0, keepAlive: false)]),
        ValidCase(
            name: "HTTP/1.0 with Connection: Keep-Alive",
            raw: bytes("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .get, target: "/", path: "/", minorVersion: 0, headers: ["Connection": "Keep-Alive"],
                    keepAlive: true)
            ]),
        ValidCase(
            name: "HTTP/1.1 with Connection: close",
            raw: bytes("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
            expected: [
                HTTPRequest(method: .get, target: "/", path: "/", headers: ["Connection": "close"], keepAlive: false)
            ]),
        ValidCase(
            name: "close wins over keep-alive in a list",
            raw: bytes("GET / HTTP/1.0\r\nConnection: keep-alive, CLOSE\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .get, target: "/", path: "/", minorVersion: 0,
                    headers: ["Connection": "keep-alive, CLOSE"], keepAlive: false)
            ]),
        ValidCase(
            name: "HTTP/1.1 with unrelated Connection token stays keep-alive",
            raw: bytes("GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n"),
            expected: [HTTPRequest(method: .get, target: "/", path: "/", headers: ["Connection": "Upgrade"])]),
        ValidCase(
            name: "pipelined requests",
            raw: bytes(
                "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcDELETE /c HTTP/1.1\r\n\r\n"),
            expected: [
                HTTPRequest(method: .get, target: "/a", path: "/a"),
                HTTPRequest(
                    method: .post, target: "/b", path: "/b", headers: ["Content-Length": "3"], body: bytes("abc")),
                HTTPRequest(method: .delete, target: "/c", path: "/c"),
            ]),
        ValidCase(
            name: "percent-decoded path keeps plus",
            raw: bytes("GET /files/a%20b/%E2%9C%93+c%2Cd?q=a%2Bb+c&a+b%3D=%3d%26 HTTP/1.1\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .get, target: "/files/a%20b/%E2%9C%93+c%2Cd?q=a%2Bb+c&a+b%3D=%3d%26",
                    path: "/files/a b/✓+c,d",
                    query: [QueryItem(name: "q", value: "a+b c"), QueryItem(name: "a b=", value: "=&")])
            ]),
        ValidCase(
            // As Starlette reads them: a `%` without two hex digits stays, bytes that are not UTF-8 become U+FFFD.
            name: "query decoded leniently",
            raw: bytes("GET /s?search=100%&a=%G1&b=%FF%41&c=%&d=%4 HTTP/1.1\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .get, target: "/s?search=100%&a=%G1&b=%FF%41&c=%&d=%4", path: "/s",
                    query: [
                        QueryItem(name: "search", value: "100%"), QueryItem(name: "a", value: "%G1"),
                        QueryItem(name: "b", value: "\u{FFFD}A"), QueryItem(name: "c", value: "%"),
                        QueryItem(name: "d", value: "%4"),
                    ])
            ]),
        ValidCase(
            name: "bare LF line endings",
            raw: bytes("POST /lf HTTP/1.1\nHost: a\nContent-Length: 2\n\nok"),
            expected: [
                HTTPRequest(
                    method: .post, target: "/lf", path: "/lf", headers: ["Host": "a", "Content-Length": "2"],
                    body: bytes("ok"))
            ]),
        ValidCase(
            name: "bare LF in the head of a chunked body (its framing and trailers need CRLF)",
            raw: bytes("POST /lf HTTP/1.1\nTransfer-Encoding: chunked\n\n2\r\nok\r\n0\r\nT: v\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .post, target: "/lf", path: "/lf", headers: ["Transfer-Encoding": "chunked"],
                    body: bytes("ok"))
            ]),
        ValidCase(
            name: "OPTIONS asterisk-form",
            raw: bytes("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
            expected: [HTTPRequest(method: .options, target: "*", path: "*", headers: ["Host": "a"])]),
        ValidCase(
            name: "empty lines before the request line are ignored",
            raw: bytes("\r\n\n\r\nHEAD /h HTTP/1.1\r\n\r\n"),
            expected: [HTTPRequest(method: .head, target: "/h", path: "/h")]),
        ValidCase(
            name: "OWS around values is trimmed, inner spaces kept, empty value allowed",
            raw: bytes("PATCH /p HTTP/1.1\r\nX-Pad: \t  a  b \t\r\nX-Empty:\r\nX-Empty2:   \r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .patch, target: "/p", path: "/p", headers: ["X-Pad": "a  b", "X-Empty": "", "X-Empty2": ""])
            ]),
        ValidCase(
            name: "identical duplicate Content-Length",
            raw: bytes("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 002\r\n\r\nhi"),
            expected: [
                HTTPRequest(
                    method: .post, target: "/", path: "/", headers: ["Content-Length": "2", "content-length": "002"],
                    body: bytes("hi"))
            ]),
        ValidCase(
            name: "extension method and Content-Length: 0",
            raw: bytes("PROPFIND /dav HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            expected: [
                HTTPRequest(
                    method: .other("PROPFIND"), target: "/dav", path: "/dav", headers: ["Content-Length": "0"])
            ]),
        ValidCase(
            name: "methods are case-sensitive",
            raw: bytes("get / HTTP/1.1\r\n\r\n"),
            expected: [HTTPRequest(method: .other("get"), target: "/", path: "/")]),
        ValidCase(
            name: "POST without framing has an empty body by default",
            raw: bytes("POST /nobody HTTP/1.1\r\nHost: a\r\n\r\n"),
            expected: [HTTPRequest(method: .post, target: "/nobody", path: "/nobody", headers: ["Host": "a"])]),
        ValidCase(
            name: "GET without framing is fine when lengths are required",
            raw: bytes("GET / HTTP/1.1\r\n\r\n"),
            expected: [HTTPRequest(method: .get, target: "/", path: "/")],
            limits: HTTPLimits(lengthRequiredMethods: [.post, .put])),
        ValidCase(
            name: "extra CRLF after a body before the next pipelined request",
            raw: bytes("POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\nGET /b HTTP/1.1\r\n\r\n"),
            expected: [
                HTTPRequest(method: .post, target: "/a", path: "/a", headers: ["Content-Length": "1"], body: [120]),
                HTTPRequest(method: .get, target: "/b", path: "/b"),
            ]),
        ValidCase(
            name: "obs-text in header values is accepted",
            raw: [UInt8]("GET / HTTP/1.1\r\nX-Name: caf".utf8) + [0xC3, 0xA9] + bytes("\r\n\r\n"),
            expected: [HTTPRequest(method: .get, target: "/", path: "/", headers: ["X-Name": "café"])]),
    ]
}

@Suite("Valid requests")
struct ValidRequestTests {
    @Test("parses to the expected fields", arguments: ValidCases.all)
    func parsesValidRequest(_ testCase: ValidCase) {
        var parser = HTTPRequestParser(limits: testCase.limits)
        parser.feed(testCase.raw)
        var outcome = ParseOutcome()
        let drained = outcome.drain(&parser)
        #expect(drained)
        #expect(outcome.error == nil)
        #expect(outcome.requests == testCase.expected)
        #expect(parser.bufferedByteCount == 0)
        #expect(!parser.isMidRequest)
    }

    @Test("the raw-pointer feed behaves like the array feed", arguments: ValidCases.all)
    func rawPointerFeed(_ testCase: ValidCase) throws {
        var parser = HTTPRequestParser(limits: testCase.limits)
        testCase.raw.withUnsafeBytes { parser.feed($0) }
        var requests: [HTTPRequest] = []
        while let request = try parser.next() {
            requests.append(request)
        }
        #expect(requests == testCase.expected)
    }

    @Test("the same parser handles a large body in one piece")
    func largeBody() throws {
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var parser = HTTPRequestParser()
        parser.feed(bytes("PUT /blob HTTP/1.1\r\nContent-Length: \(payload.count)\r\n\r\n") + payload)
        let request = try #require(try parser.next())
        #expect(request.body == payload)
        #expect(try parser.next() == nil)
    }

    @Test("a header section of exactly maxHeaderBytes is accepted")
    func headerSectionAtLimit() throws {
        let start = "GET / HTTP/1.1\r\nX-Fill: "
        let limits = HTTPLimits(maxHeaderBytes: 200)
        let fill = String(repeating: "f", count: 200 - start.utf8.count - 2)
        var parser = HTTPRequestParser(limits: limits)
        parser.feed(bytes(start + fill + "\r\n\r\n"))
        let request = try #require(try parser.next())
        #expect(request.headers["x-fill"] == fill)
    }

    @Test("exactly maxHeaderCount headers are accepted")
    func headerCountAtLimit() throws {
        let lines = (0..<5).map { "X-\($0): v\r\n" }.joined()
        var parser = HTTPRequestParser(limits: HTTPLimits(maxHeaderCount: 5))
        parser.feed(bytes("GET / HTTP/1.1\r\n" + lines + "\r\n"))
        #expect(try parser.next()?.headers.count == 5)
    }

    @Test("a chunked body of exactly maxBodyBytes is accepted")
    func chunkedAtLimit() throws {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxBodyBytes: 10))
        parser.feed(bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n"))
        #expect(try parser.next()?.body == bytes("abcdefghij"))
    }
}
