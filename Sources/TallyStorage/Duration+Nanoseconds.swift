extension Duration {
    /// The duration in whole nanoseconds, negative durations counting as zero and those
    /// beyond `UInt64.max` nanoseconds (about 584 years) as `UInt64.max` (for comparisons with
    /// `MonotonicClock.nanoseconds()`).
    package var nanoseconds: UInt64 {
        let parts = components
        guard parts.seconds >= 0, parts.attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(parts.seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (total, carry) = whole.addingReportingOverflow(UInt64(parts.attoseconds / 1_000_000_000))
        return overflow || carry ? UInt64.max : total
    }
}
