import TallyCore
import TallyTestSupport
import Testing

@testable import TallyEngine

@Suite struct BackfillIdsTests {
    /// The set keeps the latest events up to its capacity, forgetting the oldest first, and agrees with a
    /// plain dictionary of the events still kept under each id, through voids, ids kept for several events
    /// and growth, in what it lists, the repeat it finds and the void target it picks. Clustered ids share a
    /// few home slots, two at the table's end, so probe runs are long, wrap round and have holes shifted back
    /// into them; spread ids with a capacity past half the first table make it double with ids in it.
    @Test(arguments: [(capacity: 50, clustered: true), (capacity: 3_000, clustered: false)])
    func keepsTheLatestEventsAndAgreesWithADictionary(capacity: Int, clustered: Bool) {
        var random = SplitMix64(seed: 7)
        var ids = BackfillIds(capacity: capacity)
        var reference: [UInt64: [BackfillIds.Entry]] = [:]
        var order: [(key: UInt64, offset: UInt64)] = []
        let homes: [UInt64] = [0, 1, 2, 4094, 4095]
        let pool = (0..<(clustered ? 120 : 5_000)).map { _ in
            clustered ? (random.next() | 1 << 40) << 12 | random.pick(homes) : random.next() | 1
        }
        let width: Int64 = 5_000_000
        func check(_ key: UInt64, at offset: UInt64) {
            let kept = reference[key] ?? []
            #expect(ids.entries(IdentityHash(key)) == kept, "id \(key) at \(offset)")
            let probe = Timestamp(microseconds: Int64(random.below(21_000)) * 1_000)
            let distance = { (entry: BackfillIds.Entry) in
                entry.time.microseconds.distance(to: probe.microseconds).magnitude
            }
            let repeated = ids.entry(IdentityHash(key), within: width, of: probe)
            #expect((repeated == nil) == !kept.contains { distance($0) < width.magnitude }, "id \(key)")
            if let repeated { #expect(kept.contains(repeated) && distance(repeated) < width.magnitude) }
            let nearest = kept.min { a, b in
                distance(a) < distance(b) || (distance(a) == distance(b) && a.offset > b.offset)
            }
            #expect(ids.nearest(IdentityHash(key), to: probe) == nearest, "id \(key) near \(probe.microseconds)")
        }
        for offset in 0..<UInt64(20_000) {
            if offset % 997 == 0 {
                for key in pool { check(key, at: offset) }
            }
            let key = random.pick(pool)
            if random.chance(1, in: 5) {
                guard let kept = reference[key], !kept.isEmpty else { continue }
                let victim = random.below(kept.count)
                ids.markVoided(IdentityHash(key), offset: kept[victim].offset)
                reference[key]?[victim].isVoided = true
                continue
            }
            // Mostly new ids; sometimes one kept already, reused by a later event.
            guard reference[key, default: []].isEmpty || random.chance(1, in: 4) else { continue }
            let voidable = random.chance(1, in: 2)
            let time = Timestamp(microseconds: Int64(offset) * 1_000)
            ids.insert(IdentityHash(key), offset: offset, time: time, voidable: voidable)
            reference[key, default: []].append(
                BackfillIds.Entry(offset: offset, time: time, isVoidable: voidable, isVoided: false))
            if reference[key, default: []].count > BackfillIds.eventsPerId { reference[key]?.removeFirst() }
            order.append((key, offset))
            if order.count > capacity {
                let evicted = order.removeFirst()
                reference[evicted.key]?.removeAll { $0.offset == evicted.offset }
            }
            #expect(ids.count == reference.values.reduce(0) { $0 + $1.count })
        }
        for key in pool { check(key, at: 20_000) }
    }

    /// An id reused by events a window apart keeps each of them: a repeat of the first is still found after
    /// the second came, a void picks the one nearest its time, and marking one voided leaves the other
    /// voidable. Past ``BackfillIds/eventsPerId`` events under one id, the earliest are forgotten.
    @Test func anIdReusedAWindowApartKeepsEachEvent() {
        var ids = BackfillIds(capacity: 1_000)
        let key = IdentityHash(42)
        let day: Int64 = 86_400_000_000
        let width = 35 * day
        ids.insert(key, offset: 0, time: Timestamp(microseconds: 0), voidable: true)
        ids.insert(key, offset: 1, time: Timestamp(microseconds: 92 * day), voidable: true)
        #expect(ids.entry(key, within: width, of: Timestamp(microseconds: 0))?.offset == 0)
        #expect(ids.entry(key, within: width, of: Timestamp(microseconds: 91 * day))?.offset == 1)
        #expect(ids.entry(key, within: width, of: Timestamp(microseconds: 46 * day)) == nil)
        #expect(ids.nearest(key, to: Timestamp(microseconds: day))?.offset == 0)
        #expect(ids.nearest(key, to: Timestamp(microseconds: 93 * day))?.offset == 1)
        // Halfway, the later kept wins.
        #expect(ids.nearest(key, to: Timestamp(microseconds: 46 * day))?.offset == 1)
        ids.markVoided(key, offset: 1)
        #expect(ids.entries(key).map(\.isVoided) == [false, true])
        for offset in 2..<UInt64(100) {
            ids.insert(key, offset: offset, time: Timestamp(microseconds: Int64(offset) * 40 * day), voidable: false)
        }
        #expect(ids.entries(key).map(\.offset) == Array(36..<100))
        #expect(ids.count == BackfillIds.eventsPerId)
        #expect(ids.nearest(IdentityHash(43), to: Timestamp(microseconds: 0)) == nil)
    }
}
