import CTallyShims
import TallyCore

/// The ids of the events backfills accepted with times older than the dedup window, or within ``margin`` of
/// leaving it (which the dedup index does not remember, or may forget while the import runs): within one
/// engine's lifetime (one `tally import`), a repeat of such an event is a duplicate, and an `event.voided`
/// finds such a target, as importing a `tally dump` needs.
///
/// An id may be kept for several events: events more than a window apart may reuse an id (the earlier had
/// left the window before the later came), and a repeat of either is still a duplicate. At most
/// ``eventsPerId`` are kept per id, the latest.
///
/// Bounded: the latest ``capacity`` events are kept and the oldest are forgotten first. An open-addressing
/// table (linear probing, at most half full, 24 bytes a slot; an id kept for several events has a slot for
/// each) indexed by the identity hash itself, which is already mixed, plus the ids and offsets in the order
/// they came (16 bytes each): about 260 MB at most at the default capacity
/// (``EngineConfiguration/backfillRememberedIds``), and about 300 MB for the moment the table doubles.
struct BackfillIds: Sendable {
    /// What is kept per id: the event's offset and time, and whether it can be, or was, voided.
    struct Entry: Sendable, Equatable {
        var offset: UInt64
        var time: Timestamp
        var isVoidable: Bool
        var isVoided: Bool
    }

    /// How far inside the window an event is still kept, in microseconds (a day): the dedup index forgets it
    /// only once the clock has moved on that far, longer than an import runs.
    static let margin: Int64 = 86_400_000_000

    /// The most events kept under one id: a further one forgets the earliest of them. Only an id reused
    /// across more than this many windows' worth of history (several years at the default window) reaches it;
    /// the bound keeps a lookup's probe run short whatever the input.
    static let eventsPerId = 64

    /// The most events kept.
    let capacity: Int
    /// The offset the run began at: events from it on were accepted by this run.
    let firstOffset: UInt64
    /// Slots of (key, packed offset and flags, event time); key 0 marks an empty slot (an id hashing to 0 is
    /// kept as 1).
    private var slots: [(key: UInt64, packed: UInt64, time: Int64)] = []
    /// The ids (as stored keys) with their offsets, in the order they were kept, as a ring once full. An
    /// event forgotten already (the earliest of too many under its id) forgets nothing when its turn comes.
    private var order: [(key: UInt64, offset: UInt64)] = []
    /// Where the next id goes in `order` once it is full: the oldest one.
    private var oldest = 0
    /// How many events are kept.
    private(set) var count = 0

    private static let voidableBit: UInt64 = 1 << 56
    private static let voidedBit: UInt64 = 1 << 57
    private static let offsetMask: UInt64 = (1 << 48) - 1
    private static let initialSlots = 1 << 12

    /// An empty set keeping at most `capacity` events (at least one), for a run beginning at `firstOffset`.
    init(capacity: Int, firstOffset: UInt64 = 0) {
        self.capacity = max(1, capacity)
        self.firstOffset = firstOffset
    }

    /// Whether no id is kept (a lookup then touches no memory).
    var isEmpty: Bool { count == 0 }

    private static func storedKey(_ key: IdentityHash) -> UInt64 { key.value == 0 ? 1 : key.value }

    /// Calls `body` with the index of each slot holding `key`, in probe order.
    private func forEachSlot(of key: UInt64, _ body: (Int) -> Void) {
        guard !slots.isEmpty else { return }
        let mask = slots.count - 1
        var index = HomeSlot.index(of: key, mask: mask)
        // At most half the slots are used, so the run ends.
        while slots[index].key != 0 {
            if slots[index].key == key { body(index) }
            index = (index + 1) & mask
        }
    }

    /// The first empty slot of `key`'s probe run.
    private func emptySlot(for key: UInt64) -> Int {
        let mask = slots.count - 1
        var index = HomeSlot.index(of: key, mask: mask)
        while slots[index].key != 0 { index = (index + 1) & mask }
        return index
    }

    private func entry(at index: Int) -> Entry {
        let slot = slots[index]
        return Entry(
            offset: slot.packed & Self.offsetMask, time: Timestamp(microseconds: slot.time),
            isVoidable: slot.packed & Self.voidableBit != 0, isVoided: slot.packed & Self.voidedBit != 0)
    }

    /// The slot of the event at `offset` kept under `key`, if it is kept.
    private func slot(of key: UInt64, offset: UInt64) -> Int? {
        var found: Int?
        forEachSlot(of: key) { index in
            if slots[index].packed & Self.offsetMask == offset & Self.offsetMask { found = index }
        }
        return found
    }

    /// Starts fetching the slot `key` would be found at, so a lookup a little later finds it in cache.
    /// Changes nothing.
    @inline(__always)
    func prefetch(_ key: IdentityHash) {
        guard !slots.isEmpty else { return }
        let index = HomeSlot.index(of: Self.storedKey(key), mask: slots.count - 1)
        slots.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { tally_prefetch_for_write(base + index) }
        }
    }

    /// Every event kept under `key`, in the order they were kept.
    func entries(_ key: IdentityHash) -> [Entry] {
        var found: [Entry] = []
        forEachSlot(of: Self.storedKey(key)) { found.append(entry(at: $0)) }
        return found.sorted { $0.offset < $1.offset }
    }

    /// The event kept under `key` whose time lies less than `width` microseconds from `time`, if any: the
    /// one an event at `time` under that id repeats.
    func entry(_ key: IdentityHash, within width: Int64, of time: Timestamp) -> Entry? {
        var found: Entry?
        forEachSlot(of: Self.storedKey(key)) { index in
            let distance = slots[index].time.distance(to: time.microseconds).magnitude
            if found == nil, distance < width.magnitude { found = entry(at: index) }
        }
        return found
    }

    /// The event kept under `key` whose time lies nearest to `time` (the later kept, of two as near), if any:
    /// the one a void at `time` retracts.
    func nearest(_ key: IdentityHash, to time: Timestamp) -> Entry? {
        var best: (index: Int, distance: UInt, offset: UInt64)?
        forEachSlot(of: Self.storedKey(key)) { index in
            let distance = slots[index].time.distance(to: time.microseconds).magnitude
            let offset = slots[index].packed & Self.offsetMask
            if let current = best,
                distance > current.distance || (distance == current.distance && offset < current.offset)
            {
                return
            }
            best = (index, distance, offset)
        }
        return best.map { entry(at: $0.index) }
    }

    /// Keeps an event under its id (beside any other event kept under it), forgets the oldest event when
    /// full, and the earliest under the id once it holds ``eventsPerId``.
    /// - Parameters:
    ///   - key: The event's identity.
    ///   - offset: Its offset.
    ///   - time: Its event time.
    ///   - voidable: Whether it can be voided.
    mutating func insert(_ key: IdentityHash, offset: UInt64, time: Timestamp, voidable: Bool) {
        let stored = Self.storedKey(key)
        if order.count == capacity {
            let evicted = order[oldest]
            if let index = slot(of: evicted.key, offset: evicted.offset) { remove(at: index) }
            order[oldest] = (stored, offset)
            oldest = (oldest + 1) % capacity
        } else {
            order.append((stored, offset))
        }
        var kept = 0
        var earliest: (index: Int, offset: UInt64)?
        forEachSlot(of: stored) { index in
            kept += 1
            let keptOffset = slots[index].packed & Self.offsetMask
            if earliest.map({ keptOffset < $0.offset }) ?? true { earliest = (index, keptOffset) }
        }
        if kept >= Self.eventsPerId, let earliest { remove(at: earliest.index) }
        if (count + 1) * 2 > slots.count { grow() }
        count += 1
        slots[emptySlot(for: stored)] = (
            stored, offset & Self.offsetMask | (voidable ? Self.voidableBit : 0), time.microseconds
        )
    }

    /// Records that the event at `offset` kept under `key` was voided.
    mutating func markVoided(_ key: IdentityHash, offset: UInt64) {
        if let index = slot(of: Self.storedKey(key), offset: offset) { slots[index].packed |= Self.voidedBit }
    }

    /// Doubles the table (from a few thousand slots), placing every kept id again.
    private mutating func grow() {
        let old = slots
        slots = Array(repeating: (0, 0, 0), count: max(Self.initialSlots, old.count * 2))
        for slot in old where slot.key != 0 {
            slots[emptySlot(for: slot.key)] = slot
        }
    }

    /// Empties the slot at `index`, shifting later slots of its probe run back so every lookup still finds
    /// its id.
    private mutating func remove(at index: Int) {
        count -= 1
        let mask = slots.count - 1
        var hole = index
        var next = hole
        while true {
            next = (next + 1) & mask
            let moving = slots[next]
            if moving.key == 0 { break }
            // An id may fill the hole when its home slot is not in the stretch (hole, next].
            let home = HomeSlot.index(of: moving.key, mask: mask)
            let homeAfterHole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !homeAfterHole {
                slots[hole] = moving
                hole = next
            }
        }
        slots[hole] = (0, 0, 0)
    }
}
