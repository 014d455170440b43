import TallyCore
import TallyTestSupport
import Testing

@testable import TallyEngine

@Suite struct DedupIndexTests {
    /// The open-addressing table must agree with a plain dictionary through inserts, growth, voids and prunes.
    @Test func agreesWithADictionaryThroughGrowthAndPruning() {
        var random = SplitMix64(seed: 17)
        var index = DedupIndex()
        var reference: [IdentityHash: (offset: UInt64, time: Timestamp, voided: Bool)] = [:]
        let base = DedupIndexFixtures.base
        let hour = DedupIndexFixtures.hour
        for offset in 0..<20_000 as Range<UInt64> {
            let key = IdentityHash(
                tenant: TenantID(high: 1, low: UInt64(random.below(4))), id: "e\(random.below(15_000))")
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
            (
                IdentityHash(tenant: TenantID(high: 2, low: UInt64(random.below(3))), id: "x\(random.below(40_000))"),
                DedupIndex.Entry(offset: offset, hour: UInt32(offset % 900), flags: UInt8(offset % 2))
            )
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
        let time = DedupIndexFixtures.base
        var index = DedupIndex()
        var inserted = 0
        func insert(_ id: Int, hoursLater: Int64) {
            index.insert(
                IdentityHash(tenant: TenantID(high: 3, low: 3), id: "m\(id)"), offset: UInt64(id),
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
            (
                IdentityHash(tenant: TenantID(high: 3, low: 3), id: "m\(id * 3 / 2)"),
                DedupIndex.Entry(offset: UInt64(100_000 + id), hour: 7, flags: 0)
            )
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
        let time = DedupIndexFixtures.base
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
                #expect(
                    index.insertIfAbsent(earlier, offset: 999_999, time: time, voidable: true)?.offset
                        == offsets[earlier])
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
        let base = DedupIndexFixtures.base
        // Ids 0..<20,000: the even ones 40 days old, the odd ones an hour old.
        let key = DedupIndexFixtures.insertHalfExpired(20_000, tag: "p", into: &index)
        let tableBytes = index.memoryBytes
        index.prune(before: DedupIndexFixtures.windowStart)
        #expect(index.isGrowing, "the prune drains incrementally")
        #expect(index.count == 10_000)
        #expect(index[key(2)] == nil && index[key(3)]?.offset == 3)
        var seen = 0
        index.forEach { key, entry in
            seen += 1
            #expect(entry.offset % 2 == 1)
        }
        #expect(seen == 10_000)
        #expect(
            index.insertIfAbsent(key(4), offset: 40_004, time: base, voidable: true) == nil, "expired ids can come back"
        )
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

@Suite struct DedupIndexPinTests {
    private func key(_ number: Int) -> IdentityHash {
        IdentityHash(tenant: TenantID(high: 7, low: 8), id: "pin\(number)")
    }

    /// A checkpoint reads a pinned index a part at a time while inserts go on, the table grows twice (its
    /// old tables freed in between but for the pin) and ids are voided: every entry present at the pin is
    /// read as it was then, and entries added later are told apart by their offsets.
    @Test(arguments: [false, true])
    func aPinnedReadingSeesTheIndexAsItWasWhileItChanges(growingAtPin: Bool) {
        let time = DedupIndexFixtures.base
        var index = DedupIndex()
        // 70,000 ids: a table of 2 MiB, mapped, so a table freed too early is unmapped and faults when read.
        // Or, growing at the pin, up to the first id past 7/8 of 131,072 slots.
        var first = 0
        while first < 70_000 || (growingAtPin && !index.isGrowing) {
            _ = index.insertIfAbsent(key(first), offset: UInt64(first), time: time, voidable: true)
            if first % 10 == 0 { index.markVoided(key(first)) }
            first += 1
        }
        #expect(index.isGrowing == growingAtPin)
        var atPin: [IdentityHash: DedupIndex.Entry] = [:]
        index.forEach { atPin[$0] = $1 }
        let pinOffset = UInt64(first)
        index.pin()
        var read: [IdentityHash: [DedupIndex.Entry]] = [:]
        var cursor = DedupIndex.PinCursor()
        var next = first
        var growths = 0
        var wasGrowing = false
        var voidedDuring: Set<Int> = []
        var more = true
        while more {
            for _ in 0..<1_000 {
                _ = index.insertIfAbsent(key(next), offset: UInt64(next), time: time, voidable: true)
                if next % 7 == 0 { index.markVoided(key(next)) }
                next += 1
                if index.isGrowing && !wasGrowing { growths += 1 }
                wasGrowing = index.isGrowing
            }
            // Void some pinned ids: the reading must show them as they were at the pin.
            for number in stride(from: next % 997, to: first, by: 4_999) {
                index.markVoided(key(number))
                voidedDuring.insert(number)
            }
            more = index.readPinned(&cursor, limit: 1_024) { key, entry in
                if entry.offset < pinOffset { read[key, default: []].append(entry) }
            }
        }
        _ = index.unpin()
        #expect(growths >= 1, "the table grew during the reading")
        #expect(!index.isGrowing || growths >= 2, "an old table was dropped during the reading")
        #expect(read.count == atPin.count)
        for (key, entries) in read {
            #expect(entries.allSatisfy { $0 == atPin[key] }, "an entry changed since the pin was read")
            #expect(entries.count == 1, "an entry was read twice")
        }
        // The live index kept every change.
        #expect(index.count == next)
        #expect(voidedDuring.contains { (atPin[key($0)]?.flags ?? 0) & DedupIndex.Entry.voided == 0 })
        for number in voidedDuring { #expect((index[key(number)]?.flags ?? 0) & DedupIndex.Entry.voided != 0) }
    }

    /// A prune begun during live ingest counts the expired ids a few slots per insert, then drains: the ids
    /// stay until the count is done, and the count stays exact when an expired id already counted is
    /// remembered again meanwhile.
    @Test func anIncrementalPruneKeepsTheCountExact() {
        var index = DedupIndex()
        let base = DedupIndexFixtures.base
        // The even ids 40 days old, the odd ones an hour old: 80,000 ids, a table of 131,072 slots (smaller
        // ones are pruned at once).
        let key = DedupIndexFixtures.insertHalfExpired(80_000, tag: "q", into: &index)
        index.beginPrune(before: DedupIndexFixtures.windowStart)
        #expect(index.isBusy && !index.isGrowing, "counting, not yet draining")
        #expect(index.count == 80_000 && index[key(2)] != nil, "nothing is dropped while counting")
        var number = 80_000
        var remembered: Set<Int> = []
        while index.isBusy && number < 200_000 {
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: base, voidable: true)
            // Expired ids come back, some before the count reads their slot and some after.
            if number % 50 == 0 {
                let again = (number / 50) * 2 % 80_000
                index.insert(key(again), offset: UInt64(100_000 + number), time: base, voidable: true)
                remembered.insert(again)
            }
            number += 1
        }
        #expect(!index.isBusy, "the prune finished")
        var seen = 0
        index.forEach { _, _ in seen += 1 }
        #expect(index.count == seen)
        #expect(index.count == 40_000 + remembered.count + (number - 80_000))
        #expect(index[key(4)] == nil || remembered.contains(4))
        #expect(index[key(3)]?.offset == 3)
    }
}

@Suite struct DedupIndexSpareTests {
    /// The table a growth moves into is mapped once the table is 13/16 full and written a page at a time as it
    /// fills, all of it by the growth; the growth then takes it, and every id stays found.
    @Test func theNextTableIsWrittenAheadOfTheGrowth() {
        var index = DedupIndex()
        let time = DedupIndexFixtures.base
        func key(_ number: Int) -> IdentityHash { IdentityHash(tenant: TenantID(high: 9, low: 1), id: "s\(number)") }
        // 1 << 17 slots: a growth at 114,688 ids into a table of 4 MiB.
        index.reserveCapacity(100_000)
        var number = 0
        var progress: [Int] = []
        while !index.isGrowing {
            if number == 106_496 { #expect(index.spareProgress == nil, "no spare up to 13/16") }
            if number % 1_024 == 0, let spare = index.spareProgress { progress.append(spare.written) }
            if let spare = index.spareProgress, (number + 1) * 8 > (1 << 17) * 7 {
                #expect(spare.written >= spare.bytes, "every page of the spare was written before the growth")
            }
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: time, voidable: false)
            number += 1
        }
        #expect(number == 114_689, "the growth came with the id past 7/8")
        #expect(
            progress.count >= 3 && progress == progress.sorted() && progress.first! < progress.last!,
            "written a little at a time")
        #expect(index.spareProgress == nil, "the growth took the spare")
        for checked in stride(from: 0, to: number, by: 97) { #expect(index[key(checked)]?.offset == UInt64(checked)) }
    }
}

@Suite struct DedupIndexPinDuringPruneTests {
    /// Pinned while a prune drains: an expired id remembered again before the pin is read with its new
    /// entry (its expired copy in the old table is not), and no id is read twice.
    @Test func anIdRememberedAgainDuringAPruneIsReadOnce() {
        var index = DedupIndex()
        let base = DedupIndexFixtures.base
        let key = DedupIndexFixtures.insertHalfExpired(20_000, tag: "r", into: &index)
        index.prune(before: DedupIndexFixtures.windowStart)
        #expect(index.isGrowing, "draining")
        // Expired even ids come back before the pin: new entries in the current table.
        for number in stride(from: 0, to: 2_000, by: 2) {
            #expect(
                index.insertIfAbsent(key(number), offset: UInt64(30_000 + number), time: base, voidable: true) == nil)
        }
        var atPin: [IdentityHash: DedupIndex.Entry] = [:]
        index.forEach { atPin[$0] = $1 }
        index.pin()
        var read: [IdentityHash: [DedupIndex.Entry]] = [:]
        var cursor = DedupIndex.PinCursor()
        var next = 40_000
        while index.readPinned(&cursor, limit: 512, { read[$0, default: []].append($1) }) {
            for _ in 0..<200 {
                _ = index.insertIfAbsent(key(next), offset: UInt64(next), time: base, voidable: true)
                next += 1
            }
        }
        _ = index.unpin()
        let early = read.filter { $0.value.contains { $0.offset < 40_000 } }
        #expect(early.count == atPin.count)
        for (key, entries) in early { #expect(entries == [atPin[key]], "read twice or changed") }
        #expect(early[key(0)]?.first?.offset == 30_000)
    }
}

@Suite struct DedupIndexOwedPruneTests {
    /// A growth that starts while a prune is still counting cancels the prune, which is then owed: the engine
    /// begins it again as soon as the growth is over, not at its next turn.
    @Test func aPruneCancelledByAGrowthIsOwed() {
        var index = DedupIndex()
        let base = DedupIndexFixtures.base
        index.reserveCapacity(100_000)
        // Up to just below 7/8 of 131,072 slots, every other id 40 days old.
        let key = DedupIndexFixtures.insertHalfExpired(114_680, tag: "o", into: &index)
        #expect(!index.isGrowing)
        index.beginPrune(before: DedupIndexFixtures.windowStart)
        #expect(index.isBusy && !index.isPruneOwed)
        var number = 114_680
        while !index.isGrowing {
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: base, voidable: false)
            number += 1
        }
        #expect(index.isPruneOwed, "the growth cancelled the counting prune")
        while index.isBusy {
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: base, voidable: false)
            number += 1
        }
        #expect(index.isPruneOwed, "still owed once the growth is over")
        index.beginPrune(before: DedupIndexFixtures.windowStart)
        #expect(!index.isPruneOwed)
        while index.isBusy {
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: base, voidable: false)
            number += 1
        }
        #expect(index[key(0)] == nil && index[key(1)]?.offset == 1, "the owed prune ran")
    }
}

/// Shared set-ups of the dedup tests.
enum DedupIndexFixtures {
    /// An hour in microseconds.
    static let hour: Int64 = 3_600_000_000
    /// The instant the tests' times are counted back from (2026-11-15T12:00:00Z).
    static let base = ReferenceModelTests.now

    /// The start of a 35-day window that ends at ``base``: what the tests prune before.
    static let windowStart = Timestamp(microseconds: base.microseconds - 35 * 24 * hour)

    /// Remembers ids `0..<count`, keyed by `tag` and their number, with their numbers as offsets: the even
    /// ones 40 days before ``base`` (expired by a 35-day window), the odd ones an hour before it.
    /// - Returns: The key of id `number`.
    static func insertHalfExpired(_ count: Int, tag: String, into index: inout DedupIndex) -> (Int) -> IdentityHash {
        let key = { (number: Int) in IdentityHash(tenant: TenantID(high: 5, low: 6), id: "\(tag)\(number)") }
        for number in 0..<count {
            let time = Timestamp(microseconds: base.microseconds - Int64(number % 2 == 0 ? 40 * 24 : 1) * hour)
            _ = index.insertIfAbsent(key(number), offset: UInt64(number), time: time, voidable: true)
        }
        return key
    }
}

@Suite struct DedupIndexDeferredFreeTests {
    /// The live index keeps the tables it stops using for the engine to free after its lock is released;
    /// other indexes free them at once.
    @Test(arguments: [true, false])
    func oldTablesWaitForTheCallerWhenFreesAreDeferred(deferred: Bool) {
        var index = DedupIndex()
        index.defersFrees = deferred
        let time = DedupIndexFixtures.base
        var number = 0
        var grew = false
        while !(grew && !index.isGrowing) {
            _ = index.insertIfAbsent(
                IdentityHash(tenant: TenantID(high: 4, low: 4), id: "d\(number)"),
                offset: UInt64(number), time: time, voidable: false)
            grew = grew || index.isGrowing
            number += 1
        }
        let dropped = index.takeDropped()
        #expect(dropped.count == (deferred ? 1 : 0), "the drained table")
        #expect(index.takeDropped().count == 0, "taken once")
    }

    /// Ids whose hashes share their low 32 bits (a client searching ids offline could make them) do not
    /// pile up in one probe run: the index places them by ``HomeSlot``. Placed by the low bits they would form
    /// one run of all 20,000; placed at random, as the per-process secret places them, the longest run of a
    /// linear-probing table up to 13/16 full is some ln(n) / (α − 1 − ln α) ≈ 480 slots (521 was seen), so the
    /// bound sits well above that and far below the 20,000.
    @Test func hashesSharingTheirLowBitsDoNotFormOneProbeRun() {
        var index = DedupIndex()
        let time = Timestamp(microseconds: 1_000 * 3_600_000_000)
        for id in 1...20_000 as ClosedRange<UInt64> {
            index.insert(IdentityHash(id << 32 | 0x77), offset: id, time: time, voidable: false)
        }
        #expect(index.count == 20_000)
        #expect(index.longestProbeRun < 2_000, "longest run of occupied slots: \(index.longestProbeRun)")
    }

    /// An entry's hour, kept modulo 2^14, is read back as the one nearest the window's start, wherever the
    /// cutoff falls against the wrap: an entry up to the widest window after it, and an event any distance
    /// before it, are near exactly when less than `width` apart, to the hour.
    @Test(arguments: [24_575, 24_576, 32_767, 32_768, 32_769, 40_959, 40_960, 500_000] as [Int64])
    func nearnessReadsWrappedHoursAgainstTheCutoff(cutoffHour: Int64) {
        let hour: Int64 = 3_600_000_000
        let cutoff = Timestamp(microseconds: cutoffHour * hour)
        let width = 35 * 24 * hour
        for entryAfter in [-1, 0, 5, 839, 840, 7_920] as [Int64] {
            let entryTime = Timestamp(microseconds: (cutoffHour + entryAfter) * hour)
            let entry = DedupIndex.Entry(offset: 1, hour: DedupIndex.hour(entryTime), flags: 0)
            for eventBefore in [0, 1, 100, 839, 840, 841, 20_000] as [Int64] {
                let time = Timestamp(microseconds: (cutoffHour - eventBefore) * hour)
                let near = DedupIndex.isNear(entry, time, width: width, cutoff: cutoff)
                #expect(
                    near == ((entryAfter + eventBefore).magnitude < 840),
                    "cutoff hour \(cutoffHour), entry \(entryAfter) h after it, event \(eventBefore) h before")
            }
        }
    }
}
