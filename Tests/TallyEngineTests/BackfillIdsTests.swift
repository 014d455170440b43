import TallyCore
import TallyTestSupport
import Testing

@testable import TallyEngine

@Suite struct BackfillIdsTests {
    /// The set keeps the latest ids up to its capacity, forgetting the oldest first, and agrees with a plain
    /// dictionary of the ids still kept, through voids, ids kept again by a later event (whose older slot in
    /// the order then forgets nothing) and growth. Clustered ids share a few home slots, two at the table's
    /// end, so probe runs are long, wrap round and have holes shifted back into them; spread ids with a
    /// capacity past half the first table make it double with ids in it.
    @Test(arguments: [(capacity: 50, clustered: true), (capacity: 3_000, clustered: false)])
    func keepsTheLatestIdsAndAgreesWithADictionary(capacity: Int, clustered: Bool) {
        var random = SplitMix64(seed: 7)
        var ids = BackfillIds(capacity: capacity)
        var reference: [UInt64: BackfillIds.Entry] = [:]
        var order: [(key: UInt64, offset: UInt64)] = []
        let homes: [UInt64] = [0, 1, 2, 4094, 4095]
        let pool = (0..<(clustered ? 120 : 5_000)).map { _ in
            clustered ? (random.next() | 1 << 40) << 12 | random.pick(homes) : random.next() | 1
        }
        for offset in 0..<UInt64(20_000) {
            if offset % 997 == 0 {
                for key in pool { #expect(ids[IdentityHash(key)] == reference[key], "id \(key) at \(offset)") }
            }
            let key = random.pick(pool)
            if random.chance(1, in: 5) {
                ids.markVoided(IdentityHash(key))
                reference[key]?.isVoided = true
                continue
            }
            // Mostly new ids; sometimes one kept already, reused by a later event.
            guard ids[IdentityHash(key)] == nil || random.chance(1, in: 4) else { continue }
            let voidable = random.chance(1, in: 2)
            let time = Timestamp(microseconds: Int64(offset) * 1_000)
            ids.insert(IdentityHash(key), offset: offset, time: time, voidable: voidable)
            reference[key] = BackfillIds.Entry(offset: offset, time: time, isVoidable: voidable, isVoided: false)
            order.append((key, offset))
            if order.count > capacity {
                let evicted = order.removeFirst()
                if reference[evicted.key]?.offset == evicted.offset { reference[evicted.key] = nil }
            }
            #expect(ids.count == reference.count)
        }
        for key in pool {
            #expect(ids[IdentityHash(key)] == reference[key], "id \(key)")
        }
    }
}
