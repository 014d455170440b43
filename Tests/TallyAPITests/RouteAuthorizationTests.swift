import TallyAuth
import TallyCore
import TallyTestSupport
import Testing

@testable import TallyAPI

/// Forged tokens, and every route of the route table walked with every role, for the caller's own tenant and
/// for another one, against the README's table.
@Suite(.serialized) struct RouteAuthorizationTests {
    static let ownName = "Acme Corporation"
    static let otherName = "Globex Industries"

    // MARK: - Forged tokens

    /// A compact JWS with the given header and payload JSON, signed with HMAC-SHA256 under `key`
    /// (or with `signature` as given).
    static func forge(header: String, payload: String, key: [UInt8] = APIFixture.secret, signature: [UInt8]? = nil)
        -> String
    {
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
        #expect(
            try api.call("GET", path, token: Self.forge(header: hs256, payload: Self.superAdminPayload())).status == 200
        )
        let now = Timestamp.now().seconds
        let valid = APIFixture.token(["super_admin"])
        let parts = valid.split(separator: ".").map(String.init)
        let forgeries: [(String, String)] = [
            (
                "signed with another key",
                Self.forge(header: hs256, payload: Self.superAdminPayload(), key: Array("not-the-server-secret".utf8))
            ),
            (
                "alg none, no signature",
                Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
            ),
            (
                "alg none, HMAC signature",
                Self.forge(header: #"{"alg":"none","typ":"JWT"}"#, payload: Self.superAdminPayload())
            ),
            (
                "alg RS256 signed with HMAC under the server secret (key confusion)",
                Self.forge(header: #"{"alg":"RS256","typ":"JWT"}"#, payload: Self.superAdminPayload())
            ),
            ("alg HS512", Self.forge(header: #"{"alg":"HS512","typ":"JWT"}"#, payload: Self.superAdminPayload())),
            (
                "alg hs256 in lower case",
                Self.forge(header: #"{"alg":"hs256","typ":"JWT"}"#, payload: Self.superAdminPayload())
            ),
            ("header without alg", Self.forge(header: #"{"typ":"JWT"}"#, payload: Self.superAdminPayload())),
            (
                "critical header extension",
                Self.forge(header: #"{"alg":"HS256","crit":["exp"]}"#, payload: Self.superAdminPayload())
            ),
            (
                "tampered payload, original signature",
                parts[0] + "." + Base64URL.encode(Array(Self.superAdminPayload(expiresIn: 99_999).utf8)) + "."
                    + parts[2]
            ),
            (
                "tampered header, original signature",
                Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT","kid":"x"}"#.utf8)) + "." + parts[1] + "."
                    + parts[2]
            ),
            ("truncated signature", parts[0] + "." + parts[1] + "." + String(parts[2].dropLast(4))),
            ("a fourth segment", valid + ".AAAA"),
            ("expired beyond the leeway", Self.forge(header: hs256, payload: Self.superAdminPayload(expiresIn: -120))),
            (
                "not valid for another hour",
                Self.forge(header: hs256, payload: Self.superAdminPayload(extra: #","nbf":\#(now + 3600)"#))
            ),
            (
                "tenant_id that is not a UUID",
                Self.forge(header: hs256, payload: Self.superAdminPayload(extra: #","tenant_id":"acme""#))
            ),
            (
                "roles of the wrong type",
                Self.forge(header: hs256, payload: #"{"roles":"super_admin","exp":\#(now + 3600)}"#)
            ),
            (
                "longer than 8 KiB",
                Self.forge(
                    header: hs256,
                    payload: Self.superAdminPayload(extra: #","pad":"\#(String(repeating: "p", count: 9000))""#))
            ),
        ]
        for (label, token) in forgeries {
            let response = try api.call("GET", path, token: token)
            #expect(response.status == 401, "\(label)")
            // A token was sent and refused: RFC 6750 §3.1's code says so.
            #expect(response.header("WWW-Authenticate") == #"Bearer error="invalid_token""#, "\(label)")
        }
        // No bearer token sent: the challenge names the scheme alone (RFC 6750 §3.1).
        for scheme in ["Basic \(parts[1])", "Token \(valid)", "Bearer", valid] {
            let response = try api.client().request(
                "GET", path, headers: [("Authorization", scheme), ("x-tenantid", APIFixture.tenant)])
            #expect(response.status == 401, "Authorization: \(scheme.prefix(12))…")
            #expect(response.header("WWW-Authenticate") == "Bearer", "Authorization: \(scheme.prefix(12))…")
        }
        let anonymous = try api.client().request("GET", path, headers: [("x-tenantid", APIFixture.tenant)])
        #expect(anonymous.status == 401)
        #expect(anonymous.header("WWW-Authenticate") == "Bearer")
        // A genuine token with no role Tally knows is authenticated but allowed nothing: 403, not 401.
        let unknownRoles = Self.forge(header: hs256, payload: #"{"roles":["admin","root"],"exp":\#(now + 3600)}"#)
        let refused = try api.call("GET", path, token: unknownRoles)
        #expect(refused.status == 403)
        #expect(refused.header("WWW-Authenticate") == nil)
        #expect(refused.text.contains(#""code":"forbidden""#))
        // Within the 30 s leeway an expired token is still accepted.
        #expect(
            try api.call("GET", path, token: Self.forge(header: hs256, payload: Self.superAdminPayload(expiresIn: -10)))
                .status == 200)
    }

    @Test func aTokenForAnotherTenantIsRefusedHoweverTheRequestIsAddressed() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        for (id, name) in [(APIFixture.tenant, Self.ownName), (APIFixture.other, Self.otherName)] {
            #expect(
                try api.call(
                    "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(id)","name":"\#(name)"}"#
                ).status == 201)
        }
        let intruder = APIFixture.token(["tenant_admin", "member", "ingest"], tenant: APIFixture.other)
        let victim = APIFixture.tenant
        let paths = [
            "/api/v1/admin/tenants/\(victim)", "/api/v1/admin/tenants/\(victim)/stats",
            "/api/organizations/\(victim)/api-keys/stats",
        ]
        for path in paths {
            for header in [victim, APIFixture.other] {
                let response = try api.call("GET", path, token: intruder, tenantHeader: header)
                #expect(response.status == 403, "\(path) with x-tenantid \(header)")
                #expect(!response.text.contains(Self.ownName))
            }
        }
        let patch = try api.call(
            "PATCH", "/api/v1/admin/tenants/\(victim)", token: intruder, tenantHeader: APIFixture.other,
            body: #"{"name":"Owned"}"#)
        #expect(patch.status == 403)
        let ingest = try api.call(
            "POST", "/api/v1/events", token: intruder, tenantHeader: APIFixture.other,
            body: APIFixture.event("intrusion", tenant: victim))
        #expect(ingest.status == 422)
        #expect(api.engine.tenantStats(TenantID(victim)!)?.usage.apiCallsThisMonth == 0)
        #expect(try api.call("GET", "/api/v1/admin/tenants/\(victim)", token: admin).text.contains(Self.ownName))
    }

    /// `Authorization`, `x-tenantid` and `Content-Type` may not repeat: which copy counts would be a guess
    /// (a proxy may pick the other), so a request with two is refused with 400, whatever the copies hold.
    @Test func aRepeatedAuthorizationTenantOrContentTypeHeaderIsRefused() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let tenantAdmin = APIFixture.token(["tenant_admin"], tenant: APIFixture.tenant)
        let path = "/api/v1/admin/tenants/\(APIFixture.other)/stats"
        for headers in [
            [
                ("Authorization", "Bearer \(tenantAdmin)"), ("Authorization", "Bearer \(admin)"),
                ("x-tenantid", APIFixture.tenant),
            ],
            [
                ("Authorization", "Bearer \(admin)"), ("x-tenantid", APIFixture.tenant),
                ("X-TenantId", APIFixture.other),
            ],
            [
                ("Authorization", "Bearer \(admin)"), ("x-tenantid", APIFixture.tenant),
                ("Content-Type", "text/plain"), ("content-type", "application/json"),
            ],
        ] {
            let response = try api.client().request("GET", path, headers: headers)
            #expect(response.status == 400, "\(headers.map(\.0))")
            #expect(response.text.contains(#""code":"duplicate_header""#), "\(response.text)")
        }
        let once = try api.client().request(
            "GET", path, headers: [("Authorization", "Bearer \(admin)"), ("x-tenantid", APIFixture.tenant)])
        #expect(once.status != 400, "\(once.text)")
    }

    /// A tenant admin runs its own tenant's name and security settings; status, partner and storage quota
    /// stay with super_admin, so a suspended tenant cannot lift its own suspension or raise its quota.
    @Test func aTenantAdminMayRenameAndSetSettingsButNotStatusPartnerOrQuota() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let own = APIFixture.tenant
        #expect(
            try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(own)","name":"Acme"}"#)
                .status == 201)
        #expect(
            try api.call(
                "PATCH", "/api/v1/admin/tenants/\(own)", token: admin,
                body: #"{"status":"suspended","partner_id":"p-1"}"#
            ).status == 200)
        let tenantAdmin = APIFixture.token(["tenant_admin"], tenant: own)
        let path = "/api/v1/admin/tenants/\(own)"
        for (body, named) in [
            (#"{"status":"active"}"#, "status"), (#"{"status":"deleted"}"#, "status"),
            (#"{"partner_id":null}"#, "partner_id"), (#"{"partner_id":"p-2"}"#, "partner_id"),
            (#"{"settings":{"storage_quota_mb":999999}}"#, "settings.storage_quota_mb"),
            (#"{"settings":{"storage_quota_mb":null}}"#, "settings.storage_quota_mb"),
            (#"{"name":"Acme","settings":{"mfa_required":true,"storage_quota_mb":5}}"#, "settings.storage_quota_mb"),
        ] {
            let response = try api.call("PATCH", path, token: tenantAdmin, body: body)
            #expect(response.status == 403, "\(body)")
            #expect(response.text.contains("changing \(named)"), "\(body): \(response.text)")
        }
        let unchanged = try #require(api.engine.read { state in state.tenants[TenantID(own)!] })
        #expect(unchanged.status == .suspended && unchanged.partnerId == "p-1" && unchanged.storageQuotaMB == 10_000)
        #expect(unchanged.name == "Acme" && unchanged.settings == JSONObject())
        let allowed = try api.call(
            "PATCH", path, token: tenantAdmin,
            body: #"{"name":"Acme Corp","settings":{"mfa_required":true,"session_timeout":15}}"#)
        #expect(allowed.status == 200, "\(allowed.text)")
        #expect(allowed.text.contains(#""name":"Acme Corp""#) && allowed.text.contains(#""status":"suspended""#))
        #expect(allowed.text.contains(#""session_timeout":15"#))
    }

    /// `tenant.*` events change tenant records, which the tenants API keeps for super_admin: through the
    /// events endpoint an ingest token has them rejected one by one, while its other events go in.
    @Test func onlySuperAdminMayPostTenantEvents() throws {
        let api = try APIFixture()
        let own = APIFixture.tenant
        let admin = APIFixture.token(["super_admin"])
        let tenantEvents = [
            APIFixture.event("tc", "tenant.created", data: #"{"name":"Made up"}"#),
            APIFixture.event("tu", "tenant.updated", data: #"{"settings":{"storage_quota_mb":1}}"#),
            APIFixture.event("td", "tenant.deleted", data: "{}"),
        ]
        for (serial, token) in [APIFixture.token(["ingest"], tenant: own), APIFixture.token(["ingest"])].enumerated() {
            let response = try api.call(
                "POST", "/api/v1/events", token: token,
                body: "[" + (tenantEvents + [APIFixture.event("call-\(serial)")]).joined(separator: ",") + "]")
            #expect(response.status == 207, "\(response.text)")
            #expect(response.text.components(separatedBy: "type: tenant.* events need the super_admin role").count == 4)
            #expect(response.text.contains(#""index":3,"status":"accepted""#), "\(response.text)")
        }
        #expect(
            try api.call("GET", "/api/v1/admin/tenants/\(own)", token: admin).status == 404, "no tenant record was made"
        )
        let response = try api.call(
            "POST", "/api/v1/events", token: admin, body: "[" + tenantEvents.joined(separator: ",") + "]")
        #expect(response.status == 200, "\(response.text)")
        let record = try api.call("GET", "/api/v1/admin/tenants/\(own)", token: admin)
        #expect(record.text.contains(#""status":"deleted""#) && record.text.contains(#""storage_quota_mb":1"#))
    }

    // MARK: - Every route, every role

    /// Who calls: each role Tally knows (bound to the own tenant, except `super_admin`), or a token without roles.
    enum Caller: Hashable, CustomStringConvertible {
        case role(Principal.Role)
        case noRoles

        static var all: [Caller] { Principal.Role.allCases.map(Caller.role) + [.noRoles] }

        var description: String {
            switch self {
            case .role(let role): role.rawValue
            case .noRoles: "no roles"
            }
        }
    }

    /// Which tenant the request is about.
    enum Target: CaseIterable, Sendable, CustomStringConvertible {
        /// The caller's tenant, in the path, body and `x-tenantid`.
        case own
        /// The other tenant, in the path, body and `x-tenantid`.
        case other
        /// The other tenant in the path and body, the caller's own in `x-tenantid`.
        case otherUnderOwnHeader

        var description: String {
            switch self {
            case .own: "own tenant"
            case .other: "other tenant"
            case .otherUnderOwnHeader: "other tenant under own x-tenantid"
            }
        }
    }

    /// What a route expects: a body for a target tenant, and the status for a caller (a role, not `super_admin`,
    /// whose token's tenant matches `x-tenantid`; the x-tenantid and no-role rules are applied before).
    struct Expectation: Sendable {
        var body: @Sendable (_ tenant: String, _ serial: Int) -> String = { _, _ in "" }
        var superAdmin: Int = 200
        var status: @Sendable (_ role: Principal.Role, _ target: Target) -> Int
    }

    /// The README's table. A route missing here fails the walk.
    static let expectations: [String: Expectation] = [
        "POST /api/v1/events": Expectation(
            body: { tenant, serial in APIFixture.event("walk-\(serial)", tenant: tenant) },
            status: { role, target in role == .ingest ? (target == .own ? 200 : 422) : 403 }),
        "GET /api/v1/admin/tenants/{tenantId}/stats": Expectation(
            status: { role, target in role == .tenantAdmin && target == .own ? 200 : 403 }),
        "GET /api/organizations/{organizationId}/api-keys/stats": Expectation(
            status: { role, target in (role == .member || role == .tenantAdmin) && target == .own ? 200 : 403 }),
        "GET /api/v1/admin/tenants/": Expectation(status: { _, _ in 403 }),
        "POST /api/v1/admin/tenants/": Expectation(
            body: { _, serial in #"{"name":"Walk \#(serial)"}"# }, superAdmin: 201, status: { _, _ in 403 }),
        "GET /api/v1/admin/tenants/{tenant_id}": Expectation(
            status: { role, target in role == .tenantAdmin && target == .own ? 200 : 403 }),
        "PATCH /api/v1/admin/tenants/{tenant_id}": Expectation(
            body: { _, serial in #"{"settings":{"session_timeout":\#(30 + serial)}}"# },
            status: { role, target in role == .tenantAdmin && target == .own ? 200 : 403 }),
        "DELETE /api/v1/admin/tenants/{tenant_id}": Expectation(superAdmin: 204, status: { _, _ in 403 }),
        "GET /healthz": Expectation(status: { _, _ in 200 }),
        "GET /metrics": Expectation(status: { _, _ in 200 }),
        "GET /openapi.json": Expectation(status: { _, _ in 200 }),
    ]

    static func key(_ route: Route) -> String { "\(route.method) \(route.pattern)" }

    /// The status the README promises `caller` for `route` about `target`.
    static func expectedStatus(_ route: Route, _ expectation: Expectation, caller: Caller, target: Target) -> Int {
        guard route.authenticated else { return expectation.status(.member, target) }
        // A genuine token without a known role passes authentication and is then refused by every route.
        guard case .role(let role) = caller else { return 403 }
        if role == .superAdmin { return expectation.superAdmin }
        // x-tenantid must match the token's tenant for anyone but super_admin.
        if target == .other { return 403 }
        return expectation.status(role, target)
    }

    @Test func everyRouteTheTableHasAnExpectationAndNoExpectationIsStale() {
        let routes = Set(Route.all.map(Self.key))
        for route in routes.subtracting(Self.expectations.keys).sorted() {
            Issue.record("\(route) has no expectation in RouteAuthorizationTests.expectations: add the README's rule")
        }
        for stale in Set(Self.expectations.keys).subtracting(routes).sorted() {
            Issue.record("\(stale) is expected but not in Route.all")
        }
    }

    @Test func everyRouteWithEveryRoleForItsOwnAndAnotherTenant() throws {
        let api = try APIFixture()
        let own = APIFixture.tenant
        let other = APIFixture.other
        let admin = APIFixture.token(["super_admin"])
        // Two tenants with distinct names and data.
        for (id, name) in [(own, Self.ownName), (other, Self.otherName)] {
            #expect(
                try api.call(
                    "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(id)","name":"\#(name)"}"#
                ).status == 201)
            let slug = name.split(separator: " ")[0].lowercased()
            let events = [
                APIFixture.event(
                    "\(slug)-u", "user.created", tenant: id, data: #"{"userId":"\#(slug)-user","role":"admin"}"#),
                APIFixture.event(
                    "\(slug)-k", "key.created", tenant: id, data: #"{"keyId":"\#(slug)-key","name":"\#(name) key"}"#),
                APIFixture.event("\(slug)-c", tenant: id, data: #"{"keyId":"\#(slug)-key","status":200}"#),
            ]
            #expect(
                try api.call(
                    "POST", "/api/v1/events", token: admin, tenantHeader: id,
                    body: "[" + events.joined(separator: ",") + "]"
                ).status == 200)
        }
        let tokens: [Caller: String] = Dictionary(
            uniqueKeysWithValues: Caller.all.map { caller in
                switch caller {
                case .role(.superAdmin): (caller, admin)
                case .role(let role): (caller, APIFixture.token([role.rawValue], tenant: own))
                case .noRoles: (caller, APIFixture.token([], tenant: own))
                }
            })
        // Deletions go last (super_admin's last of all), so every other route sees both tenants alive.
        var cases: [(route: Route, caller: Caller, target: Target)] = []
        for route in Route.all {
            for caller in Caller.all {
                for target in Target.allCases { cases.append((route, caller, target)) }
            }
        }
        let destructive = { (item: (route: Route, caller: Caller, target: Target)) in item.route.method == "DELETE" }
        cases =
            cases.filter { !destructive($0) } + cases.filter { destructive($0) && $0.caller != .role(.superAdmin) }
            + cases.filter { destructive($0) && $0.caller == .role(.superAdmin) }

        var walked: Set<String> = []
        for (serial, item) in cases.enumerated() {
            guard let expectation = Self.expectations[Self.key(item.route)] else {
                Issue.record("\(Self.key(item.route)) has no expectation")
                continue
            }
            let tenant = item.target == .own ? own : other
            let header = item.target == .other ? other : own
            let path =
                "/"
                + item.route.pattern.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix("{") ? tenant : String($0) }.dropFirst().joined(separator: "/")
            let response = try api.call(
                item.route.method, path, token: tokens[item.caller], tenantHeader: header,
                body: expectation.body(tenant, serial))
            let expected = Self.expectedStatus(item.route, expectation, caller: item.caller, target: item.target)
            let label = "\(Self.key(item.route)) as \(item.caller) for the \(item.target)"
            #expect(response.status == expected, "\(label): \(response.text)")
            if item.caller != .role(.superAdmin) {
                let text = response.text.lowercased()
                #expect(!text.contains(other.lowercased()), "\(label) shows the other tenant's id: \(response.text)")
                #expect(!text.contains("globex"), "\(label) shows the other tenant's name or data: \(response.text)")
            }
            walked.insert(Self.key(item.route))
        }
        #expect(walked == Set(Route.all.map(Self.key)))
        // super_admin's deletion came last and took effect.
        let record = try api.call("GET", "/api/v1/admin/tenants/\(own)", token: admin)
        #expect(record.text.contains(#""status":"deleted""#))
    }
}
