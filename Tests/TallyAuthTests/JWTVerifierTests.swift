import TallyAuth
import Testing

@Suite("JWTVerifier")
struct JWTVerifierTests {
    static let secretText = "s3cr3t-value-for-tests-0123456789"
    static let secret = utf8(secretText)
    static let now: Int64 = 1_700_000_000
    static let standardHeader = #"{"alg":"HS256","typ":"JWT"}"#
    static let verifier = JWTVerifier(secret: secret)

    /// Builds a compact JWS from raw header and payload JSON, signed with HMAC-SHA256 regardless of the header.
    static func token(header: String = standardHeader, payload: String, secret: [UInt8] = secret) -> String {
        let signingInput = Base64URL.encode(utf8(header)) + "." + Base64URL.encode(utf8(payload))
        let signature = HMACSHA256.authenticationCode(key: secret, message: utf8(signingInput))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Verifies and returns the thrown error, or `nil` if verification succeeded.
    static func failure(_ token: String, verifier: JWTVerifier = verifier, now: Int64 = now) -> JWTError? {
        do {
            _ = try verifier.verify(token[...], now: now)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Accepted tokens

    @Test("verifies the jwt.io HS256 example with its published secret")
    func verifiesJwtIoExample() throws {
        let token =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
            + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
            + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        let verifier = JWTVerifier(secret: utf8("your-256-bit-secret"))
        let claims = try verifier.verify(token[...], now: Self.now)
        #expect(claims == JWTClaims(subject: "1234567890", issuedAt: 1_516_239_022))
        #expect(Self.failure(token, verifier: JWTVerifier(secret: utf8("your-256-bit-secreT")))?.code == .badSignature)
    }

    @Test("accepts a token any of its secrets signed, and names which")
    func namesTheSecretThatSigned() throws {
        let previous = utf8("the-previous-secret-0123456789")
        let verifier = JWTVerifier(secrets: [Self.secret, previous])
        let payload = #"{"sub":"x","exp":1700000600}"#
        #expect(try verifier.verifyNamingSecret(Self.token(payload: payload)[...], now: Self.now).secretIndex == 0)
        let old = Self.token(payload: payload, secret: previous)
        let verified = try verifier.verifyNamingSecret(old[...], now: Self.now)
        #expect(verified.secretIndex == 1)
        #expect(verified.claims == JWTClaims(subject: "x", expiresAt: 1_700_000_600))
        #expect(Self.failure(old)?.code == .badSignature, "a verifier of the current secret alone refuses it")
        let other = Self.token(payload: payload, secret: utf8("neither-of-the-two-secrets-0123"))
        #expect(Self.failure(other, verifier: verifier)?.code == .badSignature)
        // The previous secret's token is checked as any: expired is expired.
        let expired = Self.token(payload: #"{"exp":1699990000}"#, secret: previous)
        #expect(Self.failure(expired, verifier: verifier)?.code == .expired)
    }

    @Test("verifies a token minted independently by python hmac/hashlib/base64")
    func verifiesPythonToken() throws {
        let script = """
            import base64, hashlib, hmac, json, sys
            def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
            header = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
            payload = b64(json.dumps({"sub": "py-user", "roles": ["reader", "writer"], "tenant_id": "t-1",
                "exp": 1700003600, "nbf": 1699999000.75, "iat": 1699999000, "extra": {"nested": [1, 2]},
                "name": "J\\u00f6rg \\ud83d\\ude00"}).encode())
            mac = hmac.new(sys.argv[1].encode(), (header + "." + payload).encode(), hashlib.sha256).digest()
            print(header + "." + payload + "." + b64(mac))
            """
        let token = try ReferenceTool.python(script, arguments: [Self.secretText])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let claims = try Self.verifier.verify(token[...], now: Self.now)
        #expect(
            claims
                == JWTClaims(
                    subject: "py-user",
                    roles: ["reader", "writer"],
                    tenantId: "t-1",
                    expiresAt: 1_700_003_600,
                    // 1699999000.75, rounded up: never valid before it.
                    notBefore: 1_699_999_001,
                    issuedAt: 1_699_999_000
                )
        )
    }

    @Test("merges top-level roles with Keycloak realm_access roles, de-duplicated in order")
    func mergesKeycloakRoles() throws {
        let payload = #"{"sub":"u","roles":["a","b","a"],"realm_access":{"roles":["b","c","a","d"]},"x":{}}"#
        let claims = try Self.verifier.verify(Self.token(payload: payload)[...], now: Self.now)
        #expect(claims.roles == ["a", "b", "c", "d"])
    }

    @Test("de-duplicates long role lists in order")
    func deduplicatesLongRoleLists() throws {
        let names = (0..<30).map { "role-\($0)" }
        let list = names.map { "\"\($0)\"" }.joined(separator: ",")
        let payload = #"{"roles":[\#(list),\#(list)],"realm_access":{"roles":[\#(list)]}}"#
        let claims = try Self.verifier.verify(Self.token(payload: payload)[...], now: Self.now)
        #expect(claims.roles == names)
    }

    @Test("reads Keycloak realm_access roles when there is no roles claim")
    func readsKeycloakOnly() throws {
        let payload = #"{"realm_access":{"roles":["offline_access","admin"]}}"#
        let claims = try Self.verifier.verify(Self.token(payload: payload)[...], now: Self.now)
        #expect(claims.roles == ["offline_access", "admin"])
        let noRoles = try Self.verifier.verify(Self.token(payload: #"{"realm_access":{}}"#)[...], now: Self.now)
        #expect(noRoles.roles.isEmpty)
    }

    @Test(
        "floors fractional NumericDates",
        arguments: [("1700000000.9", Int64(1_700_000_000)), ("-1.5", -2), ("2.0", 2), ("1e3", 1000), ("-0.0", 0)]
    )
    func floorsFractions(literal: String, expected: Int64) throws {
        let claims = try Self.verifier.verify(Self.token(payload: #"{"iat":\#(literal)}"#)[...], now: Self.now)
        #expect(claims.issuedAt == expected)
    }

    @Test("accepts a header without typ and with extra members, and ignores unknown claims")
    func acceptsMinimalHeader() throws {
        let plain = Self.token(header: #"{"alg":"HS256"}"#, payload: #"{"sub":"x","foo":[{"bar":null}]}"#)
        #expect(try Self.verifier.verify(plain[...], now: Self.now).subject == "x")
        let extra = Self.token(header: #"{"kid":"k1","alg":"HS256","typ":"at+jwt"}"#, payload: "{}")
        #expect(try Self.verifier.verify(extra[...], now: Self.now) == JWTClaims())
    }

    @Test("verifies a token that is a slice of a larger string")
    func verifiesSubstringSlice() throws {
        let token = Self.token(payload: #"{"sub":"slice"}"#)
        let header = "Bearer " + token
        let slice = header.dropFirst("Bearer ".count)
        #expect(try Self.verifier.verify(slice, now: Self.now).subject == "slice")
    }

    // MARK: - Time checks

    @Test(
        "applies the 30 s leeway to exp: expired exactly when now >= exp + leeway",
        arguments: [(Int64(-31), true), (-30, true), (-29, false), (0, false), (3600, false)]
    )
    func expiry(offset: Int64, expired: Bool) {
        let token = Self.token(payload: #"{"exp":\#(Self.now + offset)}"#)
        let error = Self.failure(token)
        #expect(error?.code == (expired ? .expired : nil))
    }

    @Test(
        "applies the 30 s leeway to nbf: not yet valid exactly when now + leeway < nbf",
        arguments: [(Int64(31), true), (30, false), (0, false), (-3600, false), (100_000, true)]
    )
    func notBefore(offset: Int64, rejected: Bool) {
        let token = Self.token(payload: #"{"nbf":\#(Self.now + offset)}"#)
        #expect(Self.failure(token)?.code == (rejected ? .notYetValid : nil))
    }

    /// Times are compared in whole seconds, a fractional `exp` rounded down and `nbf` up: a token is never
    /// taken as valid outside its leeway, only refused up to a second early. `nbf` was once rounded down, and
    /// a token 30.3 s ahead was taken.
    @Test("rounds a fractional exp down and nbf up")
    func fractionalTimesAreReadConservatively() {
        #expect(Self.failure(Self.token(payload: #"{"nbf":\#(Self.now + 30).3}"#))?.code == .notYetValid)
        #expect(Self.failure(Self.token(payload: #"{"nbf":\#(Self.now + 29).9}"#)) == nil)
        // now - 29.3 and now - 28.3.
        #expect(Self.failure(Self.token(payload: #"{"exp":\#(Self.now - 30).7}"#))?.code == .expired)
        #expect(Self.failure(Self.token(payload: #"{"exp":\#(Self.now - 29).7}"#)) == nil)
    }

    @Test("uses the configured leeway, clamping negative leeway to zero")
    func customLeeway() {
        let token = Self.token(payload: #"{"exp":\#(Self.now - 100)}"#)
        #expect(Self.failure(token, verifier: JWTVerifier(secret: Self.secret, leewaySeconds: 101)) == nil)
        #expect(Self.failure(token, verifier: JWTVerifier(secret: Self.secret, leewaySeconds: 100))?.code == .expired)
        let edge = Self.token(payload: #"{"exp":\#(Self.now)}"#)
        #expect(Self.failure(edge, verifier: JWTVerifier(secret: Self.secret, leewaySeconds: -5))?.code == .expired)
    }

    @Test("does not overflow on extreme exp and nbf values")
    func extremeTimes() {
        #expect(Self.failure(Self.token(payload: #"{"exp":9223372036854775807}"#)) == nil)
        #expect(Self.failure(Self.token(payload: #"{"nbf":-9223372036854775808}"#)) == nil)
        #expect(Self.failure(Self.token(payload: #"{"nbf":9223372036854775807}"#))?.code == .notYetValid)
        #expect(Self.failure(Self.token(payload: #"{"nbf":1}"#), now: Int64.max) == nil)
    }

    // MARK: - Rejections

    @Test("rejects a token signed with a different secret")
    func rejectsWrongSecret() {
        let token = Self.token(payload: #"{"sub":"u"}"#, secret: utf8("another-secret"))
        #expect(Self.failure(token)?.code == .badSignature)
    }

    @Test("rejects alg none tokens without a signature part")
    func rejectsAlgNoneUnsigned() {
        let signingInput =
            Base64URL.encode(utf8(#"{"alg":"none","typ":"JWT"}"#)) + "."
            + Base64URL.encode(utf8(#"{"sub":"admin"}"#))
        #expect(Self.failure(signingInput + ".")?.code == .malformed)
        #expect(Self.failure(signingInput)?.code == .malformed)
    }

    @Test(
        "rejects any algorithm other than exactly HS256, even when HMAC-signed with the secret",
        arguments: [
            #"{"alg":"none"}"#, #"{"alg":"None"}"#, #"{"alg":"NONE"}"#, #"{"alg":"RS256","typ":"JWT"}"#,
            #"{"alg":"HS512"}"#, #"{"alg":"HS384"}"#, #"{"alg":"hs256"}"#, #"{"alg":"HS256 "}"#, #"{"typ":"JWT"}"#,
            #"{"alg":256}"#, #"{"alg":null}"#, #"{"alg":["HS256"]}"#, #"{"alg":{"name":"HS256"}}"#, "{}",
        ]
    )
    func rejectsOtherAlgorithms(header: String) {
        let token = Self.token(header: header, payload: #"{"sub":"admin"}"#)
        #expect(Self.failure(token)?.code == .unsupportedAlgorithm)
    }

    @Test("rejects a header with a crit member")
    func rejectsCrit() {
        let token = Self.token(header: #"{"alg":"HS256","crit":["exp"],"exp":1}"#, payload: "{}")
        #expect(Self.failure(token)?.code == .unsupportedAlgorithm)
        let emptyCrit = Self.token(header: #"{"alg":"HS256","crit":[]}"#, payload: "{}")
        #expect(Self.failure(emptyCrit)?.code == .unsupportedAlgorithm)
    }

    /// RFC 7797's `b64: false` changes what the signature covers: anything but `true` is refused, with or
    /// without `crit`, even when the signature holds over the encoded payload.
    @Test("rejects a header whose b64 is not true")
    func rejectsUnencodedPayloads() {
        for header in [#"{"alg":"HS256","b64":false}"#, #"{"alg":"HS256","b64":"false"}"#, #"{"alg":"HS256","b64":0}"#]
        {
            let failure = Self.failure(Self.token(header: header, payload: #"{"sub":"admin"}"#))
            #expect(failure?.code == .unsupportedAlgorithm, "\(header)")
            #expect(
                failure?.message == "token header 'b64' must be true: unencoded payloads (RFC 7797) are not supported")
        }
        #expect(Self.failure(Self.token(header: #"{"alg":"HS256","b64":true}"#, payload: #"{"sub":"admin"}"#)) == nil)
    }

    @Test("rejects a header whose typ is not a string")
    func rejectsNonStringTyp() {
        let token = Self.token(header: #"{"alg":"HS256","typ":1}"#, payload: "{}")
        #expect(Self.failure(token)?.code == .malformed)
    }

    @Test("rejects a payload with one character changed")
    func rejectsTamperedPayload() {
        let token = Self.token(payload: #"{"sub":"user","roles":["reader"]}"#)
        var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // {"sub":"user",... -> {"sub":"usEr",... keeps the payload valid JSON and canonical base64url.
        parts[1] = Base64URL.encode(utf8(#"{"sub":"usEr","roles":["reader"]}"#))
        #expect(Self.failure(parts.joined(separator: "."))?.code == .badSignature)
        let swapped = Base64URL.encode(utf8(#"{"sub":"user","roles":["admin"]}"#))
        #expect(Self.failure([parts[0], swapped, parts[2]].joined(separator: "."))?.code == .badSignature)
    }

    @Test("rejects a valid-looking header that differs from the signed one")
    func rejectsTamperedHeader() {
        let token = Self.token(payload: #"{"sub":"user"}"#)
        let parts = token.split(separator: ".").map(String.init)
        let header = Base64URL.encode(utf8(#"{"alg":"HS256","typ":"JWS"}"#))
        #expect(Self.failure([header, parts[1], parts[2]].joined(separator: "."))?.code == .badSignature)
    }

    @Test("rejects every single-character substitution anywhere in the token")
    func rejectsEverySubstitution() {
        let token = Array(Self.token(payload: #"{"sub":"user","exp":1800000000}"#).utf8)
        let headerEnd = token.firstIndex(of: UInt8(ascii: ".")) ?? 0
        for position in token.indices where token[position] != UInt8(ascii: ".") {
            var tampered = token
            tampered[position] = token[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let code = Self.failure(String(decoding: tampered, as: UTF8.self))?.code
            if position < headerEnd {
                // A changed header may still parse and then name a different (or no) algorithm.
                #expect([.badSignature, .malformed, .unsupportedAlgorithm].contains(code), "position \(position)")
            } else {
                #expect(code == .badSignature || code == .malformed, "position \(position)")
            }
        }
    }

    @Test(
        "rejects tokens that do not have exactly three non-empty segments",
        arguments: ["", ".", "..", "...", "abc", "abc.def", "abc.def.ghi.jkl", ".def.ghi", "abc..ghi", "abc.def."]
    )
    func rejectsSegmentCount(token: String) {
        #expect(Self.failure(token)?.code == .malformed)
    }

    @Test("rejects a fourth segment appended to a valid token")
    func rejectsExtraSegment() {
        let token = Self.token(payload: "{}")
        #expect(Self.failure(token + ".AAAA")?.code == .malformed)
        #expect(Self.failure(token + ".")?.code == .malformed)
    }

    @Test("rejects segments that are not canonical base64url")
    func rejectsBadBase64() {
        let token = Self.token(payload: #"{"sub":"u"}"#)
        let parts = token.split(separator: ".").map(String.init)
        let variants = [
            parts[0] + "=." + parts[1] + "." + parts[2],
            parts[0] + "." + parts[1] + "==." + parts[2],
            parts[0] + "." + parts[1] + "." + parts[2] + "=",
            parts[0] + "." + parts[1] + "."
                + parts[2].replacingOccurrences(of: "_", with: "/")
                .replacingOccurrences(of: "-", with: "+") + "+",
            parts[0] + "." + parts[1] + "." + parts[2] + "AA",
            " " + token,
            token + "\n",
            parts[0] + ".e yJ." + parts[2],
            parts[0] + "." + parts[1] + "." + parts[2].dropLast() + "é",
        ]
        for variant in variants {
            #expect(Self.failure(variant)?.code == .malformed, "\(variant.debugDescription)")
        }
    }

    @Test("rejects a header that is not a JSON object", arguments: ["not json", "[\"HS256\"]", "\"HS256\"", "", "{"])
    func rejectsNonJSONHeader(header: String) {
        let signingInput = (header.isEmpty ? "" : Base64URL.encode(utf8(header))) + "." + Base64URL.encode(utf8("{}"))
        let signature = Base64URL.encode(HMACSHA256.authenticationCode(key: Self.secret, message: utf8(signingInput)))
        #expect(Self.failure(signingInput + "." + signature)?.code == .malformed)
    }

    @Test("rejects a header with a duplicated alg member")
    func rejectsDuplicateAlg() {
        let token = Self.token(header: #"{"alg":"none","alg":"HS256"}"#, payload: "{}")
        #expect(Self.failure(token)?.code == .malformed)
        #expect(Self.failure(token)?.message == #"token header repeats the member "alg""#)
    }

    /// Valid JSON refused for a repeated member (however it is spelt) or for nesting past the limit is told
    /// why, not called "not a JSON object".
    @Test("names a repeated member or deep nesting in the payload")
    func namesRepeatedMembersAndDeepNesting() {
        #expect(
            Self.failure(Self.token(payload: #"{"roles":["a"],"r\u006fles":["super_admin"]}"#))?.message
                == #"token payload repeats the member "roles""#)
        let deep = #"{"x":"# + String(repeating: "[", count: 16) + String(repeating: "]", count: 16) + "}"
        #expect(
            Self.failure(Self.token(payload: deep))?.message
                == "token payload nests objects and arrays deeper than 16 levels")
        #expect(Self.failure(Self.token(payload: "not json"))?.message == "token payload is not a JSON object")
    }

    @Test(
        "rejects a correctly signed payload that is not a JSON object",
        arguments: [#"["sub","admin"]"#, "\"admin\"", "42", "null", "not json", #"{"sub":"a","sub":"b"}"#]
    )
    func rejectsNonObjectPayload(payload: String) {
        #expect(Self.failure(Self.token(payload: payload))?.code == .malformed)
    }

    @Test(
        "rejects claims of the wrong JSON type",
        arguments: [
            #"{"roles":"admin"}"#, #"{"roles":["a",1]}"#, #"{"roles":{"admin":true}}"#, #"{"roles":null}"#,
            #"{"realm_access":"admin"}"#, #"{"realm_access":{"roles":"admin"}}"#, #"{"realm_access":{"roles":[null]}}"#,
            #"{"sub":123}"#, #"{"sub":null}"#, #"{"tenant_id":7}"#, #"{"tenant_id":["t"]}"#,
            #"{"exp":"1800000000"}"#, #"{"exp":true}"#, #"{"nbf":[1]}"#, #"{"iat":{}}"#, #"{"exp":1e300}"#,
            #"{"iat":-1e19}"#, #"{"exp":-9223372036854775809}"#, #"{"exp":9223372036854775808}"#,
        ]
    )
    func rejectsWrongClaimTypes(payload: String) {
        #expect(Self.failure(Self.token(payload: payload))?.code == .invalidClaims)
    }

    @Test("checks the signature before interpreting claims")
    func signatureBeforeClaims() {
        let token = Self.token(payload: #"{"roles":"admin","exp":1}"#, secret: utf8("wrong"))
        #expect(Self.failure(token)?.code == .badSignature)
    }

    @Test("accepts a valid token of exactly 8192 bytes and rejects one of 8193 bytes")
    func sizeCap() throws {
        #expect(JWTVerifier.maximumTokenByteCount == 8192)
        // Grow a padding claim until the signed token hits each target length exactly.
        func token(ofLength length: Int) -> String? {
            (6000...6200).lazy
                .map { Self.token(payload: #"{"pad":"\#(String(repeating: "x", count: $0))"}"#) }
                .first { $0.utf8.count == length }
        }
        let atLimit = try #require(token(ofLength: 8192))
        let overLimit = try #require(token(ofLength: 8193))
        #expect(Self.failure(atLimit) == nil)
        #expect(Self.failure(overLimit)?.code == .malformed)
        let huge = String(repeating: "A", count: 1 << 20)
        #expect(Self.failure(huge + "." + huge + "." + huge)?.code == .malformed)
    }

    @Test("rejects a signature of the wrong length")
    func rejectsShortSignature() {
        let token = Self.token(payload: "{}")
        let parts = token.split(separator: ".").map(String.init)
        let mac = HMACSHA256.authenticationCode(key: Self.secret, message: utf8(parts[0] + "." + parts[1]))
        let truncated = Base64URL.encode(mac.prefix(16))
        #expect(Self.failure(parts[0] + "." + parts[1] + "." + truncated)?.code == .badSignature)
    }

    // MARK: - Error hygiene

    @Test("never puts token text or the secret into error messages")
    func errorsDoNotLeak() {
        let signingInput = Base64URL.encode(utf8(#"{"alg":"none"}"#)) + "." + Base64URL.encode(utf8(#"{"sub":"x"}"#))
        let tokens = [
            Self.token(payload: #"{"sub":"leaky-subject"}"#, secret: utf8("other")),
            Self.token(payload: #"{"sub":"leaky-subject","exp":1}"#),
            Self.token(payload: #"{"sub":"leaky-subject","nbf":9999999999}"#),
            Self.token(payload: #"{"sub":["leaky-subject"]}"#),
            Self.token(header: #"{"alg":"leaky-alg"}"#, payload: "{}"),
            Self.token(payload: "leaky-not-json"),
            signingInput + ".",
            "leaky.qqqq.zzzz=",
        ]
        for token in tokens {
            guard let error = Self.failure(token) else {
                Issue.record("expected a failure")
                continue
            }
            for text in [error.message, error.description, String(describing: error)] {
                #expect(!text.contains(token))
                #expect(!text.contains("leaky"))
                #expect(!text.contains(Self.secretText))
                for segment in token.split(separator: ".") where segment.count >= 4 {
                    #expect(!text.contains(segment))
                }
            }
        }
    }

    @Test("describes errors as code followed by message")
    func describesErrors() {
        let error = JWTError(code: .expired, message: "token has expired")
        #expect(error.description == "expired: token has expired")
        #expect(JWTError.Code.unsupportedAlgorithm.rawValue == "unsupportedAlgorithm")
    }
}
