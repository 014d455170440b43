import CTallyShims

/// CRC-32 as used by gzip, zip and PNG (ISO-HDLC / IEEE 802.3: reflected polynomial `0xEDB88320`, initial
/// value and final XOR `0xFFFFFFFF`). Not to be confused with CRC-32C (Castagnoli) that guards the segment store.
///
/// A running value: feed bytes with ``update(_:)-(UnsafeRawBufferPointer)`` in as many pieces as convenient and
/// read ``value``. Where the CPU has carry-less multiplies (PCLMULQDQ, x86-64), runs of 64 bytes and more are
/// folded 64 bytes a step (`tally_crc32_fold`); the rest goes through a table-driven loop, slice-by-8 (eight
/// bytes per step).
public struct CRC32: Sendable, Equatable {
    /// The raw (non-inverted) register.
    private var register: UInt32 = 0xFFFF_FFFF

    /// Starts a new checksum.
    public init() {}

    /// The checksum of every byte fed so far (`0` for none).
    public var value: UInt32 { ~register }

    /// Feeds bytes.
    /// - Parameter bytes: The next bytes of the checksummed data.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        register = CRC32.advance(register, bytes)
    }

    /// Feeds a byte collection.
    /// - Parameter bytes: The next bytes of the checksummed data.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The CRC-32 of a byte collection.
    /// - Parameter bytes: The bytes to checksum.
    /// - Returns: The checksum, e.g. `0xCBF43926` for the ASCII digits "123456789".
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// Eight 256-entry tables: `table[k * 256 + b]` is the register change of byte `b` followed by `k` zero bytes.
    static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            table[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = table[(slice - 1) * 256 + byte]
                table[slice * 256 + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    /// Whether ``advance(_:_:)`` folds with carry-less multiplies on this CPU.
    public static let usesFolding = tally_crc32_fold_available() == 1

    /// Advances a raw register over `bytes`: folded where the CPU allows and the run is long enough, the rest
    /// by table.
    static func advance(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return start }
        guard usesFolding, bytes.count >= 64 else { return advanceByTable(start, bytes) }
        let folded = bytes.count & ~15
        let register = tally_crc32_fold(start, base, folded)
        return advanceByTable(register, UnsafeRawBufferPointer(rebasing: bytes[folded...]))
    }

    /// Advances a raw register over `bytes` with the slice-by-8 tables (the portable path, and the reference
    /// the folded one is tested against).
    static func advanceByTable(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return start }
        let count = bytes.count
        return table.withUnsafeBufferPointer { table in
            var crc = start
            var index = 0
            while index + 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc =
                    table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ table[Int((crc ^ UInt32(base.load(fromByteOffset: index, as: UInt8.self))) & 0xFF)]
                index += 1
            }
            return crc
        }
    }
}
