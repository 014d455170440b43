import TallyCore
import TallyTestSupport
import Testing

/// Identity hashes are stored in checkpoints, so their values must not change within a projection version:
/// the implementation, which reads words in place, is checked against a plain byte-by-byte transcription of
/// the algorithm, and one value is pinned.
@Suite struct IdentityHashTests {
    /// The algorithm written out plainly: words gathered byte by byte, the last 1-16 bytes as two words that
    /// together hold each byte.
    static func reference(_ tenant: TenantID, _ bytes: [UInt8], seed: UInt64) -> UInt64 {
        let c0: UInt64 = 0xA076_1D64_78BD_642F
        let c1: UInt64 = 0xE703_7ED1_A0B4_28DB
        let c2: UInt64 = 0x8EBC_6AF0_9C88_C6E3
        let c3: UInt64 = 0x5899_65CC_7537_4CC3
        func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let product = a.multipliedFullWidth(by: b)
            return product.high ^ product.low
        }
        func word(_ at: Int, _ size: Int) -> UInt64 {
            (0..<size).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
        }
        var state = fold(tenant.high ^ c0, tenant.low ^ seed)
        var index = 0
        while bytes.count - index > 16 {
            state = fold(word(index, 8) ^ c1, word(index + 8, 8) ^ state)
            index += 16
        }
        let rest = bytes.count - index
        var first: UInt64 = 0
        var second: UInt64 = 0
        if rest > 8 {
            first = word(index, 8)
            second = word(bytes.count - 8, 8)
        } else if rest >= 4 {
            first = word(index, 4) << 32 | word(bytes.count - 4, 4)
        } else if rest > 0 {
            first = UInt64(bytes[index]) << 16 | UInt64(bytes[index + rest / 2]) << 8 | UInt64(bytes[bytes.count - 1])
        }
        state = fold(first ^ c2, second ^ state ^ c1)
        return fold(state ^ c3, UInt64(bytes.count) ^ c0)
    }

    @Test func matchesTheReferenceForEveryLength() {
        var random = SplitMix64(seed: 0x1D)
        for length in 0..<70 {
            for _ in 0..<20 {
                let tenant = TenantID(high: random.next(), low: random.next())
                let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                let hash = bytes.withUnsafeBytes { IdentityHash(tenant: tenant, utf8: $0) }
                #expect(hash.value == Self.reference(tenant, bytes, seed: 0x9E37_79B9_7F4A_7C15), "length \(length)")
            }
        }
    }

    @Test func stringAndBytesAgreeAndValuesArePinned() {
        let tenant = TenantID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
        let hash = IdentityHash(tenant: tenant, id: "evt-2026-11-23-0001")
        #expect(hash == Array("evt-2026-11-23-0001".utf8).withUnsafeBytes { IdentityHash(tenant: tenant, utf8: $0) })
        #expect(hash.value == Self.reference(tenant, Array("evt-2026-11-23-0001".utf8), seed: 0x9E37_79B9_7F4A_7C15))
        // Pinned for projection version 5: a change here needs a new projection version.
        #expect(hash == IdentityHash(0xBFB6_5622_03CD_0EE8))
        #expect(hash != IdentityHash(tenant: tenant, id: "evt-2026-11-23-0002"))
        #expect(
            hash != IdentityHash(tenant: TenantID(high: tenant.high, low: tenant.low ^ 1), id: "evt-2026-11-23-0001"))
    }

    /// Ids as real streams make them (a prefix and a counter) over a few tenants: no two hashes are equal,
    /// and both the low bits (the dedup table's slot) and the high bits fill their buckets evenly.
    @Test func sequentialIdsSpreadEvenly() {
        var seen = Set<UInt64>()
        var low = [Int](repeating: 0, count: 1024)
        var high = [Int](repeating: 0, count: 1024)
        for tenant in 0..<4 {
            for counter in 0..<50_000 {
                let hash = IdentityHash(tenant: TenantID(high: 0, low: UInt64(tenant)), id: "evt-\(counter)").value
                seen.insert(hash)
                low[Int(hash & 1023)] += 1
                high[Int(hash >> 54)] += 1
            }
        }
        #expect(seen.count == 200_000)
        // Chi-square over 1,024 buckets: 1,023 on average with a deviation of 45, so 1,300 is six deviations.
        let expected = 200_000.0 / 1024
        for buckets in [low, high] {
            let chiSquare = buckets.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            #expect(chiSquare < 1300)
        }
    }

    /// Flipping any one bit of the tenant or the id changes about half the hash's 64 bits.
    @Test func oneFlippedBitChangesAboutHalfTheHash() {
        var random = SplitMix64(seed: 0xA5)
        var changed = 0
        let trials = 20_000
        for trial in 0..<trials {
            let tenant = TenantID(high: random.next(), low: random.next())
            var bytes = (0..<(trial % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let before = bytes.withUnsafeBytes { IdentityHash(tenant: tenant, utf8: $0) }.value
            let bit = Int(random.next() % UInt64(128 + bytes.count * 8))
            var flippedTenant = tenant
            if bit < 64 {
                flippedTenant.high ^= 1 << UInt64(bit)
            } else if bit < 128 {
                flippedTenant.low ^= 1 << UInt64(bit - 64)
            } else {
                bytes[(bit - 128) / 8] ^= 1 << UInt8((bit - 128) % 8)
            }
            let after = bytes.withUnsafeBytes { IdentityHash(tenant: flippedTenant, utf8: $0) }.value
            changed += (before ^ after).nonzeroBitCount
        }
        let mean = Double(changed) / Double(trials)
        #expect(mean > 31 && mean < 33, "mean bits changed \(mean)")
    }
}
