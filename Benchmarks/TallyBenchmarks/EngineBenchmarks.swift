import Foundation
import Synchronization
import TallyCore
import TallyEngine
import TallyStorage

/// The engine: ingest, replay, restart, stats reads, memory per tenant and key, dedup bytes per id.
enum EngineBenchmarks {
    static let now = Timestamp.now()

    static func configuration(_ policy: DurabilityPolicy) -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.store = StoreConfiguration(durability: policy)
        configuration.store.log = { _ in }
        configuration.checkpointEveryEvents = .max
        configuration.checkpointEverySeconds = .max
        let fixed = now
        configuration.clock = { fixed }
        return configuration
    }

    /// Ends the run (exit 1) unless the engine holds `expected` events: a batch rejected whole returns
    /// without an fsync, and would read as speed.
    static func requireStored(_ engine: Engine, _ expected: Int, _ what: String) {
        guard engine.eventCount == UInt64(expected) else {
            print("\(what): the engine holds \(engine.eventCount) events, not \(expected): no figure is reported")
            exit(1)
        }
    }

    /// API calls over `tenants` tenants and 10 keys each, times within the last day.
    static func calls(_ count: Int, tenants: Int, start: Int = 0) -> [Result<Event, EventValidationError>] {
        (start..<start + count).map { index in
            let tenant = UInt64(index % tenants)
            return .success(
                Event(
                    id: "c-\(index)", tenantId: TenantID(high: 0x5EED_0000_0000_0000 | tenant, low: tenant),
                    time: Timestamp(microseconds: now.microseconds - Int64(index % 86_400) * 1_000_000),
                    payload: .apiCall(
                        APICall(
                            keyId: "key-\(index % 10)", status: index % 25 == 0 ? 429 : 200,
                            bytes: 512, durationMs: 3.5))))
        }
    }

    /// Resident memory of this process. Memory figures are taken in a fresh child process
    /// (`--only memory`), where freed memory of earlier benchmarks cannot hide growth.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }

    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }

    /// Resets the process's peak resident size (VmHWM) to what it holds now (Linux: `5` into
    /// `/proc/self/clear_refs`), so that a later peak measures one phase, not the whole run; false if refused.
    @discardableResult
    static func resetPeakResident() -> Bool {
        let file = open("/proc/self/clear_refs", O_WRONLY)
        guard file >= 0 else { return false }
        defer { close(file) }
        return write(file, "5", 1) == 1
    }

    static func run(_ options: BenchmarkSuite.Options) throws {
        try ingestAndReplay(options)
        MemoryLatency.run(options)
        try reads(options, tenants: 1_000)
        try reads(options, tenants: options.quick ? 100_000 : 1_000_000)
        try inChildProcess(options, "memory")
        try inChildProcess(options, "dedup-memory")
    }

    /// Runs one benchmark in a new process of this executable and passes its table rows through.
    static func inChildProcess(_ options: BenchmarkSuite.Options, _ name: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["--only", name, "--no-header"] + (options.quick ? ["--quick"] : [])
        // The rows printed so far go out before the child's.
        fflush(nil)
        try process.run()
        process.waitUntilExit()
        // A child that failed, or was killed (out of memory, say), reported no figure: neither does the suite.
        guard process.terminationReason == .exit && process.terminationStatus == 0 else {
            print(
                "benchmark failed: --only \(name) ended with \(process.terminationReason == .exit ? "status" : "signal") \(process.terminationStatus)"
            )
            exit(1)
        }
    }

    static func ingestAndReplay(_ options: BenchmarkSuite.Options) throws {
        let count = options.quick ? 1_000_000 : 5_000_000
        let events = calls(count, tenants: 1000)
        let batches = stride(from: 0, to: count, by: 1000).map { Array(events[$0..<min($0 + 1000, count)]) }
        var directory = ""
        let rate = try Measure.median(options.repetitions) {
            if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
            directory = try scratch(options, "engine")
            let engine = try Engine(directory: directory, configuration: configuration(.always))
            let seconds = Measure.seconds {
                for batch in batches { _ = engine.ingest(batch) }
            }
            requireStored(engine, count, "engine ingest")
            try engine.close()
            return Double(count) / seconds
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        Measure.row(
            "engine ingest, batch 1000, always", rate, "events/s",
            "\(count) api.call events, 1,000 tenants; one batch at a time")
        // As the server drives it: batches from several connections in flight at once, so one fsync
        // covers several (group commit).
        let inFlight = 4
        let pipelined = try Measure.median(options.repetitions) {
            try? FileManager.default.removeItem(atPath: directory)
            directory = try scratch(options, "engine")
            let engine = try Engine(directory: directory, configuration: configuration(.always))
            let slots = DispatchSemaphore(value: inFlight)
            let seconds = Measure.seconds {
                for batch in batches {
                    slots.wait()
                    engine.ingest(batch) { _ in slots.signal() }
                }
                for _ in 0..<inFlight { slots.wait() }
            }
            for _ in 0..<inFlight { slots.signal() }
            requireStored(engine, count, "engine ingest, \(inFlight) in flight")
            try engine.close()
            return Double(count) / seconds
        }
        Measure.row(
            "engine ingest, batch 1000, always, \(inFlight) in flight", pipelined, "events/s",
            "the same events, up to \(inFlight) batches awaiting durability at once")
        // The runs above deleted gigabytes of segments and left writeback behind: let the kernel finish that
        // first, so its work on the two cores is not counted as replay's.
        sync()
        Thread.sleep(forTimeInterval: 2)
        let replay = try Measure.median(options.repetitions) {
            var rebuilt: UInt64 = 0
            let seconds = try Measure.seconds {
                rebuilt = try Engine.rebuild(directory: directory, configuration: configuration(.never)).state
                    .nextOffset
            }
            guard rebuilt == UInt64(count) else {
                print("replay: rebuilt \(rebuilt) events, not \(count): no figure is reported")
                exit(1)
            }
            return Double(count) / seconds
        }
        Measure.row("replay from offset 0", replay, "events/s", "\(count) events, projections and dedup index rebuilt")
        let restart = try Measure.median(options.repetitions) {
            try Measure.seconds {
                let engine = try Engine(directory: directory, configuration: configuration(.never))
                requireStored(engine, count, "restart")
                try engine.close()
            }
        }
        Measure.row(
            "restart from checkpoint", restart * 1000, "ms",
            "\(count) events in the log, \(count) ids in the dedup window")
    }

    /// Restart of a large store (100M events by default, `--quick` 10M) from its checkpoint. The events
    /// span a year, backfilled through the engine's import mode, so about a tenth lie in the dedup window:
    /// restart cost follows the ids in the window and the tenants, not the length of the log.
    static func restartLarge(_ options: BenchmarkSuite.Options) throws {
        let count = options.quick ? 10_000_000 : 100_000_000
        let directory = try scratch(options, "restart-large")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let yearMicroseconds: Int64 = 365 * 86_400 * 1_000_000
        let fill = try Measure.seconds {
            let engine = try Engine(directory: directory, configuration: configuration(.never))
            var start = 0
            while start < count {
                let size = min(20_000, count - start)
                let batch = (start..<start + size).map { index -> Result<Event, EventValidationError> in
                    let tenant = UInt64(index % 1000)
                    // Spread over the year so that time grows with the offset (like a real log).
                    let age = yearMicroseconds - Int64(Double(index) / Double(count) * Double(yearMicroseconds))
                    return .success(
                        Event(
                            id: "c-\(index)", tenantId: TenantID(high: 0x5EED_0000_0000_0000 | tenant, low: tenant),
                            time: Timestamp(microseconds: now.microseconds - age),
                            payload: .apiCall(APICall(keyId: "key-\(index % 10)", status: 200))))
                }
                _ = engine.ingest(batch, mode: .backfill)
                start += size
            }
            requireStored(engine, count, "restart-large fill")
            try engine.close()
        }
        let restart = try Measure.median(options.repetitions) {
            try Measure.seconds {
                let engine = try Engine(directory: directory, configuration: configuration(.never))
                try engine.close()
            }
        }
        let engine = try Engine(directory: directory, configuration: configuration(.never))
        requireStored(engine, count, "restart-large")
        let remembered = engine.rememberedIds
        let events = engine.eventCount
        try engine.close()
        Measure.row(
            "restart from checkpoint, large store", restart * 1000, "ms",
            "\(events) events over a year, \(remembered) ids in the dedup window; filled in \(Int(fill)) s")
    }

    static func reads(_ options: BenchmarkSuite.Options, tenants: Int) throws {
        let directory = try scratch(options, "reads")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = try Engine(directory: directory, configuration: configuration(.never))
        let perTenant = 10
        let total = tenants * perTenant
        var start = 0
        while start < total {
            let size = min(10_000, total - start)
            _ = engine.ingest(calls(size, tenants: tenants, start: start))
            start += size
        }
        requireStored(engine, total, "stats reads")
        let ids = (0..<200_000).map { index -> TenantID in
            let tenant = UInt64((index &* 2_654_435_761) % tenants)
            return TenantID(high: 0x5EED_0000_0000_0000 | tenant, low: tenant)
        }
        var p50s: [Double] = []
        var p99s: [Double] = []
        for _ in 0..<options.repetitions {
            var samples: [UInt64] = []
            samples.reserveCapacity(ids.count)
            var sink = 0
            for id in ids {
                let begin = MonotonicClock.nanoseconds()
                let stats = engine.tenantStats(id, now: now)
                let end = MonotonicClock.nanoseconds()
                guard let stats else {
                    print("stats reads: no stats for tenant \(id): no figure is reported")
                    exit(1)
                }
                sink &+= stats.users.total
                samples.append(end - begin)
            }
            if sink == -1 { print("") }
            samples.sort()
            p50s.append(Double(samples[samples.count / 2]))
            p99s.append(Double(samples[samples.count * 99 / 100]))
        }
        p50s.sort()
        p99s.sort()
        Measure.row(
            "stats read p50, \(tenants) tenants", p50s[p50s.count / 2], "ns",
            "engine.tenantStats, clock overhead included")
        Measure.row("stats read p99, \(tenants) tenants", p99s[p99s.count / 2], "ns", "200,000 random tenants per run")
        try engine.close()
    }

    static func memory(_ options: BenchmarkSuite.Options) {
        let tenants = options.quick ? 100_000 : 1_000_000
        let before = residentBytes()
        var state = ProjectionState()
        var offset: UInt64 = 0
        for tenant in 0..<tenants {
            let id = TenantID(high: 0xFACE_0000_0000_0000 | UInt64(tenant), low: UInt64(tenant))
            state.apply(
                Event(
                    id: "t\(tenant)", tenantId: id, time: now,
                    payload: .tenantCreated(TenantCreation(name: "Tenant \(tenant)"))),
                offset: offset, voidedTarget: nil)
            offset += 1
        }
        let afterTenants = residentBytes()
        for tenant in 0..<tenants {
            let id = TenantID(high: 0xFACE_0000_0000_0000 | UInt64(tenant), low: UInt64(tenant))
            for key in 0..<10 {
                state.apply(
                    Event(
                        id: "k\(tenant)-\(key)", tenantId: id, time: now,
                        payload: .keyCreated(keyId: "key_live_\(key)", name: "Key \(key)", expiresAt: nil)),
                    offset: offset, voidedTarget: nil)
                state.apply(
                    Event(
                        id: "c\(tenant)-\(key)", tenantId: id, time: now,
                        payload: .apiCall(APICall(keyId: "key_live_\(key)", status: 200))),
                    offset: offset + 1, voidedTarget: nil)
                offset += 2
            }
        }
        let afterKeys = residentBytes()
        let perTenant = Double(afterTenants - before) / Double(tenants)
        let perKey = Double(afterKeys - afterTenants) / Double(tenants * 10)
        Measure.row(
            "memory per tenant (projection)", perTenant, "bytes", "\(tenants) tenants, RSS delta in a fresh process")
        Measure.row("memory per API key", perKey, "bytes", "10 keys per tenant, each used once, RSS delta")
        Measure.row(
            "total for \(tenants) tenants x 10 keys", Double(afterKeys - before) / 1e6, "MB",
            "peak RSS of the process so far \(peakResidentBytes() / 1_000_000) MB")
        if state.tenants.count == -1 { print("") }
    }

    static func dedupMemory(_ options: BenchmarkSuite.Options) {
        let count = options.quick ? 1_000_000 : 10_000_000
        // Bytes per id depend on where the table is in its growth: from 7/16 full just after a doubling to
        // both tables held while the old one drains. So the live insert path fills a table through exactly one
        // doubling cycle (from one growth, at 7/8 of 2^23 ids, to the next, at 7/8 of 2^24; `--quick`: 2^20
        // and 2^21), sampled every 64 Ki ids, and the mean and the peak of the table's bytes per id are
        // reported, with the RSS delta at the end as a check on the table's own count.
        let cycleStart = options.quick ? 7 << 17 : 7 << 20
        let sweep = 2 * cycleStart + 1
        let before = residentBytes()
        var index = DedupIndex()
        let tenant = TenantID(high: 1, low: 2)
        var perId: [Double] = []
        for number in 0..<sweep {
            _ = index.insertIfAbsent(
                IdentityHash(tenant: tenant, id: "evt-\(number)"), offset: UInt64(number), time: now, voidable: true)
            if number >= cycleStart && ((number - cycleStart) & 0xFFFF == 0 || number == sweep - 1) {
                perId.append(Double(index.memoryBytes) / Double(number + 1))
            }
        }
        let after = residentBytes()
        let mean = perId.reduce(0, +) / Double(max(1, perId.count))
        Measure.row(
            "dedup index bytes per remembered id, mean", mean, "bytes",
            "table bytes over one doubling cycle (\(cycleStart + 1)-\(sweep) ids, \(perId.count) samples); aim <= 32")
        Measure.row(
            "dedup index bytes per remembered id, peak", perId.max() ?? 0, "bytes",
            "at a doubling, both tables held; \(String(format: "%.1f", perId.min() ?? 0)) at the least; RSS delta at \(sweep) ids: \(String(format: "%.1f", Double(after - before) / Double(sweep)))"
        )
        index = DedupIndex()
        // As the engine holds it: old tables are freed after the ingest lock is released, not in an insert.
        index.defersFrees = true
        // The same ids again into a new table, timed: the mean insert, and the longest one (ingest waits for
        // it). The table grows incrementally, so that is a page fault or two, not a whole rehash.
        let keys = (0..<count).map { IdentityHash(tenant: tenant, id: "evt-\($0)") }
        var longest: UInt64 = 0
        let start = MonotonicClock.nanoseconds()
        for (number, key) in keys.enumerated() {
            let begin = MonotonicClock.nanoseconds()
            _ = index.insertIfAbsent(key, offset: UInt64(number), time: now, voidable: true)
            longest = max(longest, MonotonicClock.nanoseconds() - begin)
            if number & 1023 == 0 { _ = index.takeDropped() }
        }
        let total = MonotonicClock.nanoseconds() - start
        Measure.row(
            "dedup insert of a new id, growth included", Double(total) / Double(count), "ns",
            "\(count) ids into an empty table, growing as it fills; the longest single insert took \(String(format: "%.1f", Double(longest) / 1e6)) ms"
        )
        // What a prune's count of the expired ids costs when done in one pass (bulk loads still do that; live
        // ingest counts a few slots per insert instead).
        while index.isBusy {
            _ = index.insertIfAbsent(
                IdentityHash(tenant: tenant, id: "extra-\(index.count)"), offset: 0, time: now, voidable: true)
        }
        let pass = Measure.seconds { index.prune(before: Timestamp(microseconds: now.microseconds - 86_400_000_000)) }
        Measure.row(
            "dedup prune count in one pass", pass * 1000, "ms",
            "\(index.count) ids, \(index.memoryBytes >> 20) MiB of table, nothing expired: what one insert waited for before the count was spread over inserts"
        )
        if index.count == -1 { print("") }
    }

    static func scratch(_ options: BenchmarkSuite.Options, _ label: String) throws -> String {
        let path = options.directory + "/tally-bench-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
