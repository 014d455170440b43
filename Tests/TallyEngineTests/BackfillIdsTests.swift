import TallyCore
import TallyTestSupport
import Testing

@testable import TallyEngine

@Suite struct BackfillIdsTests {
    /// The set keeps the latest ids up to its capacity, forgetting the oldest first, and agrees with a plain
    /// dictionary of the ids still kept, through voids and ids forgotten and kept again. The ids share a few
    /// home slots, two of them at the table's end, so probe runs are long, wrap round, and have holes shifted
    /// back into them as the oldest ids are forgotten.
    @Test func keepsTheLatestIdsAndAgreesWithADictionary() {
        var random = SplitMix64(seed: 7)
        let capacity = 50
        var ids = BackfillIds(capacity: capacity)
        var reference: [UInt64: BackfillIds.Entry] = [:]
        var order: [UInt64] = []
        let homes: [UInt64] = [0, 1, 2, 4094, 4095]
        let pool = (0..<120).map { _ in (random.next() | 1 << 40) << 12 | random.pick(homes) }
        for offset in 0..<UInt64(20_000) {
            if offset % 97 == 0 {
                for key in pool { #expect(ids[IdentityHash(key)] == reference[key], "id \(key) at \(offset)") }
            }
            let key = random.pick(pool)
            if random.chance(1, in: 5) {
                ids.markVoided(IdentityHash(key))
                reference[key]?.isVoided = true
                continue
            }
            guard ids[IdentityHash(key)] == nil else { continue }
            let voidable = random.chance(1, in: 2)
            ids.insert(IdentityHash(key), offset: offset, voidable: voidable)
            reference[key] = BackfillIds.Entry(offset: offset, isVoidable: voidable, isVoided: false)
            order.append(key)
            if order.count > capacity {
                reference[order.removeFirst()] = nil
            }
            #expect(ids.count == reference.count)
        }
        for key in pool {
            #expect(ids[IdentityHash(key)] == reference[key], "id \(key)")
        }
    }
}
