import Foundation
import Synchronization
import TallyCore
import TallyEngine
import TallyStorage

/// What a checkpoint costs the ingest running beside it: batch latencies before and during one, the
/// checkpoint's own time, and the memory it adds, on an engine holding many tenants and dedup ids. Run
/// under `never` (the engine's own costs) and under `always` (where the checkpoint's writes to the disk
/// meet the log's fsyncs).
enum CheckpointBenchmarks {
    static func run(_ options: BenchmarkSuite.Options) throws {
        try run(options, durability: .never)
        try run(options, durability: .always)
    }

    static func run(_ options: BenchmarkSuite.Options, durability: DurabilityPolicy) throws {
        let tenants = options.quick ? 100_000 : 1_000_000
        let filled = options.quick ? 1_000_000 : 10_000_000
        let directory = try EngineBenchmarks.scratch(options, "checkpoint")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = try Engine(directory: directory, configuration: EngineBenchmarks.configuration(durability))
        var next = 0
        while next < filled {
            _ = engine.ingest(EngineBenchmarks.calls(10_000, tenants: tenants, start: next))
            next += 10_000
        }
        EngineBenchmarks.requireStored(engine, filled, "checkpoint fill")
        // Batches are made as they are needed (however long the checkpoint takes), outside the timed call.
        var sent = 0
        func latencies(while running: () -> Bool) -> [UInt64] {
            var samples: [UInt64] = []
            while running() {
                let batch = EngineBenchmarks.calls(1_000, tenants: tenants, start: filled + sent * 1_000)
                let begin = MonotonicClock.nanoseconds()
                let results = engine.ingest(batch)
                samples.append(MonotonicClock.nanoseconds() - begin)
                // A batch rejected whole returns without an fsync, and would read as a fast one.
                guard results.allSatisfy({ if case .accepted = $0 { true } else { false } }) else {
                    print("checkpoint stall: a batch was not stored whole; no figure reported")
                    exit(1)
                }
                sent += 1
            }
            return samples
        }
        let quietEnd = MonotonicClock.nanoseconds() + 1_000_000_000
        let quiet = latencies { MonotonicClock.nanoseconds() < quietEnd }
        // The peak from here on is the checkpoint's (and the batches beside it), not the fill's.
        let peakReset = EngineBenchmarks.resetPeakResident()
        let peakBefore = EngineBenchmarks.peakResidentBytes()
        let residentBefore = EngineBenchmarks.residentBytes()
        let finished = Atomic<UInt64>(0)
        let written = Atomic<Bool>(false)
        let started = MonotonicClock.nanoseconds()
        let thread = Thread {
            do {
                written.store(try engine.checkpoint() != nil, ordering: .relaxed)
            } catch {
                print("checkpoint stall: the checkpoint failed: \(error)")
            }
            finished.store(MonotonicClock.nanoseconds(), ordering: .releasing)
        }
        thread.start()
        let during = latencies { finished.load(ordering: .acquiring) == 0 }
        while finished.load(ordering: .acquiring) == 0 { usleep(1000) }
        let checkpointSeconds = Double(finished.load(ordering: .acquiring) - started) / 1e9
        let peakAfter = EngineBenchmarks.peakResidentBytes()
        // Latencies beside a checkpoint that was never written would describe plain ingest.
        guard written.load(ordering: .relaxed) else {
            print("checkpoint stall: no checkpoint was written; no figure reported")
            exit(1)
        }
        func describe(_ samples: [UInt64]) -> (p50: Double, p99: Double, max: Double) {
            guard !samples.isEmpty else { return (0, 0, 0) }
            let sorted = samples.sorted()
            return (
                Double(sorted[sorted.count / 2]) / 1e6, Double(sorted[sorted.count * 99 / 100]) / 1e6,
                Double(sorted[sorted.count - 1]) / 1e6
            )
        }
        let before = describe(quiet)
        let duringCheckpoint = describe(during)
        let state = "\(tenants) tenants, \(engine.rememberedIds) dedup ids; batches of 1,000, one at a time"
        Measure.row(
            "ingest batch latency p50 / max, no checkpoint, `\(durability)`", before.p50, "ms",
            "max \(String(format: "%.2f", before.max)) ms, p99 \(String(format: "%.2f", before.p99)) ms over \(quiet.count) batches; \(state)"
        )
        Measure.row(
            "ingest batch latency p50 / max, during a checkpoint, `\(durability)`", duringCheckpoint.p50, "ms",
            "max \(String(format: "%.2f", duringCheckpoint.max)) ms, p99 \(String(format: "%.2f", duringCheckpoint.p99)) ms over \(during.count) batches"
        )
        Measure.row(
            "checkpoint write, beside ingest, `\(durability)`", checkpointSeconds * 1000, "ms",
            "peak RSS grew by \((max(peakAfter, peakBefore) - max(peakBefore, residentBefore)) / 1_000_000) MB over the \(residentBefore / 1_000_000) MB resident before it\(peakReset ? "" : " (the peak could not be reset: it may be the fill's)")"
        )
        try engine.close()
    }
}
