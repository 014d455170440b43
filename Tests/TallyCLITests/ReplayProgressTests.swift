import Synchronization
import Testing

@testable import TallyCLI

/// `tally replay`'s progress lines, on a clock the test moves.
struct ReplayProgressTests {
    /// The rate counts from the first report: the seconds spent opening the store before it are not taken
    /// for slow replay, so the first line's ETA is not inflated.
    @Test func theRateCountsFromTheFirstReportAndLinesComeEveryFiveSeconds() {
        let now = Mutex<UInt64>(0)
        let io = CommandIO.captured()
        let progress = ReplayCommand.Progress(io: io, clock: { now.withLock { $0 } })
        let at = { (seconds: Double, offset: UInt64) in
            now.withLock { $0 = UInt64(seconds * 1e9) }
            progress.report(offset, 1_000_000)
        }
        at(3, 65_536)
        #expect(io.errorOutput.isEmpty, "the first report only starts the count")
        at(5, 131_072)
        at(7, 196_608)
        at(10.5, 262_144)
        progress.finish()
        #expect(
            io.errorOutput == """
                replay: 131072/1000000 events (13%), 32768 events/s, ETA 27s
                replay: 262144/1000000 events (26%), 26214 events/s, ETA 28s

                """)
    }
}
