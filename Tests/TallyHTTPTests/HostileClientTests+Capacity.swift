import Glibc
import Synchronization
import TallyTestSupport
import Testing

@testable import TallyHTTP

extension HostileClientTests {
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
        // The kernel completes every handshake; the server answers each connection beyond the cap (503) and
        // closes it. The others, which sent nothing, have nothing to read.
        let refused = { attackers.lazy.filter(\.isReadable).count }
        #expect(eventually { refused() == count - cap }, "\(refused()) refused")
        #expect(refused() == count - cap)
        #expect(server.openConnections == cap)
        #expect(try keeper.request("GET", "/during").status == 200, "open connections are still served")
        #expect(try LoopbackClient(port: server.port).readResponse().status == 503, "a new connection is refused")
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
        let lines = Mutex<[String]>([])
        let server = try startServer(handler) {
            $0.maxBufferedBodyBytes = 100_000
            $0.bodyTimeout = .seconds(30)
            $0.log = { text in lines.withLock { $0.append(text) } }
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
        // Each refusal is logged under the request it refused.
        for path in ["/more", "/chunks"] {
            #expect(
                eventually {
                    lines.withLock { $0.joined().contains(#""method":"POST","path":"\#(path)","status":503"#) }
                },
                "\(lines.withLock { $0 })")
        }
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
