import Foundation
import TallyCore
import TallyLoad

/// `TallyBenchmarks crash` and `TallyBenchmarks soak`: drive a real `tally serve` process.
enum LoadModes {
    static func main(mode: String, arguments: [String]) -> Never {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            guard name.hasPrefix("--"), index + 1 < arguments.count else { usage(mode, "unexpected \(name)") }
            values[String(name.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
        func number(_ name: String, _ fallback: Int) -> Int {
            guard let text = values.removeValue(forKey: name) else { return fallback }
            guard let value = Int(text), value > 0 else {
                usage(mode, "--\(name) needs a positive number, got \(text)")
            }
            return value
        }
        let binary = values.removeValue(forKey: "tally") ?? defaultBinary()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            usage(mode, "no tally executable at \(binary); build it (`swift build -c release`) or pass --tally PATH")
        }
        let given = values.removeValue(forKey: "data")
        let directory =
            given ?? NSTemporaryDirectory() + "tally-\(mode)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        /// A store this run made up is removed, unless a failed crash run left it for inspection.
        func cleanUp(keep: Bool) {
            if given == nil && !keep { try? FileManager.default.removeItem(atPath: directory) }
        }
        do {
            switch mode {
            case "crash":
                var options = CrashCycles.Options(binary: binary, directory: directory)
                options.cycles = number("cycles", options.cycles)
                options.clients = number("clients", options.clients)
                options.maxLifeMilliseconds = number("max-life-ms", options.maxLifeMilliseconds)
                options.seed = UInt64(number("seed", Int(options.seed)))
                guard values.isEmpty else { usage(mode, "unknown option --\(values.keys.sorted()[0])") }
                print("store: \(directory)")
                let report = try CrashCycles(options).run {
                    print($0)
                    fflush(nil)
                }
                print(report)
                cleanUp(keep: !report.passed)
                exit(report.passed ? 0 : 1)
            default:
                var options = SoakRun.Options(binary: binary, directory: directory)
                options.seconds = number("seconds", options.seconds)
                options.interval = number("interval", options.interval)
                options.ingestClients = number("ingest-clients", options.ingestClients)
                options.statsClients = number("stats-clients", options.statsClients)
                options.batchSize = number("batch", options.batchSize)
                options.tenants = number("tenants", options.tenants)
                if let window = values.removeValue(forKey: "backdate-limit") {
                    options.serverArguments = ["--backdate-limit", window]
                }
                options.serverLog = values.removeValue(forKey: "server-log")
                guard values.isEmpty else { usage(mode, "unknown option --\(values.keys.sorted()[0])") }
                print(
                    "store: \(directory); \(options.seconds) s, \(options.ingestClients) ingest clients (batches of \(options.batchSize)), \(options.statsClients) stats clients, \(options.tenants) tenants"
                )
                let report = try SoakRun(options).run {
                    print($0)
                    fflush(nil)
                }
                let start = Double(report.residentAtStart) / 1_048_576
                let end = Double(report.residentAtEnd) / 1_048_576
                print(
                    String(
                        format:
                            "soak: %d events, %d stats reads, %d errors; server RSS %.1f MiB at start, %.1f MiB at the end",
                        report.events, report.statsReads, report.errors, start, end))
                for (kind, count) in report.errorKinds.sorted(by: { $0.value > $1.value }) {
                    print("  \(count)× \(kind)")
                }
                for failure in report.firstErrors {
                    print("  sent \(failure.sent.rfc3339(fractionDigits: 3)): \(failure.kind)")
                }
                cleanUp(keep: false)
                exit(report.errors == 0 ? 0 : 1)
            }
        } catch {
            print("\(mode) failed: \(error)")
            exit(1)
        }
    }

    /// `tally` beside this executable (both are built into the same folder).
    static func defaultBinary() -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tally").path
    }

    static func usage(_ mode: String, _ message: String) -> Never {
        print("TallyBenchmarks \(mode): \(message)")
        exit(2)
    }
}
