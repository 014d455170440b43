import CTallyShims
import TallyCore

/// Remembers every accepted event's (tenant, id) for the dedup window, with its offset.
///
/// Entries are kept until their event time falls out of the window (the same window as the backdate limit),
/// so a retry of any event that live ingest could still accept is always caught.
///
/// An open-addressing table with linear probing and 16-byte slots: the 64-bit ``IdentityHash`` and one word
/// packing the offset (48 bits), the event's hour modulo 2^14 (for pruning) and two flags. The hash is already
/// uniform, so its low bits pick the bucket directly, with no per-lookup hashing. The table is between 7/16
/// and 7/8 full, so it holds 18 to 37 bytes per id; with the next table written ahead of a growth and the old
/// one drained after it, 26 to 55, 29 on average over a doubling (`--only dedup-memory`).
///
/// The table grows incrementally: when it is 7/8 full, a table twice the size takes new ids, and every
/// insert moves a few of the old table's slots across until it is empty, so no insert waits for the whole
/// table to be rehashed (a stop of a second at 7M ids, and of seconds at 100M). Meanwhile a lookup tries
/// the new table, then the old one (whose slots already moved are found in the new table first). Both
/// tables are held until the old one is empty, an eighth of its size in inserts after the growth began.
///
/// Ids are compared by their whole hash, so a new id counts as a duplicate only when its hash equals that of
/// one of the ids its lookup probes. A lookup of a new id probes a few slots on average, about 32 when the
/// table is at its fullest (7/8), so the odds are at most about 32 × 2^-64, or 2 × 10^-18, per event: one
/// wrongly dropped event in 5 × 10^17.
package struct DedupIndex: Sendable, Equatable {
    /// What is remembered per id.
    package struct Entry: Sendable, Equatable {
        /// The offset of the accepted event.
        package var offset: UInt64
        /// The event's time in whole hours since the epoch (rounded up), modulo 2^14.
        package var hour: UInt32
        /// Flags: 1 when the event can be voided (an `api.call` or `storage.changed`), 2 once it has been.
        package var flags: UInt8

        static let voidable: UInt8 = 1
        static let voided: UInt8 = 2
    }

    struct Slot: Sendable, Equatable, BitwiseCopyable {
        var key: UInt64
        var packed: UInt64

        var isEmpty: Bool { key == 0 }
        static let empty = Slot(key: 0, packed: 0)
    }

    /// Bits of an entry's offset in a packed slot: 2^48 events, about nine years at a million a second.
    static let offsetBits: UInt64 = 48
    /// Bits of an entry's hour (kept modulo 2^14, about 683 days).
    static let hourBits: UInt64 = 14
    static let hourMask: UInt64 = (1 << hourBits) - 1

    var memory: SlotMemory<Slot>
    /// The table being emptied into `memory` while the table grows, or `nil`.
    var draining: SlotMemory<Slot>?
    /// The next slot of `draining` to move; the ones before it have moved.
    var drained = 0
    /// While pruning: the hour (``hour(_:)``) before which the draining table's ids have expired; they are
    /// dropped instead of moved, and lookups and iteration no longer see them.
    var expiryLimit: UInt64?
    /// Old slots moved per insert while growing: the old table must be empty before the new one is 7/8
    /// full, which takes at least 8/7 moves per insert. The more per insert, the sooner the old table is
    /// freed: both are held meanwhile (55 bytes per id at the doubling, against 26-32 with one table), and
    /// 32 moves keep them for 1/64 of the new table's size in inserts, a few microseconds each.
    static let slotsMovedPerInsert = 32
    /// The table the next growth moves into, mapped once the table is 13/16 full (late, so that it is held
    /// beside the table only briefly) and written a page at a time as inserts bring it to 7/8 (`spareTouched`
    /// bytes so far): the kernel zeroes a fresh page on its first write, and a new table written all at once
    /// by random inserts made the batch after a growth wait for all of it (637 ms for the 512 MiB table of 13M ids). A prune takes it when its new table has the
    /// same size (twice the table: few ids expired), and drops it otherwise.
    var spare: SlotMemory<Slot>?
    var spareTouched = 0
    /// Whether a growth cancelled a prune that was still counting: the engine begins another as soon as the
    /// index is no longer busy, rather than at its next turn (up to a day later).
    var isPruneOwed = false
    /// A prune begun by ``beginPrune(before:)`` counting the expired ids, a few slots per insert.
    var pruneScan: PruneScan?
    /// Slots a prune's count reads per insert: reading the whole table at once (256 MiB at 13M ids) held
    /// ingest for as long.
    static let slotsScannedPerInsert = 32

    /// The number of ids remembered.
    package internal(set) var count = 0
    /// While a checkpoint reads the table (see ``pin()``): the tables it reads, tables dropped meanwhile
    /// (kept until ``unpin()``, since the checkpoint still reads them), and the ids voided meanwhile.
    var pinned: [PinnedTable]?
    var retained: [SlotMemory<Slot>] = []
    var voidedWhilePinned: Set<UInt64> = []

    /// Creates an empty index with room for `minimumCapacity` ids before it first grows.
    package init(minimumCapacity: Int = 1024) {
        var capacity = 1024
        while capacity * 7 / 8 < minimumCapacity { capacity *= 2 }
        memory = SlotMemory(count: capacity)
    }

    var capacity: Int { memory.count }

    /// Equal when both remember the same ids with equal entries, however their tables are laid out.
    package static func == (lhs: DedupIndex, rhs: DedupIndex) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var equal = true
        lhs.forEach { key, entry in
            if equal, rhs[key] != entry { equal = false }
        }
        return equal
    }

    /// Copies the tables first when another value shares them (copy on write).
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&memory) {
            retire(memory)
            memory = memory.copy()
        }
        if draining != nil, !isKnownUniquelyReferenced(&draining), let shared = draining {
            retire(shared)
            draining = shared.copy()
        }
        if spare != nil, !isKnownUniquelyReferenced(&spare) {
            // Two indexes must not grow into one table.
            spare = nil
            spareTouched = 0
        }
    }

    /// Keeps a table this index stops using alive while a checkpoint may still read it.
    @inline(__always)
    mutating func retire(_ table: SlotMemory<Slot>) {
        if pinned != nil {
            retained.append(table)
        } else if defersFrees {
            dropped.append(table)
        }
    }

    /// Whether tables this index stops using are kept for ``takeDropped()`` instead of freed at once: the
    /// live index sets it, so that unmapping an old table (milliseconds for hundreds of megabytes) happens
    /// after the ingest lock is released. Left off for bulk loads, which nobody waits on.
    package var defersFrees = false {
        didSet { if !defersFrees { dropped = [] } }
    }
    var dropped: [SlotMemory<Slot>] = []

    /// The tables this index stopped using since the last call (see ``defersFrees``): drop the result after
    /// releasing the lock.
    package mutating func takeDropped() -> Retired {
        guard !dropped.isEmpty else { return Retired(tables: []) }
        defer { dropped = [] }
        return Retired(tables: dropped)
    }

    /// Tables a pinned index no longer uses, freed with this value.
    package struct Retired: Sendable {
        let tables: [SlotMemory<Slot>]

        /// The number of tables held.
        package var count: Int { tables.count }
    }

    /// The slot key for a hash; the zero key marks empty slots, so it is nudged.
    @inline(__always)
    static func normalized(_ key: IdentityHash) -> UInt64 {
        key.value == 0 ? 1 : key.value
    }

    /// The slot holding `key` in `table`, or the empty slot where it would go.
    @inline(__always)
    static func position(of key: UInt64, in table: SlotMemory<Slot>) -> (index: Int, found: Bool) {
        let mask = table.count - 1
        var index = HomeSlot.index(of: key, mask: mask)
        let slots = table.base
        while true {
            let slot = slots[index]
            if slot.isEmpty { return (index, false) }
            if slot.key == key { return (index, true) }
            index = (index + 1) & mask
        }
    }

    /// Where `key` is: in the current table (`inDraining` false) at `index`, or in the draining table (where
    /// an id a prune has expired no longer counts); when it is in neither, `found` is false and `index` is the
    /// empty slot of the current table where it goes.
    @inline(__always)
    func locate(_ key: IdentityHash) -> (index: Int, found: Bool, inDraining: Bool) {
        let wanted = DedupIndex.normalized(key)
        let (index, found) = DedupIndex.position(of: wanted, in: memory)
        if found { return (index, true, false) }
        if let draining {
            let (oldIndex, oldFound) = DedupIndex.position(of: wanted, in: draining)
            if oldFound && !isExpired(draining.base[oldIndex]) { return (oldIndex, true, true) }
        }
        return (index, false, false)
    }

    /// Whether a slot of the draining table holds an id the running prune has expired.
    @inline(__always)
    func isExpired(_ slot: Slot) -> Bool {
        guard let expiryLimit else { return false }
        return DedupIndex.expired(slot, limit: expiryLimit)
    }

    /// Whether `slot`'s event hour is before `limit`. Hours wrap every 2^14 (about 1.9 years); the window
    /// is far shorter, so "before" is the wrapped difference being positive and small.
    @inline(__always)
    static func expired(_ slot: Slot, limit: UInt64) -> Bool {
        hour((slot.packed >> 2) & DedupIndex.hourMask, isBefore: limit)
    }

    /// Whether `hour` (modulo 2^14) is before `limit`: the wrapped difference is positive and less than half
    /// the cycle. Both are hours rounded up, so an event less than an hour older than the time `limit` stands
    /// for may still be kept (the window holds to the hour), and none at or after that time is dropped.
    @inline(__always)
    static func hour(_ hour: UInt64, isBefore limit: UInt64) -> Bool {
        let age = (limit &- hour) & DedupIndex.hourMask
        return age > 0 && age < (1 << (DedupIndex.hourBits - 1))
    }

    /// The slot of a located key.
    @inline(__always)
    func slot(_ location: (index: Int, found: Bool, inDraining: Bool)) -> UnsafeMutablePointer<Slot> {
        (location.inDraining ? draining ?? memory : memory).base + location.index
    }

    /// The entry for `key`; `nil` when the id was never remembered or has been pruned.
    package subscript(key: IdentityHash) -> Entry? {
        let location = locate(key)
        return location.found ? DedupIndex.unpack(slot(location).pointee.packed) : nil
    }

    /// Remembers an accepted event's id, replacing any entry it has.
    /// - Parameters:
    ///   - key: The ``IdentityHash`` of the event's tenant and id.
    ///   - offset: The event's offset in the log.
    ///   - time: The event time, which decides when a prune forgets the id.
    ///   - voidable: Whether an `event.voided` may retract the event.
    package mutating func insert(_ key: IdentityHash, offset: UInt64, time: Timestamp, voidable: Bool) {
        store(key, Entry(offset: offset, hour: DedupIndex.hour(time), flags: voidable ? Entry.voidable : 0))
    }

    /// Asks the CPU to fetch the slot where a probe for `key` starts, so that a lookup or insert of it a
    /// little later finds it in cache. Changes nothing.
    @inline(__always)
    package func prefetch(_ key: IdentityHash) {
        let index = HomeSlot.index(of: DedupIndex.normalized(key), mask: capacity - 1)
        tally_prefetch_for_write(memory.base + index)
    }

    /// Remembers `key` unless it is already known.
    /// - Returns: The existing entry when `key` was already remembered (nothing changes), else `nil`.
    package mutating func insertIfAbsent(
        _ key: IdentityHash, offset: UInt64, time: Timestamp,
        voidable: Bool
    ) -> Entry? {
        let existing = locate(key)
        if existing.found { return DedupIndex.unpack(slot(existing).pointee.packed) }
        makeUnique()
        var index = existing.index
        if draining != nil || pruneScan != nil || count * 16 > capacity * 13 {
            let wasDraining = draining != nil
            let table = memory.base
            prepareInsert()
            // Moving slots may fill the place found, and a growth or prune replaces the table: probe again
            // then (writing the spare or counting for a prune changes neither).
            if wasDraining || draining != nil || memory.base != table {
                index = DedupIndex.position(of: DedupIndex.normalized(key), in: memory).index
            }
        }
        let entry = Entry(offset: offset, hour: DedupIndex.hour(time), flags: voidable ? Entry.voidable : 0)
        memory.base[index] = Slot(key: DedupIndex.normalized(key), packed: DedupIndex.pack(entry))
        count += 1
        return nil
    }

    /// Inserts or replaces an entry as it is (checkpoint loading).
    package mutating func store(_ key: IdentityHash, _ entry: Entry) {
        makeUnique()
        let existing = locate(key)
        if existing.found {
            let target = slot(existing)
            let replacement = Slot(key: target.pointee.key, packed: DedupIndex.pack(entry))
            // A prune's count already read this slot as expired, and it no longer is: uncount it. (While a
            // prune counts, nothing drains, so the slot is in the current table.)
            if var scan = pruneScan, !existing.inDraining, existing.index < scan.next,
                DedupIndex.expired(target.pointee, limit: scan.limit),
                !DedupIndex.expired(replacement, limit: scan.limit)
            {
                scan.expired -= 1
                pruneScan = scan
            }
            target.pointee = replacement
            return
        }
        prepareInsert()
        let (index, _) = DedupIndex.position(of: DedupIndex.normalized(key), in: memory)
        memory.base[index] = Slot(key: DedupIndex.normalized(key), packed: DedupIndex.pack(entry))
        count += 1
    }

    /// Inserts or replaces many entries (replay and checkpoint loading), fetching each one's slot from
    /// memory a few entries ahead: in a large table nearly every insert misses the cache, and overlapping
    /// those misses is most of the cost.
    ///
    /// A bulk load has nobody waiting on single inserts: a growth or prune under way is finished first, and
    /// the table is sized for all the entries at once, so each one takes a single probe of one table.
    package mutating func store(contentsOf entries: UnsafeBufferPointer<(key: IdentityHash, entry: Entry)>) {
        makeUnique()
        if pruneScan != nil { isPruneOwed = true }
        pruneScan = nil
        finishDraining()
        reserveCapacity(count + entries.count)
        let mask = capacity - 1
        let slots = memory.base
        let distance = 16
        var added = 0
        for index in entries.indices {
            if index + distance < entries.count { prefetch(entries[index + distance].key) }
            let key = DedupIndex.normalized(entries[index].key)
            let packed = DedupIndex.pack(entries[index].entry)
            var position = HomeSlot.index(of: key, mask: mask)
            while true {
                let slot = slots[position]
                if slot.isEmpty {
                    slots[position] = Slot(key: key, packed: packed)
                    added += 1
                    break
                }
                if slot.key == key {
                    slots[position].packed = packed
                    break
                }
                position = (position + 1) & mask
            }
        }
        count += added
    }

    mutating func markVoided(_ key: IdentityHash) {
        guard locate(key).found else { return }
        makeUnique()
        let target = slot(locate(key))
        if pinned != nil, target.pointee.packed & UInt64(Entry.voided) == 0 {
            voidedWhilePinned.insert(DedupIndex.normalized(key))
        }
        target.pointee.packed |= UInt64(Entry.voided)
    }

    /// Whether the table grows, or a prune counts or drains.
    package var isBusy: Bool { draining != nil || pruneScan != nil }

    /// Calls `body` with every remembered id and its entry, in table order.
    package func forEach(_ body: (IdentityHash, Entry) -> Void) {
        for slot in UnsafeBufferPointer(start: memory.base, count: capacity) where !slot.isEmpty {
            body(IdentityHash(slot.key), DedupIndex.unpack(slot.packed))
        }
        if let draining {
            for slot in UnsafeBufferPointer(start: draining.base + drained, count: draining.count - drained)
            where !slot.isEmpty && !isExpired(slot) {
                body(IdentityHash(slot.key), DedupIndex.unpack(slot.packed))
            }
        }
    }

    /// The longest run of occupied slots in the current table: how far a probe may have to walk (for tests
    /// of the table's spread).
    var longestProbeRun: Int {
        var longest = 0
        var run = 0
        for index in 0..<memory.count {
            run = memory.base[index].isEmpty ? 0 : run + 1
            longest = max(longest, run)
        }
        return longest
    }

    /// Bytes the tables occupy (both while the table grows).
    package var memoryBytes: Int { (capacity + (draining?.count ?? 0)) * MemoryLayout<Slot>.stride + spareTouched }

    @inline(__always)
    static func pack(_ entry: Entry) -> UInt64 {
        assert(entry.offset < 1 << offsetBits, "offset \(entry.offset) does not fit a packed dedup entry")
        return (entry.offset << (hourBits + 2)) | (UInt64(entry.hour) & hourMask) << 2 | UInt64(entry.flags & 3)
    }

    @inline(__always)
    static func unpack(_ packed: UInt64) -> Entry {
        Entry(offset: packed >> (hourBits + 2), hour: UInt32((packed >> 2) & hourMask), flags: UInt8(packed & 3))
    }

    /// Whether `entry`'s event time is before `time` by more than the hour's rounding: the id has left the
    /// window, though no prune may have dropped it yet. Ingest checks this on every hit, so the window holds
    /// to the hour however long ago the last prune ran.
    package static func isExpired(_ entry: Entry, before time: Timestamp) -> Bool {
        hour(UInt64(entry.hour), isBefore: UInt64(hour(time)))
    }

    /// Whether an event at `time` is remembered by an index whose window starts at `cutoff`: by the rule, to
    /// the hour, by which ``isExpired(_:before:)`` later forgets it, so live ingest, a checkpoint reloaded and
    /// a full replay remember exactly the same ids. Counted in whole hours, not modulo 2^14, so an event
    /// years old is never taken for a recent one.
    package static func remembers(_ time: Timestamp, cutoff: Timestamp) -> Bool {
        hoursRoundedUp(cutoff) - hoursRoundedUp(time) <= 0
    }

    /// Whether `entry`'s event time lies less than `width` microseconds from `time`, to the hour: how a
    /// backfill tells a repeat of an id in the window (near) from an older event whose id was reused after
    /// it left the window (far, so a new event, as live ingest would have found). `entry` must not be
    /// expired before `cutoff`: its hour, kept modulo 2^14, is read as the one within 2^13 hours of the
    /// cutoff's, where every unexpired entry lies (the window is at most 330 days, 7,920 hours).
    package static func isNear(_ entry: Entry, _ time: Timestamp, width: Int64, cutoff: Timestamp) -> Bool {
        let reference = hoursRoundedUp(cutoff)
        let span = Int64(hourMask) + 1
        let delta = (Int64(entry.hour) - reference % span + span + span / 2) % span - span / 2
        let hours = (reference + delta).subtractingReportingOverflow(hoursRoundedUp(time))
        return !hours.overflow && hours.partialValue.magnitude < UInt64(width.magnitude / 3_600_000_000)
    }

    static func hour(_ time: Timestamp) -> UInt32 {
        UInt32(truncatingIfNeeded: hoursRoundedUp(time)) & UInt32(hourMask)
    }

    static func hoursRoundedUp(_ time: Timestamp) -> Int64 {
        (time.microseconds + 3_599_999_999) / 3_600_000_000
    }
}
