/// The growing decompressed output, with the caller's size limit.
///
/// The allocation is always ``slack`` bytes larger than ``capacity`` so the match copy may write whole 8-byte
/// words past the end of a match without a bounds check per byte.
final class OutputBuffer {
    /// Bytes a match copy may write beyond ``capacity``.
    static let slack = 16

    private(set) var base: UnsafeMutablePointer<UInt8>
    /// Bytes that may be written before ``grow(toHold:at:)`` must be called (never above ``limit``).
    private(set) var capacity: Int
    /// Bytes produced so far.
    var count = 0
    /// The most bytes the output may hold.
    let limit: Int

    /// - Parameters:
    ///   - limit: The most bytes the output may hold.
    ///   - expected: A hint for the first allocation (clamped to the limit).
    init(limit: Int, expected: Int) {
        self.limit = max(0, limit)
        capacity = min(self.limit, max(expected, 1024))
        base = .allocate(capacity: capacity + OutputBuffer.slack)
    }

    deinit {
        base.deallocate()
    }

    /// Makes room for `needed` more bytes after the first `used`, or refuses when that would pass the limit.
    ///
    /// - Parameters:
    ///   - needed: Bytes about to be written.
    ///   - used: Bytes already written (the caller's running count).
    ///   - inputOffset: Where in the compressed input this happens, for the error.
    /// - Throws: ``InflateError/Code/outputLimitExceeded`` when `used + needed` exceeds the limit.
    func grow(toHold needed: Int, after used: Int, inputOffset: Int) throws(InflateError) {
        let total = used + needed
        guard total <= limit else {
            throw InflateError(
                .outputLimitExceeded,
                "the decompressed data exceeds the limit of \(limit) bytes; send a smaller batch",
                offset: inputOffset)
        }
        guard total > capacity else { return }
        let grown = min(limit, max(total, capacity * 2))
        let replacement = UnsafeMutablePointer<UInt8>.allocate(capacity: grown + OutputBuffer.slack)
        replacement.update(from: base, count: used)
        base.deallocate()
        base = replacement
        capacity = grown
    }

    /// The bytes produced so far as an array.
    func bytes() -> [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }
}
