import Synchronization
import TallyAuth
import TallyCore

/// Authenticates `Authorization: Bearer <JWT>` with HS256 and maps claims to a ``Principal``: roles from
/// `roles` or Keycloak's `realm_access.roles`, the tenant from `tenant_id`. Unknown roles are ignored. A
/// token must carry `exp`, at most 3650 days ahead: one without would never expire.
///
/// Verified tokens are remembered (up to ``cacheCapacity``) with the window in which they are valid, so a
/// client that sends the same token on every request pays for its HMAC once. A remembered token is used
/// only while its `exp` and `nbf` (with the leeway) still allow it; it is looked up by its exact text.
public struct JWTAuthenticator: RequestAuthenticator {
    let verifier: JWTVerifier
    let clock: @Sendable () -> Timestamp
    let leewaySeconds: Int64
    let cache = VerifiedTokens()

    /// The furthest ahead a token's `exp` may be (3650 days, the longest `tally token --ttl`), beyond the
    /// leeway: a token good for ever, leaked once, would be good for ever.
    public static let maximumLifetimeSeconds: Int64 = 3650 * 86_400

    /// How many verified tokens are remembered; when full, the memory starts over.
    public static let cacheCapacity = 4_096

    /// Tokens that passed verification, with the seconds in which they stay valid: filed under a 64-bit hash
    /// of the token's text (`Substring` keys cost a SipHash of the whole token per request), with the text
    /// kept to confirm the match.
    final class VerifiedTokens: Sendable {
        struct Entry: Sendable {
            var token: String
            var principal: Principal
            var validFrom: Int64
            var validUntil: Int64
        }

        let entries = Mutex<[UInt64: Entry]>([:])

        /// The seed of this process's token hashes: random, so which texts share a key cannot be worked out
        /// from outside.
        let seed = UInt64.random(in: .min ... .max)

        /// Whether a remembered token's text is `token`'s, compared in constant time (``ConstantTime``): the
        /// time a guess takes tells nothing of how much of a remembered token it got right.
        static func same(_ known: String, _ token: Substring) -> Bool {
            let result = known.utf8.withContiguousStorageIfAvailable { known in
                token.utf8.withContiguousStorageIfAvailable {
                    ConstantTime.equals(UnsafeRawBufferPointer(known), UnsafeRawBufferPointer($0))
                }
            }
            if let result, let inPlace = result { return inPlace }
            return ConstantTime.equals(Array(known.utf8), Array(token.utf8))
        }

        /// The key a token is filed under: ``IdentityHash/hash(_:seed:)`` of its text with this process's seed.
        func key(_ token: Substring) -> UInt64 {
            if let key = token.utf8.withContiguousStorageIfAvailable({
                IdentityHash.hash(UnsafeRawBufferPointer($0), seed: seed)
            }) {
                return key
            }
            return Array(token.utf8).withUnsafeBytes { IdentityHash.hash($0, seed: seed) }
        }
    }

    /// Creates an authenticator that accepts HS256 tokens signed with `secret`, or with one of
    /// `previousSecrets` (a rotation's overlap: tokens minted before it keep working until they expire or the
    /// previous secret is dropped; their principals say so, ``Principal/viaPreviousSecret``).
    /// - Parameters:
    ///   - secret: The HMAC key.
    ///   - previousSecrets: Keys still accepted while their tokens are replaced.
    ///   - leewaySeconds: Clock skew allowed on `exp` and `nbf`.
    ///   - clock: The current time.
    public init(
        secret: [UInt8], previousSecrets: [[UInt8]] = [], leewaySeconds: Int64 = 30,
        clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }
    ) {
        verifier = JWTVerifier(secrets: [secret] + previousSecrets, leewaySeconds: leewaySeconds)
        self.leewaySeconds = max(0, leewaySeconds)
        self.clock = clock
    }

    /// Whether the first six bytes spell `bearer` in any case.
    private static func isBearer(_ scheme: Substring.UTF8View) -> Bool {
        var index = scheme.startIndex
        for expected: UInt8 in [0x62, 0x65, 0x61, 0x72, 0x65, 0x72] {  // b e a r e r
            guard scheme[index] | 0x20 == expected else { return false }
            index = scheme.index(after: index)
        }
        return true
    }

    /// Verifies a `Bearer` token (HS256, `exp` required, `nbf` honoured) and reads its roles and tenant.
    public func authenticate(authorization: String?) -> Result<Principal, AuthenticationFailure> {
        guard let authorization else {
            return .failure(AuthenticationFailure("missing Authorization header (Bearer token)", refusedToken: false))
        }
        // The scheme is case-insensitive (RFC 9110 §11.1); checked byte by byte, as on every request.
        let scheme = authorization.utf8.prefix(7)
        guard scheme.count == 7, scheme.last == UInt8(ascii: " "), Self.isBearer(scheme) else {
            return .failure(
                AuthenticationFailure("the Authorization header must be `Bearer <token>`", refusedToken: false))
        }
        let token = Substring(authorization.utf8.dropFirst(7)).drop { $0 == " " }
        let now = clock().seconds
        let key = cache.key(token)
        if let known = cache.entries.withLock({ $0[key] }), VerifiedTokens.same(known.token, token),
            known.validFrom <= now, now < known.validUntil
        {
            return .success(known.principal)
        }
        let claims: JWTClaims
        let secretIndex: Int
        do throws(JWTError) {
            (claims, secretIndex) = try verifier.verifyNamingSecret(token, now: now)
        } catch {
            // `Bearer` and no token after it sent none to refuse (RFC 6750 §3.1: no error code then).
            return .failure(AuthenticationFailure(error.message, refusedToken: !token.isEmpty))
        }
        // RFC 7519 makes `exp` optional; a metering API does not take credentials that never expire (a
        // leaked one would be good for ever, short of rotating the secret).
        guard let expiresAt = claims.expiresAt else {
            return .failure(
                AuthenticationFailure(
                    "the token has no exp claim: Tally accepts only tokens that expire", refusedToken: true))
        }
        // Nor one that expires so far ahead it may as well not: a leaked one would be good as long. `exp` is
        // at most as far ahead as `tally token` mints.
        guard expiresAt <= now + Self.maximumLifetimeSeconds + leewaySeconds else {
            return .failure(
                AuthenticationFailure(
                    "the token's exp is more than 3650 days away: Tally accepts tokens that expire within 3650 days, as `tally token --ttl` mints them",
                    refusedToken: true))
        }
        var tenant: TenantID?
        if let text = claims.tenantId {
            guard let parsed = TenantID(text) else {
                return .failure(AuthenticationFailure("the tenant_id claim is not a UUID", refusedToken: true))
            }
            tenant = parsed
        }
        // A genuine token whose roles Tally does not know is authenticated yet allowed nothing: every route
        // then answers 403 (the seed's "lacks permission"), not 401.
        let roles = Set(claims.roles.compactMap(Principal.Role.init(rawValue:)))
        let principal = Principal(roles: roles, tenantId: tenant, viaPreviousSecret: secretIndex > 0)
        // A copy of the token's text, so the cache does not keep the whole request alive.
        let entry = VerifiedTokens.Entry(
            token: String(token),
            principal: principal,
            validFrom: claims.notBefore.map {
                $0.subtractingReportingOverflow(leewaySeconds).overflow ? .min : $0 - leewaySeconds
            } ?? .min,
            validUntil: expiresAt.addingReportingOverflow(leewaySeconds).overflow ? .max : expiresAt + leewaySeconds)
        cache.entries.withLock { entries in
            if entries.count >= Self.cacheCapacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
        return .success(principal)
    }
}
