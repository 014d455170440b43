import Testing
import TallyCore
import TallyTestSupport

/// Identity hashes are stored in checkpoints, so their values must never change: the one-pass
/// implementation is checked against a plain byte-by-byte transcription of the algorithm, and one value is
/// pinned (the first half of what the 128-bit hash of earlier versions gave).
@Suite struct IdentityHashTests {
    /// The algorithm as first written: one hash per seed, the tail gathered byte by byte.
    static func reference(_ tenant: TenantID, _ bytes: [UInt8], seed: UInt64) -> UInt64 {
        var state = seed ^ UInt64(bytes.count) &* 0xFF51_AFD7_ED55_8CCD
        func absorb(_ word: UInt64) {
            state ^= word &* 0x87C3_7B91_1142_53D5
            state = (state << 31 | state >> 33) &* 0x4CF5_AD43_2745_937F &+ 0x52DC_E729
        }
        absorb(tenant.high)
        absorb(tenant.low)
        var index = 0
        while index + 8 <= bytes.count {
            var word: UInt64 = 0
            for byte in 0..<8 { word |= UInt64(bytes[index + byte]) << (8 * UInt64(byte)) }
            absorb(word)
            index += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            tail |= UInt64(bytes[index]) << shift
            shift += 8
            index += 1
        }
        absorb(tail ^ 0x80 << shift)
        state ^= state >> 33
        state = state &* 0xFF51_AFD7_ED55_8CCD
        state ^= state >> 33
        state = state &* 0xC4CE_B9FE_1A85_EC53
        return state ^ state >> 33
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
        // The value the 128-bit hash of earlier versions had as its first half.
        #expect(hash == IdentityHash(0xC89F_90ED_AB24_7A9C))
        #expect(hash != IdentityHash(tenant: tenant, id: "evt-2026-11-23-0002"))
        #expect(hash != IdentityHash(tenant: TenantID(high: tenant.high, low: tenant.low ^ 1), id: "evt-2026-11-23-0001"))
    }
}
