import TallyCore

// Reading the index for a checkpoint in place, while inserts go on.

extension DedupIndex {
    /// A table a checkpoint reads: its slots from `start` on, less those `expiryLimit` expires. Kept alive
    /// by the index (in `memory`, `draining` or `retained`) until ``unpin()``.
    struct PinnedTable: @unchecked Sendable {
        let base: UnsafePointer<Slot>
        let count: Int
        let start: Int
        let expiryLimit: UInt64?
    }

    /// Where a reading of pinned tables stands: the table, and the next slot in it.
    package struct PinCursor: Sendable {
        var table = 0
        var slot: Int?

        /// A cursor at the start of the first pinned table, nothing read yet.
        package init() {}
    }

    /// Starts a checkpoint's reading of the index as it stands, without copying it.
    ///
    /// Copying the table (copy on write, as a snapshot would) made the first insert after a checkpoint
    /// began copy the whole table, hundreds of megabytes, while ingest waited. A pinned index is instead read
    /// in place, a part at a time under the caller's lock, through ``readPinned(_:limit:_:)``, while inserts
    /// go on. That works because no entry is ever moved out of a table or a table freed while pinned: slots
    /// are only filled, or have their entry replaced; a growth or prune still copies entries into a new
    /// table, and tables dropped meanwhile are kept until ``unpin()``. So a reading sees every entry present
    /// when the pin began, perhaps twice (once in each table), and some added later. The caller drops
    /// those by their offset. An entry present at the pin can change in two ways only: an id whose event
    /// left the window is replaced by a new event's (the caller drops it by its offset, and it had expired
    /// anyway); and a void marks its target voided, which the reading undoes for ids voided while pinned
    /// (by hash: an expired id replaced and then voided may read as not voided; it had expired). Entries
    /// moved into the current table while pinned are read from the old one only, once.
    package mutating func pin() {
        var tables = [PinnedTable(base: UnsafePointer(memory.base), count: memory.count, start: 0, expiryLimit: nil)]
        if let draining {
            tables.append(
                PinnedTable(
                    base: UnsafePointer(draining.base), count: draining.count, start: drained,
                    expiryLimit: expiryLimit))
        }
        pinned = tables
        retained = []
        voidedWhilePinned = []
    }

    /// Calls `body` with up to `limit` slots' worth of the entries pinned by ``pin()``, from `cursor` on, as
    /// they stood at the pin (apart from what ``pin()`` says), and moves the cursor past them.
    /// - Returns: Whether entries remain to be read.
    package func readPinned(_ cursor: inout PinCursor, limit: Int, _ body: (IdentityHash, Entry) -> Void) -> Bool {
        guard let pinned else { return false }
        var left = max(1, limit)
        while cursor.table < pinned.count, left > 0 {
            let table = pinned[cursor.table]
            let start = cursor.slot ?? table.start
            let end = min(table.count, start + left)
            let older = cursor.table + 1 < pinned.count ? pinned[cursor.table + 1] : nil
            for slot in UnsafeBufferPointer(start: table.base + start, count: end - start) where !slot.isEmpty {
                if let limit = table.expiryLimit, DedupIndex.expired(slot, limit: limit) { continue }
                // Moved here from the older table after the pin: read there, as it was.
                if let older, DedupIndex.isUnmoved(slot.key, in: older) { continue }
                var entry = DedupIndex.unpack(slot.packed)
                if entry.flags & Entry.voided != 0, voidedWhilePinned.contains(slot.key) {
                    entry.flags &= ~Entry.voided
                }
                body(IdentityHash(slot.key), entry)
            }
            left -= end - start
            if end == table.count {
                cursor.table += 1
                cursor.slot = nil
            } else {
                cursor.slot = end
            }
        }
        return cursor.table < pinned.count
    }

    /// Whether `key` is in the pinned `table` at or after the slot its reading starts at (not yet moved out
    /// when the pin began), and not expired there (then it is not read from there: an id remembered again
    /// in the current table is its own entry). A pinned table loses no entry, so its probe runs as at the pin.
    static func isUnmoved(_ key: UInt64, in table: PinnedTable) -> Bool {
        let mask = table.count - 1
        var index = HomeSlot.index(of: key, mask: mask)
        while true {
            let slot = table.base[index]
            if slot.isEmpty { return false }
            if slot.key == key {
                if let limit = table.expiryLimit, DedupIndex.expired(slot, limit: limit) { return false }
                return index >= table.start
            }
            index = (index + 1) & mask
        }
    }

    /// The number of pinned slots from `cursor` on: at most as many entries as ``readPinned(_:limit:_:)``
    /// still passes.
    package func pinnedSlotsLeft(after cursor: PinCursor) -> Int {
        guard let pinned else { return 0 }
        var left = 0
        for (number, table) in pinned.enumerated() where number >= cursor.table {
            left += table.count - (number == cursor.table ? cursor.slot ?? table.start : table.start)
        }
        return left
    }

    /// Ends the reading begun by ``pin()``.
    /// - Returns: The tables kept for it: drop them after releasing the lock (unmapping hundreds of
    ///   megabytes takes a while).
    package mutating func unpin() -> Retired {
        defer {
            pinned = nil
            retained = []
            voidedWhilePinned = []
        }
        return Retired(tables: retained)
    }

    /// Whether a checkpoint is reading the index in place (between ``pin()`` and ``unpin()``).
    package var isPinned: Bool { pinned != nil }
}
