import Dispatch
import Foundation
import Glibc
import TallyTestSupport
import Testing

@testable import TallyHTTP

extension HTTPServerTests {
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
}
