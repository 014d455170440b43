/// A tenant's API keys by id, in the order they were first seen.
///
/// Found by a 64-bit hash of the id's UTF-8 bytes, then compared byte for byte: replay hashes the id
/// straight from the stored record, so counting a call needs no `String` and no SipHash. Up to
/// ``scanLimit`` keys (most tenants) the hashes are scanned in order; above it a bucket index of positions
/// is kept. Keys are never removed: a revoked key keeps its counters.
public struct KeyTable: Sendable, Equatable, Sequence {
    struct Stored: Sendable, Equatable {
        var id: String
        var entry: KeyEntry
    }

    private var stored: [Stored] = []
    /// The hash of each stored key's id, by position: apart from the entries, so a scan of up to
    /// ``scanLimit`` of them reads one cache line.
    private var hashes: [UInt64] = []
    /// Position + 1 of a key in `stored` by bucket (0 = empty), linear probing; empty while scanning.
    private var index: [UInt32] = []

    /// The size up to which the hashes are scanned instead of indexed.
    static let scanLimit = 8

    /// Creates an empty table.
    public init() {}

    /// The number of keys.
    public var count: Int { stored.count }

    /// Whether the table holds no key.
    public var isEmpty: Bool { stored.isEmpty }

    /// The hash the table files `id` under: the same as ``hash(utf8:)`` of its UTF-8 bytes.
    public static func hash(_ id: String) -> UInt64 {
        var id = id
        return id.withUTF8 { hash(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// The hash of a key id given as UTF-8 bytes.
    @inline(__always)
    public static func hash(utf8 bytes: UnsafeRawBufferPointer) -> UInt64 {
        IdentityHash.mix(TenantID(high: 0, low: 0), bytes, seed: 0x2545_F491_4F6C_DD1D)
    }

    /// The entry of `id`, or `nil` when the key was never seen.
    public subscript(id: String) -> KeyEntry? {
        position(of: id).map { stored[$0].entry }
    }

    /// The id of the key at `position` (from ``positionInserting(_:)``).
    @inline(__always)
    public func id(at position: Int) -> String { stored[position].id }

    /// The entry at `position` (from ``positionInserting(_:)``), in place.
    @inline(__always)
    public subscript(position position: Int) -> KeyEntry {
        get { stored[position].entry }
        _modify { yield &stored[position].entry }
    }

    /// The position of `id`, or `nil` when the key was never seen.
    public func position(of id: String) -> Int? {
        find(hash: KeyTable.hash(id)) { $0 == id }
    }

    /// The position of `id`, adding it with an empty ``KeyEntry`` when missing.
    public mutating func positionInserting(_ id: String) -> Int {
        let hash = KeyTable.hash(id)
        if let found = find(hash: hash, matching: { $0 == id }) { return found }
        return append(Stored(id: id, entry: KeyEntry()), hash: hash)
    }

    /// The position of the key whose id has these UTF-8 bytes and `hash` (``hash(utf8:)``), adding it when
    /// missing. The bytes must be valid UTF-8.
    public mutating func positionInserting(utf8 bytes: UnsafeRawBufferPointer, hash: UInt64) -> Int {
        if let found = find(hash: hash, matching: { KeyTable.equal($0, bytes) }) { return found }
        return append(Stored(id: String(decoding: bytes, as: UTF8.self), entry: KeyEntry()), hash: hash)
    }

    /// Sets the entry of `id`, adding the key when missing.
    public mutating func set(_ entry: KeyEntry, for id: String) {
        let position = positionInserting(id)
        stored[position].entry = entry
    }

    /// Equal when both hold the same ids with equal entries, in any order.
    public static func == (lhs: KeyTable, rhs: KeyTable) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.stored.allSatisfy { key in
            rhs.position(of: key.id).map { rhs.stored[$0].entry == key.entry } ?? false
        }
    }

    /// Iterates the keys in the order they were first seen.
    public struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[Stored]>

        public mutating func next() -> (id: String, entry: KeyEntry)? {
            base.next().map { ($0.id, $0.entry) }
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: stored.makeIterator()) }

    public var underestimatedCount: Int { count }

    @inline(__always)
    private func find(hash: UInt64, matching: (String) -> Bool) -> Int? {
        if index.isEmpty {
            let found = hashes.withUnsafeBufferPointer { hashes -> Int? in
                for position in hashes.indices where hashes[position] == hash && matching(stored[position].id) {
                    return position
                }
                return nil
            }
            return found
        }
        let mask = index.count - 1
        var bucket = HomeSlot.index(of: hash, mask: mask)
        while true {
            let entry = index[bucket]
            if entry == 0 { return nil }
            let position = Int(entry) - 1
            if hashes[position] == hash && matching(stored[position].id) { return position }
            bucket = (bucket + 1) & mask
        }
    }

    private mutating func append(_ key: Stored, hash: UInt64) -> Int {
        stored.append(key)
        hashes.append(hash)
        let position = stored.count - 1
        if stored.count > KeyTable.scanLimit {
            if stored.count * 2 > index.count {
                rebuildIndex()
            } else {
                place(position)
            }
        }
        return position
    }

    /// Rebuilds the bucket index at two to four times the key count (at most half full).
    private mutating func rebuildIndex() {
        var size = 16
        while size < stored.count * 2 { size *= 2 }
        index = Array(repeating: 0, count: size)
        for position in stored.indices { place(position) }
    }

    private mutating func place(_ position: Int) {
        let mask = index.count - 1
        var bucket = HomeSlot.index(of: hashes[position], mask: mask)
        while index[bucket] != 0 { bucket = (bucket + 1) & mask }
        index[bucket] = UInt32(position + 1)
    }

    /// Whether `id`'s UTF-8 bytes are `bytes`, compared in place (``ByteEquality``).
    @inline(__always)
    private static func equal(_ id: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        // Borrowed in place: `withUTF8` would need a copy of the string (and a retain of its storage).
        let result = id.utf8.withContiguousStorageIfAvailable { ByteEquality.equal(UnsafeRawBufferPointer($0), bytes) }
        return result ?? id.utf8.elementsEqual(bytes)
    }
}
