import CTallyShims
import TallyCore

/// The ids of the events backfills accepted with times older than the dedup window, or within ``margin`` of
/// leaving it (which the dedup index does not remember, or may forget while the import runs): within one
/// engine's lifetime (one `tally import`), a repeat of such an event is a duplicate, and an `event.voided`
/// finds such a target, as importing a `tally dump` needs.
///
/// Bounded: the latest ``capacity`` ids are kept and the oldest are forgotten first. An open-addressing table
/// (linear probing, at most half full, 24 bytes a slot) indexed by the identity hash itself, which is already
/// mixed, plus the ids and offsets in the order they came (16 bytes each): about 260 MB at most at the
/// default capacity (``EngineConfiguration/backfillRememberedIds``), and about 300 MB for the moment the
/// table doubles.
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

    /// The most ids kept.
    let capacity: Int
    /// Slots of (key, packed offset and flags, event time); key 0 marks an empty slot (an id hashing to 0 is
    /// kept as 1).
    private var slots: [(key: UInt64, packed: UInt64, time: Int64)] = []
    /// The ids (as stored keys) with their offsets, in the order they were kept, as a ring once full. An id
    /// kept again (a new event reusing it) appears twice; only the entry with its offset is forgotten.
    private var order: [(key: UInt64, offset: UInt64)] = []
    /// Where the next id goes in `order` once it is full: the oldest one.
    private var oldest = 0
    /// How many ids are kept.
    private(set) var count = 0

    private static let voidableBit: UInt64 = 1 << 56
    private static let voidedBit: UInt64 = 1 << 57
    private static let offsetMask: UInt64 = (1 << 48) - 1
    private static let initialSlots = 1 << 12

    /// An empty set keeping at most `capacity` ids (at least one).
    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Whether no id is kept (a lookup then touches no memory).
    var isEmpty: Bool { count == 0 }

    private static func storedKey(_ key: IdentityHash) -> UInt64 { key.value == 0 ? 1 : key.value }

    /// The slot holding `key`, or the empty slot where it would go.
    private func position(of key: UInt64) -> (index: Int, found: Bool) {
        guard !slots.isEmpty else { return (0, false) }
        let mask = slots.count - 1
        var index = HomeSlot.index(of: key, mask: mask)
        while true {
            let slotKey = slots[index].key
            if slotKey == key { return (index, true) }
            if slotKey == 0 { return (index, false) }
            index = (index + 1) & mask
        }
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

    /// The entry kept for `key`, if any.
    subscript(key: IdentityHash) -> Entry? {
        let (index, found) = position(of: Self.storedKey(key))
        guard found else { return nil }
        let slot = slots[index]
        return Entry(
            offset: slot.packed & Self.offsetMask, time: Timestamp(microseconds: slot.time),
            isVoidable: slot.packed & Self.voidableBit != 0, isVoided: slot.packed & Self.voidedBit != 0)
    }

    /// Keeps an id with its event, replacing what was kept for it (an id reused by a later event), and
    /// forgets the oldest id when full.
    /// - Parameters:
    ///   - key: The event's identity.
    ///   - offset: Its offset.
    ///   - time: Its event time.
    ///   - voidable: Whether it can be voided.
    mutating func insert(_ key: IdentityHash, offset: UInt64, time: Timestamp, voidable: Bool) {
        let stored = Self.storedKey(key)
        if order.count == capacity {
            let evicted = order[oldest]
            let (index, found) = position(of: evicted.key)
            if found && slots[index].packed & Self.offsetMask == evicted.offset & Self.offsetMask {
                remove(at: index)
            }
            order[oldest] = (stored, offset)
            oldest = (oldest + 1) % capacity
        } else {
            order.append((stored, offset))
        }
        if (count + 1) * 2 > slots.count { grow() }
        let (index, found) = position(of: stored)
        if !found { count += 1 }
        slots[index] = (stored, offset & Self.offsetMask | (voidable ? Self.voidableBit : 0), time.microseconds)
    }

    /// Records that the event kept for `key` was voided.
    mutating func markVoided(_ key: IdentityHash) {
        let (index, found) = position(of: Self.storedKey(key))
        if found { slots[index].packed |= Self.voidedBit }
    }

    /// Doubles the table (from a few thousand slots), placing every kept id again.
    private mutating func grow() {
        let old = slots
        slots = Array(repeating: (0, 0, 0), count: max(Self.initialSlots, old.count * 2))
        for slot in old where slot.key != 0 {
            slots[position(of: slot.key).index] = slot
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
