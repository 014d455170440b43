import Testing
import TallyCore
@testable import TallyEngine
import TallyTestSupport

@Suite struct DedupIndexTests {
    /// The open-addressing table must agree with a plain dictionary through inserts, growth, voids and prunes.
    @Test func agreesWithADictionaryThroughGrowthAndPruning() {
        var random = SplitMix64(seed: 17)
        var index = DedupIndex()
        var reference: [IdentityHash: (offset: UInt64, time: Timestamp, voided: Bool)] = [:]
        let base = Timestamp(microseconds: 1_794_744_000_000_000)
        let hour: Int64 = 3_600_000_000
        for offset in 0..<20_000 as Range<UInt64> {
            let key = IdentityHash(tenant: TenantID(high: 1, low: UInt64(random.below(4))), id: "e\(random.below(15_000))")
            let time = Timestamp(microseconds: base.microseconds + Int64(random.below(60 * 24)) * hour)
            if reference[key] == nil {
                index.insert(key, offset: offset, time: time, voidable: true)
                reference[key] = (offset, time, false)
            } else if random.chance(1, in: 4) {
                index.markVoided(key)
                reference[key]?.voided = true
            }
        }
        #expect(index.count == reference.count)
        for (key, value) in reference {
            let entry = index[key]
            #expect(entry?.offset == value.offset)
            #expect(((entry?.flags ?? 0) & DedupIndex.Entry.voided != 0) == value.voided)
        }
        #expect(index[IdentityHash(tenant: TenantID(high: 9, low: 9), id: "absent")] == nil)

        let cutoff = Timestamp(microseconds: base.microseconds + 30 * 24 * hour)
        index.prune(before: cutoff)
        let kept = reference.filter { $0.value.time >= cutoff }
        #expect(index.count >= kept.count)
        #expect(index.count <= reference.filter { $0.value.time.microseconds >= cutoff.microseconds - 2 * hour }.count)
        for (key, value) in kept { #expect(index[key]?.offset == value.offset) }

        var copy = DedupIndex()
        index.forEach { key, entry in copy.store(key, entry) }
        #expect(copy == index)
    }
}

@Suite struct DedupIndexBatchTests {
    /// Storing a run (with prefetching, across growth) gives exactly the table of one-by-one stores, later
    /// entries of a key replacing earlier ones; and a copy taken before is untouched (copy on write).
    @Test func runsEqualOneByOneStores() {
        var random = SplitMix64(seed: 23)
        let entries = (0..<60_000 as Range<UInt64>).map { offset -> (key: IdentityHash, entry: DedupIndex.Entry) in
            (IdentityHash(tenant: TenantID(high: 2, low: UInt64(random.below(3))), id: "x\(random.below(40_000))"),
             DedupIndex.Entry(offset: offset, hour: UInt32(offset % 900), flags: UInt8(offset % 2)))
        }
        var single = DedupIndex()
        for item in entries { single.store(item.key, item.entry) }
        var batched = DedupIndex()
        let before = batched
        entries.withUnsafeBufferPointer { batched.store(contentsOf: $0) }
        #expect(batched == single)
        #expect(before.count == 0)
        let copy = batched
        batched.markVoided(entries[0].key)
        #expect(batched != single)
        #expect(copy == single)
    }

    /// A run stored while the table grows or prunes (bulk loads finish that first) gives the table of
    /// one-by-one stores: ids in the old table are replaced, not doubled, and expired ids stay gone.
    @Test(arguments: ["growing", "pruning"])
    func aRunStoredMidMoveEqualsOneByOneStores(move: String) {
        let time = Timestamp(microseconds: 1_794_744_000_000_000)
        var index = DedupIndex()
        var inserted = 0
        func insert(_ id: Int, hoursLater: Int64) {
            index.insert(IdentityHash(tenant: TenantID(high: 3, low: 3), id: "m\(id)"), offset: UInt64(id),
                         time: Timestamp(microseconds: time.microseconds + hoursLater * 3_600_000_000), voidable: true)
        }
        if move == "growing" {
            while !index.isGrowing {
                insert(inserted, hoursLater: 0)
                inserted += 1
            }
        } else {
            for id in 0..<5_000 { insert(id, hoursLater: id < 3_000 ? 0 : 10) }
            inserted = 5_000
            index.prune(before: Timestamp(microseconds: time.microseconds + 5 * 3_600_000_000))
            #expect(index.isGrowing && index.count == 2_000)
        }
        let entries = (0..<2 * inserted).map { id -> (key: IdentityHash, entry: DedupIndex.Entry) in
            (IdentityHash(tenant: TenantID(high: 3, low: 3), id: "m\(id * 3 / 2)"),
             DedupIndex.Entry(offset: UInt64(100_000 + id), hour: 7, flags: 0))
        }
        var single = index
        for item in entries { single.store(item.key, item.entry) }
        entries.withUnsafeBufferPointer { index.store(contentsOf: $0) }
        #expect(index == single)
        #expect(!index.isGrowing)
    }
}

@Suite struct DedupIndexGrowthTests {
    /// While the table grows (a new table takes inserts, each insert moves a few old slots), every id is
    /// found exactly once, duplicates are caught in either table, voids stick through the move, iteration
    /// sees every id once, and a copy taken mid-growth keeps its own contents.
    @Test func everyIdStaysFoundWhileTheTableGrows() {
        var index = DedupIndex()
        var offsets: [IdentityHash: UInt64] = [:]
        var voided: Set<IdentityHash> = []
        var random = SplitMix64(seed: 41)
        let time = Timestamp(microseconds: 1_794_744_000_000_000)
        var sawGrowth = false
        var checkedCopy = false
        for offset in 0..<30_000 as Range<UInt64> {
            let key = IdentityHash(tenant: TenantID(high: 3, low: 4), id: "g\(offset)")
            #expect(index.insertIfAbsent(key, offset: offset, time: time, voidable: true) == nil)
            offsets[key] = offset
            if index.isGrowing {
                sawGrowth = true
                // An id from anywhere in the history: found, and a second insert is a duplicate.
                let earlier = IdentityHash(tenant: TenantID(high: 3, low: 4), id: "g\(random.below(Int(offset) + 1))")
                #expect(index[earlier]?.offset == offsets[earlier])
                #expect(index.insertIfAbsent(earlier, offset: 999_999, time: time, voidable: true)?.offset == offsets[earlier])
                if random.chance(1, in: 8) {
                    index.markVoided(earlier)
                    voided.insert(earlier)
                }
                if !checkedCopy {
                    checkedCopy = true
                    var copy = index
                    var seen = 0
                    copy.forEach { key, entry in
                        seen += 1
                        #expect(offsets[key] == entry.offset)
                    }
                    #expect(seen == offsets.count, "iteration mid-growth sees every id once")
                    let extra = IdentityHash(tenant: TenantID(high: 3, low: 4), id: "copy-only")
                    _ = copy.insertIfAbsent(extra, offset: 1, time: time, voidable: false)
                    #expect(index[extra] == nil)
                    #expect(copy.count == index.count + 1)
                }
            }
        }
        #expect(sawGrowth)
        #expect(index.count == offsets.count)
        for (key, offset) in offsets {
            let entry = index[key]
            #expect(entry?.offset == offset)
            #expect(((entry?.flags ?? 0) & DedupIndex.Entry.voided != 0) == voided.contains(key))
        }
        var rebuilt = DedupIndex()
        index.forEach { key, entry in rebuilt.store(key, entry) }
        #expect(rebuilt == index)
    }

    /// A prune drops expired ids from lookups, iteration and the count at once, while the table drains into a
    /// smaller one a few slots per insert; an expired id can be remembered again.
    @Test func pruneForgetsAtOnceAndDrainsIncrementally() {
        var index = DedupIndex()
        let hour: Int64 = 3_600_000_000
        let base = Timestamp(microseconds: 1_794_744_000_000_000)
        func key(_ number: Int) -> IdentityHash { IdentityHash(tenant: TenantID(high: 5, low: 6), id: "p\(number)") }
        // Ids 0..<20,000: the even ones 40 days old, the odd ones an hour old.
        for number in 0..<20_000 {
            let time = Timestamp(microseconds: base.microseconds - Int64(number % 2 == 0 ? 40 * 24 : 1) * hour)
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: time, voidable: true)
        }
        let tableBytes = index.memoryBytes
        index.prune(before: Timestamp(microseconds: base.microseconds - 35 * 24 * hour))
        #expect(index.isGrowing, "the prune drains incrementally")
        #expect(index.count == 10_000)
        #expect(index[key(2)] == nil && index[key(3)]?.offset == 3)
        var seen = 0
        index.forEach { key, entry in
            seen += 1
            #expect(entry.offset % 2 == 1)
        }
        #expect(seen == 10_000)
        #expect(index.insertIfAbsent(key(4), offset: 40_004, time: base, voidable: true) == nil, "expired ids can come back")
        #expect(index.insertIfAbsent(key(5), offset: 40_005, time: base, voidable: true)?.offset == 5)
        for number in 20_000..<25_000 {
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: base, voidable: true)
        }
        #expect(!index.isGrowing, "the drain finished")
        #expect(index.count == 15_001)
        #expect(index[key(4)]?.offset == 40_004 && index[key(6)] == nil && index[key(7)]?.offset == 7)
        #expect(index.memoryBytes <= tableBytes, "the old table is gone, the new one no larger")
    }
}
