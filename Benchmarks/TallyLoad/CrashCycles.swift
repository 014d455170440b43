import Dispatch
import Foundation
import Glibc
import Synchronization
import TallyAuth
import TallyCore
import TallyTestSupport

/// Real crashes: runs `tally serve`, drives concurrent ingest with client retries over loopback, SIGKILLs
/// the server at random moments, restarts it, and at the end checks that every acknowledged event is counted
/// exactly once (through `tally dump`, the HTTP stats and `tally replay --verify`).
public struct CrashCycles {
    /// What to run.
    public struct Options: Sendable {
        /// The `tally` executable.
        public var binary: String
        /// The store directory (a fresh one).
        public var directory: String
        /// How many SIGKILL-and-restart cycles.
        public var cycles = 5
        /// Concurrent ingest clients.
        public var clients = 4
        /// Events per POST.
        public var batchSize = 50
        /// The longest a server lives before it is killed, in milliseconds (each life is random up to it).
        public var maxLifeMilliseconds = 1_500
        /// Seeds the kill times.
        public var seed: UInt64 = 1

        public init(binary: String, directory: String) {
            self.binary = binary
            self.directory = directory
        }
    }

    /// What the run found.
    public struct Report: Sendable, CustomStringConvertible {
        public var cycles = 0
        /// Distinct events the server acknowledged (accepted or reported as duplicates).
        public var acknowledged = 0
        /// Acknowledged events missing from the log.
        public var lost = 0
        /// Events stored more than once, plus tenants whose HTTP stats count differs from the log.
        public var doubleCounted = 0
        /// Stored events no client was told about (should be 0: clients finish their last batch).
        public var unacknowledgedStored = 0
        /// POSTs retried after a failure.
        public var retriedRequests = 0
        /// Events the server reported as duplicates (retries of events stored before a kill).
        public var deduplicated = 0
        /// Whether `tally replay --verify` agreed with the checkpoint.
        public var replayVerified = false
        /// Whether every tenant's HTTP stats equal the count in the log.
        public var statsMatch = false
        /// The first answer that no retry could change (a 4xx other than 408 or 429), which ended the run.
        public var refusal: String?

        /// Whether every guarantee held.
        public var passed: Bool {
            cycles > 0 && acknowledged > 0 && lost == 0 && doubleCounted == 0 && unacknowledgedStored == 0
                && replayVerified && statsMatch && refusal == nil
        }

        public var description: String {
            "crash test: \(cycles) cycles, \(acknowledged) events acknowledged, \(lost) lost, \(doubleCounted) double-counted"
                + " (\(retriedRequests) requests retried, \(deduplicated) retried events deduplicated, \(unacknowledgedStored) stored unacknowledged);"
                + " replay --verify \(replayVerified ? "agrees" : "DISAGREES"); HTTP stats \(statsMatch ? "match" : "DO NOT MATCH")"
                + (refusal.map { "; the run ended early: \($0)" } ?? "")
                + (passed ? " — PASS" : " — FAIL")
        }
    }

    static let tenants = [
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "9b2d7c1e-4a5f-4e8b-9c3d-2f1a6b7c8d9e",
        "c0ffee00-1234-4abc-8def-0123456789ab",
    ]

    let options: Options

    public init(_ options: Options) {
        self.options = options
    }

    /// What the clients share with the driver.
    final class Board: Sendable {
        let state = Mutex(Shared())
    }

    struct Shared: Sendable {
        var stopping = false
        var acknowledged: [String: Int] = [:]  // id -> tenant index
        var retried = 0
        var deduplicated = 0
        var refusal: String?
    }

    /// Runs the cycles and the final checks.
    public func run(progress: (String) -> Void = { _ in }) throws -> Report {
        let (server, token) = ServerProcess.withAdminToken(
            binary: options.binary, directory: options.directory,
            validFor: 86_400)
        try server.start()
        let port = server.port
        let board = Board()
        let finished = DispatchGroup()
        for client in 0..<options.clients {
            finished.enter()
            let batchSize = options.batchSize
            Thread {
                Self.drive(client: client, batchSize: batchSize, token: token, port: port, board: board)
                finished.leave()
            }.start()
        }
        var random = SplitMix64(seed: options.seed)
        var report = Report()
        for cycle in 1...options.cycles {
            if board.state.withLock({ $0.refusal != nil }) { break }
            usleep(UInt32(100_000 + random.below(max(1, options.maxLifeMilliseconds - 100)) * 1_000))
            server.stop(signal: SIGKILL)
            let soFar = board.state.withLock { $0.acknowledged.count }
            progress(
                "cycle \(cycle)/\(options.cycles): killed the server with SIGKILL; \(soFar) events acknowledged so far")
            try server.start()
            report.cycles = cycle
        }
        // Let the clients run against the last server a little, then finish their batches and stop.
        usleep(300_000)
        board.state.withLock { $0.stopping = true }
        finished.wait()
        let exit = server.stop(signal: SIGTERM)
        if exit != 0 { progress("the server exited with status \(exit) on SIGTERM") }

        let state = board.state.withLock { $0 }
        report.acknowledged = state.acknowledged.count
        report.retriedRequests = state.retried
        report.deduplicated = state.deduplicated
        report.refusal = state.refusal

        // The log, through `tally dump`.
        let dump = try server.run(["dump", "--data", options.directory])
        var stored: [String: Int] = [:]
        var perTenant = [Int](repeating: 0, count: Self.tenants.count)
        for line in dump.output.split(separator: "\n") {
            guard let id = Self.stringField("id", in: line) else { continue }
            stored[id, default: 0] += 1
            if let tenant = Self.stringField("tenantId", in: line), let index = Self.tenants.firstIndex(of: tenant) {
                perTenant[index] += 1
            }
        }
        report.lost = state.acknowledged.keys.filter { stored[$0] == nil }.count
        report.doubleCounted = stored.values.filter { $0 > 1 }.count
        report.unacknowledgedStored = stored.keys.filter { state.acknowledged[$0] == nil }.count

        // The projections, through the HTTP stats of a restarted server.
        try server.start()
        var statsMatch = true
        for (index, tenant) in Self.tenants.enumerated() {
            let response = try LoopbackClient(port: server.port).request(
                "GET", "/api/v1/admin/tenants/\(tenant)/stats",
                headers: [
                    ("Authorization", "Bearer \(token)"), ("x-tenantid", tenant),
                ])
            let counted =
                (Self.intField("apiCallsThisMonth", in: response.text) ?? -1)
                + (Self.intField("apiCallsLastMonth", in: response.text) ?? 0)
            let acknowledgedHere = state.acknowledged.values.filter { $0 == index }.count
            if counted != perTenant[index] || counted != acknowledgedHere {
                statsMatch = false
                report.doubleCounted += 1
                progress(
                    "tenant \(tenant): HTTP stats count \(counted), the log holds \(perTenant[index]), clients were acknowledged \(acknowledgedHere)"
                )
            }
        }
        report.statsMatch = statsMatch
        server.stop(signal: SIGTERM)

        // A full rebuild agrees with the checkpoint the clean stop wrote.
        report.replayVerified = try server.run(["replay", "--verify", "--data", options.directory]).code == 0
        return report
    }

    /// One client: posts batches of new events; on any failure reconnects and re-sends the same batch
    /// until the server acknowledges it, then records its ids. An answer no retry can change (a 4xx other
    /// than 408 or 429: a bad token or body) stops every client instead of retrying it forever.
    static func drive(client: Int, batchSize: Int, token: String, port: Int, board: Board) {
        var connection: LoopbackClient?
        var sequence = 0
        while !board.state.withLock({ $0.stopping }) {
            let tenantIndex = (client + sequence) % tenants.count
            let tenant = tenants[tenantIndex]
            let ids = (0..<batchSize).map { "c\(client)-\(sequence + $0)" }
            sequence += batchSize
            let body =
                "["
                + ids.map {
                    #"{"id":"\#($0)","type":"api.call","tenantId":"\#(tenant)","data":{"keyId":"key-\#(client)","status":200}}"#
                }
                .joined(separator: ",") + "]"
            var attempts = 0
            while true {
                attempts += 1
                do {
                    if connection == nil { connection = try LoopbackClient(port: port) }
                    let response = try connection?.request(
                        "POST", "/api/v1/events",
                        headers: [
                            ("Authorization", "Bearer \(token)"), ("x-tenantid", tenant),
                            ("Content-Type", "application/json"),
                        ], body: Array(body.utf8))
                    if let response, response.status == 200,
                        (intField("accepted", in: response.text) ?? 0)
                            + (intField("duplicates", in: response.text) ?? 0) == ids.count
                    {
                        let duplicates = intField("duplicates", in: response.text) ?? 0
                        board.state.withLock { state in
                            for id in ids { state.acknowledged[id] = tenantIndex }
                            state.deduplicated += duplicates
                            if attempts > 1 { state.retried += attempts - 1 }
                        }
                        break
                    }
                    if let response, (400..<500).contains(response.status), response.status != 408,
                        response.status != 429
                    {
                        board.state.withLock { state in
                            if state.refusal == nil {
                                state.refusal = "HTTP \(response.status) to a POST: \(response.text.prefix(300))"
                            }
                            state.stopping = true
                        }
                        return
                    }
                    connection = nil
                } catch {
                    connection = nil
                }
                usleep(20_000)
            }
        }
    }

    /// The integer after `"name":` in compact JSON text.
    static func intField(_ name: String, in text: String) -> Int? {
        guard let range = text.range(of: "\"\(name)\":") else { return nil }
        return Int(text[range.upperBound...].prefix { $0 == "-" || $0.isNumber })
    }

    /// The string after `"name":"` in compact JSON text.
    static func stringField(_ name: String, in text: Substring) -> String? {
        guard let range = text.range(of: "\"\(name)\":\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }
}
