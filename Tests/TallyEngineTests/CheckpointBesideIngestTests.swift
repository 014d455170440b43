import Foundation
import Synchronization
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyEngine

@Suite struct CheckpointBesideIngestTests {
    static let now = ReferenceModelTests.now

    /// Calls, storage changes and voids of earlier ones over `tenants` tenants; batch `number` of `size`.
    static func batch(_ number: Int, size: Int, tenants: Int) -> [Result<Event, EventValidationError>] {
        (0..<size).map { index in
            let sequence = number * size + index
            let tenant = TenantID(high: 0xBE51_DE00_0000_0000 | UInt64(sequence * 7919 % tenants), low: 3)
            let time = Timestamp(microseconds: now.microseconds - Int64(sequence % 5_000) * 1_000_000)
            let payload: EventPayload
            if sequence % 9 == 8, sequence >= size {
                // A void of a call of the same tenant from the batch before.
                let earlier = sequence - size - (sequence - size) % 9
                let target = TenantID(high: 0xBE51_DE00_0000_0000 | UInt64(earlier * 7919 % tenants), low: 3)
                return .success(
                    Event(
                        id: "v\(sequence)", tenantId: target, time: time,
                        payload: .eventVoided(eventId: "e\(earlier)", reason: nil)))
            } else if sequence % 13 == 5 {
                payload = .storageChanged(deltaBytes: Int64(sequence % 1_000))
            } else {
                payload = .apiCall(APICall(keyId: "k\(sequence % 4)", status: sequence % 6 == 0 ? 500 : 200))
            }
            return .success(Event(id: "e\(sequence)", tenantId: tenant, time: time, payload: payload))
        }
    }

    /// Checkpoints taken while another thread ingests (with voids) and tenants keep arriving hold exactly
    /// the projections and dedup index of their offset, as a replay up to that offset rebuilds them; and an
    /// engine reopened from one of them ends exactly where a full replay does.
    @Test func checkpointsTakenBesideIngestHoldTheStateAtTheirOffset() throws {
        let directory = TemporaryDirectory()
        var configuration = ReferenceModelTests.configuration()
        configuration.checkpointsKept = 100
        let engine = try Engine(directory: directory.path, configuration: configuration)
        // 3,000 tenants (three capture chunks) before the first checkpoint; 4,000 by the end.
        for number in 0..<6 { _ = engine.ingest(Self.batch(number, size: 500, tenants: 3_000)) }
        let done = Atomic<Bool>(false)
        let ingester = Thread {
            for number in 6..<60 {
                _ = engine.ingest(Self.batch(number, size: 500, tenants: number < 30 ? 3_000 : 4_000))
            }
            done.store(true, ordering: .releasing)
        }
        ingester.start()
        var offsets: [UInt64] = []
        while !done.load(ordering: .acquiring) {
            if let offset = try engine.checkpoint() { offsets.append(offset) }
            usleep(20_000)
        }
        try engine.close()
        #expect(offsets.count >= 2, "checkpoints were taken while ingest ran")

        let checkpoints = CheckpointStore(storeDirectory: directory.path, fileSystem: PosixFileSystem(), log: { _ in })
        // Up to six of them, spread over the run (each is checked against a replay).
        for offset in offsets.enumerated().filter({ $0.offset % max(1, offsets.count / 6) == 0 }).map(\.element) {
            let bytes = try StoreTestSupport.bytes(
                directory.appending("checkpoints/" + CheckpointStore.fileName(offset)))
            let decoded = try CheckpointCodec.decode(bytes)
            let replayed = try Engine.rebuild(
                directory: directory.path, configuration: configuration, limit: .offset(offset))
            #expect(decoded.state.nextOffset == offset)
            #expect(decoded.state == replayed.state, "projections at \(offset)")
            #expect(decoded.dedup == replayed.dedup, "dedup index at \(offset)")
        }
        #expect(Set(offsets).isSubset(of: try checkpoints.offsets()))

        // Reopen from the first checkpoint taken beside ingest alone.
        let first = try #require(offsets.first)
        for offset in try checkpoints.offsets() where offset != first {
            try FileManager.default.removeItem(
                atPath: directory.appending("checkpoints/" + CheckpointStore.fileName(offset)))
        }
        let full = try Engine.rebuild(directory: directory.path, configuration: configuration)
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        #expect(reopened.projectionSnapshot == full.state)
        #expect(reopened.rememberedIds == full.dedup.count)
        let again = reopened.ingest(Self.batch(59, size: 500, tenants: 4_000))
        #expect(again.allSatisfy { if case .duplicate = $0 { true } else { false } })
        try reopened.close()
    }

    /// A checkpoint of several megabytes is written to its file part by part as it is encoded: the file holds
    /// exactly the bytes of a whole-state encoding, and decodes to the engine's state and dedup index.
    @Test func aCheckpointWrittenPartByPartEqualsTheWholeEncoding() throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path, configuration: ReferenceModelTests.configuration())
        for number in 0..<150 { _ = engine.ingest(Self.batch(number, size: 1_000, tenants: 20_000)) }
        let offset = try #require(try engine.checkpoint())
        let bytes = try StoreTestSupport.bytes(directory.appending("checkpoints/" + CheckpointStore.fileName(offset)))
        let state = engine.projectionSnapshot
        let dedup = engine.decisions.withLock { $0.dedup }
        #expect(bytes.count > 3 * CheckpointCodec.Encoder.flushThreshold, "the file was written in several parts")
        let salt = try #require(engine.store.salt(ofSegmentHolding: offset - 1))
        #expect(bytes == CheckpointCodec.encode(state, dedup: dedup, logSalt: salt))
        let decoded = try CheckpointCodec.decode(bytes)
        #expect(decoded.state == state)
        #expect(decoded.dedup == dedup)
        try engine.close()
    }
}
