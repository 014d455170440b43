/// A 64-bit hash of an event's (tenant, id), the key of the dedup index.
///
/// One seeded 64-bit multiply-xorshift pass over the tenant and the id's bytes. The dedup index compares the
/// whole hash, so a new id is taken for a remembered one only when its hash equals that of an id its lookup
/// probes: odds below 2 × 10^-18 per event (see ``DedupIndex``).
public struct IdentityHash: Sendable, BitwiseCopyable, Hashable {
    /// The hash.
    public var value: UInt64

    /// Wraps a hash value (as stored in a checkpoint).
    public init(_ value: UInt64) {
        self.value = value
    }

    /// Hashes a tenant and an event id.
    public init(tenant: TenantID, id: String) {
        var id = id
        self = id.withUTF8 { IdentityHash(tenant: tenant, utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Hashes a tenant and an event id given as its UTF-8 bytes (as stored in a record): the same value
    /// as ``init(tenant:id:)`` of that id.
    @inline(__always)
    public init(tenant: TenantID, utf8 bytes: UnsafeRawBufferPointer) {
        self.init(IdentityHash.mix(tenant, bytes, seed: 0x9E37_79B9_7F4A_7C15))
    }

    /// One 64-bit multiply-xorshift hash of a tenant and bytes (``KeyTable`` uses it with a zero tenant).
    @inline(__always)
    static func mix(_ tenant: TenantID, _ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var lane = Lane(seed: seed, count: bytes.count)
        forEachWord(tenant, bytes) { lane.absorb($0) }
        return lane.finish()
    }

    /// The words a hash absorbs: the tenant's two halves, the bytes as little-endian 64-bit words, then the
    /// last 0-7 bytes with a 0x80 byte after them.
    @inline(__always)
    private static func forEachWord(_ tenant: TenantID, _ bytes: UnsafeRawBufferPointer, _ body: (UInt64) -> Void) {
        body(tenant.high)
        body(tenant.low)
        var index = 0
        while index + 8 <= bytes.count {
            body(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            index += 8
        }
        var tail: UInt64 = 0
        let rest = bytes.count - index
        if rest > 0 {
            withUnsafeMutableBytes(of: &tail) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[index...])) }
        }
        body(UInt64(littleEndian: tail) ^ 0x80 << UInt64(rest * 8))
    }

    /// The state of one hash.
    private struct Lane {
        var state: UInt64

        @inline(__always)
        init(seed: UInt64, count: Int) {
            state = seed ^ UInt64(count) &* 0xFF51_AFD7_ED55_8CCD
        }

        @inline(__always)
        mutating func absorb(_ word: UInt64) {
            state ^= word &* 0x87C3_7B91_1142_53D5
            state = (state << 31 | state >> 33) &* 0x4CF5_AD43_2745_937F &+ 0x52DC_E729
        }

        @inline(__always)
        func finish() -> UInt64 {
            var state = state
            state ^= state >> 33
            state = state &* 0xFF51_AFD7_ED55_8CCD
            state ^= state >> 33
            state = state &* 0xC4CE_B9FE_1A85_EC53
            return state ^ state >> 33
        }
    }
}
