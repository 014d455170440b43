import TallyCore
import Testing

@Suite struct HomeSlotTests {
    /// Hashes that share every low bit, as a client searching ids offline would make them to pile up in one
    /// slot, still spread over the table: their home slots come from every bit, mixed with a secret.
    @Test func hashesSharingTheirLowBitsSpreadOverTheTable() {
        let mask = (1 << 16) - 1
        for shift in [24, 32, 40] as [UInt64] {
            let homes = Set((0..<4_096 as Range<UInt64>).map { HomeSlot.index(of: $0 << shift | 0x5A5A, mask: mask) })
            // 4,096 random picks of 65,536 slots give about 3,970 distinct ones.
            #expect(homes.count > 3_500, "hashes differing only from bit \(shift): \(homes.count) distinct home slots")
        }
    }

    /// Every home slot lies inside the table, whatever its size.
    @Test func homeSlotsStayInsideTheTable() {
        var random = SystemRandomNumberGenerator()
        for bits in 0..<31 {
            let mask = (1 << bits) - 1
            for _ in 0..<64 { #expect((0...mask).contains(HomeSlot.index(of: random.next(), mask: mask))) }
        }
    }
}
