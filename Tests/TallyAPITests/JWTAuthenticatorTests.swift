import TallyAuth
import TallyCore
import TallyTestSupport
import Testing

@testable import TallyAPI

/// The authenticator remembers verified tokens, but never past their `exp` or before their `nbf`, and
/// never for a different token text.
@Suite struct JWTAuthenticatorTests {
    static func at(_ seconds: Int64) -> Timestamp { Timestamp(microseconds: seconds * 1_000_000) }

    let secret = Array("authenticator-test-secret".utf8)

    func accepts(_ authenticator: JWTAuthenticator, _ token: String) -> Bool {
        if case .success = authenticator.authenticate(authorization: "Bearer " + token) { return true }
        return false
    }

    /// During a rotation's overlap a token of the previous secret is accepted, and its principal says so,
    /// remembered or not (the handler counts its requests); a token of the current secret is not marked, and
    /// one of neither is refused.
    @Test func tokensOfThePreviousSecretAreAcceptedAndMarked() {
        let previous = Array("the-secret-being-rotated-out".utf8)
        let authenticator = JWTAuthenticator(secret: secret, previousSecrets: [previous])
        let claims = JWTClaims(roles: ["member"], expiresAt: Timestamp.now().seconds + 600)
        let old = JWTSigner(secret: previous).sign(claims)
        let current = JWTSigner(secret: secret).sign(claims)
        func viaPrevious(_ token: String) -> Bool? {
            if case .success(let principal) = authenticator.authenticate(authorization: "Bearer " + token) {
                return principal.viaPreviousSecret
            }
            return nil
        }
        #expect(viaPrevious(old) == true)
        #expect(viaPrevious(old) == true, "remembered")
        #expect(viaPrevious(current) == false)
        #expect(viaPrevious(current) == false, "remembered")
        #expect(!accepts(authenticator, JWTSigner(secret: Array("a-third-secret-nobody-uses".utf8)).sign(claims)))
        #expect(!accepts(JWTAuthenticator(secret: secret), old), "without the previous secret, its tokens are refused")
    }

    @Test func theSchemeIsBearerInAnyCaseFollowedByASpace() {
        let authenticator = JWTAuthenticator(secret: secret)
        let token = JWTSigner(secret: secret).sign(
            JWTClaims(roles: ["member"], expiresAt: Timestamp.now().seconds + 600))
        for accepted in ["Bearer ", "bearer ", "BEARER ", "bEaReR   "] {
            if case .failure(let failure) = authenticator.authenticate(authorization: accepted + token) {
                Issue.record("\(accepted)<token> was refused: \(failure.message)")
            }
        }
        for refused in [
            "Basic " + token, "Bearer" + token, "Bearer", "Bearer ", "Bearer    ", "Bea", "", "Bearez " + token,
            " Bearer " + token,
        ] {
            if case .success = authenticator.authenticate(authorization: refused) {
                Issue.record("\(refused) was accepted")
            }
        }
        // Whether a token was sent to refuse (RFC 6750 §3.1's `invalid_token`): not for no header, another
        // scheme, or `Bearer` with nothing after it; yes for any text after `Bearer `.
        for (authorization, refusedToken) in [
            (nil, false), ("Basic " + token, false), ("Bearer", false), ("Bearer ", false), ("Bearer    ", false),
            ("Bearer x", true), ("Bearer " + token + "x", true),
        ] as [(String?, Bool)] {
            if case .failure(let failure) = authenticator.authenticate(authorization: authorization) {
                #expect(failure.refusedToken == refusedToken, "\(authorization ?? "no header")")
            } else {
                Issue.record("\(authorization ?? "no header") was accepted")
            }
        }
    }

    /// A genuine token without `exp` would be good for ever: it is refused, saying why.
    @Test func aTokenWithoutExpiryIsRefused() {
        let authenticator = JWTAuthenticator(secret: secret)
        let now = Timestamp.now().seconds
        for claims in [
            JWTClaims(roles: ["super_admin"]), JWTClaims(roles: ["super_admin"], notBefore: now - 60, issuedAt: now),
        ] {
            let token = JWTSigner(secret: secret).sign(claims)
            guard case .failure(let failure) = authenticator.authenticate(authorization: "Bearer " + token) else {
                Issue.record("a token without exp was accepted: \(claims)")
                continue
            }
            #expect(failure.message == "the token has no exp claim: Tally accepts only tokens that expire")
        }
        let expiring = JWTSigner(secret: secret).sign(JWTClaims(roles: ["super_admin"], expiresAt: now + 60))
        #expect(accepts(authenticator, expiring))
    }

    /// A token whose `exp` is further ahead than `tally token` mints (3650 days, beyond the leeway) is as good
    /// as one that never expires: refused, saying why.
    @Test func aTokenThatExpiresBeyondTenYearsIsRefused() {
        let now: Int64 = 1_800_000_000
        let authenticator = JWTAuthenticator(secret: secret, clock: { Timestamp(microseconds: now * 1_000_000) })
        let limit = now + JWTAuthenticator.maximumLifetimeSeconds + 30
        for expiresAt in [limit + 1, 1_000_000_000_000_000_000, Int64.max] {
            let token = JWTSigner(secret: secret).sign(JWTClaims(roles: ["super_admin"], expiresAt: expiresAt))
            guard case .failure(let failure) = authenticator.authenticate(authorization: "Bearer " + token) else {
                Issue.record("a token expiring at \(expiresAt) was accepted")
                continue
            }
            #expect(failure.message.hasPrefix("the token's exp is more than 3650 days away"), "\(failure.message)")
            #expect(failure.refusedToken)
        }
        #expect(accepts(authenticator, JWTSigner(secret: secret).sign(JWTClaims(roles: ["member"], expiresAt: limit))))
    }

    @Test func aRememberedTokenExpiresOnTime() {
        let clock = TestClock(Self.at(1_800_000_000))
        let authenticator = JWTAuthenticator(secret: secret, leewaySeconds: 30) { clock.now }
        let token = JWTSigner(secret: secret).sign(JWTClaims(roles: ["member"], expiresAt: 1_800_000_100))
        #expect(accepts(authenticator, token))
        #expect(accepts(authenticator, token), "again, from memory")
        clock.set(Self.at(1_800_000_129))
        #expect(accepts(authenticator, token), "within the leeway")
        clock.set(Self.at(1_800_000_130))
        #expect(!accepts(authenticator, token), "expired, remembered or not")
    }

    @Test func aRememberedTokenIsNotValidBeforeItsNotBefore() {
        let clock = TestClock(Self.at(1_800_000_000))
        let authenticator = JWTAuthenticator(secret: secret, leewaySeconds: 30) { clock.now }
        let token = JWTSigner(secret: secret).sign(
            JWTClaims(roles: ["member"], expiresAt: 1_800_000_600, notBefore: 1_800_000_000))
        #expect(accepts(authenticator, token))
        clock.set(Self.at(1_799_999_970))
        #expect(accepts(authenticator, token), "within the leeway")
        clock.set(Self.at(1_799_999_969))
        #expect(!accepts(authenticator, token))
    }

    @Test func onlyTheExactTextIsRemembered() {
        let authenticator = JWTAuthenticator(secret: secret)
        let token = JWTSigner(secret: secret).sign(
            JWTClaims(roles: ["super_admin"], expiresAt: Timestamp.now().seconds + 600))
        #expect(accepts(authenticator, token))
        var tampered = Array(token.utf8)
        tampered[tampered.count - 2] =
            tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(!accepts(authenticator, String(decoding: tampered, as: UTF8.self)))
        #expect(!accepts(authenticator, token + "x"))
        #expect(!accepts(authenticator, String(token.dropLast())))
        #expect(accepts(authenticator, token))
    }

    @Test func manyTokensStayCorrectPastTheCapacity() {
        let authenticator = JWTAuthenticator(secret: secret)
        let signer = JWTSigner(secret: secret)
        let expiry = Timestamp.now().seconds + 600
        let tokens = (0..<(JWTAuthenticator.cacheCapacity + 10)).map { index in
            signer.sign(
                JWTClaims(subject: "user-\(index)", roles: [index % 2 == 0 ? "member" : "ingest"], expiresAt: expiry))
        }
        for (index, token) in tokens.enumerated() {
            guard case .success(let principal) = authenticator.authenticate(authorization: "Bearer " + token) else {
                Issue.record("token \(index) refused")
                continue
            }
            #expect(principal.roles == [index % 2 == 0 ? .member : .ingest])
        }
    }

    /// Remembered tokens are filed by a hash and confirmed by their text: the comparison sees a change in
    /// any byte and any length, whatever the word boundaries.
    @Test func rememberedTextIsComparedByteForByte() {
        for length in 0..<40 {
            let text = String((0..<length).map { Character(UnicodeScalar(UInt8(65 + $0 % 26))) })
            let token = Substring("Bearer " + text).dropFirst(7)
            #expect(JWTAuthenticator.VerifiedTokens.same(text, token))
            #expect(!JWTAuthenticator.VerifiedTokens.same(text + "x", token))
            for index in 0..<length {
                var changed = Array(text.utf8)
                changed[index] ^= 0x20
                #expect(
                    !JWTAuthenticator.VerifiedTokens.same(String(decoding: changed, as: UTF8.self), token),
                    "\(length) \(index)")
            }
        }
    }

    /// Each authenticator files its tokens under hashes seeded at random, so which token texts share a key
    /// cannot be worked out from outside.
    @Test func eachAuthenticatorHashesWithASeedOfItsOwn() {
        let seeds = Set((0..<4).map { _ in JWTAuthenticator(secret: secret).cache.seed })
        #expect(seeds.count == 4)
        let one = JWTAuthenticator(secret: secret)
        let other = JWTAuthenticator(secret: secret)
        #expect(one.cache.key("a.b.c") != other.cache.key("a.b.c"))
    }
}
