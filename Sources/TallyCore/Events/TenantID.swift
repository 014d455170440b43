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
        guard bytes.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for index in 0..<36 {
            let byte = bytes[index]
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == 0x2D else { return nil }
                continue
            }
            let value: UInt8
            switch byte {
            case 0x30...0x39: value = byte - 0x30
            case 0x61...0x66: value = byte - 0x61 + 10
            case 0x41...0x46: value = byte - 0x41 + 10
            default: return nil
            }
            if nibbles < 16 {
                high = high << 4 | UInt64(value)
            } else {
                low = low << 4 | UInt64(value)
            }
            nibbles += 1
        }
        self.init(high: high, low: low)
    }

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
