import TallyTestSupport

@testable import TallyAuth

/// Fuzz target: strings through ``JWTVerifier``, either as received tokens or as header and payload JSON
/// signed with the right secret (so claim parsing runs behind a valid signature).
///
/// Properties: every token gives claims or a ``JWTError`` whose message holds no part of the token; a token
/// verifies only when its signature is the HMAC of its first two segments and its header names HS256
/// without `crit`; a token signed with the right secret is never refused for its signature.
enum JWTFuzzTarget {
    static let secret = Array("tally-fuzz-secret".utf8)
    /// The verification time, in seconds since the Unix epoch.
    static let now: Int64 = 1_752_157_800
    static let verifier = JWTVerifier(secret: secret)

    /// Runs one libFuzzer input. The first byte holds flags: with bit 0 clear the rest is a token; with it set
    /// the rest is header JSON, a newline, and payload JSON, signed here with the verifier's secret.
    static func check(_ input: [UInt8]) -> FuzzVerdict {
        guard let flags = input.first else { return .rejected(stage: "empty") }
        let rest = input.dropFirst()
        guard flags & 1 != 0 else { return check(token: String(decoding: rest, as: UTF8.self)) }
        let newline = rest.firstIndex(of: 0x0A) ?? rest.endIndex
        let payload = newline == rest.endIndex ? [] : Array(rest[(newline + 1)...])
        return check(signedHeader: Array(rest[..<newline]), payload: payload)
    }

    /// Signs arbitrary header and payload bytes with the verifier's secret and checks the result.
    static func check(signedHeader header: [UInt8], payload: [UInt8]) -> FuzzVerdict {
        let verdict = check(token: sign(header: header, payload: payload))
        if verdict == .rejected(stage: JWTError.Code.badSignature.rawValue) {
            return .violated("a token signed with the right secret was refused for its signature")
        }
        return verdict
    }

    /// The compact token for `header` and `payload` under the verifier's secret.
    static func sign(header: [UInt8], payload: [UInt8]) -> String {
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        return signingInput + "."
            + Base64URL.encode(HMACSHA256.authenticationCode(key: secret, message: Array(signingInput.utf8)))
    }

    /// Verifies one token and checks the outcome.
    static func check(token: String) -> FuzzVerdict {
        do throws(JWTError) {
            _ = try verifier.verify(token[...], now: now)
        } catch {
            for segment in token.split(separator: ".") where segment.utf8.count >= 12 {
                if error.message.contains(segment) {
                    return .violated("the error message \"\(error.message)\" repeats token content")
                }
            }
            return error.message.isEmpty
                ? .violated("\(error.code) without a message") : .rejected(stage: error.code.rawValue)
        }
        return acceptedTokenViolation(token).map(FuzzVerdict.violated) ?? .accepted
    }

    /// Re-checks an accepted token independently: three segments, an HS256 header without `crit`, and the
    /// HMAC of the first two segments as its signature.
    private static func acceptedTokenViolation(_ token: String) -> String? {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, let headerBytes = Base64URL.decode(segments[0]),
            let signature = Base64URL.decode(segments[2])
        else {
            return "accepted a token that is not three base64url segments: \(token)"
        }
        guard case .object(let header)? = JWTJSON.parse(headerBytes), header["alg"] == .string("HS256"),
            header["crit"] == nil
        else {
            return "accepted a token whose header is not HS256 without crit: \(token)"
        }
        let signingInput = Array(token.utf8.prefix(segments[0].utf8.count + 1 + segments[1].utf8.count))
        guard signature == HMACSHA256.authenticationCode(key: secret, message: signingInput) else {
            return "accepted a token whose signature is not the HMAC of its content: \(token)"
        }
        return nil
    }

    /// Seed inputs: signed tokens, and header/payload pairs for the signing mode.
    static func seeds() -> [[UInt8]] {
        let signer = JWTSigner(secret: secret)
        let claims = [
            JWTClaims(subject: "user-1", roles: ["admin"], expiresAt: now + 3600),
            JWTClaims(
                subject: "ü", roles: ["a", "b", "a"], tenantId: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                expiresAt: now + 60, notBefore: now - 60, issuedAt: now - 60),
            JWTClaims(),
        ]
        let tokens = claims.map { [0] + Array(signer.sign($0).utf8) }
        let pairs = [
            #"{"alg":"HS256","typ":"JWT"}"# + "\n"
                + #"{"sub":"s","roles":["r"],"realm_access":{"roles":["x"]},"exp":1.5e9,"nbf":0}"#,
            #"{"alg":"HS256"}"# + "\n" + #"{"exp":"soon","tenant_id":7}"#,
            #"{"alg":"none","crit":["b64"]}"# + "\n" + "{}",
        ]
        return tokens + pairs.map { [1] + Array($0.utf8) }
    }
}
