import TallyAuth
import Testing

@Suite("ConstantTime")
struct ConstantTimeTests {
    @Test("reports identical arrays as equal")
    func equalArrays() {
        #expect(ConstantTime.equals([], []))
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(ConstantTime.equals([UInt8](repeating: 0xAB, count: 32), [UInt8](repeating: 0xAB, count: 32)))
    }

    @Test("detects a difference at any position and in any bit", arguments: 0..<32)
    func detectsEveryPosition(position: Int) {
        let base = [UInt8](repeating: 0x5A, count: 32)
        for bit in 0..<8 {
            var other = base
            other[position] ^= UInt8(1) << bit
            #expect(!ConstantTime.equals(base, other))
        }
    }

    @Test("reports arrays of different lengths as unequal, including prefixes")
    func differentLengths() {
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([], [0]))
        #expect(!ConstantTime.equals([0], []))
    }

    @Test("compares buffers, wherever in memory they start, by length and every byte")
    func buffers() {
        let bytes: [UInt8] = Array("xxBearer-tokenBearer-token".utf8)
        bytes.withUnsafeBytes { all in
            let first = UnsafeRawBufferPointer(rebasing: all[2..<14])
            let second = UnsafeRawBufferPointer(rebasing: all[14..<26])
            #expect(ConstantTime.equals(first, second))
            #expect(!ConstantTime.equals(first, UnsafeRawBufferPointer(rebasing: all[14..<25])))
            #expect(!ConstantTime.equals(UnsafeRawBufferPointer(rebasing: all[1..<13]), second))
            #expect(
                ConstantTime.equals(
                    UnsafeRawBufferPointer(rebasing: all[0..<0]), UnsafeRawBufferPointer(rebasing: all[3..<3])))
        }
    }
}
