import Foundation
import TallyLoad
import TallyTestSupport
import Testing

/// The short mode of `Benchmarks/crash-test.sh` in the normal test run: the real `tally serve`, SIGKILLed
/// three times under concurrent ingest with retries, loses and double-counts nothing.
@Suite(.serialized) struct CrashCycleTests {
    @Test func sigkillUnderConcurrentIngestLosesAndDoubleCountsNothing() throws {
        let binary = try #require(CLITests.executable(), "tally executable not found")
        let directory = TemporaryDirectory()
        var options = CrashCycles.Options(binary: binary, directory: directory.appending("store"))
        options.cycles = 3
        options.clients = 3
        options.maxLifeMilliseconds = 900
        options.seed = 7
        let report = try CrashCycles(options).run()
        #expect(report.cycles == 3)
        #expect(report.acknowledged > 0)
        #expect(report.lost == 0 && report.doubleCounted == 0 && report.unacknowledgedStored == 0, "\(report)")
        #expect(report.replayVerified && report.statsMatch, "\(report)")
        #expect(report.passed, "\(report)")
    }
}
