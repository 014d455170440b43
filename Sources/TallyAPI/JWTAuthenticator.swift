import TallyAuth
import TallyCore

/// Authenticates `Authorization: Bearer <JWT>` with HS256 and maps claims to a ``Principal``: roles from
/// `roles` or Keycloak's `realm_access.roles`, the tenant from `tenant_id`. Unknown roles are ignored.
public struct JWTAuthenticator: RequestAuthenticator {
    let verifier: JWTVerifier
    let clock: @Sendable () -> Timestamp

    /// - Parameters:
    ///   - secret: The HMAC key.
    ///   - leewaySeconds: Clock skew allowed on `exp` and `nbf`.
    ///   - clock: The current time.
    public init(secret: [UInt8], leewaySeconds: Int64 = 30, clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        verifier = JWTVerifier(secret: secret, leewaySeconds: leewaySeconds)
        self.clock = clock
    }

    public func authenticate(authorization: String?) -> Result<Principal, AuthenticationFailure> {
        guard let authorization else { return .failure(AuthenticationFailure("missing Authorization header (Bearer token)")) }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .failure(AuthenticationFailure("the Authorization header must be `Bearer <token>`"))
        }
        let claims: JWTClaims
        do throws(JWTError) {
            claims = try verifier.verify(parts[1].drop { $0 == " " }, now: clock().seconds)
        } catch {
            return .failure(AuthenticationFailure(error.message))
        }
        var tenant: TenantID?
        if let text = claims.tenantId {
            guard let parsed = TenantID(text) else { return .failure(AuthenticationFailure("the tenant_id claim is not a UUID")) }
            tenant = parsed
        }
        let roles = Set(claims.roles.compactMap(Principal.Role.init(rawValue:)))
        guard !roles.isEmpty else { return .failure(AuthenticationFailure("the token carries none of the roles super_admin, tenant_admin, member, ingest")) }
        return .success(Principal(roles: roles, tenantId: tenant))
    }
}
