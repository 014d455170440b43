import Foundation
import TallyAuth
import Testing

@Suite("JWTSigner")
struct JWTSignerTests {
    static let secret = utf8("signer-secret")
    static let now: Int64 = 1_700_000_000

    static let sampleClaims: [JWTClaims] = [
        JWTClaims(),
        JWTClaims(subject: "user-1"),
        JWTClaims(
            subject: "user-2",
            roles: ["admin", "tally.write"],
            tenantId: "acme",
            expiresAt: now + 3600,
            notBefore: now - 10,
            issuedAt: now - 10
        ),
        JWTClaims(subject: "quote \" backslash \\ newline \n tab \t nul \u{0} unit \u{1F}", roles: ["é", "😀", ""]),
        JWTClaims(tenantId: "</script>\u{2028}", expiresAt: Int64.max, issuedAt: Int64.min),
    ]

    @Test("produces tokens that the verifier accepts with identical claims", arguments: sampleClaims)
    func roundTrips(claims: JWTClaims) throws {
        let token = JWTSigner(secret: Self.secret).sign(claims)
        let verified = try JWTVerifier(secret: Self.secret).verify(token[...], now: Self.now)
        #expect(verified == claims)
    }

    @Test("uses the fixed HS256 JWT header and the documented payload member order")
    func writesExpectedJSON() throws {
        let claims = JWTClaims(subject: "s", roles: ["r"], tenantId: "t", expiresAt: 3, notBefore: 2, issuedAt: 1)
        let token = JWTSigner(secret: Self.secret).sign(claims)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        #expect(parts[0] == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")
        let header = try #require(Base64URL.decode(parts[0]))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"HS256","typ":"JWT"}"#)
        let payload = try #require(Base64URL.decode(parts[1]))
        #expect(
            String(decoding: payload, as: UTF8.self)
                == #"{"sub":"s","roles":["r"],"tenant_id":"t","exp":3,"nbf":2,"iat":1}"#
        )
        let empty = JWTSigner(secret: Self.secret).sign(JWTClaims())
        #expect(Base64URL.decode(empty.split(separator: ".")[1]) == utf8("{}"))
    }

    @Test("produces tokens that python's json, hmac and base64 accept")
    func pythonAcceptsTokens() throws {
        let claims = JWTClaims(subject: "Jörg \"😀\"\n", roles: ["a\\b"], tenantId: "t", expiresAt: 42)
        let token = JWTSigner(secret: Self.secret).sign(claims)
        let script = """
            import base64, hashlib, hmac, json, sys
            def unb64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
            h, p, s = sys.argv[2].split(".")
            mac = hmac.new(sys.argv[1].encode(), (h + "." + p).encode(), hashlib.sha256).digest()
            assert hmac.compare_digest(mac, unb64(s)), "signature"
            print(json.dumps([json.loads(unb64(h)), json.loads(unb64(p))], sort_keys=True))
            """
        let output = try ReferenceTool.python(script, arguments: ["signer-secret", token])
        let decoded = try #require(
            try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
        )
        try #require(decoded.count == 2)
        #expect(decoded[0]["alg"] as? String == "HS256")
        #expect(decoded[0]["typ"] as? String == "JWT")
        #expect(decoded[1]["sub"] as? String == "Jörg \"😀\"\n")
        #expect(decoded[1]["roles"] as? [String] == ["a\\b"])
        #expect(decoded[1]["tenant_id"] as? String == "t")
        #expect((decoded[1]["exp"] as? NSNumber)?.int64Value == 42)
        #expect(decoded[1]["nbf"] == nil)
    }

    @Test("signs deterministically and differently under different secrets")
    func deterministic() {
        let claims = JWTClaims(subject: "same")
        #expect(JWTSigner(secret: Self.secret).sign(claims) == JWTSigner(secret: Self.secret).sign(claims))
        #expect(JWTSigner(secret: Self.secret).sign(claims) != JWTSigner(secret: utf8("other")).sign(claims))
    }
}
