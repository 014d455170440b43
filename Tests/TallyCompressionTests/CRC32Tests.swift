import TallyTestSupport
import Testing

@testable import TallyCompression

@Suite struct CRC32Tests {
    /// The bit-at-a-time definition, to check the slice-by-8 table loop against.
    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// Published CRC-32/ISO-HDLC check values (the catalogue's "123456789" check, and zlib's `crc32`).
    @Test func matchesPublishedCheckValues() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(CRC32.checksum([UInt8](repeating: 0, count: 32)) == 0x190A_55AD)
        #expect(CRC32.checksum([UInt8](repeating: 0xFF, count: 32)) == 0xFF6C_AB0B)
        #expect(CRC32.checksum(Array("a".utf8)) == 0xE8B7_BE43)
    }

    @Test func agreesWithTheBitwiseDefinitionAtEveryLength() {
        var generator = SplitMix64(seed: 32)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(CRC32.checksum(bytes) == CRC32Tests.reference(bytes), "length \(length)")
        }
    }

    /// Runs of 64 bytes and more are folded with carry-less multiplies where the CPU has them: at every
    /// length to 1,100 bytes (every remainder after the 16-byte blocks), from every alignment, the result is
    /// the bit-at-a-time definition's; and longer runs agree with the table loop from any starting register.
    @Test func foldedRunsAgreeWithTheDefinitionAtEveryLengthAndAlignment() {
        var generator = SplitMix64(seed: 64)
        let bytes = (0..<1_200).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...1_100 {
            let offset = length % 16
            let slice = Array(bytes[offset..<(offset + length)])
            #expect(CRC32.checksum(slice) == CRC32Tests.reference(slice), "length \(length) at offset \(offset)")
        }
        let long = FixtureInputs.randomBytes(1 << 20, seed: 7)
        for start: UInt32 in [0, 0xFFFF_FFFF, 0x1234_5678] {
            long.withUnsafeBytes { buffer in
                #expect(CRC32.advance(start, buffer) == CRC32.advanceByTable(start, buffer))
            }
        }
    }

    @Test func feedingInPiecesEqualsFeedingAtOnce() {
        let bytes = FixtureInputs.randomBytes(100, seed: 9)
        let whole = CRC32.checksum(bytes)
        for split in 0...bytes.count {
            var crc = CRC32()
            crc.update(bytes[..<split])
            crc.update(bytes[split...])
            #expect(crc.value == whole, "split at \(split)")
        }
    }
}
