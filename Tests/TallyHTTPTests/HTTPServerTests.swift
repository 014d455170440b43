import Dispatch
import Foundation
import Glibc
import Synchronization
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyHTTP

/// Echoes method, path and body length; `/slow` answers from another thread after a delay, so pipelined
/// responses must be reordered into request order.
struct EchoHandler: HTTPHandler {
    /// Each request's path and `q` value, noted when its handling starts.
    let started = StartedRequests()

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        started.note("\(request.path) \(request.queryValue("q") ?? "-")")
        let text = "\(request.method.name) \(request.path) \(request.body.count) \(request.queryValue("q") ?? "-")"
        let response = HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
        if request.path == "/busy" {
            // Answered on the loop's thread after 20 µs of work: slower than a client can send.
            let start = MonotonicClock.nanoseconds()
            while MonotonicClock.nanoseconds() - start < 20_000 {}
        }
        if request.path == "/nothing" {
            respond(HTTPResponse(status: 204))
            return
        }
        if request.path == "/slow" || request.path == "/slower" {
            let delay = request.path == "/slow" ? 50 : 400
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) { respond(response) }
        } else {
            respond(response)
        }
    }
}

/// The requests a handler has begun, so a test can wait for the server to reach one instead of sleeping.
final class StartedRequests: Sendable {
    private let names = Mutex<[String]>([])

    func note(_ name: String) {
        names.withLock { $0.append(name) }
    }

    /// Waits (at most 10 s, a hang guard) until every one of `names` has begun.
    /// - Returns: Whether they all did.
    func wait(for expected: [String]) -> Bool {
        for _ in 0..<10_000 {
            if names.withLock({ seen in expected.allSatisfy { seen.contains($0) } }) { return true }
            usleep(1_000)
        }
        return false
    }
}

/// Notes when the handling of each request starts and ends; paths starting `/slow` are answered from
/// another thread 50 ms later, the rest from another thread at once. A path in `holds` is answered only
/// once the event it maps to has been noted (or after 10 s, a hang guard), so a test of overlap needs no
/// lucky timing.
final class RecordingHandler: HTTPHandler {
    let events = Mutex<[String]>([])
    let holds: [String: String]

    init(holds: [String: String] = [:]) {
        self.holds = holds
    }

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let name = "\(request.method.name) \(request.path)"
        events.withLock { $0.append("start \(name)") }
        let delay = request.path.hasPrefix("/slow") ? 50 : 0
        let hold = holds[request.path]
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) { [self] in
            if let hold {
                for _ in 0..<10_000 where position(hold) == .max { usleep(1_000) }
            }
            self.events.withLock { $0.append("end \(name)") }
            respond(HTTPResponse(status: 200, body: Array(name.utf8)))
        }
    }

    /// Where `event` was noted (`Int.max` when it never was).
    func position(_ event: String) -> Int { events.withLock { $0.firstIndex(of: event) ?? .max } }
}

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

    @Test func pipelinedRequestsAreAnsweredInOrderEvenWhenAnEarlierOneIsSlow() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(
            "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        )
        #expect(try client.readResponse().text == "GET /slow 0 -")
        #expect(try client.readResponse().text == "GET /fast 0 -")
        #expect(try client.readResponse().text == "POST /b 3 -")
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
        #expect(inUse?.message.hasSuffix("another process listens there: stop it or choose another --port") == true)
        let notAnAddress = failure { $0.host = "localhost" }
        #expect(notAnAddress?.code == .invalidAddress)
        #expect(notAnAddress?.errorNumber == nil)
        #expect(failure { $0.port = 65536 }?.code == .invalidAddress)
        // 192.0.2.1 (TEST-NET-1, RFC 5737) belongs to no interface here.
        let foreign = failure { $0.host = "192.0.2.1" }
        #expect(foreign?.code == .addressNotAvailable)
        #expect(foreign?.message.contains("use 127.0.0.1 or 0.0.0.0") == true)
    }

    /// Pipelined requests are handled in order where order can matter (RFC 9112 §9.3.2): a request behind an
    /// unsafe one, or an unsafe one behind any, starts only once those before it are answered; safe requests
    /// behind safe ones are handled at the same time.
    @Test func pipelinedRequestsWaitForAnEarlierUnsafeOneButSafeOnesOverlap() throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.log = { _ in }
        // /slow-b ends only once /slow-c has started: a server that waited for it would hold it 10 s.
        let handler = RecordingHandler(holds: ["/slow-b": "start GET /slow-c"])
        let server = try HTTPServer(configuration: configuration, handler: handler)
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(
            "POST /slow-write HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"
                + "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /slow-b HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /slow-c HTTP/1.1\r\nHost: x\r\n\r\nDELETE /d HTTP/1.1\r\nHost: x\r\n\r\n")
        for expected in ["POST /slow-write", "GET /a", "GET /slow-b", "GET /slow-c", "DELETE /d"] {
            #expect(try client.readResponse().text == expected)
        }
        let events = handler.events.withLock { $0 }
        #expect(handler.position("end POST /slow-write") < handler.position("start GET /a"), "\(events)")
        #expect(
            handler.position("start GET /slow-c") < handler.position("end GET /slow-b"),
            "safe requests behind safe ones overlap: \(events)")
        #expect(handler.position("end GET /slow-b") < handler.position("start DELETE /d"), "\(events)")
        #expect(handler.position("end GET /slow-c") < handler.position("start DELETE /d"), "\(events)")
        #expect(try client.request("GET", "/after").text == "GET /after")
    }

    /// `Expect: 100-continue` (as curl sends for large bodies): the server invites the body once the head has
    /// passed its checks, and never ahead of an earlier response.
    @Test func aBodyAwaitingContinueIsInvitedAfterEveryEarlierResponse() throws {
        let server = try startServer { $0.limits.maxBodyBytes = 100 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(try client.readResponse().status == 100)
        try client.send("hello")
        #expect(try client.readResponse().text == "POST /a 5 -")
        // Behind a slow response the invitation waits for it.
        try client.send(
            "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(try client.readResponse().text == "GET /slow 0 -")
        #expect(try client.readResponse().status == 100)
        try client.send("3\r\nabc\r\n0\r\n\r\n")
        #expect(try client.readResponse().text == "POST /b 3 -")
        // A body sent without waiting needs no invitation, and none may follow its response.
        try client.send("POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi")
        var response = try client.readResponse()
        if response.status == 100 { response = try client.readResponse() }
        #expect(response.text == "POST /c 2 -")
        #expect(try client.request("GET", "/after").text == "GET /after 0 -")
        // Owed behind a slow response, then the body comes anyway: the debt is dropped with it.
        try client.send(
            "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /d HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        usleep(10_000)
        try client.send("hi")
        #expect(try client.readResponse().text == "GET /slow 0 -")
        // (Had "hi" been slow to arrive, the invitation would have gone out once /slow's answer had.)
        var afterSlow = try client.readResponse()
        if afterSlow.status == 100 { afterSlow = try client.readResponse() }
        #expect(afterSlow.text == "POST /d 2 -")
        #expect(try client.request("GET", "/later").text == "GET /later 0 -")
        // No body, or HTTP/1.0: nothing to invite.
        #expect(try client.request("POST", "/empty", headers: [("Expect", "100-continue")]).text == "POST /empty 0 -")
        try client.send(
            "POST /old HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        try client.send("xyz")
        #expect(try client.readResponse().text == "POST /old 3 -")
    }

    /// A head the server refuses gets its final answer at once, without the body: 413 for a declared length
    /// over the limit, 417 for an expectation other than 100-continue.
    @Test(arguments: [
        ("Expect: 100-continue\r\nContent-Length: 101", 413), ("Expect: teapot\r\nContent-Length: 3", 417),
    ])
    func aRefusedHeadIsAnsweredBeforeTheBody(fields: String, status: Int) throws {
        let server = try startServer { $0.limits.maxBodyBytes = 100 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("POST /big HTTP/1.1\r\nHost: x\r\n\(fields)\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == status)
        #expect(response.header("Connection") == "close")
    }

    @Test func aLongPipelineMixingInstantAndSlowAnswersStaysInOrder() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        // More requests than the pipelining limit, in one send: answers given while the requests are parsed
        // are gathered and written together, the slow ones arrive later from another thread.
        let paths = (0..<150).map { $0 % 37 == 5 ? "/slow" : "/fast\($0)" }
        try client.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        for path in paths {
            #expect(try client.readResponse().text == "GET \(path) 0 -")
        }
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

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET /x HTTP/2.0\r\n\r\n", 505),
        ("GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
        ("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n", 400),
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

    /// Shutdown answers what is in flight, each answer saying `Connection: close`, including a request whose
    /// body is still arriving: it is read to its end, not cut off.
    @Test func aDrainAnswersInFlightRequestsAndTheirUnfinishedBodiesWithClose() throws {
        let handler = EchoHandler()
        let server = try startServer(handler: handler)
        let slow = try LoopbackClient(port: server.port)
        let upload = try LoopbackClient(port: server.port)
        try slow.send("GET /slower HTTP/1.1\r\nHost: x\r\n\r\nGET /slower?q=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        // The upload's head is in once the server invites its body; both slow requests are being handled.
        try upload.send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n")
        #expect(try upload.readResponse().status == 100)
        try upload.send(String(repeating: "a", count: 50))
        #expect(handler.started.wait(for: ["/slower -", "/slower 2"]))
        let stopped = DispatchSemaphore(value: 0)
        Thread {
            server.shutdown()
            stopped.signal()
        }.start()
        var waited = 0
        while !server.core.draining && waited < 5_000 {
            usleep(1_000)
            waited += 1
        }
        try upload.send(String(repeating: "b", count: 50))
        let answered = try upload.readResponse()
        #expect(answered.text == "POST /up 100 -")
        #expect(answered.header("Connection") == "close")
        // Both pipelined requests are answered; only the last says the connection closes.
        let first = try slow.readResponse()
        #expect(first.text == "GET /slower 0 -")
        #expect(first.header("Connection") == nil)
        let late = try slow.readResponse()
        #expect(late.text == "GET /slower 0 2")
        #expect(late.header("Connection") == "close")
        #expect(slow.isClosedByServer() && upload.isClosedByServer())
        stopped.wait()
    }

    /// A request pipelined behind an unsafe one waits for it, but it was read whole: a drain that begins
    /// meanwhile still answers it (with `Connection: close`), not only the request before it.
    @Test func aDrainAnswersARequestHeldBehindAnUnsafeOne() throws {
        let handler = EchoHandler()
        let server = try startServer(handler: handler)
        let client = try LoopbackClient(port: server.port)
        // One write: by the time the POST is being handled, the GET behind it has been read with it.
        try client.send(
            "POST /slower HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(handler.started.wait(for: ["/slower -"]))
        let stopped = DispatchSemaphore(value: 0)
        Thread {
            server.shutdown()
            stopped.signal()
        }.start()
        let first = try client.readResponse()
        #expect(first.text == "POST /slower 2 -")
        #expect(first.header("Connection") == nil)
        let held = try client.readResponse()
        #expect(held.text == "GET /after 0 -")
        #expect(held.header("Connection") == "close")
        #expect(client.isClosedByServer())
        stopped.wait()
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

    /// A port outside 0-65535 is an error saying so, not a trap (the configuration is public API).
    @Test(arguments: [-1, 65536, Int.max])
    func aPortOutOfRangeIsAnError(port: Int) throws {
        #expect {
            _ = try startServer { $0.port = port }
        } throws: { error in
            "\(error)".contains("cannot listen on port \(port): a port is 0-65535")
        }
    }

    @Test func connectionsBeyondTheCapAreClosed() throws {
        let server = try startServer { $0.maxConnections = 2 }
        defer { server.shutdown() }
        let first = try LoopbackClient(port: server.port)
        let second = try LoopbackClient(port: server.port)
        #expect(try first.request("GET", "/1").status == 200)
        #expect(try second.request("GET", "/2").status == 200)
        let third = try LoopbackClient(port: server.port)
        #expect(third.isClosedByServer())
        #expect(try first.request("GET", "/again").status == 200)
    }

    /// A request's log line is written as bytes: the time in UTC with milliseconds, quotes and backslashes
    /// in the path escaped, control characters dropped, non-ASCII kept, the duration with three decimals.
    @Test func logLinesEscapeThePathAndRoundTheDuration() {
        let time = #"{"time":"2026-11-24T08:15:27.042Z","#
        func line(_ path: String, _ status: Int, _ milliseconds: Double) -> String {
            var bytes: [UInt8] = []
            HTTPServerCore.appendLogLine(
                time: Timestamp(microseconds: 1_795_508_127_042_999), method: "GET", path: path,
                status: status, milliseconds: milliseconds, to: &bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix(time))
            return "{" + text.dropFirst(time.count)
        }
        #expect(line("/healthz", 200, 12.5) == #"{"method":"GET","path":"/healthz","status":200,"durationMs":12.500}"#)
        #expect(line(#"/a"b\c"#, 404, 0.0004) == #"{"method":"GET","path":"/a\"b\\c","status":404,"durationMs":0.000}"#)
        #expect(
            line("/x\u{1}\ny/ünï", 500, 0.0006) == #"{"method":"GET","path":"/xy/ünï","status":500,"durationMs":0.001}"#
        )
        #expect(line("/", 201, 1500.25) == #"{"method":"GET","path":"/","status":201,"durationMs":1500.250}"#)
        #expect(line("/", 200, -3) == #"{"method":"GET","path":"/","status":200,"durationMs":0.000}"#)
        #expect(line("/", 200, .nan) == #"{"method":"GET","path":"/","status":200,"durationMs":0.000}"#)
    }
}
