import Foundation
import Synchronization
import TallyAPI
import TallyAuth
import TallyCore
import TallyEngine
import TallyHTTP
import TallyStorage
import TallyTestSupport

/// A closed-loop load generator over loopback keep-alive connections against the real server and engine
/// (durability `always`), in the same process: single-event POSTs, batched POSTs and stats GETs.
enum HTTPBenchmarks {
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    @Sendable static func event(_ id: Int) -> String {
        #"{"id":"b\#(id)","type":"api.call","tenantId":"\#(tenant)","data":{"keyId":"key-\#(id % 10)","status":200}}"#
    }

    static func run(_ options: BenchmarkSuite.Options) throws {
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
        let server = try HTTPServer(configuration: http, handler: TallyAPIHandler(engine: engine, authenticator: JWTAuthenticator(secret: secret)))
        defer {
            server.shutdown()
            try? engine.close()
        }
        let now = Timestamp.now().seconds
        let token = JWTSigner(secret: secret).sign(JWTClaims(roles: ["super_admin"], expiresAt: now + 3600))
        let headers = "Authorization: Bearer \(token)\r\nx-tenantid: \(tenant)\r\nContent-Type: application/json\r\n"
        let counter = Atomic<Int>(0)


        // Single-event POSTs.
        let singles = options.quick ? 4_000 : 20_000
        let (singleRate, singleLatency) = try load(port: server.port, connections: 16, requests: singles) { _ in
            let id = counter.wrappingAdd(1, ordering: .relaxed).newValue
            let body = event(id)
            return "POST /api/v1/events HTTP/1.1\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        Measure.row("HTTP single-event POST, 16 connections", singleRate, "requests/s",
                    String(format: "p50 %.0f µs, p99 %.0f µs; durability always", singleLatency.p50, singleLatency.p99))

        // Batches of 1000.
        let batches = options.quick ? 40 : 200
        let (batchRate, batchLatency) = try load(port: server.port, connections: 4, requests: batches) { _ in
            let first = counter.wrappingAdd(1000, ordering: .relaxed).newValue
            let body = "[" + (first..<(first + 1000)).map(event).joined(separator: ",") + "]"
            return "POST /api/v1/events HTTP/1.1\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        Measure.row("HTTP batched POST of 1000 events, 4 connections", batchRate * 1000, "events/s",
                    String(format: "p50 %.1f ms, p99 %.1f ms per batch", batchLatency.p50 / 1000, batchLatency.p99 / 1000))

        // Stats reads.
        let reads = options.quick ? 10_000 : 50_000
        let (readRate, readLatency) = try load(port: server.port, connections: 16, requests: reads) { _ in
            "GET /api/v1/admin/tenants/\(tenant)/stats HTTP/1.1\r\n\(headers)\r\n"
        }
        Measure.row("HTTP stats GET, 16 connections", readRate, "requests/s",
                    String(format: "p50 %.0f µs, p99 %.0f µs", readLatency.p50, readLatency.p99))
    }

    struct Latency {
        var p50: Double
        var p99: Double
    }

    /// Runs `requests` requests over `connections` keep-alive connections, one in flight per connection.
    static func load(port: Int, connections: Int, requests: Int, make: @escaping @Sendable (Int) -> String) throws -> (Double, Latency) {
        let perConnection = max(1, requests / connections)
        let samples = Mutex<[Double]>([])
        let failures = Atomic<Int>(0)
        let done = DispatchGroup()
        let start = MonotonicClock.nanoseconds()
        for connection in 0..<connections {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                guard let client = try? LoopbackClient(port: port) else {
                    failures.wrappingAdd(1, ordering: .relaxed)
                    return
                }
                var mine: [Double] = []
                mine.reserveCapacity(perConnection)
                for index in 0..<perConnection {
                    let request = Array(make(connection * perConnection + index).utf8)
                    let begin = MonotonicClock.nanoseconds()
                    guard (try? client.send(request)) != nil, let response = try? client.readResponse(), response.status < 300 else {
                        failures.wrappingAdd(1, ordering: .relaxed)
                        return
                    }
                    mine.append(Double(MonotonicClock.nanoseconds() - begin) / 1000)
                }
                samples.withLock { $0 += mine }
            }
        }
        done.wait()
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        var all = samples.withLock { $0 }
        guard failures.load(ordering: .relaxed) == 0, !all.isEmpty else {
            throw LoopbackClient.ClientError(message: "\(failures.load(ordering: .relaxed)) connections failed")
        }
        all.sort()
        return (Double(all.count) / seconds, Latency(p50: all[all.count / 2], p99: all[all.count * 99 / 100]))
    }
}
