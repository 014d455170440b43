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

    /// Damage to the last frames of the log, past the newest checkpoint, reads to an open like a torn tail
    /// and would be cut off after a crash. Once a scrub finds it, the engine writes a checkpoint that covers
    /// it, so a restart after a crash refuses the damage (exit 3, then `tally salvage`) instead. The crash is a
    /// copy of the store taken while the engine runs; without a scrub the same copy opens with the damaged
    /// records cut off.
    @Test(arguments: [true, false])
    func damageAtTheLogsEndFoundByAScrubIsCheckpointedSoARestartRefusesIt(scrubbed: Bool) throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        var configuration = configuration(
            log: log, scrub: scrubbed ? LogScrubber.Configuration(intervalSeconds: 1, bytesPerSecond: 1 << 30) : nil)
        configuration.store.durability = .always
        configuration.store.segmentSizeLimit = 1 << 20
        configuration.checkpointEveryEvents = .max
        configuration.checkpointEverySeconds = .max
        let engine = try Engine(directory: directory.path, configuration: configuration)
        defer { try? engine.close() }
        for start in stride(from: 0, to: 200, by: 20) { _ = engine.ingest(events(start..<start + 20)) }
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).last)
        var bytes = try StoreTestSupport.bytes(segment)
        let lastFrame = bytes.count - Int(try #require(StoreTestSupport.frameHeaders(bytes).last).frameSize)
        bytes[lastFrame + 40] ^= 0x40
        try StoreTestSupport.write(bytes, to: segment)
        let covering = directory.appending("checkpoints/00000000000000000200.ckpt")
        if scrubbed {
            // The checkpoint is logged once its file is in place: wait for the line, not only the file.
            #expect(
                Polling.until {
                    !engine.logDamage.isEmpty && FileManager.default.fileExists(atPath: covering)
                        && log.all.contains { $0.contains("(due by damage:") }
                }, "\(log.all)")
        } else {
            #expect(!FileManager.default.fileExists(atPath: covering))
        }
        let crashed = TemporaryDirectory()
        try StoreTestSupport.copyStore(directory.path, to: crashed.appending("store"))
        var reopening = ReferenceModelTests.configuration()
        reopening.store = StoreTestSupport.configuration(durability: .always, segmentSize: 1 << 20)
        do {
            let reopened = try Engine(directory: crashed.appending("store"), configuration: reopening)
            #expect(!scrubbed, "a restart cut off damage a scrub had found")
            #expect(reopened.eventCount == 180, "the damaged last frame (one batch) was cut off as a torn tail")
            try reopened.close()
        } catch {
            #expect(scrubbed, "\(error)")
            #expect("\(error)".contains("a checkpoint covers 200 events"), "\(error)")
        }
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
