import Foundation
import Synchronization
import TallyAuth
import TallyCore
import TallyEngine
import TallyHTTP
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyAPI

/// Refusals: error statuses and their seed names, the auth matrix, and bodies refused on their head.
extension APITests {
    @Test func errorsHaveTheRightStatus() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: "{oops").status == 400)
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: "[]").status == 400)
        #expect(
            try api.call("POST", "/api/v1/events", token: admin, contentType: "text/plain", body: "x").status == 415)
        for path in ["/api/v1/events", "/api/v1/admin/tenants/"] {
            let empty = try api.call("POST", path, token: admin, contentType: "", body: "{}")
            #expect(
                empty.status == 415 && empty.text.contains("An empty Content-Type is not supported"), "\(empty.text)")
        }
        #expect(
            try api.call("POST", "/api/v1/events", token: admin, body: "[" + APIFixture.event("z", "bogus") + "]")
                .status == 422)
        #expect(try api.call("GET", "/api/v1/admin/tenants/not-a-uuid/stats", token: admin).status == 400)
        #expect(try api.call("GET", "/api/v1/admin/tenants/\(APIFixture.other)/stats", token: admin).status == 404)
        #expect(try api.call("GET", "/nope", token: nil).status == 404)
        // The answer quotes the path as sent, not as routes match it (one trailing slash dropped).
        let doubled = try api.call("GET", "/healthz//", token: nil)
        #expect(doubled.status == 404 && doubled.text.contains("no route for /healthz//"), "\(doubled.text)")
        let wrongMethod = try api.call("DELETE", "/api/v1/events", token: admin)
        #expect(wrongMethod.status == 405 && wrongMethod.header("Allow") == "POST")
        // A method HTTP defines but the path does not take is a 405; one HTTP does not define (methods are
        // case-sensitive) is a 501 on any path (RFC 9110 §9.1).
        #expect(try api.call("TRACE", "/healthz", token: nil).header("Allow") == "GET, HEAD")
        for (method, path) in [("BREW", "/healthz"), ("get", "/healthz"), ("BREW", "/nope")] {
            let unknown = try api.call(method, path, token: nil)
            #expect(
                unknown.status == 501 && unknown.text.contains(#""code":"not_implemented""#)
                    && unknown.text.contains("\(method) is not an HTTP method"), "\(method) \(path): \(unknown.text)")
        }
        // An answer that quotes the path or method never repeats a token sent there: a proxy or the client's
        // error reporting may keep it.
        let signature = admin.split(separator: ".").last.map(String.init) ?? admin
        for (method, path, status) in [
            ("GET", "/x/\(admin)", 404), ("PUT", "/api/v1/admin/tenants/\(admin)", 405), ("G" + admin, "/healthz", 501),
            ("DELETE", "/api/v1/admin/tenants/\(admin)/stats", 405),
        ] {
            let quoted = try api.call(method, path, token: admin, contentType: "", body: method == "PUT" ? "{}" : "")
            #expect(quoted.status == status && quoted.text.contains("<token>"), "\(method) \(path): \(quoted.text)")
            #expect(!quoted.text.contains(signature), "\(method) \(path): \(quoted.text)")
        }
        // Nor does one that quotes a refused Content-Type or Content-Encoding, though the media type was
        // lowercased (which no redaction recognises): a value past 64 bytes is quoted by its first 32 bytes.
        let tenantsPath = "/api/v1/admin/tenants/"
        let encoded = [("Content-Encoding", admin)]
        for (path, contentType, headers) in [
            ("/api/v1/events", admin, []), (tenantsPath, admin, []), ("/api/v1/events", "application/json", encoded),
        ] {
            let refused = try api.call(
                "POST", path, token: admin, contentType: contentType, body: "{}", headers: headers)
            #expect(refused.status == 415, "\(refused.text)")
            #expect(
                refused.text.contains(admin.prefix(32).lowercased() + "…(\(admin.utf8.count) bytes)"), "\(refused.text)"
            )
            #expect(!refused.text.lowercased().contains(signature.lowercased()), "\(refused.text)")
        }
        let named = try api.call("POST", "/api/v1/events", token: admin, contentType: "text/plain", body: "{}")
        #expect(named.text.contains("Content-Type text/plain is not supported"), "\(named.text)")
        // No answer is for a cache to keep: each is live state or about one request.
        for (path, token) in [("/healthz", nil), ("/nope", nil), ("/api/v1/admin/tenants/", admin)]
            as [(String, String?)]
        {
            #expect(try api.call("GET", path, token: token).header("Cache-Control") == "no-store", "\(path)")
        }
        let deep = String(repeating: "[", count: 10_000)
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: deep).status == 400)
        let invalidUTF8 = try api.client().request(
            "POST", "/api/v1/events",
            headers: [
                ("Authorization", "Bearer \(admin)"), ("x-tenantid", APIFixture.tenant),
                ("Content-Type", "application/json"),
            ], body: [0x22, 0xC3, 0x28, 0x22])
        #expect(invalidUTF8.status == 400)
        #expect(try api.call("GET", "/healthz", token: nil).status == 200)
    }

    /// A request without `x-tenantid` is told so, and, when it sent the header under a lookalike name, which
    /// one and how it is spelled.
    @Test func aMisspelledTenantHeaderIsNamed() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let stats = "/api/v1/admin/tenants/\(APIFixture.tenant)/stats"
        let missing = try api.call("GET", stats, token: admin, tenantHeader: nil)
        #expect(missing.status == 400)
        #expect(missing.text.contains(#""message":"the x-tenantid header is required""#), "\(missing.text)")
        for name in ["x-tenant-id", "X-Tenant-ID", "tenant-id", "X_TenantId", "tenantid"] {
            let answer = try api.client().request(
                "GET", stats, headers: [("Authorization", "Bearer \(admin)"), (name, APIFixture.tenant)])
            #expect(answer.status == 400)
            #expect(
                answer.text.contains(
                    "the x-tenantid header is required (\(name) was sent: the header is spelled x-tenantid)"),
                "\(name): \(answer.text)")
        }
        let unrelated = try api.client().request(
            "GET", stats, headers: [("Authorization", "Bearer \(admin)"), ("x-tenant", APIFixture.tenant)])
        #expect(unrelated.text.contains(#""message":"the x-tenantid header is required""#), "\(unrelated.text)")
    }

    @Test func theAuthMatrixRefusesEveryBadToken() throws {
        let api = try APIFixture()
        let path = "/api/v1/admin/tenants/\(APIFixture.tenant)/stats"
        _ = try api.call(
            "POST", "/api/v1/events", token: APIFixture.token(["super_admin"]), body: APIFixture.event("seed"))
        let good = APIFixture.token(["tenant_admin"], tenant: APIFixture.tenant)
        #expect(try api.call("GET", path, token: good).status == 200)
        #expect(try api.call("GET", path, token: nil).status == 401, "missing")
        #expect(try api.call("GET", path, token: "not.a.jwt").status == 401, "malformed")
        #expect(
            try api.call(
                "GET", path, token: APIFixture.token(["super_admin"], secret: Array("another-secret-entirely!".utf8))
            ).status == 401, "wrong signature")
        let parts = good.split(separator: ".")
        let none = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
        #expect(try api.call("GET", path, token: none).status == 401, "alg none")
        #expect(
            try api.call("GET", path, token: APIFixture.token(["super_admin"], expiresIn: -3600)).status == 401,
            "expired")
        let tampered =
            parts[0] + "." + Base64URL.encode(Array(#"{"roles":["super_admin"],"exp":9999999999}"#.utf8)) + "."
            + parts[2]
        #expect(try api.call("GET", path, token: String(tampered)).status == 401, "tampered payload")
        #expect(try api.call("GET", path, token: good, tenantHeader: nil).status == 400, "missing x-tenantid")
        #expect(
            try api.call("GET", path, token: good, tenantHeader: APIFixture.other).status == 403,
            "x-tenantid of another tenant")
        let otherAdmin = APIFixture.token(["tenant_admin"], tenant: APIFixture.other)
        #expect(
            try api.call("GET", path, token: otherAdmin, tenantHeader: APIFixture.other).status == 403, "wrong tenant")
        let member = APIFixture.token(["member"], tenant: APIFixture.tenant)
        #expect(try api.call("GET", path, token: member).status == 403, "wrong role")
        #expect(try api.call("GET", "/api/v1/admin/tenants/", token: good).status == 403, "list needs super_admin")
        let ingestOther = APIFixture.token(["ingest"], tenant: APIFixture.other)
        let cross = try api.call(
            "POST", "/api/v1/events", token: ingestOther, tenantHeader: APIFixture.other,
            body: APIFixture.event("cross"))
        #expect(cross.status == 422 && cross.text.contains("may not ingest for another tenant"))
    }

    /// An error's `message` is the name seed 000's error table gives it; the detail is `error.message`.
    @Test func errorsAreNamedAsTheSeedNamesThem() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let member = APIFixture.token(["member"], tenant: APIFixture.tenant)
        let stats = "/api/v1/admin/tenants/\(APIFixture.tenant)/stats"
        let cases: [(LoopbackClient.Response, Int, String, String)] = [
            (
                try api.call("GET", "/api/v1/admin/tenants/not-a-uuid/stats", token: admin), 400, "Invalid tenant ID",
                "tenantId must be a UUID"
            ),
            (try api.call("GET", stats, token: nil), 401, "Authentication failed", "missing Authorization header"),
            (try api.call("GET", stats, token: member), 403, "Insufficient permissions", "requires super_admin"),
            (try api.call("GET", stats, token: admin), 404, "Tenant not found", "no tenant \(APIFixture.tenant)"),
            (
                try api.call("GET", "/api/organizations/\(APIFixture.tenant)/api-keys/stats", token: admin), 404,
                "Organization not found", "no organization"
            ),
            (
                try api.call("POST", "/api/v1/events", token: admin, body: "{"), 400, "Bad Request",
                "malformed JSON"
            ),
            (
                try api.call(
                    "GET", "/api/organizations/\(APIFixture.tenant)/api-keys/stats",
                    token: APIFixture.token(["ingest"], tenant: APIFixture.tenant)), 403, "Insufficient permissions",
                "key statistics need the member or tenant_admin role"
            ),
            (
                try api.call(
                    "GET", "/api/organizations/\(APIFixture.other)/api-keys/stats", token: member,
                    tenantHeader: APIFixture.tenant), 403, "Insufficient permissions",
                "not a member of this organization"
            ),
        ]
        for (response, status, name, detail) in cases {
            let object = try json(response)
            #expect(response.status == status, "\(response.text)")
            #expect(object["message"] == .string(name), "\(response.text)")
            guard case .object(let error)? = object["error"], case .string(let message)? = error["message"] else {
                Issue.record("no error.message: \(response.text)")
                continue
            }
            #expect(message.contains(detail), "\(response.text)")
        }
    }

    /// What would be refused whatever the body is refused on its head: a client without a valid token, with
    /// a role that may not ingest, or on no route is answered before it sends its body (and never invited
    /// to), so it is neither read for it nor held in memory for it. A caller who may send one is read.
    @Test func bodiesAreRefusedOnTheirHeadWhenNoBodyCouldHelp() throws {
        let api = try APIFixture()
        let tenant = APIFixture.tenant
        func head(_ target: String, _ fields: String) -> String {
            "POST \(target) HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000000\r\n\(fields)\r\n"
        }
        let member = APIFixture.token(["member"], tenant: tenant)
        for (request, status) in [
            (head("/api/v1/events", ""), 401),
            (head("/api/v1/events", "Authorization: Bearer not.a.token\r\nExpect: 100-continue\r\n"), 401),
            (head("/api/v1/events", "Authorization: Bearer \(member)\r\n"), 403),
            (head("/api/v1/nowhere", ""), 404),
            (head("/api/v1/admin/tenants/\(tenant)/stats", ""), 405),
            // A route that reads no body refuses one before any token is asked for: `/healthz` needs none,
            // and its bodies would otherwise fill the server's memory for bodies.
            (head("/healthz", "").replacingOccurrences(of: "POST", with: "GET"), 413),
            (head("/api/v1/admin/tenants/\(tenant)/stats", "").replacingOccurrences(of: "POST", with: "GET"), 413),
            (head("/api/v1/admin/tenants/\(tenant)", "").replacingOccurrences(of: "POST", with: "DELETE"), 413),
        ] {
            let client = try api.client()
            try client.send(request + "{\"id\":")
            let response = try client.readResponse()
            #expect(response.status == status, "\(request): \(response.text)")
            #expect(response.header("Connection") == "close")
            #expect(client.isClosedByServer(), "nothing more is read from it")
        }
        // A bad Host is the server's 400, as it is for any request, before the handler is asked.
        let twoHosts = try api.client()
        try twoHosts.send(head("/api/v1/events", "Host: u\r\n") + "{")
        #expect(try twoHosts.readResponse().status == 400)
        // A HEAD refused on its head gets the answer's head alone.
        let headOnly = try api.client()
        try headOnly.send(
            "HEAD /api/v1/admin/tenants/ HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        let text = headOnly.readUntilClosed()
        #expect(text.hasPrefix("HTTP/1.1 413") && text.hasSuffix("\r\n\r\n"), "no body: \(text)")
        // A short body that arrived with its head is refused all the same, naming the route.
        let short = try api.call("GET", "/metrics", token: nil, body: "x")
        #expect(short.status == 413 && short.text.contains("GET /metrics takes no request body"), "\(short.text)")
        // A chunked body is judged once its first chunk tells whether it is empty: an empty one is no body,
        // however its bytes are split (trailers and chunk extensions included); a first chunk with data is
        // refused before the rest is read.
        let head = "GET /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        for (body, status) in [
            ("0\r\n\r\n", 200), ("0;x=1\r\nX-Trailer: 1\r\n\r\n", 200), ("5\r\nhello\r\n0\r\n\r\n", 413),
        ] {
            let bytes = Array((head + body).utf8)
            for split in head.utf8.count..<bytes.count {
                let chunked = try api.client()
                try chunked.send(Array(bytes[..<split]))
                usleep(5_000)
                // A body with data is answered (and the connection closed) as soon as its first size is read.
                let early = status == 413 && split > head.utf8.count
                #expect(early || !chunked.isReadable, "no answer before the body tells: split at \(split) of \(body)")
                if !chunked.isReadable { try? chunked.send(Array(bytes[split...])) }
                #expect(try chunked.readResponse().status == status, "split at \(split) of \(body)")
            }
        }
        // A client that waits for `100 Continue` is refused on its head, not invited first.
        let waiting = try api.client()
        try waiting.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nTransfer-Encoding: chunked\r\n"
                + "Expect: 100-continue\r\n\r\n")
        let refusedWaiting = try waiting.readResponse()
        #expect(refusedWaiting.status == 401, "\(refusedWaiting.text)")
        let metrics = try api.call("GET", "/metrics", token: nil).text
        #expect(metrics.contains("tally_http_buffered_body_bytes 0"))
        // Every answer so far was read whole: none is held.
        #expect(metrics.contains("tally_http_unsent_response_bytes 0\n"), "\(metrics)")
        // A caller who may ingest is read, and answered once the body is in.
        let ingest = APIFixture.token(["ingest"], tenant: tenant)
        let body = APIFixture.event("head-ok")
        let client = try api.client()
        try client.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nAuthorization: Bearer \(ingest)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
        usleep(20_000)
        #expect(!client.isReadable, "no answer before the body")
        try client.send(body)
        #expect(try client.readResponse().status == 200)
    }

    /// A tenants-API write that the caller's role refuses whatever the body says is answered on its head,
    /// not invited (`100 Continue`) and read first: a create by other than a super_admin, a PATCH of
    /// another tenant, a PATCH whose path is no UUID by a caller who administers no tenant. A caller who
    /// may write is invited.
    @Test func tenantWritesTheRoleRefusesAreAnsweredOnTheHead() throws {
        let api = try APIFixture()
        let tenant = APIFixture.tenant
        let other = APIFixture.other
        func waiting(_ method: String, _ path: String, _ token: String, header: String = tenant) throws -> Int {
            let client = try api.client()
            try client.send(
                "\(method) \(path) HTTP/1.1\r\nHost: t\r\nx-tenantid: \(header)\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n")
            return try client.readResponse().status
        }
        let member = APIFixture.token(["member"], tenant: tenant)
        let admin = APIFixture.token(["tenant_admin"], tenant: tenant)
        let superAdmin = APIFixture.token(["super_admin"])
        #expect(try waiting("POST", "/api/v1/admin/tenants/", member) == 403)
        #expect(try waiting("POST", "/api/v1/admin/tenants/", admin) == 403)
        #expect(try waiting("PATCH", "/api/v1/admin/tenants/\(tenant)", member) == 403)
        #expect(try waiting("PATCH", "/api/v1/admin/tenants/\(other)", admin) == 403)
        #expect(try waiting("PATCH", "/api/v1/admin/tenants/not-a-uuid", member) == 422)
        // Those who may write are invited to send the body.
        #expect(try waiting("POST", "/api/v1/admin/tenants/", superAdmin) == 100)
        #expect(try waiting("PATCH", "/api/v1/admin/tenants/\(tenant)", admin) == 100)
        #expect(try waiting("PATCH", "/api/v1/admin/tenants/not-a-uuid", admin) == 100)
    }

    /// A request that cannot succeed is told why even when the body budget is full and its body came in one
    /// read with its head: a 401, not a 503 that would have it retry in vain.
    @Test func aRequestThatCannotSucceedIsToldWhyWhenTheBudgetIsFull() throws {
        let api = try APIFixture(maxBufferedBodyBytes: 1_000)
        let tenant = APIFixture.tenant
        let ingest = APIFixture.token(["ingest"], tenant: tenant)
        // An admitted body, 800 of its 900 bytes sent, fills most of the budget.
        let filling = try api.client()
        try filling.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nAuthorization: Bearer \(ingest)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 900\r\n\r\n" + String(repeating: " ", count: 800))
        for _ in 0..<1_000 where api.server.bufferedBodyBytes < 800 { usleep(5_000) }
        #expect(api.server.bufferedBodyBytes == 800)
        let body = String(repeating: " ", count: 500)
        let anonymous = try api.client()
        try anonymous.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nContent-Type: application/json\r\n"
                + "Content-Length: 500\r\n\r\n\(body)")
        #expect(try anonymous.readResponse().status == 401)
        let authorized = try api.client()
        try authorized.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nAuthorization: Bearer \(ingest)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n\(body)")
        let busy = try authorized.readResponse()
        #expect(busy.status == 503 && busy.header("Retry-After") == "1", "one that could succeed is asked to retry")
    }
}
