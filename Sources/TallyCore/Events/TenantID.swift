/// A tenant's UUID, held as 128 bits.
///
/// Input accepts the 8-4-4-4-12 hex form in any case; ``description`` is the canonical lowercase form.
public struct TenantID: Sendable, BitwiseCopyable, Hashable, Comparable, CustomStringConvertible {
    /// The first 64 bits, big-endian as written.
    public var high: UInt64
    /// The last 64 bits, big-endian as written.
    public var low: UInt64

    /// Creates an identifier from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A version 4 (random) UUID made of 122 of the given bits, with the version and variant bits set
    /// (RFC 9562 §5.4).
    /// - Parameters:
    ///   - randomHigh: Random bits for the first half.
    ///   - randomLow: Random bits for the second half.
    public static func version4(randomHigh: UInt64, randomLow: UInt64) -> TenantID {
        TenantID(
            high: randomHigh & 0xFFFF_FFFF_FFFF_0FFF | 0x4000,
            low: randomLow & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000)
    }

    /// Parses the 36-character `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` form, in any case.
    /// - Parameter text: The UUID text.
    /// - Returns: `nil` when the text is not a UUID.
    public init?(_ text: String) {
        var text = text
        guard let parsed = text.withUTF8({ TenantID(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    /// Parses a UUID from raw UTF-8 bytes.
    /// - Parameter bytes: Exactly 36 bytes of UUID text.
    /// - Returns: `nil` when the bytes are not a UUID.
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 36,
            bytes[8] == 0x2D, bytes[13] == 0x2D, bytes[18] == 0x2D, bytes[23] == 0x2D
        else { return nil }
        // The five groups, each read without branches; any byte that is not a hex digit sets a high bit
        // of `invalid`.
        var invalid: UInt8 = 0
        let high =
            TenantID.hex(bytes, 0, 8, &invalid) << 32 | TenantID.hex(bytes, 9, 4, &invalid) << 16
            | TenantID.hex(bytes, 14, 4, &invalid)
        let low = TenantID.hex(bytes, 19, 4, &invalid) << 48 | TenantID.hex(bytes, 24, 12, &invalid)
        guard invalid & 0xF0 == 0 else { return nil }
        self.init(high: high, low: low)
    }

    /// The value of the `count` hex digits at `start`, in any case; a byte that is not a hex digit ORs a
    /// value above 15 into `invalid`.
    @inline(__always)
    private static func hex(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int, _ invalid: inout UInt8)
        -> UInt64
    {
        var value: UInt64 = 0
        for index in start..<(start &+ count) {
            let byte = bytes[index]
            let digit = byte &- 0x30
            let letter = (byte | 0x20) &- 0x61
            // A digit (0-9), else a letter a-f (10-15), else 0xFF.
            let nibble = digit < 10 ? digit : (letter < 6 ? letter &+ 10 : 0xFF)
            invalid |= nibble
            value = value << 4 | UInt64(nibble & 0x0F)
        }
        return value
    }

    /// Orders by the 128-bit value, which is also the order of the canonical lowercase strings.
    public static func < (lhs: TenantID, rhs: TenantID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// The canonical lowercase form, such as `3fa85f64-5717-4562-b3fc-2c963f66afa6`.
    public var description: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(36)
        appendCanonical(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the canonical lowercase form (36 bytes of UTF-8) without building a string.
    /// - Parameter bytes: The buffer to append to.
    public func appendCanonical(to bytes: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { digits in
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 { bytes.append(0x2D) }
                let word = nibble < 16 ? high : low
                let shift = UInt64(60 - 4 * (nibble % 16))
                bytes.append(digits[Int((word >> shift) & 0xF)])
            }
        }
    }
}
