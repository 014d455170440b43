import Foundation
import Glibc
import TallyCore
import TallyEngine
import TallyStorage
import TallyTestSupport
import Testing

/// An engine reopened from a checkpoint reads only the header and seal of the sealed segments it covers,
/// so a bad byte inside one is not seen by open; the background scrub finds it while the engine runs.
@Suite struct BackgroundScrubTests {
    func events(_ range: Range<Int>) -> [Result<Event, EventValidationError>] {
        range.map { index in
            .success(
                Event(
                    id: "e\(index)", tenantId: EventFixtures.tenant, time: ReferenceModelTests.now,
                    payload: .apiCall(APICall(keyId: "k\(index % 7)", status: 200))))
        }
    }

    func configuration(log: LogCollector, scrub: LogScrubber.Configuration?) -> EngineConfiguration {
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(durability: .never, segmentSize: 16 << 10, log: log)
        configuration.scrub = scrub
        return configuration
    }

    @Test func damageInACheckpointedSealedSegmentIsFoundAfterAnOpenThatTrustedIt() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        do {
            let engine = try Engine(directory: directory.path, configuration: configuration(log: log, scrub: nil))
            for start in stride(from: 0, to: 2000, by: 100) { _ = engine.ingest(events(start..<start + 100)) }
            #expect(engine.gauges.scrubPasses == 0, "no scrub unless configured")
            try engine.close()
        }
        let paths = try StoreTestSupport.segmentPaths(directory.path)
        #expect(paths.count > 3)
        let damaged = try #require(paths[1].split(separator: "/").last.map(String.init))
        var bytes = try StoreTestSupport.bytes(paths[1])
        bytes[SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 20] ^= 0x40
        try StoreTestSupport.write(bytes, to: paths[1])

        let scrub = LogScrubber.Configuration(intervalSeconds: 3600, bytesPerSecond: 1 << 30)
        let engine = try Engine(directory: directory.path, configuration: configuration(log: log, scrub: scrub))
        defer { try? engine.close() }
        #expect(engine.eventCount == 2000, "the open trusted the checkpoint and did not read the segment's frames")
        #expect(Polling.until { engine.gauges.scrubPasses >= 1 })
        #expect(engine.logDamage.count == 1, "\(engine.logDamage)")
        #expect(engine.logDamage.first?.hasPrefix("segments/\(damaged): checksum mismatch") == true)
        let gauges = engine.gauges
        #expect(gauges.logDamage)
        #expect(gauges.scrubBytes > 0)
        #expect(gauges.lastScrub != nil)
        #expect(log.all.contains { $0.contains("the log is damaged: segments/\(damaged)") }, "\(log.all)")
        // The live projections are whole: reads and ingest go on.
        #expect(engine.tenantStats(EventFixtures.tenant, now: ReferenceModelTests.now)?.usage.apiCallsThisMonth == 2000)
        #expect(engine.ingest(events(2000..<2001)).allSatisfy { if case .accepted = $0 { true } else { false } })
    }

    @Test func aSoundLogScrubsClean() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        let scrub = LogScrubber.Configuration(intervalSeconds: 3600, bytesPerSecond: 1 << 30)
        let engine = try Engine(directory: directory.path, configuration: configuration(log: log, scrub: scrub))
        for start in stride(from: 0, to: 1000, by: 100) { _ = engine.ingest(events(start..<start + 100)) }
        #expect(Polling.until { engine.gauges.scrubPasses >= 1 })
        #expect(engine.logDamage == [])
        #expect(!engine.gauges.logDamage)
        try engine.close()
        #expect(log.all.contains { $0.hasSuffix(": no damage") }, "\(log.all)")
    }
}
