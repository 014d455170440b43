/// A 64-bit hash of an event's (tenant, id), the key of the dedup index.
///
/// A seeded chain of 64×64→128-bit multiplies, each folded to 64 bits by xoring its halves: one for the
/// tenant, one per 16 bytes of the id, one to finish with the length. The multiplies of one hash depend on
/// each other only once per 16 bytes, so a typical id costs three of them. The dedup index compares the
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

    /// Odd 64-bit constants with about half their bits set, xored into the multiplies' operands (computed,
    /// so they fold into the code instead of costing a lazy global's check).
    @inline(__always)
    static var constants: (UInt64, UInt64, UInt64, UInt64) {
        (0xA076_1D64_78BD_642F, 0xE703_7ED1_A0B4_28DB, 0x8EBC_6AF0_9C88_C6E3, 0x5899_65CC_7537_4CC3)
    }

    /// The same 64-bit hash of any bytes under a seed, for tables keyed by long text (such as remembered
    /// tokens): fast and well spread, not cryptographic, so such a table must still compare the text.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        mix(TenantID(high: 0, low: 0), bytes, seed: seed)
    }

    /// The product of `a` and `b` as 128 bits, its halves xored.
    @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// The hash of a tenant and bytes under `seed` (``KeyTable`` uses it with a zero tenant).
    ///
    /// The bytes are taken 16 at a time as two little-endian words; the last 1-16 bytes as two words read so
    /// that together they hold every byte (overlapping when fewer than 16 remain), which the length, folded
    /// in last, makes unambiguous. No byte outside `bytes` is read.
    @inline(__always)
    static func mix(_ tenant: TenantID, _ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let (c0, c1, c2, c3) = constants
        let count = bytes.count
        var state = fold(tenant.high ^ c0, tenant.low ^ seed)
        var index = 0
        while count - index > 16 {
            state = fold(word(bytes, index) ^ c1, word(bytes, index + 8) ^ state)
            index += 16
        }
        let (first, second) = lastWords(bytes, from: index)
        state = fold(first ^ c2, second ^ state ^ c1)
        return fold(state ^ c3, UInt64(count) ^ c0)
    }

    /// Bytes `from..<bytes.count` (0-16 of them) as two words that together hold each one.
    @inline(__always)
    static func lastWords(_ bytes: UnsafeRawBufferPointer, from index: Int) -> (UInt64, UInt64) {
        let rest = bytes.count - index
        if rest > 8 { return (word(bytes, index), word(bytes, bytes.count - 8)) }
        if rest >= 4 {
            return (UInt64(half(bytes, index)) << 32 | UInt64(half(bytes, bytes.count - 4)), 0)
        }
        guard rest > 0 else { return (0, 0) }
        let first = UInt64(bytes[index]) << 16
        return (first | UInt64(bytes[index + rest / 2]) << 8 | UInt64(bytes[bytes.count - 1]), 0)
    }

    @inline(__always)
    static func word(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
    }

    @inline(__always)
    static func half(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self))
    }
}
