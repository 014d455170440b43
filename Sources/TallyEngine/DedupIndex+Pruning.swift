import TallyCore

// Forgetting ids that left the window: a count of the expired ids, then a drain that drops them.

extension DedupIndex {
    struct PruneScan: Sendable {
        /// The hour (``hour(_:)``) before which ids have expired.
        let limit: UInt64
        /// The next slot to read; the ones before it are counted.
        var next = 0
        /// Expired ids among the slots read.
        var expired = 0
    }

    /// Forgets ids whose event time is before `cutoff`. A sequential pass counts them; when there are some,
    /// the table drains into one sized for the rest (at most 7/16 full), dropping them as it goes, a few
    /// slots per insert like growth. They are gone from lookups, iteration and ``count`` at once.
    package mutating func prune(before cutoff: Timestamp) {
        makeUnique()
        pruneScan = nil
        isPruneOwed = false
        finishDraining()
        let limit = UInt64(DedupIndex.hour(cutoff))
        let slots = UnsafeBufferPointer(start: memory.base, count: capacity)
        let expiredCount = slots.reduce(0) { $0 + (!$1.isEmpty && DedupIndex.expired($1, limit: limit) ? 1 : 0) }
        beginDraining(expired: expiredCount, limit: limit)
    }

    /// Begins a prune that counts the expired ids a few slots per insert (``slotsScannedPerInsert``), then
    /// drains as ``prune(before:)`` does: for live ingest, where no insert may wait for a pass over the
    /// whole table. Ids stay until the count is done, a 32nd of the table's size in inserts (sooner with
    /// ``advancePrune(_:)``); ingest checks each hit's hour meanwhile. Does nothing while the table grows or
    /// a prune is under way.
    /// A table of up to 65,536 slots (1 MiB, read in tens of microseconds) is pruned at once.
    mutating func beginPrune(before cutoff: Timestamp) {
        guard draining == nil, pruneScan == nil else { return }
        isPruneOwed = false
        if capacity <= 1 << 16 {
            prune(before: cutoff)
        } else {
            pruneScan = PruneScan(limit: UInt64(DedupIndex.hour(cutoff)))
        }
    }

    /// Counts up to `slots` more slots for a prune counting its expired ids (besides those each insert
    /// counts), so that it finishes even when few ids arrive.
    mutating func advancePrune(_ slots: Int) {
        if pruneScan != nil { scanSome(slots) }
    }

    /// Counts up to `limit` more slots for the prune under way; at the end, begins its drain.
    mutating func scanSome(_ limit: Int) {
        guard var scan = pruneScan else { return }
        let end = min(capacity, scan.next + limit)
        for slot in UnsafeBufferPointer(start: memory.base + scan.next, count: end - scan.next)
        where !slot.isEmpty && DedupIndex.expired(slot, limit: scan.limit) {
            scan.expired += 1
        }
        scan.next = end
        guard end == capacity else {
            pruneScan = scan
            return
        }
        pruneScan = nil
        beginDraining(expired: scan.expired, limit: scan.limit)
    }

    /// Drains the table into one sized for the ids that remain, dropping the `expired` ids before `limit`.
    mutating func beginDraining(expired expiredCount: Int, limit: UInt64) {
        guard expiredCount > 0 else { return }
        var size = 1024
        while size * 7 / 16 < count - expiredCount { size *= 2 }
        if let old = draining { retire(old) }
        draining = memory
        memory = freshTable(count: size)
        drained = 0
        expiryLimit = limit
        count -= expiredCount
    }
}
