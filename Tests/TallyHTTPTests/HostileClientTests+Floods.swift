import Glibc
import Synchronization
import TallyTestSupport
import Testing

@testable import TallyHTTP

extension HostileClientTests {
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
        #expect(server.gauges.closedStalled == 0)

        // A client that reads nothing leaves most of its 32 MiB with the server: over the limit, it is closed.
        let stalled = try LoopbackClient(port: server.port)
        try stalled.send("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(eventually { logged.withLock { $0.contains { $0.contains("closed a connection") } } })
        #expect(server.unsentResponseBytes == 0)
        #expect(server.gauges.closedStalled == 1)
        let received = stalled.readUntilClosed().utf8.count
        #expect(received < HostileTestHandler.hugeBody.count, "the answer was cut short: \(received) bytes")
        let warning = logged.withLock { $0.first { $0.contains("closed a connection") } } ?? ""
        #expect(warning.contains("over its limit of 8388608 (--max-unsent-response-bytes)"), "\(warning)")
        expectServerAnswers(server)
    }

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
}
