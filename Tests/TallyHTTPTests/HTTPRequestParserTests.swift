import TallyTestSupport
import Testing

@testable import TallyHTTP

@Suite struct HTTPRequestParserTests {
    static let stream = Array(
        ("POST /api/v1/events?x=1&y=a%20b+c HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /a%2Cb HTTP/1.1\r\nConnection: close\r\n\r\n"
            + "PATCH /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n")
            .utf8)

    func parseAll(_ pieces: [ArraySlice<UInt8>]) throws -> [HTTPRequest] {
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        for piece in pieces {
            parser.feed(Array(piece))
            while let request = try parser.next() { requests.append(request) }
        }
        return requests
    }

    func summary(_ requests: [HTTPRequest]) -> [String] {
        requests.map {
            "\($0.method.name) \($0.path) \($0.query.map { "\($0.name)=\($0.value)" }) \(String(decoding: $0.body, as: UTF8.self)) \($0.keepAlive)"
        }
    }

    @Test func parsesAPipelinedStream() throws {
        let requests = try parseAll([Self.stream[...]])
        #expect(
            summary(requests) == [
                "POST /api/v1/events [\"x=1\", \"y=a b c\"] hello true",
                "GET /a,b []  false",
                "PATCH /t [] abcde true",
            ])
        #expect(requests[0].headers["content-length"] == "5")
    }

    /// A later HTTP/1 minor version is read as HTTP/1.1 (RFC 9110 §2.5): persistent by default.
    @Test func aLaterMinorVersionIsReadAsHTTP11() throws {
        for version in ["1.2", "1.9"] {
            let requests = try parseAll([Array("GET /x HTTP/\(version)\r\nHost: h\r\n\r\n".utf8)[...]])
            #expect(requests.map(\.minorVersion) == [1] && requests.map(\.keepAlive) == [true], "\(version)")
        }
    }

    /// Every split point, and one byte at a time, give exactly the same requests.
    @Test func everySplitPointGivesTheSameRequests() throws {
        let expected = summary(try parseAll([Self.stream[...]]))
        for split in 0...Self.stream.count {
            let pieces = [Self.stream[..<split], Self.stream[split...]]
            #expect(summary(try parseAll(pieces)) == expected, "split at \(split)")
        }
        #expect(summary(try parseAll(Self.stream.indices.map { Self.stream[$0...$0] })) == expected)
    }

    @Test func aTruncatedBodyWaitsForMoreBytes() throws {
        var parser = HTTPRequestParser()
        parser.feed(Array("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc".utf8))
        #expect(try parser.next() == nil)
        #expect(parser.isMidRequest)
        parser.feed(Array("defghij".utf8))
        #expect(try parser.next()?.body.count == 10)
    }

    @Test(arguments: [
        ("GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        ("GET x HTTP/1.1\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", 400),
        ("G(T /x HTTP/1.1\r\n\r\n", 400),
        ("GET /x HTTP/3.0\r\n\r\n", 505),
    ])
    func rejectsWithTheRightStatus(text: String, status: Int) {
        var parser = HTTPRequestParser()
        parser.feed(Array(text.utf8))
        #expect {
            _ = try parser.next()
        } throws: { error in
            (error as? HTTPParseError)?.status == status
        }
    }

    @Test func tenMegabytesOfHeadersFailAfterTheLimitWithoutBufferingThem() {
        var parser = HTTPRequestParser()
        parser.feed(Array("GET / HTTP/1.1\r\n".utf8))
        let line = Array(("X: " + String(repeating: "a", count: 1000) + "\r\n").utf8)
        var failedAfter = 0
        for index in 0..<10_000 {
            parser.feed(line)
            do {
                _ = try parser.next()
            } catch {
                #expect(error.status == 431)
                failedAfter = index
                break
            }
        }
        #expect(failedAfter > 0 && failedAfter < 20)
    }

    /// A header section over the limit behind a request line that reads is refused as that request (logged
    /// under its method and path; a HEAD's answer then goes without its body); behind one that does not read,
    /// or with no line end in the whole allowance (414), as no request.
    @Test(
        arguments: [
            ("HEAD /api/v1/x?q=1 HTTP/1.1\r\n", 431, "HEAD", "/api/v1/x"),
            ("GET / HTTP/1.1\n", 431, "GET", "/"),
            ("GET  / HTTP/1.1\r\n", 431, nil, nil),
            ("GET /" + String(repeating: "a", count: 20_000), 414, nil, nil),
        ] as [(String, Int, String?, String?)])
    func anOversizedHeaderSectionNamesItsRequest(start: String, status: Int, method: String?, path: String?) {
        var parser = HTTPRequestParser()
        parser.feed(Array(start.utf8))
        parser.feed(Array(("X: " + String(repeating: "a", count: 20_000) + "\r\n").utf8))
        do {
            _ = try parser.next()
            Issue.record("no error")
        } catch {
            #expect(error.status == status)
            #expect(error.method?.name == method)
            #expect(error.path == path)
        }
    }

    /// Random and mutated inputs: no crash, no hang; each gives requests, "need more", or an error.
    @Test func seededFuzzNeverCrashes() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<3000 {
            var bytes = Self.stream
            for _ in 0..<random.below(6) {
                let index = random.below(bytes.count)
                switch random.below(3) {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: index)
                }
            }
            var parser = HTTPRequestParser()
            var offset = 0
            while offset < bytes.count {
                let size = 1 + random.below(64)
                parser.feed(Array(bytes[offset..<min(offset + size, bytes.count)]))
                offset += size
                do {
                    while try parser.next() != nil {}
                } catch {
                    break
                }
            }
        }
    }
    func take(_ parser: inout HTTPRequestParser) -> Bool { parser.takeContinueRequest() }

    /// `Expect: 100-continue` is owed once per request with a body, on HTTP/1.1 only, until the body is in.
    @Test func aContinueIsOwedOncePerHTTP11RequestWithABody() throws {
        var parser = HTTPRequestParser()
        parser.feed(Array("POST /a HTTP/1.1\r\nHost: h\r\nExpect: 100-CONTINUE\r\nContent-Length: 3\r\n\r\nab".utf8))
        #expect(try parser.next() == nil)
        let owed = parser.takeContinueRequest()
        let owedAgain = parser.takeContinueRequest()
        #expect(owed)
        #expect(!owedAgain, "owed once")
        parser.feed(Array("c".utf8))
        #expect(try parser.next()?.body == Array("abc".utf8))
        #expect(!take(&parser))
        for head in [
            "POST /b HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
            "GET /c HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
        ] {
            parser.feed(Array(head.utf8))
            let request = try parser.next()
            #expect(request?.path == (head.hasPrefix("POST") ? "/b" : "/c") && request?.body == [], "\(head)")
            #expect(!take(&parser), "no body: \(head)")
        }
        // A body that arrives before the server asked settles the debt.
        parser.feed(
            Array("POST /d HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("1\r\nz\r\n0\r\n\r\n".utf8))
        #expect(try parser.next()?.body == Array("z".utf8))
        #expect(!take(&parser))
        // Without exactly one Host the request will be refused, so no body is invited.
        parser.feed(Array("POST /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n".utf8))
        #expect(try parser.next() == nil)
        #expect(!take(&parser))
        parser.feed(Array("x".utf8))
        let refused = try parser.next()
        #expect(refused?.path == "/f" && refused?.body == Array("x".utf8))
        // HTTP/1.0 clients never wait: Expect is ignored, whatever it says.
        parser.feed(Array("POST /e HTTP/1.0\r\nExpect: 100-continue, teapot\r\nContent-Length: 1\r\n\r\n".utf8))
        #expect(try parser.next() == nil)
        #expect(!take(&parser))
    }

    @Test(arguments: ["teapot", "100-continue, other", ""])
    func anExpectationOtherThanContinueFailsWith417(value: String) {
        var parser = HTTPRequestParser()
        parser.feed(Array("POST /a HTTP/1.1\r\nExpect: \(value)\r\nContent-Length: 1\r\n\r\nx".utf8))
        // Named after its request, whose request line was read.
        var refusal = HTTPParseError(
            code: .expectationFailed, message: "the only expectation supported is 100-continue")
        refusal.method = .post
        refusal.path = "/a"
        #expect(throws: refusal) {
            try parser.next()
        }
    }
}
