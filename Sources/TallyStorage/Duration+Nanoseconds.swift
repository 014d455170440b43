extension Duration {
    /// The duration in whole nanoseconds, negative durations counting as zero (for comparisons with
    /// `MonotonicClock.nanoseconds()`).
    package var nanoseconds: UInt64 {
        let parts = components
        guard parts.seconds >= 0, parts.attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(parts.seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max : whole &+ UInt64(parts.attoseconds / 1_000_000_000)
    }
}
