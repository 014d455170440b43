import TallyStorage
import Testing

/// `Duration.nanoseconds` feeds deadlines added to a monotonic clock, so it must neither trap nor wrap.
@Suite struct DurationNanosecondsTests {
    @Test func wholeNanosecondsAreExact() {
        #expect(Duration.zero.nanoseconds == 0)
        #expect(Duration.nanoseconds(1).nanoseconds == 1)
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.seconds(86_400).nanoseconds == 86_400_000_000_000)
    }

    @Test func negativeDurationsCountAsZero() {
        #expect(Duration.seconds(-1).nanoseconds == 0)
        #expect(Duration.milliseconds(-1).nanoseconds == 0)
        #expect((Duration.seconds(-1) + .milliseconds(500)).nanoseconds == 0)
    }

    /// 18,446,744,073 s fits `UInt64` nanoseconds only without its fraction: the sum must saturate, not wrap.
    @Test func durationsBeyondTheRangeSaturate() {
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect((Duration.seconds(18_446_744_073) + .milliseconds(999)).nanoseconds == .max)
        #expect(Duration.seconds(18_446_744_073).nanoseconds == 18_446_744_073_000_000_000)
    }
}
