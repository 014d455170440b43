import Foundation
import Synchronization
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyEngine

@Suite struct CheckpointTests {
    static let now = ReferenceModelTests.now

    func makeStore(_ directory: TemporaryDirectory, log: LogCollector = LogCollector()) throws -> Engine {
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(log: log)
        return try Engine(directory: directory.path, configuration: configuration)
    }

    func events(_ range: Range<Int>) -> [Result<Event, EventValidationError>] {
        range.map { index in
            .success(
                Event(
                    id: "e\(index)", tenantId: EventFixtures.tenant,
                    time: Timestamp(microseconds: Self.now.microseconds - Int64(index) * 1_000_000),
                    payload: .apiCall(APICall(keyId: "k\(index % 3)", status: index % 4 == 0 ? 429 : 200))))
        }
    }

    /// The checkpoint files (none before the first checkpoint creates their folder).
    func checkpointFiles(_ directory: TemporaryDirectory) throws -> [String] {
        let folder = directory.appending("checkpoints")
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    /// A second `close()` while the first is still writing its checkpoint returns only once the store is
    /// closed: a caller that then reopens the store (or exits) finds the close over.
    @Test func aSecondCloseWaitsForTheFirst() throws {
        let directory = TemporaryDirectory()
        let engine = try makeStore(directory)
        // Enough tenants and ids that the final checkpoint takes a while.
        for number in 0..<30 {
            _ = engine.ingest(CheckpointBesideIngestTests.batch(number, size: 1_000, tenants: 20_000))
        }
        let first = Thread { try? engine.close() }
        first.start()
        // The first close has begun once a batch is refused as closing.
        var probe = 0
        while true {
            probe += 1
            let outcome = engine.ingest(events(100_000 + probe..<100_001 + probe))
            if case .failed(let reason, _) = outcome[0], reason.contains("closing") { break }
            usleep(100)
        }
        try engine.close()
        // Without waiting, the store would still be open here: the reopen would find it locked.
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(log: LogCollector())
        configuration.store.lockWait = .zero
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        #expect(reopened.eventCount >= 30_000)
        try reopened.close()
    }

    @Test func closeWritesACheckpointThatReopenUsesAndDedupSurvives() throws {
        let directory = TemporaryDirectory()
        let engine = try makeStore(directory)
        _ = engine.ingest(events(0..<100))
        try engine.close()
        #expect(try checkpointFiles(directory) == ["00000000000000000100.ckpt"])
        let reopened = try makeStore(directory)
        #expect(reopened.eventCount == 100)
        #expect(reopened.rememberedIds == 100)
        let again = reopened.ingest(events(95..<105))
        #expect(again.prefix(5).allSatisfy { if case .duplicate = $0 { true } else { false } })
        #expect(again.suffix(5).allSatisfy { if case .accepted = $0 { true } else { false } })
        #expect(reopened.tenantStats(EventFixtures.tenant, now: Self.now)?.usage.apiCallsThisMonth ?? 0 > 0)
        try reopened.close()
    }

    @Test(arguments: ["flip", "truncate", "version"])
    func aDamagedOrOutdatedCheckpointIsIgnoredForAnOlderOneAndReplacedByTheNext(damage: String) throws {
        let directory = TemporaryDirectory()
        let engine = try makeStore(directory)
        _ = engine.ingest(events(0..<50))
        try engine.checkpoint()
        _ = engine.ingest(events(50..<80))
        let expected = engine.projectionSnapshot
        try engine.close()
        #expect(try checkpointFiles(directory) == ["00000000000000000050.ckpt", "00000000000000000080.ckpt"])
        let newest = directory.appending("checkpoints/00000000000000000080.ckpt")
        var bytes = try StoreTestSupport.bytes(newest)
        switch damage {
        case "flip": bytes[bytes.count - 10] ^= 0x40
        case "truncate": bytes.removeLast(7)
        default: bytes[8] = 99
        }
        try StoreTestSupport.write(bytes, to: newest)
        let log = LogCollector()
        let reopened = try makeStore(directory, log: log)
        #expect(reopened.projectionSnapshot == expected)
        #expect(log.all.contains { $0.contains("00000000000000000080.ckpt") && $0.contains("ignored") })
        // The next checkpoint replaces the damaged one, and the sound older one stays as the fallback: kept by
        // age alone, the damaged file would have outlived it.
        _ = reopened.ingest(events(80..<90))
        try reopened.close()
        #expect(try checkpointFiles(directory) == ["00000000000000000050.ckpt", "00000000000000000090.ckpt"])
        #expect(
            log.all.contains {
                $0.hasPrefix("checkpoints/00000000000000000080.ckpt: removed (")
                    && $0.hasSuffix("); the fresh checkpoint replaces it")
            }, "\(log.all)")
    }

    /// A damaged checkpoint at the log's end is replaced by the next one, of the same name, when the engine
    /// closes with no new event: the line says so.
    @Test func aDamagedCheckpointOfTheSameNameIsSaidToBeReplaced() throws {
        let directory = TemporaryDirectory()
        let engine = try makeStore(directory)
        _ = engine.ingest(events(0..<50))
        try engine.checkpoint()
        _ = engine.ingest(events(50..<80))
        try engine.close()
        let newest = directory.appending("checkpoints/00000000000000000080.ckpt")
        var bytes = try StoreTestSupport.bytes(newest)
        bytes[bytes.count - 10] ^= 0x40
        try StoreTestSupport.write(bytes, to: newest)
        let log = LogCollector()
        let reopened = try makeStore(directory, log: log)
        try reopened.close()
        #expect(try checkpointFiles(directory) == ["00000000000000000050.ckpt", "00000000000000000080.ckpt"])
        #expect(try StoreTestSupport.bytes(newest) != bytes, "rewritten whole")
        #expect(
            log.all.contains {
                $0.hasPrefix("checkpoints/00000000000000000080.ckpt: replaced (")
                    && $0.hasSuffix(") by the fresh checkpoint of the same name")
            }, "\(log.all)")
    }

    /// A remembered id names an event the checkpoint covers: an entry at or beyond its offset (only a
    /// checkpoint damaged behind an intact checksum could hold one) is refused as damage, not stored (an
    /// offset past 2^48 would not even fit a packed entry).
    @Test(arguments: [UInt64(5), 6, 1 << 40])
    func aDedupEntryBeyondTheCoveredOffsetIsDamage(offset: UInt64) throws {
        var state = ProjectionState()
        state.nextOffset = 5
        var dedup = DedupIndex()
        let tenant = TenantID(high: 1, low: 2)
        dedup.store(IdentityHash(tenant: tenant, id: "ok"), DedupIndex.Entry(offset: 4, hour: 1, flags: 0))
        #expect(try CheckpointCodec.decode(CheckpointCodec.encode(state, dedup: dedup)).dedup.count == 1)
        dedup.store(IdentityHash(tenant: tenant, id: "beyond"), DedupIndex.Entry(offset: offset, hour: 1, flags: 0))
        do {
            _ = try CheckpointCodec.decode(CheckpointCodec.encode(state, dedup: dedup))
            Issue.record("an entry at offset \(offset) was accepted")
        } catch {
            #expect(error.description.contains("a dedup entry names offset \(offset), beyond the 5 events covered"))
        }
    }

    @Test func aCheckpointClaimingMoreThanTheLogHoldsRefusesToOpen() throws {
        let directory = TemporaryDirectory()
        let engine = try makeStore(directory)
        _ = engine.ingest(events(0..<40))
        try engine.close()
        // Lose the log's tail: the checkpoint now claims events the log no longer has.
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        try FileManager.default.removeItem(atPath: segment)
        #expect {
            try makeStore(directory)
        } throws: { error in
            (error as? StorageError)?.code == .corrupt
                && "\(error)".contains("the log ends at offset 0 but a checkpoint covers 40 events")
        }
    }

    /// A log that ends cleanly, but before the newest checkpoint, is refused, and the refusal leaves no
    /// segment open behind it.
    @Test func aLogShorterThanItsCheckpointIsRefusedWithNothingLeftOpen() throws {
        let directory = TemporaryDirectory()
        var engine = try makeStore(directory)
        _ = engine.ingest(events(0..<20))
        try engine.close()
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).last)
        let early = try StoreTestSupport.bytes(segment)
        engine = try makeStore(directory)
        _ = engine.ingest(events(20..<40))
        try engine.close()
        try StoreTestSupport.write(early, to: segment)
        let fileSystem = FaultyFileSystem()
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration()
        #expect {
            try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        } throws: { error in
            "\(error)".contains("the log ends at offset 20 but a checkpoint covers 40 events")
        }
        #expect(fileSystem.openFileCount == 0)
    }

    /// `tally verify` checks the checkpoints it listed before measuring the log: one that a running server
    /// removed meanwhile (it keeps the newest two) is superseded, not damaged, and one it commits meanwhile
    /// is not judged against the older measurement.
    @Test func checkpointsAreCheckedAsListedAndOneRemovedMeanwhileIsNotDamage() throws {
        let directory = TemporaryDirectory()
        let engine = try makeStore(directory)
        _ = engine.ingest(events(0..<40))
        try engine.close()
        let listed = try Engine.checkpointOffsets(directory: directory.path)
        #expect(listed == [40])
        let checks = Engine.checkCheckpoints(directory: directory.path, offsets: [90] + listed, logEnd: 40) { _ in nil }
        #expect(checks.map(\.name) == ["00000000000000000090.ckpt", "00000000000000000040.ckpt"])
        #expect(checks[0].isSuperseded && checks[0].problem == nil && checks[0].offset == nil)
        #expect(!checks[1].isSuperseded && checks[1].problem == nil && checks[1].offset == 40 && checks[1].tenants == 1)
    }

    @Test func anUnfinishedCheckpointFileIsRemovedOnOpen() throws {
        let directory = TemporaryDirectory()
        let engine = try makeStore(directory)
        _ = engine.ingest(events(0..<10))
        try engine.close()
        let leftover = directory.appending("checkpoints/00000000000000000099.ckpt.partial")
        try StoreTestSupport.write([1, 2, 3], to: leftover)
        let log = LogCollector()
        let reopened = try makeStore(directory, log: log)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(log.all.contains { $0.contains("unfinished checkpoint") })
        #expect(reopened.eventCount == 10)
        try reopened.close()
    }

    /// A checkpoint that fails is not tried again every second (each try would write a whole checkpoint
    /// again, filling the disk the log needs): the next try waits the retry delay, and the log says when.
    @Test func aFailedCheckpointWaitsBeforeItsNextTry() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        let fileSystem = FaultyFileSystem()
        fileSystem.update { $0.failWritesToPathsContaining = "checkpoints/" }
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(log: log)
        configuration.checkpointEverySeconds = 0
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        _ = engine.ingest(events(0..<10))
        let failures = { log.all.filter { $0.hasPrefix("checkpoint failed: ") } }
        #expect(eventually { !failures().isEmpty }, "\(log.all)")
        #expect(decidedTwice(engine) && decidedTwice(engine))
        #expect(failures().count == 1, "due every second, yet tried once in four: \(failures())")
        #expect(failures().first?.hasSuffix("(the next try in 10 s)") == true, "\(failures())")
        #expect(engine.gauges.checkpoints.failures == 1 && engine.gauges.checkpoints.lastWritten == nil)
        fileSystem.update { $0.failWritesToPathsContaining = nil }
        try engine.close()
        #expect(try checkpointFiles(directory) == ["00000000000000000010.ckpt"], "the final one is written")
    }

    /// No checkpoint is written while the disk has less free than the newest checkpoint plus the reserve
    /// left for the log: the checkpointer says so and waits; ingest goes on.
    @Test func noCheckpointIsWrittenIntoTheLogsLastSpace() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        let fileSystem = FaultyFileSystem()
        fileSystem.update { $0.availableBytes = 3 << 20 }
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(log: log)
        configuration.checkpointEverySeconds = 0
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        _ = engine.ingest(events(0..<10))
        #expect(eventually { log.all.contains { $0.hasPrefix("checkpoint skipped: ") } }, "\(log.all)")
        let skipped = log.all.first { $0.hasPrefix("checkpoint skipped: ") } ?? ""
        #expect(skipped.contains("has 3 MiB free, under the 64 MiB kept for the log"), "\(skipped)")
        #expect(try checkpointFiles(directory).isEmpty)
        #expect(engine.gauges.checkpoints.skippedForSpace == 1 && engine.gauges.checkpoints.failures == 0)
        #expect(engine.ingest(events(10..<20)).allSatisfy { if case .accepted = $0 { true } else { false } })
        try engine.close()
    }

    /// Waits (at most 20 s, a hang guard) until the checkpointer has twice decided whether a checkpoint is
    /// due since now: once may have begun before the events just ingested were applied.
    func decidedTwice(_ engine: Engine) -> Bool {
        let start = engine.checkpointerRounds.load(ordering: .acquiring)
        for _ in 0..<400 where engine.checkpointerRounds.load(ordering: .acquiring) < start + 2 { usleep(50_000) }
        return engine.checkpointerRounds.load(ordering: .acquiring) >= start + 2
    }

    /// Waits up to twenty seconds (a busy machine) for `condition`; the checkpointer looks once a second.
    func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<400 {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    /// When a checkpoint is due: by count (the configured number, and at least as many events as ids), by
    /// time (any event and the interval passed), or not at all.
    @Test(
        arguments: [
            // pending, ids, elapsed seconds, due
            (UInt64(49), 10, Int64(0), nil), (50, 10, 0, "count"), (50, 60, 0, nil), (60, 60, 0, "count"),
            (0, 0, 1_000, nil), (1, 500, 300, "time"), (1, 500, 299, nil), (1_000, 100, 300, "count"),
        ] as [(UInt64, Int, Int64, String?)])
    func aCheckpointIsDueByCountOrByTime(pending: UInt64, ids: Int, elapsed: Int64, due: String?) {
        var configuration = EngineConfiguration()
        configuration.checkpointEveryEvents = 50
        configuration.checkpointEverySeconds = 300
        #expect(
            Engine.checkpointDue(
                pending: pending, rememberedIds: ids, elapsedSeconds: elapsed,
                configuration: configuration)?.rawValue == due)
    }

    /// By count, the checkpointer waits for the configured number of events and for at least as many events
    /// as the dedup window holds ids; each checkpoint it writes is logged.
    @Test func theCheckpointerWritesOneWhenEnoughEventsArrived() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(log: log)
        configuration.checkpointEveryEvents = 50
        configuration.checkpointEverySeconds = .max
        let engine = try Engine(directory: directory.path, configuration: configuration)
        _ = engine.ingest(events(0..<40))
        #expect(decidedTwice(engine))
        #expect(try checkpointFiles(directory).isEmpty, "40 events are fewer than 50")
        _ = engine.ingest(events(40..<100))
        #expect(try eventually { try checkpointFiles(directory) == ["00000000000000000100.ckpt"] })
        #expect(
            eventually {
                log.all.contains {
                    $0.hasPrefix("checkpoint at offset 100 written in ")
                        && $0.hasSuffix("ms (due by count: 100 events after offset 0; 100 ids in the dedup window)")
                }
            },
            "\(log.all)")
        // 60 more events reach 50, but not the 160 ids the window now holds (writing them all again would
        // cost more than replaying the 60).
        _ = engine.ingest(events(100..<160))
        #expect(decidedTwice(engine))
        #expect(try checkpointFiles(directory) == ["00000000000000000100.ckpt"])
        try engine.close()
        #expect(try checkpointFiles(directory) == ["00000000000000000100.ckpt", "00000000000000000160.ckpt"])
    }

    /// By time, a checkpoint follows any new event once the interval has passed, and none is written while
    /// nothing arrives.
    @Test func theCheckpointerWritesOneWhenTheIntervalPassed() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(log: log)
        configuration.checkpointEveryEvents = .max
        configuration.checkpointEverySeconds = 1
        let engine = try Engine(directory: directory.path, configuration: configuration)
        _ = engine.ingest(events(0..<3))
        #expect(try eventually { try checkpointFiles(directory) == ["00000000000000000003.ckpt"] })
        #expect(
            eventually {
                log.all.contains {
                    $0.hasPrefix("checkpoint at offset 3 written in ")
                        && $0.contains("(due by time: 3 events after offset 0;")
                }
            },
            "\(log.all)")
        #expect(decidedTwice(engine), "the second decision comes a second or more after the checkpoint")
        #expect(log.all.filter { $0.hasPrefix("checkpoint at") }.count == 1, "no event, no checkpoint: \(log.all)")
        try engine.close()
    }

    /// A checkpoint file is synced as it is written, every `syncEveryBytes`, not only once at the end (one
    /// long flush there held up every segment fsync); a sync that fails midway fails the write, and the
    /// abandoned file is gone.
    @Test func aCheckpointFileIsSyncedAsItIsWritten() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = CheckpointStore(
            storeDirectory: directory.path, fileSystem: fileSystem, log: { _ in }, syncEveryBytes: 10_000)
        let part = [UInt8](repeating: 0xAB, count: 4_000)
        func writeParts(_ file: CheckpointStore.PartialFile, count: Int) throws {
            for index in 0..<count {
                try part.withUnsafeBytes { try file.write($0, at: CheckpointCodec.headerSize + index * part.count) }
            }
        }
        let file = try store.begin(offset: 7)
        let before = fileSystem.syncCount
        try writeParts(file, count: 10)
        #expect(fileSystem.syncCount - before == 3, "after 12,000, 24,000 and 36,000 bytes")
        try file.commit(header: [UInt8](repeating: 1, count: CheckpointCodec.headerSize), keep: 2)
        #expect(try checkpointFiles(directory) == ["00000000000000000007.ckpt"])

        fileSystem.update { $0.failSyncsOfPathsContaining = ".partial" }
        let failing = try store.begin(offset: 9)
        #expect(throws: StorageError.self) { try writeParts(failing, count: 10) }
        failing.abandon()
        #expect(try checkpointFiles(directory) == ["00000000000000000007.ckpt"])
    }

    /// A checkpoint whose file fails one of its syncs along the way (the background checkpointer's path, and
    /// the rebuild's) is abandoned: the error reaches the caller, no temporary file or descriptor is left, the
    /// older checkpoint stays, and ingest goes on.
    @Test func aCheckpointWhoseSyncFailsMidwayLeavesNothingBehind() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration()
        configuration.checkpointSyncBytes = 512
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        _ = engine.ingest(events(0..<50))
        #expect(try engine.checkpoint() == 50)
        _ = engine.ingest(events(50..<200))
        let open = fileSystem.openFileCount
        let syncs = fileSystem.syncCount
        fileSystem.update { $0.failSyncsOfPathsContaining = ".partial" }
        #expect(throws: StorageError.self) { try engine.checkpoint() }
        #expect(fileSystem.syncCount == syncs + 1, "the first sync along the way failed, before the commit's")
        #expect(fileSystem.openFileCount == open)
        #expect(try checkpointFiles(directory) == ["00000000000000000050.ckpt"])
        #expect(engine.ingest(events(200..<210)).allSatisfy { if case .accepted = $0 { true } else { false } })

        fileSystem.update { $0.failSyncsOfPathsContaining = nil }
        try engine.close()
        #expect(try checkpointFiles(directory) == ["00000000000000000050.ckpt", "00000000000000000210.ckpt"])
        #expect(fileSystem.closesOfClosedFiles == 0)

        // `tally replay` writes its checkpoint whole, through `CheckpointStore.write`: in slices, synced as well.
        let rebuilt = try Engine.rebuild(directory: directory.path, configuration: configuration)
        let other = TemporaryDirectory()
        let checkpoints = CheckpointStore(
            storeDirectory: other.path, fileSystem: fileSystem, log: { _ in }, syncEveryBytes: 512)
        let before = fileSystem.syncCount
        try checkpoints.write(rebuilt.state, dedup: rebuilt.dedup, dedupWindowMicroseconds: 1, logSalt: 0, keep: 2)
        #expect(fileSystem.syncCount - before >= 4, "a sync every 512 bytes of a file over 2 KB, then the commit's")
        fileSystem.update { $0.failSyncsOfPathsContaining = ".partial" }
        let failing = CheckpointStore(
            storeDirectory: directory.path, fileSystem: fileSystem, log: { _ in }, syncEveryBytes: 512)
        #expect(throws: StorageError.self) {
            try failing.write(rebuilt.state, dedup: rebuilt.dedup, dedupWindowMicroseconds: 1, logSalt: 0, keep: 2)
        }
        #expect(try checkpointFiles(directory) == ["00000000000000000050.ckpt", "00000000000000000210.ckpt"])
        #expect(fileSystem.openFileCount == 0)
    }
}
