/// Where a probe for a 64-bit hash starts in an open-addressing table, scrambled per process.
///
/// The hashes Tally files ids under (``IdentityHash``, ``KeyTable/hash(_:)``) have fixed seeds, since
/// checkpoints store them. Were a table's home slot their low bits, a client could search ids offline whose
/// hashes share those bits and send them to build one long probe run, paid under a lock that every ingest or
/// stats read takes. The home slot is instead taken from the hash mixed with a secret drawn at start-up.
public enum HomeSlot {
    /// The process's secret.
    @usableFromInline
    static let seed = UInt64.random(in: 0...UInt64.max)

    /// The slot where a probe for `hash` starts in a table of `mask + 1` slots (a power of two): the seeded
    /// hash folded, multiplied by an odd constant and folded again, so that every bit of the hash moves it.
    /// - Parameters:
    ///   - hash: The stored hash.
    ///   - mask: The table's size minus one.
    /// - Returns: A slot index in `0...mask`.
    @inlinable @inline(__always)
    public static func index(of hash: UInt64, mask: Int) -> Int {
        var mixed = hash ^ seed
        mixed ^= mixed >> 32
        mixed &*= 0x9E37_79B9_7F4A_7C15
        mixed ^= mixed >> 32
        return Int(truncatingIfNeeded: mixed) & mask
    }
}
