import TallyCore
import TallyTestSupport
import Testing

@Suite struct CRC32CTests {
    /// Published CRC-32C check values: the "123456789" check value and the iSCSI vectors of RFC 3720 §B.4.
    @Test func matchesPublishedTestVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
        let iscsiRead: [UInt8] = [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(CRC32C.checksum(iscsiRead) == 0xD996_3A56)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// Both implementations (portable and, where the CPU has it, hardware) give the published values.
    @Test func bothImplementationsMatchTheVectors() {
        let vectors: [([UInt8], UInt32)] = [
            (Array("123456789".utf8), 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            ([], 0),
        ]
        for (bytes, expected) in vectors {
            bytes.withUnsafeBytes { buffer in
                #expect(CRC32C.portableChecksum(buffer) == expected)
                if let hardware = CRC32C.hardwareChecksum(buffer) { #expect(hardware == expected) }
            }
        }
    }

    /// Slice-by-8 and the hardware path must agree with the bit-at-a-time definition for every length and
    /// alignment.
    @Test func agreesWithBitwiseReferenceAtEveryLengthAndAlignment() {
        var random = SplitMix64(seed: 7)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        for start in 0..<9 {
            for end in stride(from: start, through: bytes.count, by: 7) {
                let slice = Array(bytes[start..<end])
                let expected = bitwiseCRC32C(slice)
                slice.withUnsafeBytes { buffer in
                    #expect(CRC32C.portableChecksum(buffer) == expected)
                    if let hardware = CRC32C.hardwareChecksum(buffer, seed: 0) { #expect(hardware == expected) }
                }
                #expect(CRC32C.checksum(slice) == expected)
            }
        }
    }

    /// Long buffers run as three interleaved lanes of 1 KiB joined by a shift table: at lengths around
    /// every multiple of 3 KiB, and from any seed, the hardware path equals the portable one.
    @Test func longBuffersAgreeAcrossLaneBoundaries() {
        var random = SplitMix64(seed: 0x3C)
        let bytes = (0..<24_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        bytes.withUnsafeBytes { buffer in
            for lanes in [1, 2, 3, 6] {
                for delta in [-9, -8, -1, 0, 1, 7, 8, 1_023, 1_024, 2_049] {
                    let length = lanes * 3_072 + delta
                    let start = Int(random.below(17))
                    let slice = UnsafeRawBufferPointer(rebasing: buffer[start..<start + length])
                    let seed = UInt32(truncatingIfNeeded: random.next())
                    let expected = CRC32C.portableChecksum(slice, seed: seed)
                    #expect(CRC32C.checksum(slice, seed: seed) == expected, "length \(length)")
                    if let hardware = CRC32C.hardwareChecksum(slice, seed: seed) { #expect(hardware == expected) }
                }
            }
        }
    }

    @Test func continuesFromAPreviousChecksum() {
        let whole = Array("The quick brown fox jumps over the lazy dog".utf8)
        for split in 0...whole.count {
            let first = CRC32C.checksum(Array(whole[..<split]))
            #expect(CRC32C.checksum(Array(whole[split...]), seed: first) == CRC32C.checksum(whole))
        }
    }

    @Test func seedChangesTheResult() {
        let bytes = Array("frame".utf8)
        #expect(CRC32C.checksum(bytes, seed: 1) != CRC32C.checksum(bytes, seed: 2))
    }

    private func bitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
