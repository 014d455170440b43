import TallyCore
import TallyEngine
import TallyStorage
import TallyTestSupport
import Testing

/// A batch of voids whose targets are in earlier batches reads those targets in one pass over the log, on
/// the thread that also writes the next batches: 100,000 of them read one by one held every other ingest
/// for over a minute.
@Suite struct VoidTargetReadTests {
    @Test func aBatchOfVoidsReadsItsTargetsInOnePass() throws {
        let directory = TemporaryDirectory()
        // Segments of 64 KiB: the targets span several.
        let engine = try Engine(directory: directory.path, configuration: ReferenceModelTests.configuration())
        let now = ReferenceModelTests.now
        let statuses: [UInt16] = [200, 429, 500]
        var frames = 0
        for batch in 0..<30 {
            let events = (0..<100).map { index -> Result<Event, EventValidationError> in
                let number = batch * 100 + index
                return EngineWindowTests.event(
                    "call-\(number)", .apiCall(APICall(keyId: "k\(number % 4)", status: statuses[number % 3])))
            }
            #expect(engine.ingest(events).allSatisfy { if case .accepted = $0 { true } else { false } })
            frames += 1
        }
        #expect(try StoreTestSupport.segmentPaths(directory.path).count > 1)
        // Every other call voided, in random order, and a call of the same batch voided too.
        var random = SplitMix64(seed: 21)
        var targets = stride(from: 0, to: 3_000, by: 2).map { "call-\($0)" }
        for index in targets.indices.reversed() { targets.swapAt(index, random.below(index + 1)) }
        let voids =
            targets.map { EngineWindowTests.event("void-\($0)", .eventVoided(eventId: $0, reason: nil)) }
            + [
                EngineWindowTests.event("late"),
                EngineWindowTests.event("void-late", .eventVoided(eventId: "late", reason: nil)),
            ]
        let before = engine.store.framesReadByLookups.load(ordering: .relaxed)
        let outcomes = engine.ingest(voids)
        #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } })
        let read = engine.store.framesReadByLookups.load(ordering: .relaxed) - before
        #expect(read <= frames, "read \(read) frames for \(targets.count) targets in \(frames) frames")
        let stats = try #require(engine.tenantStats(EventFixtures.tenant, now: now))
        #expect(stats.usage.apiCallsThisMonth == 1_500)
        let keys = try #require(engine.keyStats(EventFixtures.tenant, now: now))
        // The odd calls remain: 500 each of 200, 429 and 500.
        #expect(keys.totalRequests == 1_500 && keys.rateLimitHits == 500 && keys.errors == 500)
        try engine.close()
        // A reopen that replays the log agrees.
        let reopened = try Engine(directory: directory.path, configuration: ReferenceModelTests.configuration())
        #expect(reopened.tenantStats(EventFixtures.tenant, now: now)?.usage.apiCallsThisMonth == 1_500)
        try reopened.close()
    }

    /// Reading a batch's void targets past `slowVoidReadWarning` is logged, with how many and how long, since
    /// later batches wait for it; voids whose targets are in their own batch read nothing and log nothing.
    @Test func aSlowReadOfVoidTargetsIsLogged() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        var configuration = ReferenceModelTests.configuration()
        configuration.store.log = { log.append($0) }
        configuration.slowVoidReadWarning = .zero
        let engine = try Engine(directory: directory.path, configuration: configuration)
        _ = engine.ingest((0..<10).map { EngineWindowTests.event("call-\($0)") })
        let void = { (target: String) in
            EngineWindowTests.event("void-\(target)", .eventVoided(eventId: target, reason: nil))
        }
        #expect(engine.ingest([EngineWindowTests.event("own"), void("own")]).count == 2)
        #expect(!log.all.contains { $0.hasPrefix("slow void targets") }, "\(log.all)")
        _ = engine.ingest((0..<3).map { void("call-\($0)") })
        #expect(
            log.all.contains { $0.hasPrefix("slow void targets: reading the targets of 3 voids took ") },
            "\(log.all)")
        try engine.close()

        // At the default, one second, a read this small says nothing.
        let quiet = LogCollector()
        var defaults = ReferenceModelTests.configuration()
        defaults.store.log = { quiet.append($0) }
        let reopened = try Engine(directory: directory.path, configuration: defaults)
        _ = reopened.ingest((3..<6).map { void("call-\($0)") })
        #expect(!quiet.all.contains { $0.hasPrefix("slow void targets") }, "\(quiet.all)")
        try reopened.close()
    }
}
