import CTallyShims
import TallyCore

/// Every tenant's projection, found by tenant id in one probe of a compact index.
///
/// A stats read must cost the same at a million tenants as at a thousand, so the layout is chosen for
/// cache and TLB misses rather than generality: an open-addressing index of 8-byte slots (32 bits of the
/// id's hash and the position) and the ids and projections in insertion order, all in huge-page backed
/// memory. A lookup is one multiply-xorshift of the id and usually one index slot, then the id and the
/// projection at that position, fetched together: two cache misses when cold, where a `Dictionary` also pays
/// for SipHash and a separate key array. The index of a million tenants takes 16 MiB, a third of what slots
/// holding the whole id took (it does not stay cached under random reads either way).
///
/// Tenants are never removed (a deleted tenant keeps its record). Iteration is in insertion order. Copies
/// share storage until one of them is written (copy on write), like the standard collections.
public struct TenantTable: Sendable {
    /// An index slot: the upper 32 bits of the id's hash, then the projection's position plus one (0 marks
    /// an empty slot). A matching tag is confirmed against the stored id.
    struct Slot: BitwiseCopyable {
        var bits: UInt64

        static let empty = Slot(bits: 0)

        init(bits: UInt64) {
            self.bits = bits
        }

        init(tag: UInt32, position: Int) {
            bits = UInt64(tag) << 32 | UInt64(truncatingIfNeeded: position + 1)
        }

        var isEmpty: Bool { bits & 0xFFFF_FFFF == 0 }
        var tag: UInt32 { UInt32(truncatingIfNeeded: bits >> 32) }
        var position: Int { Int(truncatingIfNeeded: bits & 0xFFFF_FFFF) - 1 }
    }

    /// Positions must fit the slot's 32 bits.
    static let maximumCount = Int(UInt32.max) - 1

    private var ids: ElementStorage<TenantID>
    private var projections: ElementStorage<TenantProjection>
    private var index: SlotMemory<Slot>
    /// A checkpoint's capture in progress, or `nil`.
    private var capture: Capture?

    /// Scrambles tenant ids per process, so ids chosen to collide in the index cannot be prepared in advance.
    private static let seed = UInt64.random(in: 1...UInt64.max)

    /// An empty table.
    public init() {
        ids = ElementStorage(capacity: 16)
        projections = ElementStorage(capacity: 16)
        index = SlotMemory(count: 32)
    }

    /// The number of tenants.
    public var count: Int { ids.count }

    /// Whether the table has no tenants.
    public var isEmpty: Bool { ids.count == 0 }

    /// The tenants' ids, in insertion order.
    public var keys: [TenantID] { Array(UnsafeBufferPointer(start: ids.base, count: ids.count)) }

    /// The id's hash: its low bits pick the bucket, its upper 32 bits are the slot's tag.
    @inline(__always)
    static func hash(_ tenant: TenantID) -> UInt64 {
        var mixed = (tenant.high ^ seed) &* 0x9E37_79B9_7F4A_7C15 ^ tenant.low
        mixed ^= mixed >> 29
        mixed = mixed &* 0xBF58_476D_1CE4_E5B9
        mixed ^= mixed >> 32
        return mixed
    }

    @inline(__always)
    private static func bucket(_ hash: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: hash) & mask
    }

    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: hash >> 32)
    }

    /// The index slot holding `tenant`, or the empty slot where it would go.
    @inline(__always)
    private func slot(of tenant: TenantID) -> (slot: Int, position: Int?) {
        let mask = index.count - 1
        let hash = TenantTable.hash(tenant)
        let tag = TenantTable.tag(hash)
        var slot = TenantTable.bucket(hash, mask: mask)
        let slots = index.base
        while true {
            let entry = slots[slot]
            if entry.isEmpty { return (slot, nil) }
            if entry.tag == tag {
                let position = entry.position
                if ids.base[position] == tenant { return (slot, position) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The position of `tenant`'s projection, for ``subscript(position:)``; `nil` when it has none.
    public func index(forKey tenant: TenantID) -> Int? {
        slot(of: tenant).position
    }

    /// The id of the tenant at `position` (positions run from 0 to ``count`` in insertion order).
    public func key(at position: Int) -> TenantID {
        precondition(position >= 0 && position < ids.count, "tenant position out of range")
        return ids.base[position]
    }

    /// The projection at a position from ``index(forKey:)``, read in place without copying it.
    public subscript(position position: Int) -> TenantProjection {
        _read {
            precondition(position >= 0 && position < projections.count, "tenant position out of range")
            yield projections.base[position]
        }
    }

    /// Runs `body` with a pointer to `tenant`'s projection in place, or returns `nil` when it has none.
    /// Reading fields through the pointer copies only those fields; the pointer is valid only in `body`.
    @inline(__always)
    public func withProjection<T>(_ tenant: TenantID, _ body: (UnsafePointer<TenantProjection>) throws -> T) rethrows
        -> T?
    {
        guard let position = slot(of: tenant).position else { return nil }
        return try body(projections.base + position)
    }

    /// A copy of `tenant`'s projection, or `nil` when it has none.
    public subscript(tenant: TenantID) -> TenantProjection? {
        guard let position = slot(of: tenant).position else { return nil }
        return projections.base[position]
    }

    /// Asks the CPU to fetch the index slot where a lookup of `tenant` starts. Changes nothing.
    @inline(__always)
    public func prefetch(_ tenant: TenantID) {
        tally_prefetch_for_write(index.base + TenantTable.bucket(TenantTable.hash(tenant), mask: index.count - 1))
    }

    /// Runs `body` on `tenant`'s projection in place, creating an empty one first when it has none.
    @inline(__always)
    public mutating func modify<T>(_ tenant: TenantID, _ body: (inout TenantProjection) throws -> T) rethrows -> T {
        let (slot, found) = slot(of: tenant)
        let position: Int
        if let found {
            // Only the projections are written: the ids and the index may stay shared.
            if !isKnownUniquelyReferenced(&projections) { projections = projections.copy() }
            if capture != nil { saveForCapture(found) }
            position = found
        } else {
            makeUnique()
            position = insert(tenant, TenantProjection(), at: slot)
        }
        return try body(&projections.base[position])
    }

    /// Stores `projection` as `tenant`'s, replacing any it had.
    public mutating func set(_ projection: TenantProjection, for tenant: TenantID) {
        modify(tenant) { $0 = projection }
    }

    /// Makes room for `capacity` tenants without growing.
    public mutating func reserveCapacity(_ capacity: Int) {
        makeUnique()
        ids.reserve(capacity)
        projections.reserve(capacity)
        if capacity * 8 > index.count * 7 { rebuildIndex(minimumCapacity: capacity) }
    }

    private mutating func insert(_ tenant: TenantID, _ projection: TenantProjection, at slot: Int) -> Int {
        let position = ids.count
        precondition(position < TenantTable.maximumCount, "more than \(TenantTable.maximumCount) tenants")
        ids.append(tenant)
        projections.append(projection)
        index.base[slot] = Slot(tag: TenantTable.tag(TenantTable.hash(tenant)), position: position)
        if ids.count * 8 > index.count * 7 { rebuildIndex(minimumCapacity: ids.count * 2) }
        return position
    }

    /// Replaces the index by one with room for `minimumCapacity` tenants at most 7/8 full.
    private mutating func rebuildIndex(minimumCapacity: Int) {
        var size = 32
        while size * 7 / 8 < minimumCapacity { size *= 2 }
        index = SlotMemory(count: size)
        let mask = size - 1
        for position in 0..<ids.count {
            let hash = TenantTable.hash(ids.base[position])
            var slot = TenantTable.bucket(hash, mask: mask)
            while !index.base[slot].isEmpty { slot = (slot + 1) & mask }
            index.base[slot] = Slot(tag: TenantTable.tag(hash), position: position)
        }
    }

    // MARK: - Capture for a checkpoint

    /// A checkpoint's view of the table as it stood when the capture began, taken a chunk at a time so that
    /// neither a checkpoint nor the writer beside it ever copies the whole table.
    ///
    /// Copying the table whole (copy on write, as a snapshot would) cost the first apply after a checkpoint
    /// began over a second at a million tenants, with stats reads waiting on the lock meanwhile, and twice
    /// the memory. Instead the checkpoint copies ``captureChunkSize`` projections at a time (a short hold of
    /// the lock), and the writer, before it first changes a projection the checkpoint has not taken yet,
    /// keeps a copy of it as it was: one copy of each projection per checkpoint, by whichever side gets
    /// there first. (Saving whole chunks instead would not spread the cost: a batch of events of random
    /// tenants touches nearly every chunk of a million tenants.)
    struct Capture {
        /// Tenants when the capture began; later ones are not part of it.
        let count: Int
        /// The next position the checkpoint takes; the ones before it are taken.
        var next = 0
        /// Projections the writer changed before the checkpoint took them, as they were.
        let saved = ElementStorage<TenantProjection>(capacity: 16)
        /// By position: 1 + the index in `saved` of the position's projection, or 0 when none was saved.
        /// (Not a dictionary: growing one moves every value, hundreds of megabytes under the lock.)
        let savedIndex: SlotMemory<UInt32>

        init(count: Int) {
            self.count = count
            savedIndex = SlotMemory(count: count)
        }
    }

    /// Projections per captured chunk: a copy of one takes the lock for tens of microseconds.
    static let captureChunkSize = 1024

    /// Tenants and projections in insertion order, as they stood when a capture began.
    public struct CapturedTenants: Sendable {
        /// The chunk's tenant ids, in insertion order.
        public var ids: [TenantID]
        /// Their projections as they stood when the capture began, at the same positions.
        public var projections: [TenantProjection]
    }

    /// Begins a capture of the table as it stands (ending any capture under way).
    ///
    /// The capture belongs to this table value: a copy made while it runs shares its saved projections, so
    /// end the capture in the copy (``endCapture()``) before changing the copy.
    /// - Returns: The number of tenants captured.
    @discardableResult
    public mutating func beginCapture() -> Int {
        capture = Capture(count: count)
        return count
    }

    /// The next chunk of the capture, in insertion order; `nil` once every chunk was returned (then end the
    /// capture with ``endCapture()``).
    public mutating func nextCapturedChunk() -> CapturedTenants? {
        guard var current = capture else { return nil }
        let start = current.next
        guard start < current.count else { return nil }
        let end = Swift.min(start + TenantTable.captureChunkSize, current.count)
        let ids = Array(UnsafeBufferPointer(start: self.ids.base + start, count: end - start))
        var projections = Array(UnsafeBufferPointer(start: self.projections.base + start, count: end - start))
        if current.saved.count > 0 {
            for position in start..<end where current.savedIndex.base[position] != 0 {
                // Swapped out, so the saved copy's tables are freed as the checkpoint goes.
                swap(&projections[position - start], &current.saved.base[Int(current.savedIndex.base[position]) - 1])
            }
        }
        current.next = end
        capture = current
        return CapturedTenants(ids: ids, projections: projections)
    }

    /// Ends the capture, taken whole or not.
    /// - Returns: What the capture kept: drop it after releasing any lock held (freeing many saved
    ///   projections takes a while).
    public mutating func endCapture() -> CaptureLeftovers {
        defer { capture = nil }
        return CaptureLeftovers(capture: capture)
    }

    /// What an ended capture kept, freed with this value.
    public struct CaptureLeftovers: Sendable {
        fileprivate let capture: Capture?
    }

    /// Keeps the projection at `position` as it stands, if a capture still needs it and has no copy yet.
    private func saveForCapture(_ position: Int) {
        guard let current = capture, position >= current.next, position < current.count,
            current.savedIndex.base[position] == 0
        else { return }
        current.saved.append(projections.base[position])
        current.savedIndex.base[position] = UInt32(truncatingIfNeeded: current.saved.count)
    }

    /// Copies the storage first when another table shares it.
    @inline(__always)
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&projections) { projections = projections.copy() }
        if !isKnownUniquelyReferenced(&ids) { ids = ids.copy() }
        if !isKnownUniquelyReferenced(&index) { index = index.copy() }
    }
}

extension TenantTable: Sequence {
    /// Iterates tenants and copies of their projections in insertion order.
    public struct Iterator: IteratorProtocol {
        let table: TenantTable
        var position = 0

        public mutating func next() -> (key: TenantID, value: TenantProjection)? {
            guard position < table.count else { return nil }
            defer { position += 1 }
            return (table.ids.base[position], table.projections.base[position])
        }
    }

    public func makeIterator() -> Iterator { Iterator(table: self) }

    public var underestimatedCount: Int { count }
}

extension TenantTable: Equatable {
    /// Two tables are equal when they hold the same tenants with equal projections, in any order.
    public static func == (lhs: TenantTable, rhs: TenantTable) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for position in 0..<lhs.count {
            guard let other = rhs.index(forKey: lhs.ids.base[position]),
                lhs.projections.base[position] == rhs.projections.base[other]
            else { return false }
        }
        return true
    }
}
