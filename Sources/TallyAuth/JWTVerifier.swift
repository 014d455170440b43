/// Verifies HS256-signed JSON Web Tokens (compact JWS, RFC 7515 / RFC 7519) and extracts their claims.
///
/// Checks run in this order, and the first failure is thrown:
/// 1. size (at most ``maximumTokenByteCount`` bytes) and shape: exactly three non-empty, dot-separated, canonical
///    base64url segments;
/// 2. header: a JSON object whose `alg` is exactly `"HS256"`, with no `crit` member, no `b64` other than `true`
///    (RFC 7797's unencoded payloads are not read) and an optional string `typ`;
/// 3. signature: HMAC-SHA256 over the received `header.payload` bytes, compared in constant time;
/// 4. payload: a JSON object whose understood claims have the right types;
/// 5. time: `exp` and `nbf` with the configured leeway.
///
/// ```swift
/// let verifier = JWTVerifier(secret: Array("secret".utf8))
/// let claims = try verifier.verify(token[...], now: currentUnixSeconds)
/// ```
public struct JWTVerifier: Sendable {
    /// The largest accepted token, in UTF-8 bytes (8 KiB).
    public static let maximumTokenByteCount = 8 * 1024

    private let keys: [HMACSHA256Key]
    private let leewaySeconds: Int64

    /// Creates a verifier for tokens signed with a shared secret.
    ///
    /// - Parameters:
    ///   - secret: The HMAC key. Only derived HMAC states are stored, not the secret itself.
    ///   - leewaySeconds: Clock skew tolerated when checking `exp` and `nbf`; negative values are treated as zero.
    public init(secret: [UInt8], leewaySeconds: Int64 = 30) {
        self.init(secrets: [secret], leewaySeconds: leewaySeconds)
    }

    /// Creates a verifier for tokens signed with any of several shared secrets: the current one first, then
    /// those still accepted while tokens signed with them are replaced (a rotation's overlap). A token's
    /// signature is checked against each in turn, each comparison in constant time.
    ///
    /// - Parameters:
    ///   - secrets: The HMAC keys, at least one. Only derived HMAC states are stored, not the secrets.
    ///   - leewaySeconds: Clock skew tolerated when checking `exp` and `nbf`; negative values are treated as zero.
    public init(secrets: [[UInt8]], leewaySeconds: Int64 = 30) {
        precondition(!secrets.isEmpty, "a verifier needs a secret")
        keys = secrets.map { HMACSHA256Key($0) }
        self.leewaySeconds = max(0, leewaySeconds)
    }

    /// Verifies an HS256 compact JWS and returns its claims.
    ///
    /// A token is expired when `now >= exp + leeway` and not yet valid when `now + leeway < nbf`. `iat` is read but
    /// not checked.
    ///
    /// - Parameters:
    ///   - token: The compact serialization `header.payload.signature`, without surrounding whitespace or a
    ///     `Bearer ` prefix.
    ///   - now: The current time in seconds since the Unix epoch.
    /// - Returns: The claims of the token.
    /// - Throws: ``JWTError`` describing the first failed check; its message never contains token content.
    public func verify(_ token: Substring, now: Int64) throws(JWTError) -> JWTClaims {
        try verifyNamingSecret(token, now: now).claims
    }

    /// Verifies like ``verify(_:now:)`` and says which secret signed the token: its index in the secrets the
    /// verifier was made with (0 for the current one).
    ///
    /// - Throws: ``JWTError`` describing the first failed check.
    public func verifyNamingSecret(_ token: Substring, now: Int64) throws(JWTError) -> (
        claims: JWTClaims, secretIndex: Int
    ) {
        guard token.utf8.count <= Self.maximumTokenByteCount else {
            throw JWTError(
                code: .malformed, message: "token exceeds the maximum size of \(Self.maximumTokenByteCount) bytes")
        }
        var token = token
        token.makeContiguousUTF8()
        let result =
            token.utf8.withContiguousStorageIfAvailable { verify(bytes: $0, now: now) }
            ?? Array(token.utf8).withUnsafeBufferPointer { verify(bytes: $0, now: now) }
        return try result.get()
    }

    /// Verifies a token held as contiguous bytes.
    ///
    /// - Parameters:
    ///   - bytes: The token bytes.
    ///   - now: The current time in seconds since the Unix epoch.
    /// - Returns: The claims, or the error describing the first failed check.
    private func verify(bytes: UnsafeBufferPointer<UInt8>, now: Int64) -> Result<
        (claims: JWTClaims, secretIndex: Int), JWTError
    > {
        // 1. Structure.
        var firstDot: Int?
        var secondDot: Int?
        for position in 0..<bytes.count where bytes[position] == UInt8(ascii: ".") {
            if firstDot == nil {
                firstDot = position
            } else if secondDot == nil {
                secondDot = position
            } else {
                return .failure(Self.malformed("token must have exactly three segments"))
            }
        }
        guard let firstDot, let secondDot else {
            return .failure(Self.malformed("token must have exactly three segments"))
        }
        guard firstDot > 0, secondDot > firstDot + 1, secondDot < bytes.count - 1 else {
            return .failure(Self.malformed("token segments must not be empty"))
        }
        guard let headerBytes = Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: bytes[0..<firstDot])) else {
            return .failure(Self.malformed("token header is not valid base64url"))
        }
        let payloadRange = (firstDot + 1)..<secondDot
        guard let payloadBytes = Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: bytes[payloadRange])) else {
            return .failure(Self.malformed("token payload is not valid base64url"))
        }
        let signatureRange = (secondDot + 1)..<bytes.count
        guard let signature = Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: bytes[signatureRange])) else {
            return .failure(Self.malformed("token signature is not valid base64url"))
        }

        // 2. Header.
        let parsedHeader = JWTJSON.parseExplained(headerBytes)
        guard case .object(let header) = parsedHeader.value else {
            return .failure(Self.malformed("token header " + (parsedHeader.problem ?? "is not a JSON object")))
        }
        guard let algorithm = header["alg"] else {
            return .failure(JWTError(code: .unsupportedAlgorithm, message: "token header has no 'alg'"))
        }
        guard case .string("HS256") = algorithm else {
            return .failure(JWTError(code: .unsupportedAlgorithm, message: "token algorithm must be HS256"))
        }
        guard header["crit"] == nil else {
            return .failure(
                JWTError(code: .unsupportedAlgorithm, message: "token header has critical extensions ('crit')")
            )
        }
        // RFC 7797's `b64: false` signs the payload unencoded, which changes what the signature covers; it is
        // only valid listed in `crit` (refused above), and this verifier reads encoded payloads alone.
        if let encoded = header["b64"], encoded != .bool(true) {
            return .failure(
                JWTError(
                    code: .unsupportedAlgorithm,
                    message: "token header 'b64' must be true: unencoded payloads (RFC 7797) are not supported"))
        }
        if let type = header["typ"] {
            guard case .string = type else {
                return .failure(Self.malformed("token header 'typ' must be a string"))
            }
        }

        // 3. Signature over the exact received bytes of "header.payload".
        let signingInput = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[0..<secondDot]))
        guard
            let secretIndex = keys.firstIndex(where: {
                ConstantTime.equals($0.authenticationCode(for: signingInput), signature)
            })
        else {
            return .failure(JWTError(code: .badSignature, message: "token signature is invalid"))
        }

        // 4. Payload.
        let parsedPayload = JWTJSON.parseExplained(payloadBytes)
        guard case .object(let payload) = parsedPayload.value else {
            return .failure(Self.malformed("token payload " + (parsedPayload.problem ?? "is not a JSON object")))
        }
        let claims: JWTClaims
        do {
            claims = try JWTClaims(payload: payload)
        } catch {
            return .failure(error)
        }

        // 5. Time.
        if let expiresAt = claims.expiresAt {
            let (deadline, overflow) = expiresAt.addingReportingOverflow(leewaySeconds)
            if !overflow, now >= deadline {
                return .failure(JWTError(code: .expired, message: "token has expired"))
            }
        }
        if let notBefore = claims.notBefore {
            let (latestNow, overflow) = now.addingReportingOverflow(leewaySeconds)
            if !overflow, latestNow < notBefore {
                return .failure(JWTError(code: .notYetValid, message: "token is not valid yet"))
            }
        }
        return .success((claims, secretIndex))
    }

    /// Creates a ``JWTError/Code/malformed`` error.
    ///
    /// - Parameters:
    ///   - message: The fixed human-readable message.
    /// - Returns: The error.
    private static func malformed(_ message: String) -> JWTError {
        JWTError(code: .malformed, message: message)
    }
}
