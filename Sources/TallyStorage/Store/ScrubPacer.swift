/// Bounds the rate at which a background reader (the log scrub) reads: after each piece it reads, says how
/// long to wait so that the bytes read so far never run ahead of the rate.
///
/// Short waits are skipped: the debt builds up until a wait of at least ``minimumWaitNanoseconds`` is due,
/// so small frames cost no sleep each.
public struct ScrubPacer: Sendable, Equatable {
    /// The most bytes per second.
    public let bytesPerSecond: Int64
    /// The shortest wait handed out.
    public static let minimumWaitNanoseconds: UInt64 = 10_000_000
    /// Bytes read since the pace began.
    public private(set) var bytesRead: Int64 = 0

    /// A pacer for `bytesPerSecond` (at least 1).
    public init(bytesPerSecond: Int64) {
        self.bytesPerSecond = max(1, bytesPerSecond)
    }

    /// Counts `bytes` more read, and returns the nanoseconds to wait before reading on, given the
    /// nanoseconds since the pace began: 0 while the reads are within the rate, or less than
    /// ``minimumWaitNanoseconds`` ahead of it.
    public mutating func wait(afterReading bytes: Int64, elapsedNanoseconds: UInt64) -> UInt64 {
        bytesRead += max(0, bytes)
        // When the bytes read so far are due at this rate (in Double: terabytes times 10^9 overflow Int64).
        let due = Double(bytesRead) / Double(bytesPerSecond) * 1e9
        let ahead = due - Double(elapsedNanoseconds)
        guard ahead >= Double(Self.minimumWaitNanoseconds) else { return 0 }
        return UInt64(ahead)
    }
}
