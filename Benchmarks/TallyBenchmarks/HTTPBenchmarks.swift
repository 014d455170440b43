import Foundation
import Synchronization
import TallyAPI
import TallyAuth
import TallyCore
import TallyEngine
import TallyHTTP
import TallyLoad
import TallyStorage
import TallyTestSupport

/// The real server and engine (durability `always`) under a one-thread closed-loop load generator over
/// loopback keep-alive connections, in the same process: single-event POSTs, batched POSTs and stats GETs.
enum HTTPBenchmarks {
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    @Sendable static func event(_ id: Int) -> String {
        #"{"id":"b\#(id)","type":"api.call","tenantId":"\#(tenant)","data":{"keyId":"key-\#(id % 10)","status":200}}"#
    }

    /// Answers every request at once with the same small JSON body: no routing, auth or engine. The stats
    /// load against it measures what the HTTP server, the kernel's loopback TCP and the load generator cost
    /// on their own, the ceiling for any endpoint on this machine.
    struct FixedAnswer: HTTPHandler {
        static let body = Array(#"{"success":true}"#.utf8)
        func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
            respond(.json(200, FixedAnswer.body))
        }
    }

    /// The stats GET load against ``FixedAnswer``.
    static func ceiling(_ options: BenchmarkSuite.Options) throws {
        var http = HTTPServerConfiguration()
        http.port = 0
        http.log = { _ in }
        let server = try HTTPServer(configuration: http, handler: FixedAnswer())
        defer { server.shutdown() }
        let read = Array(
            "GET /api/v1/admin/tenants/\(tenant)/stats HTTP/1.1\r\nHost: x\r\nx-tenantid: \(tenant)\r\n\r\n".utf8)
        let reads = [[UInt8]](repeating: read, count: options.quick ? 50_000 : 200_000)
        let result = try LoadGenerator.run(port: server.port, connections: 32, requests: reads)
        Measure.row(
            "HTTP GET, fixed answer (ceiling), 32 connections", result.requestsPerSecond, "requests/s",
            String(format: "p50 %.0f µs, p99 %.0f µs; no routing, auth or engine", result.p50, result.p99)
                + failures(result))
    }

    /// Runs the three loads and the in-process stats GET, or only `single`, `batch`, `stats` or `handler`.
    static func run(_ options: BenchmarkSuite.Options, part: String? = nil) throws {
        let directory = options.directory + "/tally-bench-http-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.store = StoreConfiguration(durability: .always)
        configuration.store.log = { _ in }
        let engine = try Engine(directory: directory, configuration: configuration)
        let secret = Array("benchmark-secret-0123456789".utf8)
        var http = HTTPServerConfiguration()
        http.port = 0
        http.log = { _ in }
        let server = try HTTPServer(
            configuration: http,
            handler: TallyAPIHandler(engine: engine, authenticator: JWTAuthenticator(secret: secret)))
        defer {
            server.shutdown()
            try? engine.close()
        }
        let now = Timestamp.now().seconds
        let token = JWTSigner(secret: secret).sign(JWTClaims(roles: ["super_admin"], expiresAt: now + 3600))
        let headers = "Authorization: Bearer \(token)\r\nx-tenantid: \(tenant)\r\nContent-Type: application/json\r\n"
        @Sendable func post(_ body: String) -> [UInt8] {
            Array(
                "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    .utf8)
        }

        // A 200 answers a batch whose events were all accepted or duplicates; duplicates store nothing, so
        // the engine's count is checked too.
        var expected = 0
        if part == nil || part == "single" {
            expected += try single(port: server.port, options: options, post: post)
            EngineBenchmarks.requireStored(engine, expected, "HTTP single-event POSTs")
        }
        if part == nil || part == "batch" {
            expected += try batched(port: server.port, options: options, post: post)
            EngineBenchmarks.requireStored(engine, expected, "HTTP batched POSTs")
        }
        if part == "stats" {
            // Alone, the stats load (and the handler alone, below) reads a tenant with a single event.
            _ = failures(try LoadGenerator.run(port: server.port, connections: 1, requests: [post(event(0))]))
        }
        let read = Array("GET /api/v1/admin/tenants/\(tenant)/stats HTTP/1.1\r\nHost: x\r\n\(headers)\r\n".utf8)
        if part == nil || part == "stats" { try stats(port: server.port, options: options, read: read) }
        if part == "handler" {
            _ = failures(try LoadGenerator.run(port: server.port, connections: 1, requests: [post(event(0))]))
        }
        if part == nil || part == "handler" {
            try handlerOnly(options: options, engine: engine, secret: secret, read: read)
        }
        if part == nil || part == "mixed" {
            try statsDuringBulkIngest(port: server.port, options: options, read: read, post: post)
        }
    }

    /// Stats reads while two connections post batches of 20,000 events (2.6 MB each) without pause: what a
    /// dashboard sees during a backfill. The batches are parsed off the event loops, so a read waits for a
    /// core, not for a batch to be parsed on its loop.
    static func statsDuringBulkIngest(
        port: Int, options: BenchmarkSuite.Options, read: [UInt8], post: @escaping @Sendable (String) -> [UInt8]
    ) throws {
        let batchEvents = 20_000
        // One request is built before the clock starts, its ids 12 digits each; every later batch is a copy
        // with the digits rewritten in place (a millisecond), so the writer spends its core posting, not
        // building JSON beside the reads it shares the machine with.
        let template = post(
            "[" + (0..<batchEvents).map { event(100_000_000_000 + $0) }.joined(separator: ",") + "]")
        let marker = Array(#""id":"b"#.utf8)
        var idDigits: [Int] = []
        var scan = 0
        while scan + marker.count + 12 <= template.count {
            if template[scan] == marker[0], template[scan..<(scan + marker.count)].elementsEqual(marker) {
                idDigits.append(scan + marker.count)
                scan += marker.count + 12
            } else {
                scan += 1
            }
        }
        guard idDigits.count == batchEvents else {
            print("the batch template holds \(idDigits.count) ids, not \(batchEvents): no figure is reported")
            exit(1)
        }
        let digitPositions = idDigits
        @Sendable func batch(_ number: Int) -> [UInt8] {
            var bytes = template
            for (index, position) in digitPositions.enumerated() {
                var id = 200_000_000_000 + number * batchEvents + index
                for place in stride(from: position + 11, through: position, by: -1) {
                    bytes[place] = UInt8(ascii: "0") + UInt8(id % 10)
                    id /= 10
                }
            }
            return bytes
        }
        let readsDone = Atomic<Bool>(false)
        let bulk = Mutex<(events: Int, seconds: Double, failures: Int, error: String?)>((0, 0, 0, nil))
        let writer = Thread {
            var round = 0
            let started = MonotonicClock.nanoseconds()
            while !readsDone.load(ordering: .acquiring) {
                let batches = (0..<4).map { batch(round * 4 + $0) }
                round += 1
                do {
                    let result = try LoadGenerator.run(port: port, connections: 2, requests: batches)
                    bulk.withLock {
                        $0.events += batches.count * batchEvents
                        $0.failures += result.failures
                    }
                } catch {
                    bulk.withLock { $0.error = "\(error)" }
                    break
                }
            }
            bulk.withLock { $0.seconds = MonotonicClock.seconds(since: started) }
        }
        writer.start()
        // The reads start once the first batches are through.
        while bulk.withLock({ $0.events == 0 && $0.error == nil }) { usleep(1_000) }
        let reads = [[UInt8]](repeating: read, count: options.quick ? 50_000 : 200_000)
        let stats = try LoadGenerator.run(port: port, connections: 32, requests: reads)
        readsDone.store(true, ordering: .releasing)
        while bulk.withLock({ $0.seconds == 0 }) { usleep(1_000) }
        let written = bulk.withLock { $0 }
        if let error = written.error {
            print("the batch writer failed: \(error): no figure is reported")
            exit(1)
        }
        guard written.failures == 0 else {
            print("\(written.failures) batches were not answered 200 OK: no figure is reported")
            exit(1)
        }
        Measure.row(
            "HTTP stats GET during batched POSTs of 20,000 events, 32 + 2 connections", stats.requestsPerSecond,
            "requests/s",
            String(
                format: "p50 %.0f µs, p99 %.0f µs; batches %.0f events/s", stats.p50, stats.p99,
                Double(written.events) / written.seconds)
                + failures(stats))
    }

    /// Single-event POSTs: many connections, so that group commit has requests to share each fsync; then
    /// fewer, where each request waits less (a closed loop's latency is its connections over its rate).
    /// - Returns: The number of events posted.
    static func single(port: Int, options: BenchmarkSuite.Options, post: (String) -> [UInt8]) throws -> Int {
        var next = 0
        for connections in [128, 32] {
            let singles = (next..<next + (options.quick ? 20_000 : 100_000)).map { post(event($0)) }
            next += singles.count
            let single = try LoadGenerator.run(port: port, connections: connections, requests: singles)
            Measure.row(
                "HTTP single-event POST, \(connections) connections", single.requestsPerSecond, "requests/s",
                String(format: "p50 %.0f µs, p99 %.0f µs; durability always", single.p50, single.p99) + failures(single)
            )
        }
        return next
    }

    /// Batches of 1000 events.
    /// - Returns: The number of events posted.
    static func batched(port: Int, options: BenchmarkSuite.Options, post: (String) -> [UInt8]) throws -> Int {
        let batchCount = options.quick ? 100 : 400
        let batches = (0..<batchCount).map { batch in
            let first = 1_000_000 + batch * 1000
            return post("[" + (first..<(first + 1000)).map(event).joined(separator: ",") + "]")
        }
        let batched = try LoadGenerator.run(port: port, connections: 8, requests: batches)
        Measure.row(
            "HTTP batched POST of 1000 events, 8 connections", batched.requestsPerSecond * 1000, "events/s",
            String(format: "p50 %.1f ms, p99 %.1f ms per batch", batched.p50 / 1000, batched.p99 / 1000)
                + failures(batched))
        return batchCount * 1000
    }

    /// What one stats GET costs the application, without sockets, the kernel or the event loop: the request
    /// parsed from its bytes, routed, authenticated, answered from the engine and its JSON written, on one
    /// thread. The rest of a request's cost over loopback is the HTTP server's and the kernel's.
    static func handlerOnly(options: BenchmarkSuite.Options, engine: Engine, secret: [UInt8], read: [UInt8]) throws {
        let handler = TallyAPIHandler(engine: engine, authenticator: JWTAuthenticator(secret: secret))
        let count = options.quick ? 50_000 : 200_000
        let answered = Mutex(0)
        let nanoseconds = try Measure.median(options.repetitions) {
            var parser = HTTPRequestParser()
            let seconds = try Measure.seconds {
                for _ in 0..<count {
                    parser.feed(read)
                    guard let request = try parser.next() else { return }
                    handler.handle(request) { response in
                        if response.status == 200 { answered.withLock { $0 += 1 } }
                    }
                }
            }
            return seconds / Double(count) * 1e9
        }
        guard answered.withLock({ $0 }) == count * options.repetitions else {
            print("stats GET in process: not every request was answered 200: no figure is reported")
            exit(1)
        }
        Measure.row(
            "stats GET in process (parse, route, auth, engine, JSON)", nanoseconds, "ns per request",
            "one thread, no sockets")
    }

    /// Stats reads of one tenant.
    static func stats(port: Int, options: BenchmarkSuite.Options, read: [UInt8]) throws {
        let reads = [[UInt8]](repeating: read, count: options.quick ? 50_000 : 200_000)
        let stats = try LoadGenerator.run(port: port, connections: 32, requests: reads)
        Measure.row(
            "HTTP stats GET, 32 connections", stats.requestsPerSecond, "requests/s",
            String(format: "p50 %.0f µs, p99 %.0f µs", stats.p50, stats.p99) + failures(stats))
    }

    /// `""` when every answer was a 200; otherwise the run ends (exit 1) with no figure, since a refused
    /// request (or an ingest that stored only some events, a 207) is no throughput.
    static func failures(_ result: LoadGenerator.Result) -> String {
        guard result.failures > 0 else { return "" }
        print("\(result.failures) answers were not 200 OK: no figure is reported")
        exit(1)
    }
}

/// The tenants list at scale: `GET /api/v1/admin/tenants` over 1M registered tenants (100k with `--quick`),
/// in process, and how long it holds stats reads back.
enum TenantListBenchmarks {
    static func run(_ options: BenchmarkSuite.Options) throws {
        let tenants = options.quick ? 100_000 : 1_000_000
        let directory = try EngineBenchmarks.scratch(options, "tenant-list")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = try Engine(directory: directory, configuration: EngineBenchmarks.configuration(.never))
        defer { try? engine.close() }
        var next = 0
        while next < tenants {
            let batch = (next..<min(next + 10_000, tenants)).map { number -> Result<Event, EventValidationError> in
                .success(
                    Event(
                        id: "t\(number)",
                        tenantId: TenantID(high: 0x7E4A_0000_0000_0000 | UInt64(number), low: UInt64(number)),
                        time: EngineBenchmarks.now,
                        payload: .tenantCreated(TenantCreation(name: "Tenant \(number * 7_919 % tenants)"))))
            }
            _ = engine.ingest(batch)
            next += batch.count
        }
        EngineBenchmarks.requireStored(engine, tenants, "tenants list fill")
        let secret = Array("benchmark-secret-0123456789".utf8)
        let handler = TallyAPIHandler(engine: engine, authenticator: JWTAuthenticator(secret: secret))
        let token = JWTSigner(secret: secret).sign(
            JWTClaims(roles: ["super_admin"], expiresAt: Timestamp.now().seconds + 3600))
        let someTenant = TenantID(high: 0x7E4A_0000_0000_0000 | 5, low: 5)
        func request(_ target: String) throws -> HTTPRequest? {
            var parser = HTTPRequestParser()
            parser.feed(
                Array(
                    "GET \(target) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nx-tenantid: \(someTenant)\r\n\r\n"
                        .utf8))
            return try parser.next()
        }
        for (label, target) in [
            ("first page", "/api/v1/admin/tenants/?page=1&per_page=20"),
            ("page 500 of a search", "/api/v1/admin/tenants/?page=500&per_page=20&search=tenant%201"),
        ] {
            guard let list = try request(target) else {
                print("tenant list: the request for \(target) did not parse: no figure is reported")
                exit(1)
            }
            let statuses = Mutex<Set<Int>>([])
            // A stats read beside each list request: how long the list holds reads back.
            let longestRead = Atomic<UInt64>(0)
            let milliseconds = Measure.median(options.repetitions) {
                let reader = Thread {
                    let deadline = MonotonicClock.nanoseconds() + 300_000_000
                    while MonotonicClock.nanoseconds() < deadline {
                        let begin = MonotonicClock.nanoseconds()
                        _ = engine.tenantStats(someTenant)
                        longestRead.max(MonotonicClock.nanoseconds() - begin, ordering: .relaxed)
                    }
                }
                reader.start()
                usleep(20_000)
                // The list is answered on a thread of its own: timed until its answer arrives.
                let answered = DispatchSemaphore(value: 0)
                let seconds = Measure.seconds {
                    handler.handle(list) { response in
                        statuses.withLock { _ = $0.insert(response.status) }
                        answered.signal()
                    }
                    answered.wait()
                }
                usleep(300_000)
                return seconds * 1000
            }
            guard statuses.withLock({ $0 }) == [200] else {
                print(
                    "tenants list, \(label): statuses \(statuses.withLock { $0.sorted() }), not 200: no figure is reported"
                )
                exit(1)
            }
            Measure.row(
                "tenants list, \(label), \(tenants) tenants", milliseconds, "ms per request",
                "in process; longest stats read beside it \(String(format: "%.1f", Double(longestRead.load(ordering: .relaxed)) / 1e6)) ms"
            )
        }
        // The first request after a change: one tenant renamed, then the first page, which must show it.
        guard let first = try request("/api/v1/admin/tenants/?page=1&per_page=20") else {
            print("tenant list: the first-page request did not parse: no figure is reported")
            exit(1)
        }
        var renames = 0
        var shown = 0
        let afterChange = Measure.median(options.repetitions) {
            renames += 1
            let renamed = TenantID(high: 0x7E4A_0000_0000_0000 | UInt64(renames), low: UInt64(renames))
            let result = engine.ingest([
                .success(
                    Event(
                        id: "rename-\(renames)", tenantId: renamed, time: EngineBenchmarks.now,
                        payload: .tenantUpdated(TenantUpdate(name: "AAA renamed \(renames)"))))
            ])
            guard case .accepted = result.first else {
                print("tenants list: the rename was not accepted: no figure is reported")
                exit(1)
            }
            let body = Mutex<[UInt8]>([])
            let answered = DispatchSemaphore(value: 0)
            let seconds = Measure.seconds {
                handler.handle(first) { response in
                    body.withLock { $0 = response.body }
                    answered.signal()
                }
                answered.wait()
            }
            if body.withLock({ String(decoding: $0, as: UTF8.self) }).contains("AAA renamed \(renames)\"") {
                shown += 1
            }
            return seconds * 1000
        }
        // The page must show each rename: an answer from before the change would be no measure of this.
        guard shown == renames else {
            print(
                "tenants list: the renamed tenant was on the page in \(shown) of \(renames) requests: no figure is reported"
            )
            exit(1)
        }
        Measure.row(
            "tenants list, first page after one tenant.updated, \(tenants) tenants", afterChange, "ms per request",
            "in process; the renamed tenant on the page in every request")
    }
}
