import TallyTestSupport
import Testing

@testable import TallyAuth

/// Seeded fuzzing of the JWT verifier (see ``JWTFuzzTarget`` for the properties checked on every input).
@Suite("JWT fuzzing")
struct JWTFuzzTests {
    static let base64URL = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let signer = JWTSigner(secret: JWTFuzzTarget.secret)

    /// Valid tokens with claims of every kind.
    static let tokens: [String] =
        JWTFuzzTarget.seeds().filter { $0.first == 0 }.map { String(decoding: $0.dropFirst(), as: UTF8.self) }
        + [
            JWTClaims(subject: "x", roles: (0..<20).map { "role-\($0)" }, expiresAt: Int64.max),
            JWTClaims(tenantId: "\"quoted\\\u{1}", notBefore: Int64.min, issuedAt: -1),
        ].map(signer.sign)

    @Test func seedsAreAccepted() {
        for seed in JWTFuzzTarget.seeds().prefix(2) {
            #expect(JWTFuzzTarget.check(seed) == .accepted)
        }
    }

    @Test func randomStringsAreRefused() {
        var random = SplitMix64(seed: 0x7A7)
        let mutator = FuzzMutator(interesting: Array(".=+/ ".utf8) + [0, 0xC3, 0xFF])
        var tally = FuzzTally()
        for round in 0..<3000 {
            let input: [UInt8]
            if round % 2 == 0 {
                input = mutator.randomBytes(random.below(120), alphabet: Self.base64URL, &random)
            } else {
                // Three well-formed segments, so decoding reaches the header and signature checks.
                let segments = (0..<3).map { _ in
                    (0..<random.below(60) + 1).map { _ in random.pick(Self.base64URL) }
                }
                input = Array(segments.joined(separator: [UInt8(ascii: ".")]))
            }
            tally.record(JWTFuzzTarget.check(token: String(decoding: input, as: UTF8.self)), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted == 0)
        #expect(tally.rejections("malformed") > 1000)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func mutatedTokensNeverVerify(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let corpus = Self.tokens.map { Array($0.utf8) }
        let mutator = FuzzMutator(interesting: Self.base64URL + Array(".=+/".utf8) + [0x80], corpus: corpus)
        var tally = FuzzTally()
        for _ in 0..<1500 {
            let original = random.pick(Self.tokens)
            let mutated = String(decoding: mutator.mutate(Array(original.utf8), &random, maximum: 3), as: UTF8.self)
            let verdict = JWTFuzzTarget.check(token: mutated)
            tally.record(verdict, input: Array(mutated.utf8))
            if mutated != original {
                #expect(verdict != .accepted, "a mutation of a valid token verified: \(mutated)")
            }
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.rejections("badSignature") > 100)
        #expect(tally.rejections("malformed") > 300)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func resignedRandomHeadersAndPayloadsAreNeverRefusedForTheirSignature(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let pairs =
            JWTFuzzTarget.seeds().filter { $0.first == 1 }.map { Array($0.dropFirst()) }
            + Self.tokens.compactMap { token -> [UInt8]? in
                let segments = token.split(separator: ".")
                guard let header = Base64URL.decode(segments[0]), let payload = Base64URL.decode(segments[1]) else {
                    return nil
                }
                return header + [0x0A] + payload
            }
        let mutator = FuzzMutator(
            interesting: Array(#"{}[]":,\ 0123456789-.eEtrufalsn"#.utf8) + [0x80, 0xC3],
            corpus: pairs)
        var tally = FuzzTally()
        for _ in 0..<1500 {
            let input = [1] + mutator.mutate(random.pick(pairs), &random, maximum: 3)
            tally.record(JWTFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 30)
        #expect(tally.rejections("malformed") > 100)
        #expect(tally.rejections("invalidClaims") > 3)
        #expect(tally.rejections("unsupportedAlgorithm") > 10)
    }

    @Test func randomClaimsRoundTripThroughSignAndVerify() throws {
        var random = SplitMix64(seed: 0xC1A1)
        let texts = ["", "a", "ü", "😀", "\"", "\\", "\u{0}", "\u{1F}", "\u{7F}", "\u{2028}", "é", "e\u{301}", "admin"]
        func text() -> String { (0..<random.below(4)).map { _ in random.pick(texts) }.joined() }
        func time() -> Int64? {
            random.chance(1, in: 3)
                ? nil
                : random.pick([
                    Int64.min, -1, 0, JWTFuzzTarget.now - 31, JWTFuzzTarget.now - 30,
                    JWTFuzzTarget.now, JWTFuzzTarget.now + 30, JWTFuzzTarget.now + 31, Int64.max,
                ])
        }
        var outcomes: [String: Int] = [:]
        for _ in 0..<1000 {
            let claims = JWTClaims(
                subject: random.chance(1, in: 2) ? text() : nil, roles: (0..<random.below(4)).map { _ in text() },
                tenantId: random.chance(1, in: 2) ? text() : nil, expiresAt: time(), notBefore: time(),
                issuedAt: time())
            let token = Self.signer.sign(claims)
            var expected = claims
            expected.roles = claims.roles.reduce(into: []) { unique, role in
                if !unique.contains(role) { unique.append(role) }
            }
            let leeway: Int64 = 30
            let expired =
                claims.expiresAt.map { exp in
                    let (deadline, overflow) = exp.addingReportingOverflow(leeway)
                    return !overflow && JWTFuzzTarget.now >= deadline
                } ?? false
            let early = claims.notBefore.map { JWTFuzzTarget.now + leeway < $0 } ?? false
            do throws(JWTError) {
                let verified = try JWTFuzzTarget.verifier.verify(token[...], now: JWTFuzzTarget.now)
                #expect(!expired && !early, "\(claims) verified")
                #expect(verified == expected)
                outcomes["valid", default: 0] += 1
            } catch {
                #expect(error.code == (expired ? .expired : .notYetValid), "\(claims): \(error)")
                #expect(expired || early)
                outcomes[error.code.rawValue, default: 0] += 1
            }
        }
        #expect(outcomes["valid", default: 0] > 100)
        #expect(outcomes["expired", default: 0] > 100)
        #expect(outcomes["notYetValid", default: 0] > 10)
    }
}
