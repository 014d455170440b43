/// Bounds the rate at which a background reader (the log scrub) reads: after each piece it reads, says how
/// long to wait so that the bytes read so far never run ahead of the rate.
///
/// Short waits are skipped: the debt builds up until a wait of at least ``minimumWaitNanoseconds`` is due,
/// so small frames cost no sleep each.
package struct ScrubPacer: Sendable, Equatable {
    /// The most bytes per second.
    package let bytesPerSecond: Int64
    /// The shortest wait handed out.
    package static let minimumWaitNanoseconds: UInt64 = 10_000_000
    /// Bytes read since the pace began.
    package private(set) var bytesRead: Int64 = 0

    /// A pacer for `bytesPerSecond` (at least 1).
    package init(bytesPerSecond: Int64) {
        self.bytesPerSecond = max(1, bytesPerSecond)
    }

    /// The longest wait handed out at once (a day): a caller waits again after it if still ahead.
    package static let maximumWaitNanoseconds: UInt64 = 86_400 * 1_000_000_000

    /// Counts `bytes` more read, and says how long to wait before reading on.
    /// - Parameters:
    ///   - bytes: Bytes read since the last call.
    ///   - elapsedNanoseconds: Nanoseconds since the pace began.
    /// - Returns: Nanoseconds to wait: 0 while the reads are within the rate or less than
    ///   ``minimumWaitNanoseconds`` ahead of it, at most ``maximumWaitNanoseconds``.
    package mutating func wait(afterReading bytes: Int64, elapsedNanoseconds: UInt64) -> UInt64 {
        bytesRead += max(0, bytes)
        // When the bytes read so far are due at this rate (in Double: terabytes times 10^9 overflow Int64).
        let due = Double(bytesRead) / Double(bytesPerSecond) * 1e9
        let ahead = due - Double(elapsedNanoseconds)
        guard ahead >= Double(Self.minimumWaitNanoseconds) else { return 0 }
        return ahead >= Double(Self.maximumWaitNanoseconds) ? Self.maximumWaitNanoseconds : UInt64(ahead)
    }
}
