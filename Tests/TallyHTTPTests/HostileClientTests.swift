import Glibc
import TallyTestSupport
import Testing

@testable import TallyHTTP

/// Hostile clients against the real server on loopback: each attack must be cut off by a limit while the server
/// keeps answering other clients. Server-side timeouts are short; client-side waits are long (the machine is
/// shared), so a slow machine makes these tests slower, not flaky.
@Suite(.serialized) struct HostileClientTests {
    /// Time between the bytes a slow client trickles.
    static let paceMicroseconds: UInt32 = 50_000

    func startServer(
        _ handler: HostileTestHandler = HostileTestHandler(),
        _ change: (inout HTTPServerConfiguration) -> Void = { _ in }
    ) throws -> HTTPServer {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.eventLoops = 2
        configuration.log = { _ in }
        configuration.headerTimeout = .milliseconds(300)
        configuration.bodyTimeout = .milliseconds(300)
        configuration.idleTimeout = .seconds(30)
        configuration.lingerTimeout = .milliseconds(500)
        change(&configuration)
        return try HTTPServer(configuration: configuration, handler: handler)
    }

    /// A normal request on a new connection succeeds.
    func expectServerAnswers(_ server: HTTPServer, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let response = try LoopbackClient(port: server.port).request("GET", "/ok")
            #expect(response.status == 200, sourceLocation: sourceLocation)
        } catch {
            Issue.record("the server stopped answering: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Polls `condition` every 20 ms for up to `seconds`; returns whether it became true.
    func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// Sends `bytes` one at a time until the server answers or closes; checks that other clients are served
    /// meanwhile. Returns how many bytes were sent.
    func trickle(_ bytes: [UInt8], to client: LoopbackClient, server: HTTPServer) -> Int {
        for (index, byte) in bytes.enumerated() {
            if client.isReadable { return index }
            do { try client.send([byte]) } catch { return index }
            if index == 2 { expectServerAnswers(server) }
            usleep(Self.paceMicroseconds)
        }
        return bytes.count
    }

    // MARK: - Slow clients

    @Test func aClientSendingItsHeadersOneByteAtATimeGets408() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        let head = Array(("GET /slowloris HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "a", count: 200)).utf8)
        let sent = trickle(head, to: client, server: server)
        #expect(sent < head.count, "the server waited for all \(head.count) bytes")
        #expect(try client.readResponse().status == 408)
        #expect(client.isClosedByServer())
        expectServerAnswers(server)
    }

    @Test func aMalformedHeadThatCameInPiecesIsAnsweredOnceNotTimedOutAfterwards() throws {
        // The bad head's 400 waits behind a held request, past the header timeout: the timer its first piece
        // started must stop with the 400, not answer 408 on top of it.
        let handler = HostileTestHandler()
        let server = try startServer(handler)
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(eventually { handler.heldCount == 1 })
        try client.send("GET /next HTTP/1.1\r\nHo")
        usleep(100_000)
        try client.send("st: x\r\nno colon in this line\r\n\r\n")
        #expect(eventually { handler.serverAnswers.withLock { $0 } == [400] })
        usleep(1_000_000)
        handler.releaseOne()
        #expect(try client.readResponse().text == "held")
        #expect(try client.readResponse().status == 400)
        #expect(client.isClosedByServer())
        #expect(handler.serverAnswers.withLock { $0 } == [400], "only the 400 was answered")
        expectServerAnswers(server)
    }

    @Test func emptyLinesTrickledForeverDoNotKeepAConnectionOpen() throws {
        // Empty lines before a request line are allowed (RFC 9112 §2.2), so they must count as the request's start.
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        let lines = Array(String(repeating: "\r\n", count: 100).utf8)
        let sent = trickle(lines, to: client, server: server)
        #expect(sent < lines.count, "the server took \(sent) bytes of empty lines")
        #expect(client.isClosedNow || (try? client.readResponse().status) == 408)
        expectServerAnswers(server)
    }

    @Test func aBodyTrickledOneByteAtATimeGets408() throws {
        // A long header timeout, so only the body timeout can end this.
        let server = try startServer { $0.headerTimeout = .seconds(60) }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
        try client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n")
        let sent = trickle(body, to: client, server: server)
        #expect(sent < body.count, "the server waited for the whole body")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(response.text.contains("body"))
        #expect(client.isClosedByServer())
        expectServerAnswers(server)
    }

    @Test func aBodyMayTakeLongerThanTheHeaderTimeout() throws {
        let server = try startServer {
            $0.headerTimeout = .milliseconds(200)
            $0.bodyTimeout = .seconds(30)
        }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        for _ in 0..<10 {
            usleep(100_000)
            try client.send(String(repeating: "y", count: 10))
        }
        #expect(try client.readResponse().text == "POST /upload 100")
    }

    // MARK: - Half-open connections

    @Test(arguments: [
        "GET /half HTTP/1.1\r\nHost: a", "POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
    ])
    func aClientThatShutsItsWriteSideMidRequestIsClosedWithoutAnAnswer(partial: String) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(partial)
        client.shutdownWrite()
        expectServerAnswers(server)
        #expect(client.isClosedByServer(), "no response, just the end of the stream")
        #expect(eventually { server.openConnections == 0 })
    }

    @Test func aClientThatShutsItsWriteSideAfterARequestGetsItsAnswerThenTheClose() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        client.shutdownWrite()
        #expect(try client.readResponse().text == "GET /a 0")
        #expect(try client.readResponse().text == "POST /b 2")
        #expect(client.isClosedByServer())
        #expect(eventually { server.openConnections == 0 })
    }

    @Test func aConnectionWaitingForItsAnswerAfterEndOfStreamDoesNotSpinTheLoop() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) { $0.eventLoops = 1 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        client.shutdownWrite()
        #expect(eventually { handler.heldCount == 1 })
        // End of stream stays readable: a loop still watching for input would wake thousands of times here.
        let before = server.loopWakeups
        usleep(500_000)
        let wakeups = server.loopWakeups - before
        #expect(wakeups < 50, "the loop woke \(wakeups) times with nothing to do")
        handler.releaseOne()
        #expect(try client.readResponse().text == "held")
        #expect(client.isClosedByServer())
    }

    @Test func aClientThatNeverSendsAnythingIsClosedByTheIdleTimeout() throws {
        let server = try startServer { $0.idleTimeout = .milliseconds(500) }
        defer { server.shutdown() }
        let silent = try LoopbackClient(port: server.port)
        expectServerAnswers(server)
        #expect(silent.isClosedByServer())
        #expect(eventually { server.openConnections == 0 })
        expectServerAnswers(server)
    }

    @Test func aClientThatVanishesWithResponsesPendingDoesNotHurtTheServer() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler)
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send(
            "GET /hold HTTP/1.1\r\nHost: x\r\n\r\nGET /hold HTTP/1.1\r\nHost: x\r\n\r\nGET /hold HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        #expect(eventually { handler.heldCount == 3 })
        // Gone without reading: the first response written makes the client's kernel answer with a reset, so
        // the later writes hit a dead socket.
        client.close()
        usleep(100_000)
        for _ in 0..<3 {
            handler.releaseOne()
            usleep(100_000)
        }
        #expect(eventually { server.openConnections == 0 })
        expectServerAnswers(server)
    }

    // MARK: - Clients that send without reading

    // MARK: - Framing attacks

    // MARK: - Many connections

}
