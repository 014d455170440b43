import TallyHTTP
import Testing

@Suite("Split points")
struct SplitPointTests {
    /// Three pipelined requests: GET with query, POST with Content-Length, chunked POST with extensions and trailers.
    static let stream = bytes(
        "GET /search?q=swift+http&page=2 HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\n\r\n"
            + "POST /api/v1/events HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\n"
            + "Content-Length: 16\r\n\r\n{\"event\":\"view\"}"
            + "POST /upload%20dir/f HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n")

    static let expected: [HTTPRequest] = [
        HTTPRequest(
            method: .get, target: "/search?q=swift+http&page=2", path: "/search",
            query: [QueryItem(name: "q", value: "swift http"), QueryItem(name: "page", value: "2")],
            headers: ["Host": "example.com", "Accept": "text/html"]),
        HTTPRequest(
            method: .post, target: "/api/v1/events", path: "/api/v1/events",
            headers: ["Host": "example.com", "Content-Type": "application/json", "Content-Length": "16"],
            body: bytes("{\"event\":\"view\"}")),
        HTTPRequest(
            method: .post, target: "/upload%20dir/f", path: "/upload dir/f",
            headers: ["Host": "example.com", "Transfer-Encoding": "chunked"],
            body: bytes("Wikipedia in\r\n\r\nchunks.")),
    ]

    @Test("the stream parses in one piece")
    func onePiece() {
        let outcome = ParseOutcome.parse([Self.stream])
        #expect(outcome == ParseOutcome(requests: Self.expected))
    }

    @Test("two pieces at every split position give the same requests")
    func everyTwoPieceSplit() {
        for split in 0...Self.stream.count {
            var parser = HTTPRequestParser()
            var outcome = ParseOutcome()
            parser.feed(Array(Self.stream[..<split]))
            _ = outcome.drain(&parser)
            parser.feed(Array(Self.stream[split...]))
            _ = outcome.drain(&parser)
            #expect(outcome == ParseOutcome(requests: Self.expected), "split at \(split)")
            #expect(parser.bufferedByteCount == 0, "split at \(split)")
            #expect(!parser.isMidRequest, "split at \(split)")
        }
    }

    @Test("one byte at a time gives the same requests, with correct progress reporting")
    func byteAtATime() {
        var parser = HTTPRequestParser()
        var outcome = ParseOutcome()
        for (offset, byte) in Self.stream.enumerated() {
            parser.feed([byte])
            let before = outcome.requests.count
            _ = outcome.drain(&parser)
            if outcome.requests.count == before {
                #expect(parser.isMidRequest, "offset \(offset)")
            }
        }
        #expect(outcome == ParseOutcome(requests: Self.expected))
        #expect(parser.bufferedByteCount == 0)
    }

    @Test("every valid table case gives the same result at every split", arguments: ValidCases.all)
    func validCasesAtEverySplit(_ testCase: ValidCase) {
        let whole = ParseOutcome.parse([testCase.raw], limits: testCase.limits)
        #expect(whole == ParseOutcome(requests: testCase.expected))
        for split in 0...testCase.raw.count {
            let pieces = [Array(testCase.raw[..<split]), Array(testCase.raw[split...])]
            #expect(ParseOutcome.parse(pieces, limits: testCase.limits) == whole, "split at \(split)")
        }
        let single = testCase.raw.map { [$0] }
        #expect(ParseOutcome.parse(single, limits: testCase.limits) == whole)
    }

    @Test("pipelined leftovers stay buffered until asked for")
    func leftoversStayBuffered() throws {
        var parser = HTTPRequestParser()
        let first = bytes("GET /a HTTP/1.1\r\n\r\n")
        let partial = bytes("GET /b HTTP/1.1\r\nHo")
        parser.feed(first + partial)
        #expect(try parser.next()?.path == "/a")
        #expect(parser.bufferedByteCount == partial.count)
        #expect(parser.isMidRequest)
        #expect(try parser.next() == nil)
        #expect(parser.bufferedByteCount == partial.count)
        parser.feed(bytes("st: x\r\n\r\n"))
        #expect(try parser.next()?.headers["host"] == "x")
        #expect(!parser.isMidRequest)
    }

    /// A refused body names its request (method, path, the id it sent) however its bytes were split: the
    /// head may come in the read that refuses the body or in an earlier one.
    @Test("a refused body names its request at every split")
    func aRefusedBodyNamesItsRequestAtEverySplit() {
        let stream = bytes(
            "POST /chunks HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        for split in 0...stream.count {
            let outcome = ParseOutcome.parse([Array(stream[..<split]), Array(stream[split...])])
            #expect(outcome.requests.isEmpty && outcome.error?.code == .badRequest, "split at \(split)")
            #expect(
                outcome.error?.method == .post && outcome.error?.path == "/chunks" && outcome.error?.requestId == "r-1",
                "split at \(split): \(outcome)")
        }
    }
}
