import Foundation
import Glibc
import Synchronization
import TallyTestSupport
import Testing

@testable import TallyHTTP

extension HTTPServerTests {
    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET /x HTTP/2.0\r\n\r\n", 505),
        // A later HTTP/1 minor version is HTTP/1.1 (RFC 9110 §2.5), which needs a Host header.
        ("GET /x HTTP/1.2\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
        ("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n", 400),
        // A Host problem is the 400 RFC 9112 §3.2 asks for, whatever else is wrong (417, 501, 413 otherwise).
        ("GET /x HTTP/1.1\r\nExpect: foo\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\nExpect: foo\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: a b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 400),
    ])
    func malformedRequestsGetTheirStatusAndTheServerKeepsServing(request: String, status: Int) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let bad = try LoopbackClient(port: server.port)
        try bad.send(request)
        let response = try bad.readResponse()
        #expect(response.status == status)
        #expect(response.text.contains(#""success":false"#))
        #expect(bad.isClosedByServer())
        let good = try LoopbackClient(port: server.port)
        #expect(try good.request("GET", "/ok").status == 200)
    }

    /// A HEAD refused once its request line was read (a malformed field, an unknown expectation, a coding it
    /// cannot undo, a bad Host) gets its answer's head alone (RFC 9110 §9.3.2), and is logged under its name.
    @Test(arguments: [
        "HEAD /h HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n", "HEAD /h HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n",
        "HEAD /h HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "HEAD /h HTTP/1.1\r\n\r\n",
    ])
    func aRefusedHeadGetsNoBody(request: String) throws {
        let lines = Mutex<[String]>([])
        let server = try startServer { $0.log = { text in lines.withLock { $0.append(text) } } }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(request)
        let text = client.readUntilClosed()
        #expect(text.hasPrefix("HTTP/1.1 4") || text.hasPrefix("HTTP/1.1 5"), "\(text)")
        #expect(text.hasSuffix("\r\n\r\n"), "no body: \(text)")
        #expect(
            Polling.until { lines.withLock { $0.joined().contains(#""method":"HEAD","path":"/h""#) } },
            "\(lines.withLock { $0 })")
    }

    /// A request of a later HTTP/1 minor version is served as HTTP/1.1, on a connection kept open.
    @Test func aLaterMinorVersionIsServedAsHTTP11() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /ok HTTP/1.2\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(try client.request("GET", "/ok").status == 200)
    }

    @Test func oversizedHeadersAreCutOffAt431WithoutBufferingThemAll() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /x HTTP/1.1\r\nHost: x\r\n")
        // 1 MB of headers in 1 KB lines: the server answers 431 after 16 KiB and drops the rest unread.
        let line = "X-Filler: " + String(repeating: "a", count: 1000) + "\r\n"
        for _ in 0..<1000 {
            do { try client.send(line) } catch { break }
        }
        #expect(try client.readResponse().status == 431)
        #expect(try LoopbackClient(port: server.port).request("GET", "/ok").status == 200)
    }

    @Test func aSlowHeaderIsTimedOutWith408() throws {
        let server = try startServer { $0.headerTimeout = .milliseconds(300) }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /x HTTP/1.1\r\nHost: a")
        let response = try client.readResponse()
        #expect(response.status == 408)
    }

    /// The durations the server logs for its own answers count from the request's first byte: a 408 after
    /// the header timeout (under its method and path once its request line was read), a 400 for a head finished badly after a pause, a 408 for a body too slow (logged
    /// under its method and path, which were known by then), a 413 for a chunked body that grew too
    /// large after a pause, and a 413 for a declared length over the limit (under its method and path).
    @Test func theServersOwnAnswersAreTimedFromTheRequestsFirstByte() throws {
        let lines = Mutex<[String]>([])
        let server = try startServer {
            // Long enough that the bad head, sent 300 ms after its first byte, arrives before it on a busy
            // machine.
            $0.headerTimeout = .seconds(1)
            // Well above the growing body's 300 ms pause, which must end in its 413, not a 408, on a busy
            // machine too.
            $0.bodyTimeout = .seconds(1)
            $0.limits.maxBodyBytes = 100
            $0.log = { text in lines.withLock { $0 += text.split(separator: "\n").map(String.init) } }
        }
        defer { server.shutdown() }
        func line(status: Int, containing text: String) -> String? {
            var found: String?
            _ = Polling.until { () -> Bool in
                found = lines.withLock { $0.first { $0.contains(#""status":\#(status)"#) && $0.contains(text) } }
                return found != nil
            }
            return found
        }
        func milliseconds(_ line: String?) -> Double {
            guard let line, let range = line.range(of: #""durationMs":"#) else { return -1 }
            return Double(line[range.upperBound...].prefix { $0 != "," && $0 != "}" }) ?? -1
        }
        // Logged under its method and path once the request line was read; before, as "-".
        let slowHead = try LoopbackClient(port: server.port)
        try slowHead.send("GET /x HTTP/1.1\r\nHost: a")
        #expect(try slowHead.readResponse().status == 408)
        #expect(milliseconds(line(status: 408, containing: #""method":"GET","path":"/x""#)) >= 1000)
        let slowLine = try LoopbackClient(port: server.port)
        try slowLine.send("GET /half-a-li")
        #expect(try slowLine.readResponse().status == 408)
        #expect(milliseconds(line(status: 408, containing: #""method":"-","path":"-""#)) >= 1000)

        let badHead = try LoopbackClient(port: server.port)
        try badHead.send("GET /y HTTP/1.1\r\nHost: a\r\n")
        usleep(300_000)
        try badHead.send("no colon here\r\n\r\n")
        #expect(try badHead.readResponse().status == 400)
        // Logged under its request, whose request line was read.
        #expect(milliseconds(line(status: 400, containing: #""method":"GET","path":"/y""#)) >= 150)

        let slowBody = try LoopbackClient(port: server.port)
        try slowBody.send("POST /slow-body HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try slowBody.readResponse().status == 408)
        #expect(milliseconds(line(status: 408, containing: #""method":"POST","path":"/slow-body""#)) >= 1000)

        let growing = try LoopbackClient(port: server.port)
        try growing.send(
            "POST /grows HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n")
        usleep(300_000)
        try growing.send("100\r\n")
        #expect(try growing.readResponse().status == 413)
        #expect(milliseconds(line(status: 413, containing: #""method":"POST","path":"/grows""#)) >= 150)

        // A declared length over the limit is refused on the head alone, under the request's name too.
        let declared = try LoopbackClient(port: server.port)
        try declared.send("PUT /declared HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\n\r\n")
        #expect(try declared.readResponse().status == 413)
        #expect(line(status: 413, containing: #""method":"PUT","path":"/declared""#) != nil, "\(lines.withLock { $0 })")
    }

    /// A request its client leaves part-way (closing, resetting or half-closing the connection before its
    /// head or body arrived whole) is logged with status 499, under its method and path once its head
    /// arrived and under `-` before, and counted as the server's own answer; it never reaches the handler,
    /// gets no 408 once its timeout passes, and a request answered before it on the connection is still
    /// answered. A connection closed between requests, or after empty lines alone, logs nothing.
    @Test func requestsLeftPartWayAreLoggedAs499() throws {
        let lines = Mutex<[String]>([])
        let handler = EchoHandler()
        let server = try startServer(handler: handler) {
            $0.headerTimeout = .milliseconds(300)
            $0.bodyTimeout = .milliseconds(300)
            $0.log = { text in lines.withLock { $0 += text.split(separator: "\n").map(String.init) } }
        }
        defer { server.shutdown() }
        func logged(_ text: String) -> Bool {
            Polling.until { lines.withLock { $0.contains { $0.contains(text) } } }
        }

        let body = try LoopbackClient(port: server.port)
        try body.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
        usleep(50_000)
        body.close()
        #expect(logged(#""method":"POST","path":"/upload","status":499"#))

        let chunked = try LoopbackClient(port: server.port)
        try chunked.send("PUT /chunks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        usleep(50_000)
        chunked.abort()
        #expect(logged(#""method":"PUT","path":"/chunks","status":499"#))

        let head = try LoopbackClient(port: server.port)
        try head.send("GET /never HTTP/1.1\r\nHost: a\r\n")
        usleep(50_000)
        head.close()
        #expect(logged(#""method":"-","path":"-","status":499"#))

        // Half-closed after a whole request and part of the next: the first is answered, the second logged.
        let halfClosed = try LoopbackClient(port: server.port)
        try halfClosed.send(
            "GET /first HTTP/1.1\r\nHost: a\r\n\r\nPOST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n12")
        halfClosed.shutdownWrite()
        #expect(try halfClosed.readResponse().status == 200)
        #expect(logged(#""method":"POST","path":"/second","status":499"#))
        #expect(halfClosed.readUntilClosed().isEmpty, "no answer, and no 408, for the request left part-way")

        // Half-closed behind a request still being handled, then reset: logged once, not once per event.
        let twice = try LoopbackClient(port: server.port)
        try twice.send(
            "GET /slower HTTP/1.1\r\nHost: a\r\n\r\nPOST /twice HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab")
        usleep(50_000)
        twice.shutdownWrite()
        #expect(logged(#""method":"POST","path":"/twice","status":499"#))
        twice.abort()
        #expect(logged(#""path":"/slower","status":200"#))

        let idle = try LoopbackClient(port: server.port)
        try idle.send("GET /whole HTTP/1.1\r\nHost: a\r\n\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        idle.close()
        #expect(logged(#""path":"/whole","status":200"#))
        usleep(400_000)
        let all = lines.withLock { $0 }
        #expect(all.filter { $0.contains(#""status":499"#) }.count == 5, "\(all)")
        #expect(!all.contains { $0.contains(#""status":408"#) }, "\(all)")
        #expect(handler.serverAnswers.all == ["499", "499", "499", "499", "499"])
        #expect(!handler.started.all.contains { $0.hasPrefix("/upload") || $0.hasPrefix("/second") })
    }

    /// Clients that connect one after another spread over the event loops: the kernel wakes the same idle
    /// loop for each, and it hands every connection to the loop holding the fewest.
    @Test func connectionsSpreadOverTheLoops() throws {
        let server = try startServer { $0.eventLoops = 2 }
        defer { server.shutdown() }
        var clients: [LoopbackClient] = []
        for _ in 0..<8 {
            let client = try LoopbackClient(port: server.port)
            #expect(try client.request("GET", "/a").status == 200)
            clients.append(client)
        }
        #expect(server.connectionsPerLoop == [4, 4])
        for client in clients { client.close() }
        #expect(Polling.until { server.connectionsPerLoop == [0, 0] }, "\(server.connectionsPerLoop)")
    }

    /// A request whose client resets the connection before its answer is ready is logged all the same: it
    /// was handled (an ingest stored) whether or not the answer could be sent.
    @Test func aRequestIsLoggedEvenWhenItsClientIsGoneBeforeTheAnswer() throws {
        let lines = Mutex<[String]>([])
        let handler = EchoHandler()
        let server = try startServer(handler: handler) { $0.log = { text in lines.withLock { $0.append(text) } } }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /slower HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(handler.started.wait(for: ["/slower -"]))
        client.abort()
        #expect(
            Polling.until { lines.withLock { $0.contains { $0.contains(#""path":"/slower","status":200"#) } } },
            "\(lines.withLock { $0 })")
    }

    /// An HTTP/1.1 request names its host exactly once (RFC 9112 §3.2); HTTP/1.0 needs none, but no request
    /// may name two, or a host that is not `host[:port]`.
    @Test(arguments: [
        "GET /a HTTP/1.1\r\n\r\n", "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", "GET /a HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n", "GET /a HTTP/1.1\r\nHost: a/b@c\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a:xyz\r\n\r\n", "GET /a HTTP/1.1\r\nHost: a, b\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: [::1\r\n\r\n", "GET /a HTTP/1.1\r\nHost: a%2\r\n\r\n",
        "GET /a HTTP/1.0\r\nHost: user@a\r\n\r\n", "GET /a HTTP/1.1\r\nHost: [zzz]\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: [%]\r\n\r\n", "GET /a HTTP/1.1\r\nHost: [::1%]\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: [::1%25]\r\n\r\n", "GET /a HTTP/1.1\r\nHost: [v1.]\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: []\r\n\r\n", "GET /a HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
    ])
    func requestsWithoutExactlyOneValidHostAreRefused(request: String) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(request)
        let response = try client.readResponse()
        #expect(response.status == 400 && response.text.contains("Host"), "\(response.text)")
        #expect(client.isClosedByServer())
        let old = try LoopbackClient(port: server.port)
        try old.send("GET /old HTTP/1.0\r\n\r\n")
        #expect(try old.readResponse().text == "GET /old 0 -")
    }

    /// A HEAD refused for its `Host` gets the 400's head alone (RFC 9110 §9.3.2): its length, no content.
    @Test(arguments: ["HEAD /a HTTP/1.1\r\n\r\n", "HEAD /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"])
    func aHeadRefusedForItsHostGetsNoContent(request: String) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(request)
        let text = client.readUntilClosed()
        #expect(text.hasPrefix("HTTP/1.1 400") && text.hasSuffix("\r\n\r\n"), "no content: \(text)")
        #expect(text.contains("Content-Length: "), "the length the GET's answer would have")
    }

    /// Hosts as RFC 3986 writes them are accepted: names, IPv4, bracketed IPv6, ports, percent-encoding, and
    /// an empty value (a target without an authority).
    @Test func validHostsAreAccepted() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        for host in [
            "localhost", "localhost:8080", "127.0.0.1:1", "[::1]:8080", "[fe80::1%25eth0]", "a.b-c_d~e", "x%41y",
            "", "host:", "[2001:db8::ff00:42:8329]", "[::ffff:192.0.2.1]", "[v1.fe:x]", "[fe80::1%25en%30]",
        ] {
            try client.send("GET /h HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200, "\(host): \(response.text)")
        }
    }

    /// A client that keeps its socket full of pipelined requests (reading the answers as they come) gets a
    /// share of its event loop, not all of it: another client on the same loop is answered meanwhile.
    @Test func aFloodingClientDoesNotStarveTheOthersOnItsLoop() throws {
        let server = try startServer { $0.eventLoops = 1 }
        defer { server.shutdown() }
        // Accepted sockets inherit the listener's receive buffer: a large one holds megabytes of requests,
        // so every read of the flood fills the loop's buffer.
        var size: Int32 = 8 << 20
        setsockopt(server.core.listener, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let flood = try LoopbackClient(port: server.port)
        let stop = Atomic<Bool>(false)
        let request = Array(
            "GET /busy HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "a", count: 4000))\r\n\r\n".utf8)
        let burst = Array((0..<64).map { _ in request }.joined())
        let descriptor = flood.descriptor
        let reader = Thread {
            var sink = [UInt8](repeating: 0, count: 1 << 16)
            while !stop.load(ordering: .relaxed) {
                if recv(descriptor, &sink, sink.count, 0) <= 0 { break }
            }
        }
        let writer = Thread {
            // Whole requests only, blocking: the server reads as fast as it answers.
            while !stop.load(ordering: .relaxed) {
                var sent = 0
                while sent < burst.count {
                    let count = burst.withUnsafeBytes {
                        Glibc.send(descriptor, $0.baseAddress! + sent, burst.count - sent, Int32(MSG_NOSIGNAL))
                    }
                    if count <= 0 { return }
                    sent += count
                }
            }
        }
        reader.start()
        writer.start()
        defer { stop.store(true, ordering: .relaxed) }
        usleep(200_000)
        let other = try LoopbackClient(port: server.port)
        #expect(try other.request("GET", "/other").text == "GET /other 0 -", "answered while the flood goes on")
        let flooding = !stop.load(ordering: .relaxed) && writer.isExecuting
        #expect(flooding, "the flood was still running")
    }

    /// A client that streams on after its error answer is read and dropped a share at a time, like any
    /// other input: another client on the loop is answered, and the linger deadline closes the flood.
    @Test func aClientFloodingAfterItsErrorIsClosedAndDoesNotStarveTheLoop() throws {
        let server = try startServer {
            $0.eventLoops = 1
            $0.lingerTimeout = .milliseconds(300)
        }
        defer { server.shutdown() }
        var size: Int32 = 8 << 20
        setsockopt(server.core.listener, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let flood = try LoopbackClient(port: server.port)
        try flood.send("BROKEN\r\n\r\n")
        #expect(try flood.readResponse().status == 400)
        let stop = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
        let junk = [UInt8](repeating: 0x78, count: 1 << 20)
        let descriptor = flood.descriptor
        let writer = Thread {
            while !stop.load(ordering: .relaxed) {
                let count = junk.withUnsafeBytes {
                    Glibc.send(descriptor, $0.baseAddress, junk.count, Int32(MSG_NOSIGNAL))
                }
                if count <= 0 { break }
            }
            finished.store(true, ordering: .relaxed)
        }
        writer.start()
        defer { stop.store(true, ordering: .relaxed) }
        usleep(100_000)
        let other = try LoopbackClient(port: server.port)
        #expect(try other.request("GET", "/other").text == "GET /other 0 -", "answered while the flood goes on")
        // The linger deadline ends the flood: the server closes, and the writer's sends fail.
        for _ in 0..<500 where !finished.load(ordering: .relaxed) { usleep(10_000) }
        let closed = finished.load(ordering: .relaxed)
        #expect(closed, "the flooding connection was closed")
    }

    /// A connection beyond the cap is answered 503 with `Retry-After` and closed at once, counted, and warned
    /// about once per 10 s.
    @Test func connectionsBeyondTheCapAreClosed() throws {
        let lines = Mutex<[String]>([])
        let server = try startServer {
            $0.maxConnections = 2
            $0.log = { text in lines.withLock { $0.append(text) } }
        }
        defer { server.shutdown() }
        let first = try LoopbackClient(port: server.port)
        let second = try LoopbackClient(port: server.port)
        #expect(try first.request("GET", "/1").status == 200)
        #expect(try second.request("GET", "/2").status == 200)
        #expect(server.gauges.refusedAtLimit == 0)
        let third = try LoopbackClient(port: server.port)
        let refusal = try third.readResponse()
        #expect(
            refusal.status == 503 && refusal.header("Retry-After") == "1"
                && refusal.header("Connection") == "close" && refusal.header("X-Request-Id")?.utf8.count == 16
                && refusal.text
                    == #"{"success":false,"error":{"status":503,"message":"the server has as many connections open as it takes (2); retry in a moment"}}"#,
            "\(refusal.status) \(refusal.headers) \(refusal.text)")
        #expect(third.isClosedByServer())
        #expect(try LoopbackClient(port: server.port).readResponse().status == 503)
        #expect(try first.request("GET", "/again").status == 200)
        #expect(server.gauges.refusedAtLimit == 2)
        #expect(server.gauges.refusedWithoutDescriptors == 0 && server.gauges.closedStalled == 0)
        let warnings = lines.withLock { $0 }.filter { $0.contains("refused a connection") }
        #expect(
            warnings == [
                "tally: warning: refused a connection: 2 are open, the most this server takes (--max-connections, "
                    + "or what the open-file limit leaves room for); 1 refused since it started "
                    + "(tally_http_connections_shed_total), warned at most once per 10 s"
            ], "\(lines.withLock { $0 })")
    }
}
