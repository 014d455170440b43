import Foundation
import TallyTestSupport

/// The glue between libFuzzer and a fuzz target shared with the seeded tests: a broken property becomes a
/// crash, which is how libFuzzer records a finding (with the input saved as an artifact).
enum FuzzHarness {
    /// Runs one input and traps if a property failed.
    static func run(_ data: UnsafePointer<UInt8>, _ size: Int, _ check: ([UInt8]) -> FuzzVerdict) -> CInt {
        let input = Array(UnsafeBufferPointer(start: data, count: size))
        if let violation = check(input).violation {
            fatalError("fuzz property violated: \(violation)")
        }
        return 0
    }

    /// When `TALLY_FUZZ_WRITE_SEEDS` names a directory, writes the target's seed inputs there and exits;
    /// `run.sh` uses this to start an empty corpus from valid inputs.
    static func writeSeedsIfAsked(_ seeds: () -> [[UInt8]]) {
        guard let directory = ProcessInfo.processInfo.environment["TALLY_FUZZ_WRITE_SEEDS"] else { return }
        for (index, seed) in seeds().enumerated() {
            _ = FileManager.default.createFile(atPath: "\(directory)/seed-\(index)", contents: Data(seed))
        }
        exit(0)
    }
}
