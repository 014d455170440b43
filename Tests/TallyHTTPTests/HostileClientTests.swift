import Dispatch
import Glibc
import Synchronization
import TallyTestSupport
import Testing

@testable import TallyHTTP

/// Echoes like ``EchoHandler``, answers `/big` with 128 KiB and `/huge` with 32 MiB, and holds `/hold` until the test releases it;
/// counts every request it is given.
final class HostileTestHandler: HTTPHandler {
    static let bigBody = [UInt8](repeating: UInt8(ascii: "b"), count: 128 * 1024)
    /// `/huge`'s answer: far more than loopback's socket buffers take.
    static let hugeBody = [UInt8](repeating: UInt8(ascii: "h"), count: 32 << 20)
    let handled = Atomic<Int>(0)
    private let held = Mutex<[@Sendable () -> Void]>([])
    /// The statuses the server answered by itself, in order.
    let serverAnswers = Mutex<[Int]>([])

    func answeredByServer(status: Int) {
        serverAnswers.withLock { $0.append(status) }
    }

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        handled.add(1, ordering: .relaxed)
        switch request.path {
        case "/big":
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Self.bigBody))
        case "/huge":
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Self.hugeBody))
        case "/hold":
            let response = HTTPResponse(
                status: 200, headers: [("Content-Type", "text/plain")], body: Array("held".utf8))
            held.withLock { $0.append { respond(response) } }
        default:
            let text = "\(request.method.name) \(request.path) \(request.body.count)"
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array(text.utf8)))
        }
    }

    /// Requests waiting in `/hold`.
    var heldCount: Int { held.withLock { $0.count } }

    /// Answers the oldest held request; returns false when none is held.
    @discardableResult
    func releaseOne() -> Bool {
        let next = held.withLock { list in list.isEmpty ? nil : list.removeFirst() }
        next?()
        return next != nil
    }
}

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

    @Test func clientsLeavingTheirAnswersUnreadAreClosedWhenTheServerHoldsTooMuch() throws {
        let logged = Mutex<[String]>([])
        let server = try startServer {
            $0.maxUnsentResponseBytes = 8 << 20
            $0.stalledClientGrace = .milliseconds(200)
            $0.log = { line in logged.withLock { $0.append(line) } }
        }
        defer { server.shutdown() }
        // A reader takes its whole answer, and leaves nothing held.
        let reader = try LoopbackClient(port: server.port)
        #expect(try reader.request("GET", "/huge").body.count == HostileTestHandler.hugeBody.count)
        #expect(eventually { server.unsentResponseBytes == 0 })
        #expect(!logged.withLock { $0.contains { $0.contains("closed a connection") } })

        // A client that reads nothing leaves most of its 32 MiB with the server: over the limit, it is closed.
        let stalled = try LoopbackClient(port: server.port)
        try stalled.send("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(eventually { logged.withLock { $0.contains { $0.contains("closed a connection") } } })
        #expect(server.unsentResponseBytes == 0)
        let received = stalled.readUntilClosed().utf8.count
        #expect(received < HostileTestHandler.hugeBody.count, "the answer was cut short: \(received) bytes")
        let warning = logged.withLock { $0.first { $0.contains("closed a connection") } } ?? ""
        #expect(warning.contains("over its limit of 8388608 (--max-unsent-response-bytes)"), "\(warning)")
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

    @Test func aClientPipeliningBeyondTheLimitIsNotReadAhead() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) {
            $0.maxPipelinedRequests = 8
            $0.headerTimeout = .seconds(60)
        }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        let batch = Array(String(repeating: "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n", count: 3_000).utf8)
        let total = 64 * 1024 * 1024
        var sent = 0
        var pending: ArraySlice<UInt8> = []
        var blocked = false
        while sent < total {
            if pending.isEmpty { pending = batch[...] }
            let taken = try client.sendWithoutBlocking(Array(pending))
            sent += taken
            pending = pending.dropFirst(taken)
            if taken == 0 && !client.waitUntilWritable(milliseconds: 1_000) {
                blocked = true
                break
            }
        }
        #expect(blocked, "the server read all \(sent) bytes of requests it could not answer yet")
        #expect(eventually { handler.heldCount == 8 })
        #expect(handler.handled.load(ordering: .relaxed) == 8, "no more than maxPipelinedRequests at once")
        expectServerAnswers(server)
        for _ in 0..<8 {
            handler.releaseOne()
            #expect(try client.readResponse().text == "held")
        }
        client.abort()
        while handler.releaseOne() {}
        #expect(
            eventually {
                while handler.releaseOne() {}
                return server.openConnections == 0
            })
        expectServerAnswers(server)
    }

    @Test func aClientThatNeverReadsItsResponsesIsNotBufferedForWithoutLimitThenTimedOut() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) { $0.idleTimeout = .seconds(1) }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        // 1,000 requests of 22 bytes ask for 128 MB of responses the client never reads.
        try client.send(String(repeating: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", count: 1_000))
        var previous = -1
        var current = handler.handled.load(ordering: .relaxed)
        while current != previous {
            usleep(300_000)
            previous = current
            current = handler.handled.load(ordering: .relaxed)
        }
        #expect(current < 500, "the server produced \(current) responses for a client that reads none")
        expectServerAnswers(server)
        #expect(
            eventually { server.openConnections == 0 }, "the idle timeout closes a connection whose output is stuck")
        expectServerAnswers(server)
    }

    // MARK: - Framing attacks

    @Test(arguments: [
        "\u{0}\u{1}\u{2}\r\n\r\n", "NOT A REQUEST\r\n\r\n", "GET /b HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        "GET /b HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ])
    func pipelinedGarbageAfterAValidRequestIsAnsweredWith400ThenClosed(garbage: String) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n" + garbage + "GET /never HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().text == "GET /first 0")
        let error = try client.readResponse()
        #expect(error.status == 400)
        #expect(error.header("Connection") == "close")
        #expect(client.isClosedByServer(), "nothing after the garbage is answered")
        expectServerAnswers(server)
    }

    @Test func bytesBeyondTheContentLengthAreTheNextRequestNeverTheBody() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello{\"smuggled\":true}\r\n\r\n")
        #expect(try client.readResponse().text == "POST /b 5", "exactly Content-Length bytes of body")
        #expect(try client.readResponse().status == 400, "the surplus is parsed as a request")
        #expect(client.isClosedByServer())
        // A surplus that happens to be a request is a pipelined request of its own, never part of the body.
        let smuggler = try LoopbackClient(port: server.port)
        try smuggler.send(
            "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPOST /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"
        )
        #expect(try smuggler.readResponse().text == "POST /b 5")
        #expect(try smuggler.readResponse().text == "POST /smuggled 1")
        expectServerAnswers(server)
    }

    /// Streams `chunk` (up to `total` bytes) until the server answers; returns the answer and the bytes sent.
    /// Paced at 10 ms per chunk, so a server that read everything before answering is caught with a wide margin.
    func stream(_ chunk: [UInt8], total: Int, to client: LoopbackClient) throws -> (LoopbackClient.Response, Int) {
        var sent = 0
        while sent < total && !client.isReadable {
            do {
                let taken = try client.sendWithoutBlocking(chunk)
                if taken == 0 { _ = client.waitUntilWritable(milliseconds: 100) }
                sent += taken
                if taken > 0 && taken < chunk.count {
                    try client.send(Array(chunk[taken...]))
                    sent += chunk.count - taken
                }
            } catch {
                break
            }
            usleep(10_000)
        }
        return (try client.readResponse(), sent)
    }

    @Test func tenMegabytesOfHeadersAreCutOffAt431WithoutWaitingForThemAll() throws {
        // A long header timeout, so only the size limit can end this.
        let server = try startServer { $0.headerTimeout = .seconds(60) }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /x HTTP/1.1\r\nHost: x\r\n")
        let line = Array(("X-Filler: " + String(repeating: "a", count: 1012) + "\r\n").utf8)
        let chunk = Array((0..<64).map { _ in line }.joined())
        let total = 10 * 1024 * 1024
        let (response, sent) = try stream(chunk, total: total, to: client)
        #expect(response.status == 431)
        #expect(sent < total, "the server answered only after all \(sent) bytes")
        #expect(client.isClosedByServer())
        expectServerAnswers(server)
    }

    @Test func aHugeChunkedBodyIsCutOffAt413() throws {
        let server = try startServer {
            $0.limits.maxBodyBytes = 1024 * 1024
            $0.headerTimeout = .seconds(60)
        }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        try client.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "z"), count: 0x10000) + Array("\r\n".utf8)
        let total = 64 * 1024 * 1024
        let (response, sent) = try stream(chunk, total: total, to: client)
        #expect(response.status == 413)
        #expect(sent < total, "the server answered only after all \(sent) bytes")
        #expect(client.isClosedByServer())
        expectServerAnswers(server)
    }

    // MARK: - Many connections

    /// How many idle connections the many-connection tests open: 2,000, each costing two descriptors in this
    /// process (client and server end). The soft descriptor limit is raised towards the hard one if needed;
    /// if even the hard limit is too low the count is scaled down, keeping 1,000 descriptors for other suites.
    static let manyConnections: Int = {
        let wanted = 2_000
        let reserve = 1_000
        var limit = rlimit()
        getrlimit(fileDescriptorLimit, &limit)
        let needed = rlim_t(2 * wanted + reserve)
        if limit.rlim_cur < needed {
            limit.rlim_cur = min(needed, limit.rlim_max)
            setrlimit(fileDescriptorLimit, &limit)
            getrlimit(fileDescriptorLimit, &limit)
        }
        return max(100, min(wanted, (Int(limit.rlim_cur) - reserve) / 2))
    }()

    static let fileDescriptorLimit = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    @Test func connectionsBeyondTheCapAreRefusedUntilOthersGoAway() throws {
        let count = Self.manyConnections
        let cap = count / 2
        let server = try startServer { $0.maxConnections = cap }
        defer { server.shutdown() }
        let keeper = try LoopbackClient(port: server.port)
        #expect(try keeper.request("GET", "/before").status == 200)
        var attackers: [LoopbackClient] = []
        for _ in 1..<count { attackers.append(try LoopbackClient(port: server.port)) }
        // The kernel completes every handshake; the server closes each connection beyond the cap.
        let refused = { attackers.lazy.filter(\.isClosedNow).count }
        #expect(eventually { refused() == count - cap }, "\(refused()) refused")
        #expect(refused() == count - cap)
        #expect(server.openConnections == cap)
        #expect(try keeper.request("GET", "/during").status == 200, "open connections are still served")
        #expect(try LoopbackClient(port: server.port).isClosedByServer(), "a new connection is refused")
        for attacker in attackers { attacker.close() }
        #expect(eventually { server.openConnections == 1 })
        expectServerAnswers(server)
        #expect(try keeper.request("GET", "/after").status == 200)
    }

    /// Bodies held across connections stay within `maxBufferedBodyBytes`: the bytes received are charged,
    /// one whose announced size no longer fits is refused with 503 and `Retry-After` before more of it is
    /// read, and the budget comes back when the handler answers or the client goes away.
    @Test func bodiesBeyondTheMemoryBudgetAreRefusedUntilEarlierOnesAreAnswered() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) {
            $0.maxBufferedBodyBytes = 100_000
            $0.bodyTimeout = .seconds(30)
        }
        defer { server.shutdown() }
        // Alone, a body larger than the budget is taken.
        let alone = try LoopbackClient(port: server.port)
        let large = try alone.request("POST", "/alone", body: Array(repeating: 0x61, count: 150_000))
        #expect(large.text == "POST /alone 150000")
        #expect(server.bufferedBodyBytes == 0)
        let chunk = String(repeating: "d", count: 50_000)
        try alone.send(
            "POST /alone-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "C350\r\n\(chunk)\r\nC350\r\n\(chunk)\r\nC350\r\n\(chunk)\r\n0\r\n\r\n")
        #expect(try alone.readResponse().text == "POST /alone-chunked 150000", "chunked, alone, too")
        #expect(server.bufferedBodyBytes == 0)
        let held = try LoopbackClient(port: server.port)
        try held.send(
            "POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 80000\r\n\r\n" + String(repeating: "a", count: 80_000))
        #expect(eventually { handler.heldCount == 1 })
        #expect(server.bufferedBodyBytes == 80_000)
        // A declared length beyond what is left: 503 at once, before its body is sent.
        let refused = try LoopbackClient(port: server.port)
        try refused.send("POST /more HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n")
        let answer = try refused.readResponse()
        #expect(answer.status == 503 && answer.header("Retry-After") == "1", "\(answer.text)")
        #expect(answer.header("Connection") == "close")
        // A chunked body is counted chunk by chunk: 16 KiB fits, the 36 KiB chunk after it does not.
        let chunked = try LoopbackClient(port: server.port)
        try chunked.send(
            "POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\n"
                + String(repeating: "c", count: 0x4000) + "\r\n")
        #expect(eventually { server.bufferedBodyBytes == 80_000 + 0x4000 })
        try chunked.send("9000\r\n")
        #expect(try chunked.readResponse().status == 503)
        #expect(eventually { server.bufferedBodyBytes == 80_000 })
        // Requests without a body go on; once the held one is answered, its bytes are free again.
        let other = try LoopbackClient(port: server.port)
        #expect(try other.request("GET", "/meanwhile").status == 200)
        #expect(handler.releaseOne())
        #expect(try held.readResponse().text == "held")
        #expect(server.bufferedBodyBytes == 0)
        #expect(
            try other.request("POST", "/more", body: Array(repeating: 0x62, count: 40_000)).text == "POST /more 40000")
        // Announcing is not holding: connections that announce large bodies and send nothing take no room,
        // so a handful of them cannot shut every other body out.
        // Each one's invitation proves its head passed the budget's check before the next one is sent.
        var announcers: [LoopbackClient] = []
        for _ in 0..<3 {
            let announcer = try LoopbackClient(port: server.port)
            try announcer.send(
                "POST /never HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99000\r\n\r\n")
            #expect(try announcer.readResponse().status == 100)
            announcers.append(announcer)
        }
        #expect(
            try other.request("POST", "/again", body: Array(repeating: 0x62, count: 40_000)).text
                == "POST /again 40000")
        #expect(announcers.allSatisfy { !$0.isReadable }, "none of them was refused either")
        announcers.removeAll()
        // A client that goes away mid-body gives back what it sent.
        let leaving = try LoopbackClient(port: server.port)
        try leaving.send("POST /partial HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\nabc")
        #expect(eventually { server.bufferedBodyBytes == 3 })
        leaving.close()
        #expect(eventually { server.bufferedBodyBytes == 0 })
        expectServerAnswers(server)
    }

    /// An answer that comes after the drain deadline is dropped: the loop's wake descriptor is closed by
    /// then, and its number may belong to a file opened since (a store's next segment, say), which a
    /// wake-up would write 8 bytes into.
    @Test func anAnswerAfterTheDrainDeadlineWritesIntoNoDescriptor() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) { $0.drainTimeout = .milliseconds(50) }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(eventually { handler.heldCount == 1 })
        server.shutdown()
        // The lowest free numbers, those the loops just closed among them, now name these files.
        let directory = TemporaryDirectory()
        let files = (0..<64).map { index in
            Glibc.open("\(directory.path)/file-\(index)", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        }
        defer { for file in files where file >= 0 { Glibc.close(file) } }
        #expect(files.allSatisfy { $0 >= 0 })
        #expect(handler.releaseOne())
        for (index, file) in files.enumerated() where file >= 0 {
            var status = stat()
            fstat(file, &status)
            #expect(status.st_size == 0, "file-\(index) (descriptor \(file)) was written into")
        }
    }

    /// A second shutdown does nothing: closing the listener's number again would close whatever file holds
    /// that number by then.
    @Test func aSecondShutdownClosesNoDescriptor() throws {
        let server = try startServer()
        server.shutdown()
        let directory = TemporaryDirectory()
        let files = (0..<64).map { index in
            Glibc.open("\(directory.path)/file-\(index)", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        }
        defer { for file in files where file >= 0 { Glibc.close(file) } }
        server.shutdown()
        for file in files { #expect(fcntl(file, F_GETFD) >= 0, "descriptor \(file) was closed") }
    }

    /// A drain timeout too long to add to the clock (an operator's "wait for ever") is a deadline at the
    /// end of time, not a trap: shutdown still ends as soon as the last connection has its answer.
    @Test func aDrainTimeoutBeyondTheClocksRangeStillDrains() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) { $0.drainTimeout = .seconds(Int64.max) }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(eventually { handler.heldCount == 1 })
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            server.shutdown()
            finished.signal()
        }
        #expect(
            finished.wait(timeout: .now() + 0.2) == .timedOut, "the drain ended before the held request was answered")
        #expect(handler.releaseOne())
        let response = try client.readResponse()
        #expect(response.status == 200 && response.text == "held")
        #expect(finished.wait(timeout: .now() + 10) == .success)
    }

    @Test func thousandsOfIdleConnectionsAreClosedByTheIdleTimeout() throws {
        let count = Self.manyConnections
        let server = try startServer { $0.idleTimeout = .seconds(1) }
        defer { server.shutdown() }
        var idle: [LoopbackClient] = []
        for _ in 0..<count { idle.append(try LoopbackClient(port: server.port)) }
        expectServerAnswers(server)
        let closed = eventually(within: 15) {
            expectServerAnswers(server)
            return idle.allSatisfy(\.isClosedNow)
        }
        #expect(closed, "\(idle.filter { !$0.isClosedNow }.count) of \(count) idle connections still open")
        #expect(eventually { server.openConnections == 0 })
        expectServerAnswers(server)
    }
}
