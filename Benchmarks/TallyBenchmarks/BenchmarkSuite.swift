import Foundation
import TallyCore
import TallyStorage

/// Runs every benchmark and prints a Markdown table of medians.
enum BenchmarkSuite {
    struct Options {
        var quick = false
        var directory = NSTemporaryDirectory()
        var only: String?
        var repetitions = 5
        var header = true
    }

    /// Every name `--only` takes.
    static let names = [
        "crc", "codec", "append", "read", "engine", "ingest-replay", "stats-reads", "memory-latency", "memory",
        "dedup-memory", "http", "http-single", "http-batch", "http-stats", "http-handler", "http-mixed",
        "http-ceiling", "gzip", "restart-large", "checkpoint-stall", "tenant-list",
    ]

    static func main(arguments: [String]) {
        if let mode = arguments.first, mode == "crash" || mode == "soak" {
            LoadModes.main(mode: mode, arguments: Array(arguments.dropFirst()))
        }
        var options = Options()
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--quick":
                options.quick = true
                options.repetitions = 3
            case "--no-header": options.header = false
            case "--dir" where index + 1 < arguments.count:
                index += 1
                options.directory = arguments[index]
            case "--only" where index + 1 < arguments.count && names.contains(arguments[index + 1]):
                index += 1
                options.only = arguments[index]
            default:
                // An unknown `--only` name (a typo) would otherwise run nothing and exit 0.
                print(
                    "usage: TallyBenchmarks [--quick] [--dir DIR] [--only \(names.joined(separator: "|"))]")
                print(
                    "       TallyBenchmarks crash [--cycles N] [--clients N] [--max-life-ms MS] [--seed S] [--tally PATH] [--data DIR]"
                )
                print(
                    "       TallyBenchmarks soak [--seconds N] [--interval N] [--ingest-clients N] [--stats-clients N] [--batch N] [--tenants N] [--backdate-limit 35d] [--server-log FILE] [--tally PATH] [--data DIR]"
                )
                exit(2)
            }
            index += 1
        }
        #if DEBUG
            print("warning: this is a debug build; run `swift run -c release TallyBenchmarks` for real figures")
        #endif
        if options.header {
            print("| benchmark | median | unit | notes |")
            print("|---|---:|---|---|")
            // Before any child process prints its rows below it, when the output is not a terminal.
            fflush(nil)
        }
        do {
            if options.only == nil || options.only == "crc" { StorageBenchmarks.crc(options) }
            if options.only == nil || options.only == "codec" { StorageBenchmarks.codec(options) }
            if options.only == nil || options.only == "append" { try StorageBenchmarks.append(options) }
            if options.only == nil || options.only == "read" { try StorageBenchmarks.read(options) }
            if options.only == nil || options.only == "engine" { try EngineBenchmarks.run(options) }
            if options.only == nil || options.only == "http" { try HTTPBenchmarks.run(options) }
            if options.only == nil || options.only == "gzip" { CompressionBenchmarks.run(options) }
            if options.only == nil || options.only == "http" || options.only == "http-ceiling" {
                try HTTPBenchmarks.ceiling(options)
            }
            if let only = options.only,
                ["http-single", "http-batch", "http-stats", "http-handler", "http-mixed"].contains(only)
            {
                try HTTPBenchmarks.run(options, part: String(only.dropFirst(5)))
            }
            if options.only == "ingest-replay" { try EngineBenchmarks.ingestAndReplay(options) }
            if options.only == "stats-reads" {
                MemoryLatency.run(options)
                try EngineBenchmarks.reads(options, tenants: 1_000)
                try EngineBenchmarks.reads(options, tenants: options.quick ? 100_000 : 1_000_000)
            }
            if options.only == "memory" { EngineBenchmarks.memory(options) }
            if options.only == "memory-latency" { MemoryLatency.run(options) }
            if options.only == "restart-large" { try EngineBenchmarks.restartLarge(options) }
            if options.only == "dedup-memory" { EngineBenchmarks.dedupMemory(options) }
            if options.only == "checkpoint-stall" { try CheckpointBenchmarks.run(options) }
            if options.only == "tenant-list" { try TenantListBenchmarks.run(options) }
        } catch {
            print("benchmark failed: \(error)")
            exit(1)
        }
    }
}

/// Timing helpers.
enum Measure {
    /// Runs `body` `repetitions` times and returns the median of what it reports.
    static func median(_ repetitions: Int, _ body: () throws -> Double) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<repetitions { samples.append(try body()) }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Seconds taken by `body`.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = MonotonicClock.nanoseconds()
        try body()
        return Double(MonotonicClock.nanoseconds() - start) / 1e9
    }

    static func row(_ name: String, _ value: Double, _ unit: String, _ notes: String = "") {
        let text: String
        if value >= 100 { text = String(format: "%.0f", value) } else { text = String(format: "%.2f", value) }
        print("| \(name) | \(grouped(text)) | \(unit) | \(notes) |")
    }

    private static func grouped(_ text: String) -> String {
        let parts = text.split(separator: ".", maxSplits: 1)
        var digits = Array(parts[0])
        var index = digits.count - 3
        while index > 0 {
            digits.insert(",", at: index)
            index -= 3
        }
        return String(digits) + (parts.count > 1 ? "." + parts[1] : "")
    }
}
