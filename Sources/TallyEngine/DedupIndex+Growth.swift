import CTallyShims
import TallyCore

// Growing the table incrementally: the spare table written ahead, and the old table drained a few slots per insert.

extension DedupIndex {
    /// Maps the spare table once the table is 13/16 full, and writes as many of its pages as the fill since
    /// then calls for, so that all are written by the time it is 7/8 full.
    @inline(__always)
    mutating func prepareSpare() {
        guard draining == nil, count * 16 > capacity * 13 else { return }
        if spare == nil {
            spare = SlotMemory(count: capacity * 2)
            spareTouched = 0
        }
        guard let spare else { return }
        // The spare's bytes are 32 × capacity; the fill goes from 13/16 to 7/8 over 1/16 × capacity ids.
        let bytes = spare.count * MemoryLayout<Slot>.stride
        let wanted = min(bytes, MemoryLayout<Slot>.stride * 2 * (count * 16 - capacity * 13) + 4096)
        let raw = UnsafeMutableRawPointer(spare.base)
        while spareTouched < wanted {
            raw.storeBytes(of: 0, toByteOffset: spareTouched, as: UInt8.self)
            spareTouched += 4096
        }
    }

    /// A zeroed table of `count` slots: the spare when it has that size, else a new one.
    mutating func freshTable(count: Int) -> SlotMemory<Slot> {
        defer {
            spare = nil
            spareTouched = 0
        }
        if let spare, spare.count == count { return spare }
        return SlotMemory(count: count)
    }

    /// Grows the table at once (no incremental growth) so `capacity` ids fit without further growth: for
    /// bulk loads, where nobody waits for single inserts.
    package mutating func reserveCapacity(_ capacity: Int) {
        guard capacity * 8 > self.capacity * 7 else { return }
        makeUnique()
        finishDraining()
        while capacity * 8 > self.capacity * 7 { grow() }
    }

    /// Makes room for one more id: starts growing when the table is 7/8 full, and moves a few old slots
    /// while it grows.
    @inline(__always)
    mutating func prepareInsert() {
        if draining != nil { drainSome(DedupIndex.slotsMovedPerInsert) }
        if pruneScan != nil { scanSome(DedupIndex.slotsScannedPerInsert) }
        prepareSpare()
        if (count + 1) * 8 > capacity * 7 {
            // (`count` leaves out the expired ids a prune has yet to drop: they never reach this table.)
            // Growing again before the last growth finished (it cannot, at 8 moves per insert, but a bulk
            // store may) first finishes it. A prune still counting gives way, and is owed.
            if pruneScan != nil { isPruneOwed = true }
            pruneScan = nil
            finishDraining()
            beginGrowth()
        }
    }

    /// Starts moving the table into one twice the size (an earlier move must be finished).
    mutating func beginGrowth() {
        if let old = draining { retire(old) }
        draining = memory
        memory = freshTable(count: capacity * 2)
        drained = 0
    }

    /// Moves up to `limit` slots of the draining table into the current one (dropping ids a prune has
    /// expired). The old slots are read in order and land at random; a long run (a whole table moved at
    /// once) fetches each landing slot 16 entries ahead, which took a third off its time.
    mutating func drainSome(_ limit: Int) {
        guard let old = draining else { return }
        let end = min(old.count, drained + limit)
        let mask = memory.count - 1
        let slots = memory.base
        let distance = 16
        if end - drained <= 4 * distance {
            for position in drained..<end {
                let slot = old.base[position]
                if !slot.isEmpty && !isExpired(slot) { DedupIndex.place(slot, in: slots, mask: mask) }
            }
        } else {
            withUnsafeTemporaryAllocation(of: Slot.self, capacity: distance) { queue in
                // A ring of the last `distance` slots whose landing place has been asked for.
                var head = 0
                var queued = 0
                for position in drained..<end {
                    let slot = old.base[position]
                    guard !slot.isEmpty, !isExpired(slot) else { continue }
                    tally_prefetch_for_write(slots + HomeSlot.index(of: slot.key, mask: mask))
                    if queued == distance {
                        DedupIndex.place(queue[head], in: slots, mask: mask)
                        queue[head] = slot
                        head = (head + 1) % distance
                    } else {
                        queue[queued] = slot
                        queued += 1
                    }
                }
                for offset in 0..<queued { DedupIndex.place(queue[(head + offset) % distance], in: slots, mask: mask) }
            }
        }
        drained = end
        if end == old.count {
            retire(old)
            draining = nil
            expiryLimit = nil
        }
    }

    /// Stores a slot whose key is in no slot of `slots` at the first empty place of its probe.
    @inline(__always)
    static func place(_ slot: Slot, in slots: UnsafeMutablePointer<Slot>, mask: Int) {
        var index = HomeSlot.index(of: slot.key, mask: mask)
        while !slots[index].isEmpty { index = (index + 1) & mask }
        slots[index] = slot
    }

    mutating func finishDraining() {
        if let old = draining { drainSome(old.count) }
    }

    /// The spare table's bytes written so far and its size, if one is mapped (tests).
    var spareProgress: (written: Int, bytes: Int)? {
        spare.map { (spareTouched, $0.count * MemoryLayout<Slot>.stride) }
    }

    /// Whether the table is moving slots into a larger one (tests).
    var isGrowing: Bool { draining != nil }

    /// Doubles the table at once (bulk loads).
    mutating func grow() {
        finishDraining()
        beginGrowth()
        finishDraining()
    }
}
