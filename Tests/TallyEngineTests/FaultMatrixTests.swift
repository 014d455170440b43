import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyEngine

/// Injects an I/O error, a full disk and a short write at every file-system change a seeded workload makes
/// (data frames, seals, new segments, checkpoints, directory syncs), one run per change and fault.
///
/// Each run: once an ingest fails, nothing more is acknowledged (the engine is read-only) but reads go on,
/// showing exactly the acknowledged events; a short write is invisible; a restart without the fault finds
/// every acknowledged event exactly once, and retrying the whole workload then gives exactly the state of
/// a run that never failed: nothing lost, nothing counted twice.
@Suite struct FaultMatrixTests {
    static let directory = "/tally/store"

    static func configuration() -> EngineConfiguration {
        var configuration = CrashSimulationTests.configuration(.always)
        configuration.store.segmentSizeLimit = 1_200
        // One frame per batch: the frames of a split batch reach the writer as separate appends, and how
        // many of them one group commit takes depends on timing, while this matrix needs the same changes
        // on every run.
        configuration.maxFrameBytes = EngineConfiguration().maxFrameBytes
        return configuration
    }

    /// The workload: batches of a random stream, and the batches after which a checkpoint is written.
    static let workload: (batches: [[Event]], checkpoints: Set<Int>) = {
        let stream = ReferenceModelTests.randomStream(count: 90, seed: 41)
        var random = SplitMix64(seed: 4141)
        var batches: [[Event]] = []
        var checkpoints: Set<Int> = []
        var index = 0
        while index < stream.count {
            let size = 1 + random.below(8)
            batches.append(Array(stream[index..<min(index + size, stream.count)]))
            index += size
            if random.chance(1, in: 4) { checkpoints.insert(batches.count - 1) }
        }
        return (batches, checkpoints)
    }()

    /// What a run observed.
    struct Observed {
        var acknowledged: [String] = []
        var accepted = 0
        var ingestFailed = false
        var checkpointFailed = false
        var openFailed = false
    }

    /// Runs the workload on `fileSystem`, checking the read-only rule as it goes.
    static func run(on fileSystem: any FileSystem, context: String) -> Observed {
        var observed = Observed()
        let engine: Engine
        do {
            engine = try Engine(directory: directory, configuration: configuration(), fileSystem: fileSystem)
        } catch {
            observed.openFailed = true
            return observed
        }
        for (index, batch) in workload.batches.enumerated() {
            let outcomes = engine.ingest(batch.map { .success($0) })
            var failedHere = false
            var acknowledgedHere = 0
            for (event, outcome) in zip(batch, outcomes) {
                switch outcome {
                case .accepted:
                    observed.acknowledged.append(event.id)
                    observed.accepted += 1
                    acknowledgedHere += 1
                case .duplicate:
                    acknowledgedHere += 1
                case .failed:
                    failedHere = true
                case .rejected:
                    break
                }
            }
            if failedHere || observed.ingestFailed {
                #expect(
                    acknowledgedHere == 0, "\(context): batch \(index) acknowledged events during or after a failure")
            }
            observed.ingestFailed = observed.ingestFailed || failedHere
            if workload.checkpoints.contains(index) {
                do { try engine.checkpoint() } catch { observed.checkpointFailed = true }
            }
        }
        // Reads go on, and show exactly what was acknowledged.
        let snapshot = engine.projectionSnapshot
        #expect(snapshot.nextOffset == UInt64(observed.accepted), "\(context)")
        let tenants = Set(workload.batches.joined().filter { observed.acknowledged.contains($0.id) }.map(\.tenantId))
        for tenant in tenants {
            #expect(engine.tenantStats(tenant) != nil, "\(context): no stats for tenant \(tenant)")
        }
        if observed.ingestFailed {
            #expect(engine.store.failure != nil, "\(context): failed ingest, yet the store is not read-only")
        }
        try? engine.close()
        return observed
    }

    /// Restarts on `disk` without faults, checks the acknowledged events, retries the whole workload.
    static func restartAndRetry(_ disk: SimulatedFileSystem, _ observed: Observed, context: String) throws
        -> ProjectionState
    {
        let engine = try Engine(directory: directory, configuration: configuration(), fileSystem: disk)
        defer { try? engine.close() }
        var copies: [String: Int] = [:]
        try engine.store.forEachEvent { stored in
            copies[stored.event.id, default: 0] += 1
            return true
        }
        for id in observed.acknowledged where copies[id] != 1 {
            Issue.record("\(context): acknowledged event \(id) is in the log \(copies[id] ?? 0) times after a restart")
        }
        for (id, count) in copies where count > 1 {
            Issue.record("\(context): event \(id) is in the log \(count) times")
        }
        for batch in workload.batches {
            let outcomes = engine.ingest(batch.map { .success($0) })
            #expect(!outcomes.contains { if case .failed = $0 { true } else { false } }, "\(context): retry failed")
        }
        return engine.projectionSnapshot
    }

    @Test func everyFaultAtEveryChangeAcknowledgesOnlyWhatIsDurableAndRecovers() throws {
        // A run without faults: how many changes the workload makes, and the state it ends in.
        let cleanDisk = SimulatedFileSystem()
        let counter = InjectingFileSystem(cleanDisk)
        let clean = Self.run(on: counter, context: "no fault")
        #expect(!clean.ingestFailed && !clean.checkpointFailed && !clean.openFailed)
        let expected = try Engine(directory: Self.directory, configuration: Self.configuration(), fileSystem: cleanDisk)
        let expectedState = expected.projectionSnapshot
        try expected.close()
        let kinds = counter.kinds
        #expect(Set(kinds).isSuperset(of: [.create, .write, .sync, .rename, .remove, .syncDirectory]), "\(Set(kinds))")

        var tally: [String: Int] = [:]
        for index in kinds.indices {
            for fault in InjectingFileSystem.Fault.allCases {
                let context = "\(fault) at change \(index) (\(kinds[index]))"
                let disk = SimulatedFileSystem()
                let injecting = InjectingFileSystem(disk, at: index, fault: fault)
                let observed = Self.run(on: injecting, context: context)
                #expect(injecting.injected, "\(context): never reached")
                if fault == .shortWrite {
                    #expect(!observed.ingestFailed && !observed.checkpointFailed && !observed.openFailed, "\(context)")
                }
                tally[
                    observed.openFailed
                        ? "open" : observed.ingestFailed ? "ingest" : observed.checkpointFailed ? "checkpoint" : "none",
                    default: 0] += 1
                let final = try Self.restartAndRetry(disk, observed, context: context)
                if let difference = final.firstDifference(from: expectedState) {
                    Issue.record(
                        "\(context): after the retry the state differs from a run without faults: \(difference)")
                }
            }
        }
        // Every consequence was exercised: a refused open, a read-only engine, a failed checkpoint.
        #expect(
            tally["open", default: 0] > 0 && tally["ingest", default: 0] > 20 && tally["checkpoint", default: 0] > 5,
            "\(tally)")
    }
}
