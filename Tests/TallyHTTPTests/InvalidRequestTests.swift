import TallyHTTP
import Testing

/// An invalid input and the status it must be rejected with.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: [UInt8]
    var status: Int
    var limits = HTTPLimits()

    init(_ name: String, _ raw: String, _ status: Int, limits: HTTPLimits = HTTPLimits()) {
        self.init(name, bytes(raw), status, limits: limits)
    }

    init(_ name: String, _ raw: [UInt8], _ status: Int, limits: HTTPLimits = HTTPLimits()) {
        self.name = name
        self.raw = raw
        self.status = status
        self.limits = limits
    }

    var testDescription: String { "\(name) -> \(status)" }
}

enum InvalidCases {
    static let chunkedHead = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    static let small = HTTPLimits(maxHeaderBytes: 256, maxBodyBytes: 1024, maxHeaderCount: 4)

    static let all: [InvalidCase] = [
        // Request line.
        InvalidCase("double space after method", "GET  / HTTP/1.1\r\n\r\n", 400),
        InvalidCase("double space before version", "GET /  HTTP/1.1\r\n\r\n", 400),
        InvalidCase("trailing space after version", "GET / HTTP/1.1 \r\n\r\n", 400),
        InvalidCase("tab as separator", "GET\t/ HTTP/1.1\r\n\r\n", 400),
        InvalidCase("leading space before method", " GET / HTTP/1.1\r\n\r\n", 400),
        InvalidCase("missing version (HTTP/0.9 style)", "GET /\r\n\r\n", 400),
        InvalidCase("missing target", "GET HTTP/1.1\r\n\r\n", 400),
        InvalidCase("method is not a token", "G@T / HTTP/1.1\r\n\r\n", 400),
        InvalidCase("garbage line", "\u{1}\u{2}\u{3}\r\n\r\n", 400),
        InvalidCase("bare CR before request line", "\rGET / HTTP/1.1\r\n\r\n", 400),
        InvalidCase("bare CR inside request line", "GET / HTTP/1.1\rX: y\r\n\r\n", 400),
        InvalidCase("target not origin-form", "GET example.com HTTP/1.1\r\n\r\n", 400),
        InvalidCase("absolute-form without an authority", "GET http:///x HTTP/1.1\r\n\r\n", 400),
        InvalidCase("absolute-form with user information", "GET http://u@x/healthz HTTP/1.1\r\n\r\n", 400),
        InvalidCase("absolute-form with user and password", "GET https://u:p@x?q HTTP/1.1\r\n\r\n", 400),
        InvalidCase("a scheme other than http(s)", "GET ftp://a/x HTTP/1.1\r\n\r\n", 400),
        InvalidCase("asterisk target with GET", "GET * HTTP/1.1\r\n\r\n", 400),
        InvalidCase("fragment in target", "GET /a#frag HTTP/1.1\r\n\r\n", 400),
        InvalidCase(
            "non-ASCII byte in target", [UInt8]("GET /caf".utf8) + [0xC3, 0xA9] + bytes(" HTTP/1.1\r\n\r\n"), 400),
        InvalidCase("control byte in target", "GET /a\u{7F}b HTTP/1.1\r\n\r\n", 400),
        // Version.
        InvalidCase("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505),
        InvalidCase("HTTP/0.9 with version", "GET / HTTP/0.9\r\n\r\n", 505),
        InvalidCase("lower-case protocol name", "GET / http/1.1\r\n\r\n", 400),
        InvalidCase("two-digit minor", "GET / HTTP/1.10\r\n\r\n", 400),
        InvalidCase("version garbage", "GET / HTTX/1.1\r\n\r\n", 400),
        InvalidCase("version without minor", "GET / HTTP/1\r\n\r\n", 400),
        // Header lines.
        InvalidCase("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        InvalidCase("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
        InvalidCase("obs-fold continuation", "GET / HTTP/1.1\r\nX-A: a\r\n  folded\r\n\r\n", 400),
        InvalidCase("obs-fold with tab", "GET / HTTP/1.1\r\nX-A: a\r\n\tfolded\r\n\r\n", 400),
        InvalidCase("whitespace before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
        InvalidCase("NUL in header value", "GET / HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n", 400),
        InvalidCase("bare CR in header value", "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 400),
        InvalidCase("CR CR LF line ending", "GET / HTTP/1.1\r\nX-A: a\r\r\n\r\n", 400),
        InvalidCase("control char in header value", "GET / HTTP/1.1\r\nX-A: a\u{1B}b\r\n\r\n", 400),
        InvalidCase(
            "NUL deep inside a long header value", "GET / HTTP/1.1\r\nX-A: 0123456789abcdef\u{0}ghijklmn\r\n\r\n", 400),
        InvalidCase(
            "DEL deep inside a long header value", "GET / HTTP/1.1\r\nX-A: 0123456789abcdef\u{7F}ghijklm\r\n\r\n", 400),
        InvalidCase(
            "ESC deep inside a long header value", "GET / HTTP/1.1\r\nX-A: 01234567\u{1B}9abcdefghijklm\r\n\r\n", 400),
        InvalidCase("header without colon", "GET / HTTP/1.1\r\nJustAName\r\n\r\n", 400),
        InvalidCase("empty header name", "GET / HTTP/1.1\r\n: value\r\n\r\n", 400),
        InvalidCase("non-token header name", "GET / HTTP/1.1\r\nX(A): 1\r\n\r\n", 400),
        // Path and query.
        InvalidCase("truncated percent escape", "GET /a%2 HTTP/1.1\r\n\r\n", 400),
        InvalidCase("non-hex percent escape", "GET /a%zz HTTP/1.1\r\n\r\n", 400),
        InvalidCase("percent at end of path", "GET /a% HTTP/1.1\r\n\r\n", 400),
        InvalidCase("encoded slash in path", "GET /a%2Fb HTTP/1.1\r\n\r\n", 400),
        InvalidCase("encoded slash in path, lower case", "GET /tenants%2fx%2Fstats HTTP/1.1\r\n\r\n", 400),
        InvalidCase("encoded NUL in path", "GET /a%00b HTTP/1.1\r\n\r\n", 400),
        InvalidCase("invalid UTF-8 in path", "GET /%C3%28 HTTP/1.1\r\n\r\n", 400),
        InvalidCase("overlong UTF-8 in path", "GET /%C0%AF HTTP/1.1\r\n\r\n", 400),
        // Framing.
        InvalidCase(
            "Transfer-Encoding and Content-Length",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                + "Content-Length: 5\r\n\r\n0\r\n\r\n", 400),
        InvalidCase(
            "Content-Length and Transfer-Encoding",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        InvalidCase(
            "conflicting Content-Length", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        InvalidCase("Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello", 400),
        InvalidCase("negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        InvalidCase("signed Content-Length", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", 400),
        InvalidCase("hex Content-Length", "POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\nhello", 400),
        InvalidCase("empty Content-Length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400),
        InvalidCase("Content-Length with inner space", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400),
        InvalidCase("a coding other than chunked last", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        InvalidCase("only identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 400),
        InvalidCase("gzip then chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        InvalidCase("chunked not last", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        InvalidCase(
            "chunked not last across lines",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                + "Transfer-Encoding: identity\r\n\r\n", 400),
        InvalidCase("chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
        InvalidCase("empty Transfer-Encoding", "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", 400),
        InvalidCase("chunked with parameter", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400),
        InvalidCase(
            "Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        InvalidCase(
            "POST without framing when required", "POST / HTTP/1.1\r\nHost: a\r\n\r\n", 411,
            limits: HTTPLimits(lengthRequiredMethods: [.post, .put])),
        InvalidCase(
            "PUT without framing when required", "PUT / HTTP/1.1\r\n\r\n", 411,
            limits: HTTPLimits(lengthRequiredMethods: [.post, .put])),
        // Chunked bodies.
        InvalidCase("non-hex chunk size", chunkedHead + "zz\r\n", 400),
        InvalidCase("empty chunk size", chunkedHead + "\r\n", 400),
        InvalidCase("chunk size with trailing garbage", chunkedHead + "5x\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("negative chunk size", chunkedHead + "-5\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("chunk size overflow", chunkedHead + "1FFFFFFFFFFFFFFFF\r\n", 400),
        InvalidCase("chunk size overflow with zeros", chunkedHead + "8000000000000000\r\n", 400),
        InvalidCase("control char in chunk extension", chunkedHead + "5;a=\u{1}\r\nhello\r\n0\r\n\r\n", 400),
        // RFC 9112 §7.1.1's grammar: a proxy that reads quotes could frame these otherwise.
        InvalidCase("unclosed quote in chunk extension", chunkedHead + "5;a=\"open\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("space inside a chunk extension value", chunkedHead + "5;a=b c\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("chunk extension without a name", chunkedHead + "5;=b\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("empty chunk extension", chunkedHead + "5;;a\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("non-ASCII token in chunk extension", chunkedHead + "5;a=\u{FF}\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("chunk extension value missing", chunkedHead + "5;a=\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("text after a quoted extension value", chunkedHead + "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("missing CRLF after chunk data", chunkedHead + "5\r\nhelloXX\r\n0\r\n\r\n", 400),
        InvalidCase("bare LF after a chunk size", chunkedHead + "5\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("bare LF after chunk data", chunkedHead + "5\r\nhello\n0\r\n\r\n", 400),
        InvalidCase("bare LF after the last chunk size", chunkedHead + "5\r\nhello\r\n0\n\r\n", 400),
        InvalidCase("bare LF ending a chunked body", chunkedHead + "5\r\nhello\r\n0\r\n\n", 400),
        InvalidCase("bare LF ending a trailer line", chunkedHead + "5\r\nhello\r\n0\r\nT: v\n\r\n", 400),
        InvalidCase("bare LF ending a chunk extension", chunkedHead + "5;a=b\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("whitespace after a chunk size with no extension", chunkedHead + "5  \r\nhello\r\n0\r\n\r\n", 400),
        InvalidCase("CR without LF after chunk data", chunkedHead + "5\r\nhello\rX0\r\n\r\n", 400),
        InvalidCase("obs-fold in trailer", chunkedHead + "0\r\nX-T: a\r\n b\r\n\r\n", 400),
        InvalidCase("invalid trailer line", chunkedHead + "0\r\nno colon\r\n\r\n", 400),
        // Limits.
        InvalidCase("huge Content-Length", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
        InvalidCase(
            "Content-Length above maxBodyBytes", "POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413,
            limits: small),
        InvalidCase(
            "chunked total above maxBodyBytes",
            chunkedHead + "200\r\n" + String(repeating: "a", count: 512)
                + "\r\n201\r\n", 413, limits: small),
        InvalidCase("single chunk above maxBodyBytes", chunkedHead + "FFFFFFFF\r\n", 413),
        InvalidCase(
            "too many headers", "GET / HTTP/1.1\r\n" + (0..<5).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431,
            limits: small),
        InvalidCase(
            "default header count limit",
            "GET / HTTP/1.1\r\n" + (0..<101).map { "X-\($0): v\r\n" }.joined()
                + "\r\n", 431),
        InvalidCase(
            "complete header section over the limit",
            "GET / HTTP/1.1\r\nX-Big: "
                + String(repeating: "b", count: 300) + "\r\n\r\n", 431, limits: small),
        InvalidCase(
            "header section one byte over the limit",
            "GET / HTTP/1.1\r\nX: "
                + String(repeating: "b", count: 256 - 19 - 2 + 1) + "\r\n\r\n", 431, limits: small),
        InvalidCase(
            "request line over the limit, complete",
            "GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, limits: small),
        InvalidCase(
            "request line over the limit, still arriving", "GET /" + String(repeating: "a", count: 300), 414,
            limits: small),
        InvalidCase(
            "incomplete header section over the limit",
            "GET / HTTP/1.1\r\nX-Big: "
                + String(repeating: "b", count: 300), 431, limits: small),
        InvalidCase(
            "long chunk extension", chunkedHead + "5;" + String(repeating: "e", count: 300), 400, limits: small),
        // Extensions and leading zeros are bounded over the whole body, however short each line.
        InvalidCase(
            "chunk extensions over the limit in all",
            chunkedHead + String(repeating: "1;" + String(repeating: "e", count: 60) + "\r\nx\r\n", count: 5), 400,
            limits: small),
        InvalidCase(
            "leading zeros over the limit in all",
            chunkedHead + String(repeating: String(repeating: "0", count: 60) + "1\r\nx\r\n", count: 5), 400,
            limits: small),
        InvalidCase(
            "trailers over the limit",
            chunkedHead + "0\r\n" + (0..<2).map { "X-T\($0): " + String(repeating: "v", count: 200) + "\r\n" }.joined()
                + "\r\n",
            431, limits: small),
        InvalidCase(
            "too many trailers", chunkedHead + "0\r\n" + (0..<5).map { "T\($0): v\r\n" }.joined() + "\r\n", 431,
            limits: small),
    ]
}

@Suite("Invalid requests")
struct InvalidRequestTests {
    @Test("are rejected with the expected status", arguments: InvalidCases.all)
    func rejects(_ testCase: InvalidCase) {
        let outcome = ParseOutcome.parse([testCase.raw], limits: testCase.limits)
        #expect(outcome.requests.isEmpty)
        #expect(outcome.error?.status == testCase.status, "\(outcome)")
    }

    @Test("are rejected the same way when fed one byte at a time", arguments: InvalidCases.all)
    func rejectsIncrementally(_ testCase: InvalidCase) {
        let whole = ParseOutcome.parse([testCase.raw], limits: testCase.limits)
        let single = ParseOutcome.parse(testCase.raw.map { [$0] }, limits: testCase.limits)
        #expect(single == whole)
    }

    @Test("the parser stays failed and discards further input")
    func staysFailed() throws {
        var parser = HTTPRequestParser()
        parser.feed(bytes("GET / HTTP/9.9\r\n\r\n"))
        let first = #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(first?.code == .versionNotSupported)
        parser.feed(bytes("GET / HTTP/1.1\r\n\r\n"))
        #expect(parser.bufferedByteCount == 0)
        #expect(!parser.isMidRequest)
        let second = #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(second == first)
    }

    @Test("every parse error has its status's own reason phrase")
    func everyErrorHasAReasonPhrase() {
        let phrases = HTTPParseError.Code.allCases.map { HTTPParseError(code: $0, message: "m").reasonPhrase }
        #expect(!phrases.contains("Status"), "\(phrases)")
        #expect(
            HTTPParseError(code: .headersTooLarge, message: "m").description == "431 Request Header Fields Too Large: m"
        )
        #expect(Set(phrases).count == phrases.count)
    }

    @Test("obs-fold is reported as such", arguments: ["X-A: a\r\n folded", "X-A: a\n\tfolded", " Host: a"])
    func obsFoldMessage(lines: String) {
        let outcome = ParseOutcome.parse([bytes("GET / HTTP/1.1\r\n" + lines + "\r\n\r\n")])
        #expect(outcome.error?.status == 400)
        #expect(outcome.error?.message.contains("folding") == true)
    }

    @Test(
        "a path that does not decode says why",
        arguments: [
            ("/%zz", "% must be followed by two hex digits"), ("/a%0", "% must be followed by two hex digits"),
            ("/a%00b", "encoded NUL (%00)"), ("/%E9", "percent-encoded bytes are not UTF-8"),
            ("/%C3", "percent-encoded bytes are not UTF-8"),
        ])
    func undecodablePathMessage(path: String, reason: String) {
        let outcome = ParseOutcome.parse([bytes("GET \(path) HTTP/1.1\r\n\r\n")])
        #expect(outcome.error?.status == 400)
        #expect(outcome.error?.message.contains(reason) == true, "\(outcome.error?.message ?? "no error")")
    }

    @Test("a valid request before an invalid one is still returned")
    func validThenInvalid() {
        let outcome = ParseOutcome.parse([bytes("GET /ok HTTP/1.1\r\n\r\nGET /bad HTTP/3.0\r\n\r\n")])
        #expect(outcome.requests.map(\.path) == ["/ok"])
        #expect(outcome.error?.code == .versionNotSupported)
    }

    @Test("10 MB of header bytes fed incrementally fail after about 16 KiB")
    func hugeHeadersFailFast() {
        var parser = HTTPRequestParser()
        parser.feed(bytes("GET / HTTP/1.1\r\n"))
        let line = bytes("X-Filler: " + String(repeating: "x", count: 1000) + "\r\n")
        var fed = 16
        var error: HTTPParseError?
        var maxBuffered = 0
        while fed < 10 * 1024 * 1024 {
            parser.feed(line)
            fed += line.count
            maxBuffered = max(maxBuffered, parser.bufferedByteCount)
            do {
                _ = try parser.next()
            } catch let thrown {
                error = thrown
                break
            }
        }
        #expect(error?.code == .headersTooLarge)
        #expect(error?.status == 431)
        #expect(fed <= 16 * 1024 + 2 * line.count, "failed only after \(fed) bytes")
        #expect(maxBuffered <= 16 * 1024 + 2 * line.count)
        // Feeding the remaining megabytes is discarded rather than buffered.
        for _ in 0..<1000 {
            parser.feed(line)
        }
        #expect(parser.bufferedByteCount == 0)
    }

    @Test("a request line without any line break fails at the limit, as too long a target (414)")
    func endlessRequestLine() {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxHeaderBytes: 1024))
        var thrown: HTTPParseError?
        var fed = 0
        while thrown == nil && fed < 1_000_000 {
            parser.feed(Array(repeating: UInt8(ascii: "A"), count: 100))
            fed += 100
            do { _ = try parser.next() } catch { thrown = error }
        }
        #expect(thrown?.code == .targetTooLong && thrown?.status == 414)
        #expect(fed <= 1200)
    }

    @Test("Content-Length above the limit fails before the body arrives")
    func bodyTooLargeBeforeBody() {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxBodyBytes: 1000))
        parser.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"))
        // The refusal names the request it refuses, for its log line.
        var refusal = HTTPParseError(code: .bodyTooLarge, message: "Content-Length exceeds 1000")
        refusal.method = .post
        refusal.path = "/"
        #expect(throws: refusal) {
            try parser.next()
        }
    }
}
