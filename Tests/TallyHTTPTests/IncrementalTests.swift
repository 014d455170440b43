import Testing

@testable import TallyHTTP

@Suite("Incremental delivery")
struct IncrementalTests {
    @Test("a truncated Content-Length body needs more bytes", arguments: [0, 1, 5, 9])
    func truncatedBody(received: Int) throws {
        let body = bytes("0123456789")
        var parser = HTTPRequestParser()
        parser.feed(bytes("POST /t HTTP/1.1\r\nContent-Length: 10\r\n\r\n") + body[..<received])
        #expect(try parser.next() == nil)
        #expect(parser.isMidRequest)
        #expect(try parser.next() == nil)
        parser.feed(Array(body[received...]))
        #expect(try parser.next()?.body == body)
        #expect(!parser.isMidRequest)
    }

    /// What a client that leaves now abandons: any byte of a request, at every split point, but not the
    /// empty lines before one, nor anything once a request is whole.
    @Test("a partial request is held at every split, empty lines alone are not")
    func holdsPartialRequestAtEverySplit() throws {
        let request = bytes("POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        for split in 1..<request.count {
            var parser = HTTPRequestParser()
            parser.feed(bytes("\r\n\r\n"))
            #expect(try parser.next() == nil)
            #expect(!parser.holdsPartialRequest, "empty lines alone")
            parser.feed(Array(request[..<split]))
            #expect(try parser.next() == nil)
            #expect(parser.holdsPartialRequest, "split at \(split)")
            parser.feed(Array(request[split...]))
            #expect(try parser.next()?.body == bytes("abc"))
            #expect(!parser.holdsPartialRequest, "whole after split at \(split)")
        }
    }

    @Test("a truncated chunked body needs more bytes")
    func truncatedChunked() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes("POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"))
        #expect(try parser.next() == nil)
        #expect(parser.isMidRequest)
        parser.feed(bytes("lo\r\n0\r\n"))
        #expect(try parser.next() == nil)
        parser.feed(bytes("\r\n"))
        #expect(try parser.next()?.body == bytes("hello"))
    }

    @Test("a truncated header section needs more bytes")
    func truncatedHead() throws {
        var parser = HTTPRequestParser()
        #expect(!parser.isMidRequest)
        #expect(try parser.next() == nil)
        parser.feed(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r"))
        #expect(try parser.next() == nil)
        #expect(parser.isMidRequest)
        parser.feed(bytes("\n"))
        #expect(try parser.next()?.headers["HOST"] == "a")
    }

    @Test("empty lines before a request line start the request (for the header timeout)")
    func emptyLinesStartARequest() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes("\r\n\n"))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedByteCount == 0)
        #expect(parser.isMidRequest)
        #expect(!parser.isReceivingBody)
        parser.feed(bytes("GET / HTTP/1.1\r\n\r\n"))
        #expect(try parser.next()?.path == "/")
        #expect(!parser.isMidRequest)
    }

    @Test("a long pipelined stream fed in uneven pieces keeps every request intact", arguments: [1, 700, 3000, 9000])
    func longPipelinedStream(pieceSize: Int) {
        var stream: [UInt8] = []
        var expectedBodies: [[UInt8]] = []
        for index in 0..<60 {
            let body = Array(repeating: UInt8(ascii: "a") + UInt8(index % 26), count: index * 37)
            expectedBodies.append(body)
            if index % 3 == 0 {
                stream += bytes("POST /r/\(index) HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                stream += bytes(String(body.count, radix: 16) + "\r\n") + body + bytes("\r\n0\r\n\r\n")
                if body.isEmpty { stream.removeLast(5) }
            } else {
                stream += bytes("POST /r/\(index) HTTP/1.1\r\nContent-Length: \(body.count)\r\n\r\n") + body
            }
        }
        var pieces: [[UInt8]] = []
        var start = 0
        while start < stream.count {
            let end = min(stream.count, start + pieceSize)
            pieces.append(Array(stream[start..<end]))
            start = end
        }
        let outcome = ParseOutcome.parse(pieces)
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.path) == (0..<60).map { "/r/\($0)" })
        #expect(outcome.requests.allSatisfy { $0.method == .post })
        #expect(outcome.requests.map(\.body) == expectedBodies)
    }

    /// Byte-at-a-time delivery of a large header section stays linear: each byte's search resumes where the
    /// last one stopped, looking again at no more than a line ending's few bytes (a parser that rescanned the
    /// ~16 KB head from its start on every byte would be quadratic).
    @Test("byte-at-a-time delivery of a large header section is never rescanned")
    func byteAtATimeIsLinear() throws {
        let filler = (0..<150).map { "X-Header-\($0): " + String(repeating: "v", count: 90) + "\r\n" }.joined()
        let request = bytes("GET / HTTP/1.1\r\n" + filler + "\r\n")
        let limits = HTTPLimits(maxHeaderBytes: 64 * 1024, maxHeaderCount: 200)
        var parser = HTTPRequestParser(limits: limits)
        var parsed: HTTPRequest?
        var widestRescan = 0
        for byte in request {
            parser.feed([byte])
            if let request = try parser.next() {
                parsed = request
            } else {
                widestRescan = max(widestRescan, parser.bufferedByteCount - parser.scanOffset)
            }
        }
        #expect(parsed?.headers.count == 150)
        #expect(widestRescan <= 3, "bytes searched again on a later byte's arrival")
    }
}
