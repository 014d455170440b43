import Synchronization
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyEngine

/// Replays long enough to run on two threads (``ReplayPipeline``) give exactly the state of live ingest,
/// stop where asked, and stop cleanly when the consumer fails.
@Suite struct ReplayPipelineTests {
    static let now = ReferenceModelTests.now
    static let long = ReplayPipeline.chunkSize * 32 + 5_000

    static func configuration(clock: Timestamp = now) -> EngineConfiguration {
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(segmentSize: 1 << 20)
        configuration.clock = { clock }
        configuration.checkpointEveryEvents = .max
        configuration.checkpointEverySeconds = .max
        return configuration
    }

    /// Calls over 50 tenants with a void every 97 events (of the call 40 before it). Two keys in seven have
    /// ids of 4 to 203 bytes, so a chunk's key bytes outgrow their first 16 bytes per event.
    static func events(_ range: Range<Int>) -> [Result<Event, EventValidationError>] {
        range.map { index in
            let tenant = TenantID(high: 0x1234, low: UInt64(index % 50))
            let time = Timestamp(microseconds: now.microseconds - Int64(index % 5_000) * 1_000_000)
            if index % 97 == 96 {
                return .success(
                    Event(
                        id: "v\(index)", tenantId: TenantID(high: 0x1234, low: UInt64((index - 50) % 50)),
                        time: time, payload: .eventVoided(eventId: "c\(index - 50)", reason: nil)))
            }
            return .success(
                Event(
                    id: "c\(index)", tenantId: tenant, time: time,
                    payload: .apiCall(
                        APICall(
                            keyId: index % 7 < 5
                                ? "k\(index % 7)" : "key-" + String(repeating: "x", count: index % 200),
                            status: index % 13 == 0 ? 500 : 200))))
        }
    }

    static func ingest(_ engine: Engine, _ range: Range<Int>) {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + 5_000, range.upperBound)
            _ = engine.ingest(events(start..<end))
            start = end
        }
    }

    @Test func aLongReplayEqualsLiveIngest() throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path, configuration: Self.configuration())
        Self.ingest(engine, 0..<Self.long)
        let live = engine.projectionSnapshot
        let liveDedup = engine.decisions.withLock { $0.dedup }
        try engine.close()
        #expect(live.nextOffset == UInt64(Self.long))
        let rebuilt = try Engine.rebuild(directory: directory.path, configuration: Self.configuration())
        #expect(rebuilt.state.firstDifference(from: live) == nil)
        #expect(rebuilt.state == live)
        #expect(rebuilt.dedup == liveDedup)
    }

    @Test func aReplayUntilAnIngestTimeStopsThere() throws {
        let directory = TemporaryDirectory()
        let first = try Engine(directory: directory.path, configuration: Self.configuration())
        Self.ingest(first, 0..<40_000)
        let before = first.projectionSnapshot
        try first.close()
        let later = Timestamp(microseconds: Self.now.microseconds + 1_000_000)
        let second = try Engine(directory: directory.path, configuration: Self.configuration(clock: later))
        Self.ingest(second, 40_000..<Self.long)
        try second.close()
        let rebuilt = try Engine.rebuild(
            directory: directory.path, configuration: Self.configuration(clock: later),
            limit: .ingestTime(Self.now))
        #expect(rebuilt.state.nextOffset == 40_000)
        #expect(rebuilt.state == before)
    }

    /// A replay up to a limit counts its progress towards the events it applies, not the whole log: exactly
    /// for an offset, and for an ingest time up to the end of the segment the last applied event lies in.
    @Test func progressCountsTowardsTheLimitNotTheWholeLog() throws {
        let directory = TemporaryDirectory()
        let first = try Engine(directory: directory.path, configuration: Self.configuration())
        Self.ingest(first, 0..<66_000)
        try first.close()
        let later = Timestamp(microseconds: Self.now.microseconds + 1_000_000)
        let second = try Engine(directory: directory.path, configuration: Self.configuration(clock: later))
        Self.ingest(second, 66_000..<120_000)
        try second.close()
        func replay(_ limit: ReplayLimit?) throws -> (totals: Set<UInt64>, applied: UInt64) {
            let totals = Mutex<Set<UInt64>>([])
            let rebuilt = try Engine.rebuild(
                directory: directory.path, configuration: Self.configuration(clock: later), limit: limit
            ) { _, total in totals.withLock { _ = $0.insert(total) } }
            return (totals.withLock { $0 }, rebuilt.state.nextOffset)
        }
        #expect(try replay(nil) == ([120_000], 120_000))
        #expect(try replay(.offset(70_000)) == ([70_000], 70_000))
        #expect(try replay(.offset(500_000)) == ([120_000], 120_000))
        let byTime = try replay(.ingestTime(Self.now))
        #expect(byTime.applied == 66_000)
        // A 1 MiB segment holds about 14,000 of these events.
        #expect(byTime.totals.count == 1)
        #expect(byTime.totals.allSatisfy { $0 >= 66_000 && $0 < 86_000 }, "\(byTime.totals)")
        #expect(try replay(.ingestTime(later)).totals == [120_000])
    }

    @Test func aFailingConsumerStopsTheReaderAndRethrows() throws {
        struct Stop: Error {}
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path, configuration: Self.configuration())
        Self.ingest(engine, 0..<Self.long)
        try engine.close()
        let store = try SegmentStore(
            directory: directory.path, configuration: Self.configuration().store, readOnly: true)
        for stopAt in [0, 1, ReplayPipeline.chunkSize * 3 + 17, Self.long - 1] {
            var seen = 0
            #expect(throws: Stop.self) {
                try ReplayPipeline(store: store, start: 0, end: nil, latestIngest: nil).forEachChunk(threaded: true) {
                    chunk in
                    for entry in chunk.entries {
                        #expect(entry.offset == UInt64(seen))
                        if seen == stopAt { throw Stop() }
                        seen += 1
                    }
                }
            }
            #expect(seen == stopAt)
        }
        for threaded in [true, false] {
            var offsets: [UInt64] = []
            var calls = 0
            try ReplayPipeline(store: store, start: 100, end: 20_100, latestIngest: nil).forEachChunk(
                threaded: threaded
            ) { chunk in
                offsets += chunk.entries.map(\.offset)
                calls += chunk.entries.filter(\.isCall).count
                #expect(chunk.entries.count - chunk.entries.filter(\.isCall).count == chunk.events.count)
            }
            #expect(offsets == Array(100..<20_100))
            #expect(calls == (100..<20_100).filter { $0 % 97 != 96 }.count, "voids are decoded whole, calls in place")
        }
    }
}
