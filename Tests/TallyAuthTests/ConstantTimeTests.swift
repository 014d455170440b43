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
}
