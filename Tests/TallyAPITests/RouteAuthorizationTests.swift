import Testing
@testable import TallyAPI
import TallyAuth
import TallyCore
import TallyTestSupport

/// Forged tokens, and tokens for another tenant.
@Suite(.serialized) struct RouteAuthorizationTests {
    static let ownName = "Acme Corporation"
    static let otherName = "Globex Industries"

    // MARK: - Forged tokens

    /// A compact JWS with the given header and payload JSON, signed with HMAC-SHA256 under `key`
    /// (or with `signature` as given).
    static func forge(header: String, payload: String, key: [UInt8] = APIFixture.secret, signature: [UInt8]? = nil) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let mac = signature ?? HMACSHA256.authenticationCode(key: key, message: Array(input.utf8))
        return input + "." + Base64URL.encode(mac)
    }

    static func superAdminPayload(expiresIn: Int64 = 3600, extra: String = "") -> String {
        let now = Timestamp.now().seconds
        return #"{"sub":"attacker","roles":["super_admin"],"exp":\#(now + expiresIn),"iat":\#(now)\#(extra)}"#
    }

    @Test func forgedAndStaleTokensAreRefused() throws {
        let api = try APIFixture()
        let path = "/api/v1/admin/tenants/"
        let hs256 = #"{"alg":"HS256","typ":"JWT"}"#
        // The control: a correctly signed super_admin token is let in, so each refusal below is the forgery's doing.
        #expect(try api.call("GET", path, token: Self.forge(header: hs256, payload: Self.superAdminPayload())).status == 200)
        let now = Timestamp.now().seconds
        let valid = APIFixture.token(["super_admin"])
        let parts = valid.split(separator: ".").map(String.init)
        let forgeries: [(String, String)] = [
            ("signed with another key", Self.forge(header: hs256, payload: Self.superAdminPayload(), key: Array("not-the-server-secret".utf8))),
            ("alg none, no signature", Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."),
            ("alg none, HMAC signature", Self.forge(header: #"{"alg":"none","typ":"JWT"}"#, payload: Self.superAdminPayload())),
            ("alg RS256 signed with HMAC under the server secret (key confusion)",
             Self.forge(header: #"{"alg":"RS256","typ":"JWT"}"#, payload: Self.superAdminPayload())),
            ("alg HS512", Self.forge(header: #"{"alg":"HS512","typ":"JWT"}"#, payload: Self.superAdminPayload())),
            ("alg hs256 in lower case", Self.forge(header: #"{"alg":"hs256","typ":"JWT"}"#, payload: Self.superAdminPayload())),
            ("header without alg", Self.forge(header: #"{"typ":"JWT"}"#, payload: Self.superAdminPayload())),
            ("critical header extension", Self.forge(header: #"{"alg":"HS256","crit":["exp"]}"#, payload: Self.superAdminPayload())),
            ("tampered payload, original signature",
             parts[0] + "." + Base64URL.encode(Array(Self.superAdminPayload(expiresIn: 99_999).utf8)) + "." + parts[2]),
            ("tampered header, original signature",
             Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT","kid":"x"}"#.utf8)) + "." + parts[1] + "." + parts[2]),
            ("truncated signature", parts[0] + "." + parts[1] + "." + String(parts[2].dropLast(4))),
            ("a fourth segment", valid + ".AAAA"),
            ("expired beyond the leeway", Self.forge(header: hs256, payload: Self.superAdminPayload(expiresIn: -120))),
            ("not valid for another hour", Self.forge(header: hs256, payload: Self.superAdminPayload(extra: #","nbf":\#(now + 3600)"#))),
            ("tenant_id that is not a UUID", Self.forge(header: hs256, payload: Self.superAdminPayload(extra: #","tenant_id":"acme""#))),
            ("roles of the wrong type", Self.forge(header: hs256, payload: #"{"roles":"super_admin","exp":\#(now + 3600)}"#)),
            ("no role Tally knows", Self.forge(header: hs256, payload: #"{"roles":["admin","root"],"exp":\#(now + 3600)}"#)),
            ("longer than 8 KiB", Self.forge(header: hs256, payload: Self.superAdminPayload(extra: #","pad":"\#(String(repeating: "p", count: 9000))""#))),
        ]
        for (label, token) in forgeries {
            let response = try api.call("GET", path, token: token)
            #expect(response.status == 401, "\(label)")
            #expect(response.header("WWW-Authenticate") == "Bearer", "\(label)")
        }
        for scheme in ["Basic \(parts[1])", "Token \(valid)", "Bearer", valid] {
            let response = try api.client().request("GET", path, headers: [("Authorization", scheme), ("x-tenantid", APIFixture.tenant)])
            #expect(response.status == 401, "Authorization: \(scheme.prefix(12))…")
        }
        // Within the 30 s leeway an expired token is still accepted.
        #expect(try api.call("GET", path, token: Self.forge(header: hs256, payload: Self.superAdminPayload(expiresIn: -10))).status == 200)
    }

    @Test func aTokenForAnotherTenantIsRefusedHoweverTheRequestIsAddressed() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        for (id, name) in [(APIFixture.tenant, Self.ownName), (APIFixture.other, Self.otherName)] {
            #expect(try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(id)","name":"\#(name)"}"#).status == 201)
        }
        let intruder = APIFixture.token(["tenant_admin", "member", "ingest"], tenant: APIFixture.other)
        let victim = APIFixture.tenant
        let paths = ["/api/v1/admin/tenants/\(victim)", "/api/v1/admin/tenants/\(victim)/stats",
                     "/api/organizations/\(victim)/api-keys/stats"]
        for path in paths {
            for header in [victim, APIFixture.other] {
                let response = try api.call("GET", path, token: intruder, tenantHeader: header)
                #expect(response.status == 403, "\(path) with x-tenantid \(header)")
                #expect(!response.text.contains(Self.ownName))
            }
        }
        let patch = try api.call("PATCH", "/api/v1/admin/tenants/\(victim)", token: intruder, tenantHeader: APIFixture.other,
                                 body: #"{"name":"Owned"}"#)
        #expect(patch.status == 403)
        let ingest = try api.call("POST", "/api/v1/events", token: intruder, tenantHeader: APIFixture.other,
                                  body: APIFixture.event("intrusion", tenant: victim))
        #expect(ingest.status == 422)
        #expect(api.engine.tenantStats(TenantID(victim)!)?.usage.apiCallsThisMonth == 0)
        #expect(try api.call("GET", "/api/v1/admin/tenants/\(victim)", token: admin).text.contains(Self.ownName))
    }
}
