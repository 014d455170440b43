import CTallyShims

/// CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`).
///
/// Every frame and header in the segment store is guarded by this checksum. On x86-64 CPUs with SSE4.2
/// it uses the CRC32 instruction; elsewhere a table-driven slice-by-8 loop that processes eight bytes per
/// step. Both are checked against the same published vectors.
public enum CRC32C {
    /// Whether the hardware instruction is used.
    public static let usesHardware = tally_crc32c_hardware_available() == 1

    /// The portable slice-by-8 computation, whatever the CPU.
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        ~update(~seed, bytes)
    }

    /// The hardware computation, or `nil` when the CPU lacks it.
    public static func hardwareChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32? {
        guard usesHardware else { return nil }
        return ~tally_crc32c_hardware_update(~seed, bytes.baseAddress, bytes.count)
    }

    /// Computes the checksum of `bytes`, continuing from `seed`.
    ///
    /// Continuation is exact: `checksum(b, seed: checksum(a)) == checksum(a + b)`. A non-zero `seed` that
    /// is not a previous checksum (such as a segment's salt) simply makes the result depend on it.
    /// - Parameters:
    ///   - bytes: The bytes to checksum.
    ///   - seed: A previous checksum to continue from, or `0` to start fresh.
    /// - Returns: The CRC-32C of the bytes.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        if usesHardware { return ~tally_crc32c_hardware_update(~seed, bytes.baseAddress, bytes.count) }
        return ~update(~seed, bytes)
    }

    /// Computes the checksum of a byte collection, continuing from `seed`.
    /// - Parameters:
    ///   - bytes: The bytes to checksum.
    ///   - seed: A previous checksum to continue from, or `0` to start fresh.
    /// - Returns: The CRC-32C of the bytes.
    public static func checksum(_ bytes: some Collection<UInt8>, seed: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: seed) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// Advances a raw (non-inverted) CRC register over `bytes`, slice-by-8.
    static func update(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = start
        var index = 0
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return crc }
        return table.withUnsafeBufferPointer { table in
            while index + 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc =
                    table[7 * 256 + Int(low & 0xFF)]
                    ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)]
                    ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)]
                    ^ table[0 * 256 + Int(high >> 24)]
                index += 8
            }
            while index < count {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
            return crc
        }
    }

    /// Eight 256-entry tables: table `k` advances the register by one byte followed by `k` zero bytes.
    static let table: [UInt32] = {
        let polynomial: UInt32 = 0x82F6_3B78
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            table[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = table[(slice - 1) * 256 + byte]
                table[slice * 256 + byte] = table[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return table
    }()
}
