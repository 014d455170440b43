import TallyCompression
import TallyTestSupport
import Testing

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
