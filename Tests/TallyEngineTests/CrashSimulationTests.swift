import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyEngine

/// Records every file-system change of a seeded workload (ingest, segment rolls, checkpoints, reopens), then
/// crashes the disk after every change in every ``CrashMode`` and reopens the engine on what is left.
///
/// Each time: open succeeds (a torn frame of a group write followed by whole ones is one interrupted
/// write, truncated); every event acknowledged before the crash is in the log exactly once; no event is in
/// the log twice; the projections and dedup index equal a full replay from offset 0; and the reopened
/// store accepts new events.
@Suite struct CrashSimulationTests {
    static let directory = "/tally/store"

    static func configuration(_ durability: DurabilityPolicy) -> EngineConfiguration {
        var configuration = ReferenceModelTests.configuration()
        // Small segments, so the workload rolls several times.
        configuration.store = StoreConfiguration(durability: durability, segmentSizeLimit: 1_500)
        configuration.store.log = { _ in }
        // Batches of more than two or three events are written as several frames in one write: a crash
        // that keeps some sectors of it can tear an earlier frame and keep a later one.
        configuration.maxFrameBytes = 100
        // Checkpoints only where the workload asks for them, so the recording is deterministic.
        configuration.checkpointEveryEvents = .max
        configuration.checkpointEverySeconds = .max
        return configuration
    }

    /// What a recorded workload left behind.
    struct Recording {
        var snapshots: [SimulatedDisk]
        /// For each acknowledgement: how many changes preceded it, and the ids it acknowledged.
        var acknowledged: [(changes: Int, ids: [String])]

        /// Data frames in the final log written after another frame with no sync between (the later frames
        /// of group writes of several frames).
        var multiFrameWrites: Int {
            guard let disk = snapshots.last else { return 0 }
            var count = 0
            for path in disk.paths where path.hasSuffix(".seg") {
                guard let bytes = disk.contents(path) else { continue }
                count +=
                    StoreTestSupport.frameHeaders(bytes).filter {
                        $0.kind == .data && $0.unsyncedRecordsBefore > 0
                    }.count
            }
            return count
        }
    }

    /// Runs the workload on a recording file system.
    ///
    /// Under `always` an event is durable once acknowledged. Under `never`, only once a checkpoint has been
    /// written after it (a checkpoint syncs the log first), so acknowledgements are noted at checkpoints.
    static func record(_ durability: DurabilityPolicy, seed: UInt64, events: Int) throws -> Recording {
        let fileSystem = SimulatedFileSystem(recording: true)
        let configuration = configuration(durability)
        let stream = ReferenceModelTests.randomStream(count: events, seed: seed)
        var random = SplitMix64(seed: seed &* 7919)
        var engine = try Engine(directory: directory, configuration: configuration, fileSystem: fileSystem)
        var unsynced: [String] = []
        var acknowledged: [(changes: Int, ids: [String])] = []
        var index = 0
        while index < stream.count {
            let slice = Array(stream[index..<min(index + 1 + random.below(8), stream.count)])
            index += slice.count
            let outcomes = engine.ingest(slice.map { .success($0) })
            for (event, outcome) in zip(slice, outcomes) {
                if case .accepted = outcome { unsynced.append(event.id) }
            }
            if durability == .always {
                acknowledged.append((fileSystem.snapshots.count, unsynced))
                unsynced = []
            }
            if random.chance(1, in: 6) {
                try engine.checkpoint()
                acknowledged.append((fileSystem.snapshots.count, unsynced))
                unsynced = []
            }
            if random.chance(1, in: 25) {
                try engine.close()
                acknowledged.append((fileSystem.snapshots.count, unsynced))
                unsynced = []
                engine = try Engine(directory: directory, configuration: configuration, fileSystem: fileSystem)
            }
        }
        try engine.close()
        return Recording(snapshots: fileSystem.snapshots, acknowledged: acknowledged)
    }

    /// Reopens the engine on every crashed state of a recording and checks the guarantees.
    /// - Returns: How many states were checked, and how many of them open refused.
    static func check(_ recording: Recording, durability: DurabilityPolicy, seed: UInt64) throws -> (
        checked: Int, refused: Int
    ) {
        var checked = 0
        var refused = 0
        for (index, snapshot) in recording.snapshots.enumerated() {
            let changes = index + 1
            let required = recording.acknowledged.filter { $0.changes <= changes }.flatMap(\.ids)
            for (modeIndex, mode) in CrashMode.allCases.enumerated() {
                var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(changes * 8 + modeIndex))
                let disk = snapshot.crashed(mode, random: &random)
                let context = "after change \(changes) of \(recording.snapshots.count), \(mode)"
                checked += 1
                let engine: Engine
                do {
                    engine = try Engine(
                        directory: directory, configuration: configuration(durability),
                        fileSystem: SimulatedFileSystem(disk: disk))
                } catch let error as StorageError {
                    // Damage before a valid frame reads as corruption only when a sync came between them, and
                    // a crash cannot tear what was synced: no crashed state is refused.
                    Issue.record("\(context): open refused: \(error)")
                    #expect(error.code == .corrupt && error.message.contains("tally verify"), "\(context): \(error)")
                    refused += 1
                    continue
                }
                defer { try? engine.close() }
                var copies: [String: Int] = [:]
                try engine.store.forEachEvent { stored in
                    copies[stored.event.id, default: 0] += 1
                    return true
                }
                for id in required where copies[id] != 1 {
                    Issue.record("\(context): acknowledged event \(id) is in the log \(copies[id] ?? 0) times")
                }
                for (id, count) in copies where count > 1 {
                    Issue.record("\(context): event \(id) is in the log \(count) times")
                }
                let rebuilt = try Engine.rebuild(
                    store: engine.store, configuration: configuration(durability),
                    limit: nil, progress: nil)
                let live = engine.projectionSnapshot
                if let difference = rebuilt.state.firstDifference(from: live) {
                    Issue.record("\(context): projections differ from a full replay: \(difference)")
                }
                let dedup = engine.decisions.withLock { $0.dedup }
                #expect(dedup == rebuilt.dedup, "\(context): the dedup index differs from a full replay")
                let fresh = Event(
                    id: "after-crash", tenantId: EventFixtures.tenant, time: ReferenceModelTests.now,
                    payload: .apiCall(APICall(keyId: "k", status: 200)))
                let outcome = engine.ingest([.success(fresh)])
                #expect(outcome == [.accepted(offset: live.nextOffset)], "\(context): \(outcome)")
            }
        }
        return (checked, refused)
    }

    @Test(arguments: [11, 12] as [UInt64])
    func everyCrashPointUnderAlwaysKeepsEveryAcknowledgedEventExactlyOnce(seed: UInt64) throws {
        let recording = try Self.record(.always, seed: seed, events: 160)
        let acknowledged = recording.acknowledged.flatMap(\.ids).count
        #expect(acknowledged > 80, "the workload acknowledged \(acknowledged) events")
        #expect(recording.snapshots.count > 100)
        // The recording covers segment rolls and checkpoints (and the removal of old ones).
        let paths = try #require(recording.snapshots.last).paths
        #expect(paths.filter { $0.hasSuffix(".seg") }.count >= 4, "\(paths)")
        #expect(paths.filter { $0.hasSuffix(".ckpt") }.count == 2, "\(paths)")
        // Crash points inside a checkpoint (a temporary file; renamed but the directory not yet synced) and
        // inside a roll (the new segment created but its directory entry not yet synced).
        #expect(recording.snapshots.contains { $0.paths.contains { $0.hasSuffix(".partial") } })
        #expect(
            recording.snapshots.contains { disk in
                disk.paths.contains { $0.hasSuffix(".ckpt") && !disk.durablePaths.contains($0) }
            })
        #expect(
            recording.snapshots.contains { disk in
                disk.paths.contains { $0.hasSuffix(".seg") && !disk.durablePaths.contains($0) }
            })
        let result = try Self.check(recording, durability: .always, seed: seed)
        #expect(result.checked == recording.snapshots.count * CrashMode.allCases.count)
        // A full segment's frames are synced before its seal is written, and every frame records how many
        // records were written since the last sync: a crash that tears a frame of a group write and keeps a
        // later one reads as one interrupted write, so open never refuses.
        #expect(result.refused == 0, "open refused \(result.refused) of \(result.checked) crashed states")
        #expect(recording.multiFrameWrites > 10, "group writes of several frames: \(recording.multiFrameWrites)")
    }

    @Test func everyCrashPointUnderNeverKeepsEverythingACheckpointCovered() throws {
        let recording = try Self.record(.never, seed: 21, events: 160)
        #expect(recording.acknowledged.flatMap(\.ids).count > 50)
        _ = try Self.check(recording, durability: .never, seed: 21)
    }
}
