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
}
