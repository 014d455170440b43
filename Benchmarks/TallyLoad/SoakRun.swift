import Dispatch
import Foundation
import Glibc
import Synchronization
import TallyAuth
import TallyCore
import TallyStorage
import TallyTestSupport

/// Sustained mixed load against a real `tally serve`: ingest clients posting batches and stats clients
/// reading both stats endpoints, for a set duration, reporting throughput and p99 latency per interval and
/// the server's resident memory at the start and the end.
public struct SoakRun {
    /// What to run.
    public struct Options: Sendable {
        public var binary: String
        public var directory: String
        /// Total duration in seconds.
        public var seconds = 60
        /// Seconds per report line.
        public var interval = 10
        /// Concurrent ingest clients and events per POST.
        public var ingestClients = 2
        public var batchSize = 100
        /// Concurrent stats clients.
        public var statsClients = 2
        /// Tenants the events are spread over.
        public var tenants = 1_000
        /// Extra `tally serve` arguments (such as `--backdate-limit 2m`).
        public var serverArguments: [String] = []
        /// Where the server's request log goes (`nil`: discarded).
        public var serverLog: String?

        public init(binary: String, directory: String) {
            self.binary = binary
            self.directory = directory
        }
    }

    /// One interval's figures.
    public struct Interval: Sendable {
        public var endSecond: Int
        public var eventsPerSecond: Double
        public var ingestP99Milliseconds: Double
        public var statsPerSecond: Double
        public var statsP99Milliseconds: Double
        public var residentBytes: Int
        /// The dedup index's table and ids, from the server's `/metrics`.
        public var dedupTableBytes: Int
        public var rememberedIds: Int
        public var errors: Int
    }

    /// The whole run.
    public struct Report: Sendable {
        public var intervals: [Interval] = []
        public var residentAtStart = 0
        public var residentAtEnd = 0
        public var events = 0
        public var statsReads = 0
        public var errors = 0
        /// Errors by kind.
        public var errorKinds: [String: Int] = [:]
        /// The first 50 errors or so (each interval adds until there are 50), each with the time its request
        /// was sent, to find it in the server's log; sorted by that time.
        public var firstErrors: [(sent: Timestamp, kind: String)] = []
    }

    /// What the clients share with the driver.
    final class Board: Sendable {
        let window = Mutex(Window())
        let stopping = Atomic<Bool>(false)
        /// The tenants with an acknowledged ingest: their stats must be found from then on.
        let stored = Mutex<Set<String>>([])

        /// Adds a client's figures to the shared window and empties them; clients call it every 50 ms, so
        /// the lock is never contended enough to starve one of them.
        func merge(_ local: inout Window) {
            let taken = local
            local = Window()
            window.withLock { window in
                window.events += taken.events
                window.ingestLatencies += taken.ingestLatencies
                window.statsLatencies += taken.statsLatencies
                window.errors += taken.errors
                window.errorKinds.merge(taken.errorKinds, uniquingKeysWith: +)
                window.firstErrors += taken.firstErrors.prefix(Window.keptErrors - window.firstErrors.count)
            }
        }
    }

    struct Window: Sendable {
        var events = 0
        var ingestLatencies: [Double] = []
        var statsLatencies: [Double] = []
        var errors = 0
        /// What went wrong, by kind (a status or a client error), for the report.
        var errorKinds: [String: Int] = [:]
        var firstErrors: [(sent: Timestamp, kind: String)] = []
        /// How many errors are listed one by one.
        static let keptErrors = 50

        /// Counts an error of a request sent at `sent`.
        mutating func fail(_ kind: String, sent: Timestamp) {
            errors += 1
            errorKinds[kind, default: 0] += 1
            if firstErrors.count < Window.keptErrors { firstErrors.append((sent, kind)) }
        }
    }

    let options: Options

    public init(_ options: Options) {
        self.options = options
    }

    /// Runs the soak; `line` receives each interval's report line as it completes.
    public func run(line: (String) -> Void = { _ in }) throws -> Report {
        let (server, token) = ServerProcess.withAdminToken(
            binary: options.binary, directory: options.directory,
            extraArguments: options.serverArguments, validFor: 7 * 86_400)
        server.logPath = options.serverLog
        try server.start()
        defer { server.stop(signal: SIGTERM) }
        let tenants = (0..<options.tenants).map { index -> String in
            let hex = String(index, radix: 16)
            return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
        }
        var report = Report()
        report.residentAtStart = server.residentBytes ?? 0
        let board = Board()
        let group = DispatchGroup()
        let port = server.port
        for client in 0..<options.ingestClients {
            group.enter()
            let batchSize = options.batchSize
            Thread {
                Self.ingest(
                    client: client, port: port, token: token, tenants: tenants, batchSize: batchSize,
                    board: board)
                group.leave()
            }.start()
        }
        for client in 0..<options.statsClients {
            group.enter()
            Thread {
                Self.read(client: client, port: port, token: token, tenants: tenants, board: board)
                group.leave()
            }.start()
        }
        line(
            "| second | ingest events/s | ingest p99 ms | stats reads/s | stats p99 ms | server RSS MiB | dedup ids | dedup table MiB | RSS - dedup MiB | errors |"
        )
        line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        var elapsed = 0
        while elapsed < options.seconds {
            let step = min(options.interval, options.seconds - elapsed)
            let started = MonotonicClock.nanoseconds()
            usleep(UInt32(step) * 1_000_000)
            let taken = board.window.withLock { current -> Window in
                defer { current = Window() }
                return current
            }
            let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
            elapsed += step
            let interval = Interval(
                endSecond: elapsed, eventsPerSecond: Double(taken.events) / seconds,
                ingestP99Milliseconds: Self.p99(taken.ingestLatencies),
                statsPerSecond: Double(taken.statsLatencies.count) / seconds,
                statsP99Milliseconds: Self.p99(taken.statsLatencies),
                residentBytes: server.residentBytes ?? 0,
                dedupTableBytes: Self.gauge("tally_dedup_table_bytes", port: port),
                rememberedIds: Self.gauge("tally_dedup_remembered_ids", port: port), errors: taken.errors)
            report.intervals.append(interval)
            report.events += taken.events
            report.statsReads += taken.statsLatencies.count
            report.errors += taken.errors
            report.errorKinds.merge(taken.errorKinds, uniquingKeysWith: +)
            report.firstErrors += taken.firstErrors.prefix(Window.keptErrors - report.firstErrors.count)
            let mebibytes = { (bytes: Int) in Double(bytes) / 1_048_576 }
            line(
                String(
                    format: "| %d | %.0f | %.2f | %.0f | %.2f | %.1f | %d | %.1f | %.1f | %d |", interval.endSecond,
                    interval.eventsPerSecond, interval.ingestP99Milliseconds, interval.statsPerSecond,
                    interval.statsP99Milliseconds, mebibytes(interval.residentBytes), interval.rememberedIds,
                    mebibytes(interval.dedupTableBytes), mebibytes(interval.residentBytes - interval.dedupTableBytes),
                    interval.errors))
        }
        board.stopping.store(true, ordering: .relaxed)
        group.wait()
        // What the clients merged as they stopped, after the last interval.
        let rest = board.window.withLock { $0 }
        report.events += rest.events
        report.statsReads += rest.statsLatencies.count
        report.errors += rest.errors
        report.errorKinds.merge(rest.errorKinds, uniquingKeysWith: +)
        report.firstErrors += rest.firstErrors
        report.firstErrors.sort { $0.sent < $1.sent }
        report.firstErrors = Array(report.firstErrors.prefix(Window.keptErrors))
        report.residentAtEnd = server.residentBytes ?? 0
        return report
    }

    /// A gauge from the server's `/metrics`, or 0 when it cannot be read.
    static func gauge(_ name: String, port: Int) -> Int {
        guard let client = try? LoopbackClient(port: port), let response = try? client.request("GET", "/metrics"),
            let range = response.text.range(of: "\n\(name) ")
        else { return 0 }
        return Int(response.text[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    static func p99(_ samples: [Double]) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    }

    static func ingest(
        client: Int, port: Int, token: String, tenants: [String], batchSize: Int,
        board: Board
    ) {
        var connection: LoopbackClient?
        var sequence = 0
        var marked = Set<String>()
        var random = SplitMix64(seed: UInt64(client) &+ 99)
        var local = Window()
        var lastFlush = MonotonicClock.nanoseconds()
        defer { board.merge(&local) }
        while !board.stopping.load(ordering: .relaxed) {
            if MonotonicClock.nanoseconds() - lastFlush > 50_000_000 {
                board.merge(&local)
                lastFlush = MonotonicClock.nanoseconds()
            }
            let tenant = random.pick(tenants)
            var body = "["
            for index in 0..<batchSize {
                if index > 0 { body += "," }
                let status = random.chance(1, in: 50) ? 429 : random.chance(1, in: 40) ? 500 : 200
                body +=
                    #"{"id":"s\#(client)-\#(sequence)","type":"api.call","tenantId":"\#(tenant)","data":{"keyId":"key-\#(random.below(10))","status":\#(status)}}"#
                sequence += 1
            }
            body += "]"
            let started = MonotonicClock.nanoseconds()
            let sent = Timestamp.now()
            do {
                if connection == nil { connection = try LoopbackClient(port: port) }
                let response = try connection?.request(
                    "POST", "/api/v1/events",
                    headers: [
                        ("Authorization", "Bearer \(token)"), ("x-tenantid", tenant),
                        ("Content-Type", "application/json"),
                    ], body: Array(body.utf8))
                let milliseconds = Double(MonotonicClock.nanoseconds() - started) / 1e6
                if response?.status == 200 {
                    local.events += batchSize
                    local.ingestLatencies.append(milliseconds)
                    if marked.insert(tenant).inserted { board.stored.withLock { _ = $0.insert(tenant) } }
                } else {
                    local.fail(
                        "ingest status \(response?.status ?? 0): \(response?.text.prefix(120) ?? "")", sent: sent)
                }
            } catch {
                connection = nil
                local.fail("ingest: \(error)", sent: sent)
            }
        }
    }

    static func read(client: Int, port: Int, token: String, tenants: [String], board: Board) {
        var connection: LoopbackClient?
        var random = SplitMix64(seed: UInt64(client) &+ 7)
        var local = Window()
        var lastFlush = MonotonicClock.nanoseconds()
        defer { board.merge(&local) }
        while !board.stopping.load(ordering: .relaxed) {
            if MonotonicClock.nanoseconds() - lastFlush > 50_000_000 {
                board.merge(&local)
                lastFlush = MonotonicClock.nanoseconds()
            }
            let tenant = random.pick(tenants)
            let path =
                random.chance(1, in: 2)
                ? "/api/v1/admin/tenants/\(tenant)/stats" : "/api/organizations/\(tenant)/api-keys/stats"
            // Known before the request goes: an ingest acknowledged after it was answered may be missing.
            let stored = board.stored.withLock { $0.contains(tenant) }
            let started = MonotonicClock.nanoseconds()
            let sent = Timestamp.now()
            do {
                if connection == nil { connection = try LoopbackClient(port: port) }
                let response = try connection?.request(
                    "GET", path, headers: [("Authorization", "Bearer \(token)"), ("x-tenantid", tenant)])
                let milliseconds = Double(MonotonicClock.nanoseconds() - started) / 1e6
                // A 404 is the answer for a tenant with no events yet, and only for one: once an ingest of it
                // was acknowledged, its stats must be there.
                let ok = response?.status == 200 || (response?.status == 404 && !stored)
                if ok {
                    local.statsLatencies.append(milliseconds)
                } else if response?.status == 404 {
                    local.fail("stats 404 for a tenant with acknowledged events", sent: sent)
                } else {
                    local.fail("stats status \(response?.status ?? 0)", sent: sent)
                }
            } catch {
                connection = nil
                local.fail("stats: \(error)", sent: sent)
            }
        }
    }
}
