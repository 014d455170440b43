/// Mints HS256-signed JSON Web Tokens (compact JWS) that ``JWTVerifier`` accepts.
///
/// ```swift
/// let signer = JWTSigner(secret: Array("secret".utf8))
/// let token = signer.sign(JWTClaims(subject: "user-1", roles: ["admin"], expiresAt: now + 3600))
/// ```
public struct JWTSigner: Sendable {
    /// The base64url encoding of the fixed header `{"alg":"HS256","typ":"JWT"}`.
    private static let encodedHeader = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    private let key: HMACSHA256Key

    /// Creates a signer with a shared secret.
    ///
    /// - Parameters:
    ///   - secret: The HMAC key. Only derived HMAC states are stored, not the secret itself.
    public init(secret: [UInt8]) {
        key = HMACSHA256Key(secret)
    }

    /// Mints an HS256 token with header `{"alg":"HS256","typ":"JWT"}` and the given claims.
    ///
    /// The payload contains `sub`, `roles`, `tenant_id`, `exp`, `nbf` and `iat`, in that order, each only when set
    /// (`roles` only when non-empty).
    ///
    /// - Parameters:
    ///   - claims: The claims to embed.
    /// - Returns: The compact serialization `header.payload.signature`.
    public func sign(_ claims: JWTClaims) -> String {
        let signingInput = Self.encodedHeader + "." + Base64URL.encode(claims.payloadJSON())
        let signature = key.authenticationCode(for: signingInput.utf8)
        return signingInput + "." + Base64URL.encode(signature)
    }
}
