import Dispatch
import Foundation
import Synchronization
import TallyCore
import TallyEngine
import TallyStorage
import TallyTestSupport
import Testing

@Suite struct EngineFailureTests {
    func events(_ range: Range<Int>) -> [Result<Event, EventValidationError>] {
        range.map { index in
            .success(
                Event(
                    id: "e\(index)", tenantId: EventFixtures.tenant, time: ReferenceModelTests.now,
                    payload: .apiCall(APICall(keyId: "k", status: 200))))
        }
    }

    /// The reference configuration with its store under `durability`.
    func configuration(_ durability: DurabilityPolicy) -> EngineConfiguration {
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(durability: durability)
        return configuration
    }

    @Test func aFailedSyncAcknowledgesNothingAndReadsStayAtTheDurablePrefix() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let configuration = self.configuration(.always)
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        #expect(engine.ingest(events(0..<10)).allSatisfy { if case .accepted = $0 { true } else { false } })
        fileSystem.update { $0.syncsBeforeFailure = 0 }
        let failed = engine.ingest(events(10..<20))
        #expect(failed.allSatisfy { if case .failed = $0 { true } else { false } })
        // Each names the offset it was given: its frame may have reached the log before the sync failed.
        #expect(
            failed.enumerated().allSatisfy { index, outcome in
                if case .failed(_, let offset) = outcome { offset == UInt64(10 + index) } else { false }
            }, "\(failed)")
        #expect(engine.tenantStats(EventFixtures.tenant, now: ReferenceModelTests.now)?.usage.apiCallsThisMonth == 10)
        let after = engine.ingest(events(20..<21))
        #expect(
            after.allSatisfy { if case .failed(_, nil) = $0 { true } else { false } },
            "the store refuses appends, giving no offset")
        fileSystem.update { $0.syncsBeforeFailure = nil }
        // Closing a failed engine is not a clean stop (no checkpoint, nothing more synced): it says so.
        let closing = #expect(throws: StorageError.self) { try engine.close() }
        #expect(
            closing?.message.hasSuffix(
                "; so no final checkpoint was written, and the next open replays the log after the last one") == true,
            "\(String(describing: closing))")

        // After a restart, every acknowledged event is there exactly once, and retries are deduplicated or
        // accepted, never double-counted.
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        let retried = reopened.ingest(events(0..<21))
        #expect(retried.prefix(10).allSatisfy { if case .duplicate = $0 { true } else { false } })
        let calls = reopened.tenantStats(EventFixtures.tenant, now: ReferenceModelTests.now)?.usage.apiCallsThisMonth
        #expect(calls == 21)
        try reopened.close()
    }

    /// A final checkpoint that cannot be written makes `close` throw, saying so, and that the log is whole:
    /// the next open finds every event.
    @Test func aFailedFinalCheckpointSaysTheLogIsWhole() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let configuration = self.configuration(.always)
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        #expect(engine.ingest(events(0..<5)).allSatisfy { if case .accepted = $0 { true } else { false } })
        fileSystem.update { $0.failWritesToNewFiles = true }
        #expect {
            try engine.close()
        } throws: { error in
            let message = "\(error)"
            return message.contains("the final checkpoint could not be written")
                && message.contains("every event is in the log, synced")
        }
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        #expect(reopened.tenantStats(EventFixtures.tenant, now: ReferenceModelTests.now)?.usage.apiCallsThisMonth == 5)
        try reopened.close()
    }

    /// A final checkpoint that fails because the log's own sync did is reported as the log's failure: the
    /// log is then not known to be synced, and `close` must not say it is.
    @Test func aFinalCheckpointFailedByTheLogsSyncIsTheLogsFailure() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let configuration = self.configuration(.never)
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        #expect(engine.ingest(events(0..<5)).allSatisfy { if case .accepted = $0 { true } else { false } })
        fileSystem.update { $0.syncsBeforeFailure = 0 }
        #expect {
            try engine.close()
        } throws: { error in
            !"\(error)".contains("every event is in the log, synced")
        }
        fileSystem.update { $0.syncsBeforeFailure = nil }
    }

    /// Settings whose stored record would not fit a frame of the log are rejected, naming why, before they
    /// take an offset: such an event was once answered "accepted" while its frame was refused, and lost.
    /// Stored values can outgrow their text (`1` takes nine bytes), so the check is on the record.
    @Test func aRecordTooLargeForTheLogIsRejectedNotLost() throws {
        let directory = TemporaryDirectory()
        let configuration = self.configuration(.always)
        let engine = try Engine(directory: directory.path, configuration: configuration)
        var huge = JSONObject()
        huge.set("ones", .array(Array(repeating: .int(1), count: 4_000_000)))
        var large = JSONObject()
        large.set("blob", .string(String(repeating: "x", count: 20 << 20)))
        func created(_ id: String, _ settings: JSONObject) -> Result<Event, EventValidationError> {
            .success(
                Event(
                    id: id, tenantId: EventFixtures.tenant, time: ReferenceModelTests.now,
                    payload: .tenantCreated(TenantCreation(name: id, settings: settings))))
        }
        let outcomes = engine.ingest(
            [created("huge", huge), created("large-1", large), created("large-2", large)] + events(0..<2))
        guard case .rejected(let reason) = outcomes[0] else {
            Issue.record("the oversized record was not rejected: \(outcomes[0])")
            return
        }
        #expect(reason.contains("at most \(Engine.maxRecordBytes) fit the log"), "\(reason)")
        #expect(outcomes.dropFirst().allSatisfy { if case .accepted = $0 { true } else { false } }, "\(outcomes)")
        try engine.close()
        // Everything acknowledged is in the log, two 20 MiB records included.
        let reader = try SegmentStore(directory: directory.path, readOnly: true)
        #expect(reader.nextOffset == 4)
        try reader.close()
    }

    /// Log lines an engine wrote, gathered across threads.
    final class CollectedLines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// A batch given to a closed engine is failed before it takes an offset or a remembered id, and its
    /// completion comes once the engine's locks are released: one that ingests again from its completion
    /// (as a server's next pipelined request does) must not find the decision lock held.
    @Test func aBatchAfterCloseFailsWithoutTakingAnOffset() throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path, configuration: configuration(.always))
        #expect(engine.ingest(events(0..<3)).allSatisfy { if case .accepted = $0 { true } else { false } })
        try engine.close()
        let answered = DispatchSemaphore(value: 0)
        let again = Mutex<[IngestOutcome]>([])
        engine.ingest(events(3..<5)) { first in
            // Re-entering the engine from the completion: a deadlock (or a trap) if the lock were held.
            let second = engine.ingest(events(5..<6))
            again.withLock { $0 = first + second }
            answered.signal()
        }
        #expect(answered.wait(timeout: .now() + 10) == .success, "the completion never came")
        let outcomes = again.withLock { $0 }
        #expect(outcomes.count == 3)
        #expect(outcomes.allSatisfy { if case .failed(_, nil) = $0 { true } else { false } }, "\(outcomes)")
        #expect(engine.eventCount == 3)
        let reopened = try Engine(directory: directory.path, configuration: configuration(.always))
        #expect(reopened.eventCount == 3)
        #expect(reopened.ingest(events(3..<4)).allSatisfy { if case .accepted(3) = $0 { true } else { false } })
        try reopened.close()
    }

    /// The reference configuration under `always`, its store's log lines collected in `lines`.
    func loggingConfiguration(into lines: CollectedLines) -> EngineConfiguration {
        var configuration = self.configuration(.always)
        configuration.store.log = { line in lines.append(line) }
        return configuration
    }

    /// A bad byte inside a checkpointed sealed segment is not read on open; a void whose target lies in it
    /// is the first to find it, and the log says the log is damaged there and what to run, since the next
    /// open refuses the store.
    @Test func aVoidWhoseTargetLiesInDamageSaysTheLogIsDamaged() throws {
        let directory = TemporaryDirectory()
        let logged = CollectedLines()
        var configuration = loggingConfiguration(into: logged)
        configuration.store.segmentSizeLimit = 1_500
        let engine = try Engine(directory: directory.path, configuration: configuration)
        for index in 0..<30 { _ = engine.ingest(events(index..<index + 1)) }
        #expect(try engine.checkpoint() == 30)
        let segments = try StoreTestSupport.segmentPaths(directory.path)
        #expect(segments.count >= 2)
        let first = try #require(segments.first)
        var bytes = try StoreTestSupport.bytes(first)
        bytes[SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 12] ^= 0x40
        try StoreTestSupport.write(bytes, to: first)
        let void = Event(
            id: "v", tenantId: EventFixtures.tenant, time: ReferenceModelTests.now,
            payload: .eventVoided(eventId: "e0", reason: nil))
        #expect(engine.ingest([.success(void)]) == [.accepted(offset: 30)])
        // The log line, the health check's remedy and the close all say the same: a restart refuses the
        // store (none says a restart applies the void, which an operator would follow into an outage).
        let line = logged.all.first { $0.contains("could not be read") } ?? ""
        #expect(
            line.contains("the log is damaged where the void's target lies, so a restart would refuse the store")
                && line.contains("`tally salvage --out DIR`"), "\(logged.all)")
        #expect(engine.projectionGapRemedy?.contains("a restart would refuse the store") == true)
        do {
            try engine.close()
            Issue.record("the close reported no gap")
        } catch {
            #expect("\(error)".contains("so the next open refuses the store"), "\(error)")
            #expect(!"\(error)".contains("applying the void"), "\(error)")
        }
        #expect(throws: StorageError.self) { try Engine(directory: directory.path, configuration: configuration) }
    }

    /// A void whose target cannot be read from the log leaves the live projections short of it: then no
    /// checkpoint may cover them (a reopen replays only after the last one, so the void would be lost for
    /// good). The close says so, and the reopen applies the void.
    @Test func aVoidWhoseTargetCannotBeReadIsNeverCheckpointedOver() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let logged = CollectedLines()
        let configuration = loggingConfiguration(into: logged)
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        #expect(engine.ingest(events(0..<5)).allSatisfy { if case .accepted = $0 { true } else { false } })
        #expect(try engine.checkpoint() == 5)
        fileSystem.update { $0.failReadOpensOfPathsContaining = ".seg" }
        let void = Event(
            id: "v", tenantId: EventFixtures.tenant, time: ReferenceModelTests.now,
            payload: .eventVoided(eventId: "e2", reason: nil))
        #expect(engine.ingest([.success(void)]).allSatisfy { if case .accepted = $0 { true } else { false } })
        fileSystem.update { $0.failReadOpensOfPathsContaining = nil }
        #expect(
            logged.all.contains {
                $0.contains("the target (offset 2) of the void at offset 5 could not be read")
            })
        #expect(
            engine.tenantStats(EventFixtures.tenant, now: ReferenceModelTests.now)?.usage.apiCallsThisMonth == 5,
            "the live projections miss the void")
        #expect(try engine.checkpoint() == nil, "no checkpoint covers the gap")
        #expect(
            engine.projectionGapRemedy == "every event is in the log: restart the server (the reopen applies the void)")
        #expect {
            try engine.close()
        } throws: { error in
            "\(error)".contains(
                "every event is in the log, and the next open replays it from the last checkpoint, applying the void")
        }
        #expect(try Engine.checkpointOffsets(directory: directory.path) == [5])

        let reopened = try Engine(directory: directory.path, configuration: configuration)
        #expect(
            reopened.tenantStats(EventFixtures.tenant, now: ReferenceModelTests.now)?.usage.apiCallsThisMonth == 4,
            "the reopen replays the void")
        try reopened.close()
    }

    /// A checkpoint that cannot read its log's salt is not written (one with a made-up salt would later
    /// look like another store's); the next one, once the segment reads again, is, and a reopen loads it.
    @Test func aCheckpointThatCannotReadItsLogsSaltIsNotWritten() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let logged = CollectedLines()
        let configuration = loggingConfiguration(into: logged)
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        _ = engine.ingest(events(0..<5))
        fileSystem.update { $0.failReadOpensOfPathsContaining = ".seg" }
        let openBefore = fileSystem.openFileCount
        #expect(throws: StorageError.self) { try engine.checkpoint() }
        #expect(fileSystem.openFileCount == openBefore, "the failed checkpoint left no file open")
        fileSystem.update { $0.failReadOpensOfPathsContaining = nil }
        #expect(try Engine.checkpointOffsets(directory: directory.path).isEmpty)
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints"))) ?? []).isEmpty,
            "no partial file")
        #expect(try engine.checkpoint() == 5)
        try engine.close()
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        #expect(!logged.all.contains { $0.contains("taken of another log") }, "\(logged.all)")
        try reopened.close()
    }

    /// A checkpoint whose file cannot be written or synced fails alone: it closes its file once (a second
    /// close could shut a segment or socket that reused the number), leaves no partial file, keeps ingest
    /// going, and the next checkpoint succeeds.
    @Test(arguments: ["write", "sync"])
    func aFailedCheckpointClosesItsFileOnceAndLeavesNothingBehind(failing: String) throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let engine = try Engine(
            directory: directory.path, configuration: ReferenceModelTests.configuration(), fileSystem: fileSystem)
        _ = engine.ingest(events(0..<50))
        fileSystem.update { plan in
            if failing == "write" {
                plan.failWritesToPathsContaining = ".partial"
            } else {
                plan.failSyncsOfPathsContaining = ".partial"
            }
        }
        #expect(throws: StorageError.self) { try engine.checkpoint() }
        #expect(fileSystem.closesOfClosedFiles == 0)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints"))) ?? []
        #expect(names.isEmpty, "\(names)")
        fileSystem.update { $0 = FaultyFileSystem.Plan() }
        #expect(engine.ingest(events(50..<60)).allSatisfy { if case .accepted = $0 { true } else { false } })
        #expect(try engine.checkpoint() == 60)
        try engine.close()
        #expect(fileSystem.closesOfClosedFiles == 0)
    }

    /// Opening for a replay checks sealed segments by header and seal only, and the replay checks every frame
    /// it reads: a flipped byte in the middle of a sealed segment that no checkpoint covers still fails open
    /// and rebuild with `corrupt`, naming the segment, and leaves the file as it was.
    @Test func aDamagedSealedSegmentStillFailsOpenAndRebuild() throws {
        let directory = TemporaryDirectory()
        var configuration = ReferenceModelTests.configuration()
        configuration.store = StoreTestSupport.configuration(durability: .always, segmentSize: 1_500)
        let engine = try Engine(directory: directory.path, configuration: configuration)
        for start in stride(from: 0, to: 100, by: 10) { _ = engine.ingest(events(start..<start + 10)) }
        try engine.close()
        try FileManager.default.removeItem(atPath: directory.path + "/checkpoints")
        let segments = try StoreTestSupport.segmentPaths(directory.path)
        try #require(segments.count >= 3)
        var bytes = try StoreTestSupport.bytes(segments[1])
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: segments[1]))
        let name = String(segments[1].split(separator: "/").last ?? "")
        func isCorruptNamingTheSegment(_ error: any Error) -> Bool {
            guard let error = error as? StorageError else { return false }
            return error.code == .corrupt && error.message.contains(name)
        }
        #expect(
            performing: { _ = try Engine.rebuild(directory: directory.path, configuration: configuration) },
            throws: isCorruptNamingTheSegment)
        #expect(
            performing: { _ = try Engine(directory: directory.path, configuration: configuration) },
            throws: isCorruptNamingTheSegment)
        #expect(try StoreTestSupport.bytes(segments[1]) == bytes)
    }

    @Test func asynchronousIngestCompletesOnceWithOneOutcomePerEvent() throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path, configuration: ReferenceModelTests.configuration())
        let done = DispatchSemaphore(value: 0)
        let received = Mutex<[[IngestOutcome]]>([])
        var batch = events(0..<5)
        batch.append(.failure(EventValidationError(field: "type", rule: "unknown")))
        engine.ingest(batch) { outcomes in
            received.withLock { $0.append(outcomes) }
            done.signal()
        }
        done.wait()
        engine.ingest([.failure(EventValidationError(field: "id", rule: "is required"))]) { outcomes in
            received.withLock { $0.append(outcomes) }
            done.signal()
        }
        done.wait()
        let all = received.withLock { $0 }
        #expect(all.count == 2)
        #expect(all[0].count == 6 && all[0].prefix(5).allSatisfy { if case .accepted = $0 { true } else { false } })
        #expect(all[0][5] == .rejected(reason: "type: unknown"))
        #expect(all[1] == [.rejected(reason: "id: is required")])
        try engine.close()
    }

    /// A retry that arrives while the original is still on its way to the disk must not be told "duplicate"
    /// before the original is durable: if the original then fails, so does the retry.
    @Test func aRetryOfAnInFlightBatchIsAnsweredOnlyOnceTheOriginalIsDurable() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let configuration = self.configuration(.always)
        let engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        fileSystem.update { $0.syncsBeforeFailure = 0 }
        let answers = Mutex<[Int: [IngestOutcome]]>([:])
        let done = DispatchSemaphore(value: 0)
        for attempt in 0..<4 {
            engine.ingest(events(0..<5)) { outcomes in
                answers.withLock { $0[attempt] = outcomes }
                done.signal()
            }
        }
        for _ in 0..<4 { done.wait() }
        for (attempt, outcomes) in answers.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            #expect(
                outcomes.count == 5 && outcomes.allSatisfy { if case .failed = $0 { true } else { false } },
                "attempt \(attempt): \(outcomes)")
        }
        fileSystem.update { $0.syncsBeforeFailure = nil }
        try? engine.close()
    }

    @Test func aBatchLargerThanAFrameIsWrittenAsSeveralFramesAndReadBackWhole() throws {
        let directory = TemporaryDirectory()
        var configuration = ReferenceModelTests.configuration()
        configuration.maxFrameBytes = 1_000
        let engine = try Engine(directory: directory.path, configuration: configuration)
        let outcomes = engine.ingest(events(0..<100))
        #expect(outcomes == (0..<100).map { IngestOutcome.accepted(offset: UInt64($0)) })
        #expect(engine.ingest(events(0..<100)).allSatisfy { if case .duplicate = $0 { true } else { false } })
        try engine.close()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(), readOnly: true)
        #expect(try StoreTestSupport.readAll(store).map(\.event.id) == (0..<100).map { "e\($0)" })
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        #expect(
            reopened.tenantStats(EventFixtures.tenant, now: ReferenceModelTests.now)?.usage.apiCallsThisMonth == 100)
        try reopened.close()
        // Walk the frames of the segment: several data frames, none with more than 1,000 bytes of records
        // beyond the one record that crosses the limit.
        let bytes = try StoreTestSupport.bytes(try #require(try StoreTestSupport.segmentPaths(directory.path).first))
        var position = SegmentFormat.headerSize
        var counts: [UInt32] = []
        while position + SegmentFormat.frameHeaderSize <= bytes.count {
            let header = bytes.withUnsafeBytes {
                SegmentFormat.decodeFrameHeader(UnsafeRawBufferPointer(rebasing: $0[position...]))
            }
            if header.kind == .data { counts.append(header.count) }
            #expect(Int(header.payloadLength) < 1_000 + 200)
            position += header.frameSize
        }
        #expect(counts.count >= 4 && counts.reduce(0, +) == 100, "\(counts)")
    }
}
