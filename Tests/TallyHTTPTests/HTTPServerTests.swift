import Foundation
import Glibc
import Synchronization
import TallyCore
import TallyTestSupport
import Testing

@testable import TallyHTTP

@Suite(.serialized) struct HTTPServerTests {
    func startServer(
        handler: EchoHandler = EchoHandler(), _ change: (inout HTTPServerConfiguration) -> Void = { _ in }
    ) throws -> HTTPServer {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.eventLoops = 2
        configuration.log = { _ in }
        change(&configuration)
        return try HTTPServer(configuration: configuration, handler: handler)
    }

    @Test func answersKeepAliveRequestsOnOneConnection() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        for index in 0..<5 {
            let response = try client.request("POST", "/echo%20me?q=\(index)", body: Array("hello".utf8))
            #expect(response.status == 200)
            #expect(response.text == "POST /echo me 5 \(index)")
        }
    }

    /// Every response carries `Date` (RFC 9110 §6.6.1) in IMF-fixdate form, close to the clock's time.
    @Test func everyResponseCarriesTheDate() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        for path in ["/echo", "/slow", "/nothing"] {
            let before = Int64(time(nil))
            let response = try client.request("GET", path)
            let after = Int64(time(nil))
            let date = try #require(response.header("Date"), "\(path)")
            #expect(
                (before...after).contains {
                    String(decoding: HTTPDate.format(secondsSinceEpoch: $0), as: UTF8.self) == date
                },
                "\(path): \(date)")
        }
    }

    /// IMF-fixdate against RFC 9110's own example and edge days (epoch, a leap day, before 1970, year end).
    @Test(arguments: [
        (Int64(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT"), (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"), (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
        (1_798_761_599, "Thu, 31 Dec 2026 23:59:59 GMT"), (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
    ])
    func datesAreFormattedAsIMFFixdate(seconds: Int64, expected: String) {
        #expect(String(decoding: HTTPDate.format(secondsSinceEpoch: seconds), as: UTF8.self) == expected)
    }

    /// A server that cannot listen says why in its code, the system call and `errno`, and what to do.
    @Test func startFailuresCarryTheirCodeAndTheFailedCall() throws {
        let running = try startServer()
        defer { running.shutdown() }
        func failure(_ change: (inout HTTPServerConfiguration) -> Void) -> HTTPServerError? {
            var configuration = HTTPServerConfiguration()
            configuration.port = 0
            configuration.eventLoops = 1
            configuration.log = { _ in }
            change(&configuration)
            do throws(HTTPServerError) {
                let server = try HTTPServer(configuration: configuration, handler: EchoHandler())
                server.shutdown()
                return nil
            } catch {
                return error
            }
        }
        let inUse = failure { $0.port = running.port }
        #expect(inUse?.code == .addressInUse)
        #expect(inUse?.operation == "bind to 127.0.0.1:\(running.port)")
        #expect(inUse?.errorNumber == EADDRINUSE)
        #expect(
            inUse?.message.hasSuffix(
                "another socket holds the port (a server listening there, or a connection using it as its local end): stop it or choose another --port"
            ) == true)
        let notAnAddress = failure { $0.host = "localhost" }
        #expect(notAnAddress?.code == .invalidAddress)
        #expect(notAnAddress?.errorNumber == nil)
        #expect(failure { $0.port = 65536 }?.code == .invalidAddress)
        // 192.0.2.1 (TEST-NET-1, RFC 5737) belongs to no interface here.
        let foreign = failure { $0.host = "192.0.2.1" }
        #expect(foreign?.code == .addressNotAvailable)
        #expect(foreign?.message.contains("use 127.0.0.1 or 0.0.0.0") == true)
    }

    /// A listener takes its port before any server exists: connections are refused (not left waiting) until a
    /// server serves on it, and a listener no server took gives its port back. Two listeners may bind one
    /// port while neither listens (both ask for `SO_REUSEADDR`): the second to listen fails as in use.
    @Test func aListenerHoldsItsPortAndRefusesConnectionsUntilAServerServesOnIt() throws {
        var configuration = HTTPServerConfiguration()
        configuration.host = "192.0.2.1"  // Not used: the listener's address is served.
        configuration.port = 1
        configuration.eventLoops = 1
        configuration.log = { _ in }
        let listener = try HTTPListener(host: "127.0.0.1", port: 0)
        let port = listener.port
        #expect(port > 0)
        #expect(throws: LoopbackClient.ClientError.self) { try LoopbackClient(port: port) }
        let server = try HTTPServer(listener: listener, configuration: configuration, handler: EchoHandler())
        #expect(server.port == port)
        #expect(try LoopbackClient(port: port).request("GET", "/served").status == 200)
        var inUse: HTTPServerError?
        do throws(HTTPServerError) { _ = try HTTPListener(host: "127.0.0.1", port: port) } catch { inUse = error }
        #expect(inUse?.code == .addressInUse, "no listener binds a port a server listens on")
        server.shutdown()

        let first = try HTTPListener(host: "127.0.0.1", port: 0)
        let second = try HTTPListener(host: "127.0.0.1", port: first.port)
        let winner = try HTTPServer(listener: second, configuration: configuration, handler: EchoHandler())
        defer { winner.shutdown() }
        var late: HTTPServerError?
        do throws(HTTPServerError) {
            _ = try HTTPServer(listener: first, configuration: configuration, handler: EchoHandler())
        } catch {
            late = error
        }
        #expect(late?.code == .addressInUse)
        #expect(late?.operation == "listen on 127.0.0.1:\(first.port)")

        // A socket that does not ask for SO_REUSEADDR binds only a port no socket holds.
        var unused: HTTPListener? = try HTTPListener(host: "127.0.0.1", port: 0)
        let unusedPort = try #require(unused?.port)
        #expect(!Self.bindsWithoutReuse(port: unusedPort))
        unused = nil
        #expect(Self.bindsWithoutReuse(port: unusedPort), "the listener's port was given back")
    }

    /// Whether a plain socket (without `SO_REUSEADDR`) can bind 127.0.0.1:`port`; it is closed again.
    static func bindsWithoutReuse(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Every answer carries its request's id in `X-Request-Id`, and its log line the same id and the client's
    /// address: the client's own id when it sent a usable one (visible ASCII, at most 128), else a new one of
    /// 16 hexadecimal digits, never the same twice. The server's own refusals carry one too, and their lines
    /// name the failure.
    @Test func answersAndLogLinesCarryTheRequestIdAndTheClient() throws {
        let log = LogCollector()
        let server = try startServer { $0.log = { log.append($0) } }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        var generated: Set<String> = []
        for index in 0..<20 {
            let response = try client.request("GET", "/new\(index)")
            let id = try #require(response.header("X-Request-Id"))
            #expect(id.utf8.count == 16 && id.allSatisfy(\.isHexDigit) && id == id.lowercased(), "\(id)")
            generated.insert(id)
        }
        #expect(generated.count == 20)
        let kept = String(repeating: "k", count: 127) + "!"
        let sent = [
            ("abc-123", "abc-123"), (kept, kept), (String(repeating: "k", count: 129), nil), ("has space", nil),
            ("caf\u{E9}", nil),
        ]
        for (index, (value, expected)) in sent.enumerated() {
            let response = try client.request("GET", "/sent\(index)", headers: [("X-Request-Id", value)])
            let id = try #require(response.header("X-Request-Id"))
            if let expected {
                #expect(id == expected)
            } else {
                #expect(id.utf8.count == 16 && !generated.contains(id), "\(value) is replaced by a new id, not \(id)")
            }
        }
        let refused = try LoopbackClient(port: server.port)
        try refused.send(
            "GET /big HTTP/1.1\r\nHost: x\r\nX-Request-Id: big-1\r\nX-Pad: \(String(repeating: "p", count: 20_000))\r\n\r\n"
        )
        let tooLarge = try refused.readResponse()
        #expect(tooLarge.status == 431)
        #expect(tooLarge.header("X-Request-Id")?.utf8.count == 16, "a head refused unread keeps no id of the client's")

        var lines: [String] = []
        #expect(
            Polling.until(seconds: 5) {
                lines = log.all.flatMap { $0.split(separator: "\n").map(String.init) }
                return lines.contains { $0.contains(#""path":"/big""#) || $0.contains(#""status":431"#) }
            })
        let abc = lines.first { $0.contains(#""path":"/sent0""#) } ?? ""
        #expect(abc.hasSuffix(#","client":"127.0.0.1","requestId":"abc-123"}"#), "\(abc)")
        for (index, id) in generated.enumerated() where index < 3 {
            #expect(lines.contains { $0.hasSuffix(#""requestId":"\#(id)"}"#) }, "\(id) in \(lines)")
        }
        let refusal = lines.first { $0.contains(#""status":431"#) } ?? ""
        #expect(refusal.contains(#""status":431,"error":"headers_too_large","message":""#), "\(refusal)")
        #expect(refusal.contains(#""client":"127.0.0.1","requestId":""#), "\(refusal)")
    }

    /// The server's own refusals of a request whose head arrived whole answer with the client's id and are
    /// logged under the request's method and path, whatever was refused (a field, the framing, the
    /// expectation, the target, the version or the body) and however the bytes were split: here each
    /// arrives in one write, head and body together. A target refused as it stands is logged as sent,
    /// without its query.
    @Test func theServersRefusalsKeepTheClientsIdAndNameTheRequest() throws {
        let log = LogCollector()
        let server = try startServer { $0.log = { log.append($0) } }
        defer { server.shutdown() }
        let cases: [(request: String, status: Int, logged: String)] = [
            // The id comes after the field that is refused: it is found all the same.
            (
                "POST /conflict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
                    + "X-Request-Id: r-conflict\r\n\r\nab", 400, #""method":"POST","path":"/conflict","status":400"#
            ),
            (
                "GET /expect HTTP/1.1\r\nHost: x\r\nExpect: later\r\nX-Request-Id: r-expect\r\n\r\n", 417,
                #""method":"GET","path":"/expect","status":417"#
            ),
            (
                "POST /chunks HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-chunk\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "zz\r\nabc\r\n0\r\n\r\n", 400, #""method":"POST","path":"/chunks","status":400"#
            ),
            (
                "GET /a%2Fb?key=do-not-log HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-target\r\n\r\n", 400,
                #""method":"GET","path":"/a%2Fb","status":400"#
            ),
            (
                "GET /later HTTP/2.0\r\nHost: x\r\nX-Request-Id: r-version\r\n\r\n", 505,
                #""method":"GET","path":"/later","status":505"#
            ),
            // A refused target's user information (a password, maybe) is not logged.
            (
                "GET http://alice:s3cret@example.com/x?k=1 HTTP/1.1\r\nHost: example.com\r\n"
                    + "X-Request-Id: r-userinfo\r\n\r\n", 400,
                #""method":"GET","path":"http://example.com/x","status":400"#
            ),
        ]
        for (request, status, _) in cases {
            let client = try LoopbackClient(port: server.port)
            try client.send(request)
            let answer = try client.readResponse()
            let sent = Self.requestId(in: request)
            #expect(answer.status == status && answer.header("X-Request-Id") == String(sent), "\(request)")
        }
        var lines: [String] = []
        #expect(
            Polling.until(seconds: 5) {
                lines = log.all.flatMap { $0.split(separator: "\n").map(String.init) }
                return lines.count >= cases.count
            })
        for (request, _, logged) in cases {
            let sent = Self.requestId(in: request)
            #expect(
                lines.contains { $0.contains(logged) && $0.hasSuffix(#""requestId":"\#(sent)"}"#) },
                "\(logged) in \(lines)")
        }
        #expect(!lines.joined().contains("do-not-log") && !lines.joined().contains("s3cret"))
        // A refused target behind a head too large to read is named all the same (its id cannot be read).
        let large = try LoopbackClient(port: server.port)
        try large.send("GET /c%2Fd HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "p", count: 20_000))\r\n\r\n")
        #expect(try large.readResponse().status == 431)
        #expect(
            Polling.until(seconds: 5) {
                log.all.joined().contains(#""method":"GET","path":"/c%2Fd","status":431"#)
            }, "\(log.all)")
    }

    /// The `X-Request-Id` value a raw request sends.
    static func requestId(in request: String) -> String {
        let bytes = Array(request.utf8)
        let field = Array("X-Request-Id: ".utf8)
        guard
            let start = (0...(bytes.count - field.count)).first(where: {
                bytes[$0..<($0 + field.count)].elementsEqual(field)
            })
        else { return "" }
        let value = bytes[(start + field.count)...].prefix { $0 != 13 }
        return String(decoding: value, as: UTF8.self)
    }

    /// One JSON line per request (method, path, status, duration), with no header values such as tokens;
    /// the lines of one wake-up reach the log in one call.
    @Test func logsOneLinePerRequestGatheredPerWakeUp() throws {
        let calls = Mutex<[String]>([])
        let server = try startServer { $0.log = { text in calls.withLock { $0.append(text) } } }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        let paths = ["/fast0", "/fast1", "/q%22x", "/fast3", "/slow"]
        try client.send(
            paths.map { "GET \($0) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token\r\n\r\n" }.joined())
        for _ in paths { #expect(try client.readResponse().status == 200) }
        var lines: [String] = []
        for _ in 0..<200 {
            lines = calls.withLock { $0 }.flatMap { $0.split(separator: "\n").map(String.init) }
            if lines.count >= paths.count { break }
            usleep(10_000)
        }
        #expect(lines.count == paths.count)
        for path in ["/fast0", "/fast1", #"/q\"x"#, "/fast3", "/slow"] {
            #expect(
                lines.contains {
                    $0.contains(#""method":"GET","path":"\#(path)","status":200,"durationMs":"#) && $0.hasSuffix("}")
                },
                "\(path) in \(lines)")
        }
        #expect(!calls.withLock { $0 }.joined().contains("secret-token"))
        #expect(calls.withLock { $0 }.contains { $0.contains("\n") }, "the pipelined requests' lines came in one call")
    }

    @Test func chunkedBodiesAreDecoded() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(
            "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nTrailer: x\r\n\r\n"
        )
        #expect(try client.readResponse().text == "POST /c 7 -")
    }

    @Test func connectionCloseAndHTTP10AreHonoured() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let close = try LoopbackClient(port: server.port)
        let response = try close.request("GET", "/a", headers: [("Connection", "close")])
        #expect(response.header("Connection") == "close")
        #expect(close.isClosedByServer())
        let old = try LoopbackClient(port: server.port)
        try old.send("GET /b HTTP/1.0\r\n\r\n")
        #expect(try old.readResponse().text == "GET /b 0 -")
        #expect(old.isClosedByServer())
        // An HTTP/1.0 client asking to keep the connection is told it is kept (it would wait for a close).
        let kept = try LoopbackClient(port: server.port)
        for path in ["/c", "/d"] {
            try kept.send("GET \(path) HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let answer = try kept.readResponse()
            #expect(answer.text == "GET \(path) 0 -")
            #expect(answer.header("Connection") == "keep-alive")
        }
        #expect(try kept.request("GET", "/e").header("Connection") == nil, "HTTP/1.1 keeps alive without saying so")
    }

    /// 204 (like 1xx and 304) has no content: no body and no Content-Length (RFC 9110 §8.6), and the next
    /// response on the connection follows straight on.
    @Test func aNoContentResponseCarriesNoLength() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        let response = try client.request("DELETE", "/nothing")
        #expect(response.status == 204)
        #expect(response.header("Content-Length") == nil && response.body.isEmpty)
        #expect(try client.request("GET", "/next").text == "GET /next 0 -")
    }

    /// A port outside 0-65535 is an error saying so, not a trap (the configuration is public API).
    @Test(arguments: [-1, 65536, Int.max])
    func aPortOutOfRangeIsAnError(port: Int) throws {
        #expect {
            _ = try startServer { $0.port = port }
        } throws: { error in
            "\(error)".contains("cannot listen on port \(port): a port is 0-65535")
        }
    }

    /// A request's log line is written as bytes: the time in UTC with milliseconds, quotes, backslashes and
    /// control characters in the path escaped, other non-ASCII kept, the duration with three decimals.
    @Test func logLinesEscapeThePathAndRoundTheDuration() {
        let time = #"{"time":"2026-11-24T08:15:27.042Z","#
        func line(_ path: String, _ status: Int, _ milliseconds: Double) -> String {
            var bytes: [UInt8] = []
            RequestLogEntry(method: "GET", path: path, status: status, milliseconds: milliseconds)
                .append(time: Timestamp(microseconds: 1_795_508_127_042_999), to: &bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix(time))
            return "{" + text.dropFirst(time.count)
        }
        #expect(line("/healthz", 200, 12.5) == #"{"method":"GET","path":"/healthz","status":200,"durationMs":12.500}"#)
        #expect(line(#"/a"b\c"#, 404, 0.0004) == #"{"method":"GET","path":"/a\"b\\c","status":404,"durationMs":0.000}"#)
        #expect(
            line("/x\u{1}\ny\u{1F}/ünï", 500, 0.0006)
                == #"{"method":"GET","path":"/x\u0001\u000ay\u001f/ünï","status":500,"durationMs":0.001}"#
        )
        // DEL, C1 controls and the Unicode line and paragraph separators, which line-based readers may take
        // for line breaks (Python's `splitlines`), are escaped too.
        #expect(
            line("/a\u{7F}b\u{85}c\u{9F}\u{A0}\u{2028}\u{2029}\u{2027}", 404, 1)
                == #"{"method":"GET","path":"/a\u007fb\u0085c\u009f\#u{A0}\u2028\u2029\#u{2027}","status":404,"durationMs":1.000}"#
        )
        // A JSON Web Token sent in the path is not logged; a word merely starting `eyJ` is.
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        #expect(
            line("/api/v1/admin/tenants/\(token);x/\(token)", 404, 1)
                == #"{"method":"GET","path":"/api/v1/admin/tenants/<token>;x/<token>","status":404,"durationMs":1.000}"#
        )
        #expect(
            line("/eyJ/eyJa.b/eyJ\"\(token)", 404, 1)
                == #"{"method":"GET","path":"/eyJ/eyJa.b/eyJ\"<token>","status":404,"durationMs":1.000}"#
        )
        // Headers with whitespace before the brace (as `jq` prints them) are tokens too; a dotted file name
        // is not.
        for header in ["{\n  \"alg\": \"HS256\"\n}", " {\"alg\":\"HS256\"}", "\n{\"alg\":\"HS256\"}", "{ \"alg\":1}"] {
            let encoded = Data(header.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            #expect(
                line("/t/\(encoded).eyJ4IjoxfQ.sig", 404, 1)
                    == #"{"method":"GET","path":"/t/<token>","status":404,"durationMs":1.000}"#, "\(header)")
        }
        // A token glued to other characters is found all the same, and the rest of its run goes with it, so
        // no part of it is left whatever precedes it; ordinary dotted names are left alone.
        for (path, logged) in [
            ("/api/v1/admin/tenants/\(token).", "/api/v1/admin/tenants/<token>"), ("/api/x.\(token)", "/api/x.<token>"),
            ("/api/a-\(token)", "/api/a-<token>"), ("/api/ab\(token)cd", "/api/ab<token>"),
            ("/a/\(token).\(token)", "/a/<token>"), ("/a/x.y.\(token)", "/a/x.y.<token>"),
            ("/a/new.v1.\(token)", "/a/new.v1.<token>"), ("/index.\(token)", "/index.<token>"),
            ("/files/index.min.js", "/files/index.min.js"), ("/e2e.test.js", "/e2e.test.js"),
            ("/key.e1.prod", "/key.e1.prod"), ("/new.v1.txt", "/new.v1.txt"),
        ] {
            #expect(
                line(path, 404, 1) == #"{"method":"GET","path":""# + logged + #"","status":404,"durationMs":1.000}"#,
                "\(path)")
        }
        // A token split by whitespace or a control (a line wrapped where it was copied; `%20` sent as such in a
        // target refused as it stands), sent without its header, or with its signature in standard base64,
        // is found all the same: no part of the signature is left.
        func split(_ at: Int, by separator: String) -> String {
            "/x/" + String(token.prefix(at)) + separator + String(token.dropFirst(at))
        }
        let signature = "c2lnbmF0dXJl"
        let cases: [(path: String, logged: String)] = [
            (split(30, by: " "), "/x/<token>"), (split(12, by: "\n") + "/stats", "/x/<token>"),
            (split(40, by: "%20"), "/x/<token>"), (split(21, by: "\t\r\n"), "/x/<token>"),
            ("/x/\(signature).eyJzdWIiOiJ4In0", "/x/<token>"), ("/x/eyJzdWIiOiJ4In0.\(signature)", "/x/<token>"),
            ("/x/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln+mF0/XJl==", "/x/<token>"),
            ("/x/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln%2BmF0%2FXJl", "/x/<token>"),
            ("/x/a b.c d/readme.md", "/x/a b.c d/readme.md"), ("/v1/eyJ.json", "/v1/eyJ.json"),
        ]
        for (path, logged) in cases {
            #expect(
                line(path, 404, 1) == #"{"method":"GET","path":""# + logged + #"","status":404,"durationMs":1.000}"#,
                "\(path)")
        }
        // So is one sent as the method (a token is a valid method token).
        var bytes: [UInt8] = []
        RequestLogEntry(method: "G" + token, path: "/a", status: 501, milliseconds: 1)
            .append(time: Timestamp(microseconds: 1_795_508_127_042_999), to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""method":"G<token>","path":"/a""#))
        #expect(
            line("/files/report.v1.txt", 404, 1)
                == #"{"method":"GET","path":"/files/report.v1.txt","status":404,"durationMs":1.000}"#)
        #expect(line("/", 201, 1500.25) == #"{"method":"GET","path":"/","status":201,"durationMs":1500.250}"#)
        #expect(line("/", 200, -3) == #"{"method":"GET","path":"/","status":200,"durationMs":0.000}"#)
        #expect(line("/", 200, .nan) == #"{"method":"GET","path":"/","status":200,"durationMs":0.000}"#)
    }

    /// A failed request's line names its error's code and message after the status, cut to 300 bytes of
    /// whole characters; the client's address and the request's id end the line, escaped and with tokens
    /// redacted as the path is.
    @Test func logLinesCarryTheFailureTheClientAndTheRequestId() {
        func line(_ entry: RequestLogEntry) -> String {
            var bytes: [UInt8] = []
            entry.append(time: Timestamp(microseconds: 1_795_508_127_042_999), to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        #expect(
            line(
                RequestLogEntry(
                    method: "GET", path: "/s", status: 401, milliseconds: 2,
                    failure: HTTPResponse.Failure(code: "unauthorized", message: "token \"\(token)\" has expired"),
                    client: "10.1.2.3", requestId: "req-1"))
                == #"{"time":"2026-11-24T08:15:27.042Z","method":"GET","path":"/s","status":401,"error":"unauthorized","message":"token \"<token>\" has expired","durationMs":2.000,"client":"10.1.2.3","requestId":"req-1"}"#
        )
        #expect(
            line(RequestLogEntry(method: "GET", path: "/", status: 200, milliseconds: 0, requestId: #"a"b\\#(token)"#))
                .hasSuffix(#","durationMs":0.000,"requestId":"a\"b\\<token>"}"#))
        let long = String(repeating: "é", count: 200)
        let logged = line(
            RequestLogEntry(
                method: "POST", path: "/", status: 400, milliseconds: 0,
                failure: HTTPResponse.Failure(code: "malformed_json", message: "x" + long)))
        #expect(
            logged.contains(#""message":"x"# + String(repeating: "é", count: 149) + #"…","durationMs""#), "\(logged)")
        #expect(RequestLogEntry.shortened("short") == "short")
        #expect(RequestLogEntry.shortened(String(repeating: "a", count: 300)) == String(repeating: "a", count: 300))
        #expect(
            RequestLogEntry.shortened(String(repeating: "a", count: 301)) == String(repeating: "a", count: 300) + "…")
    }
}
