import TallyCore
import TallyHTTP
import TallyTestSupport
import Testing

@testable import TallyAPI

/// `/openapi.json` against the real server: every answer a route gives, success or error, is documented
/// under its operation with its status, and its body conforms to the documented schema, checked strictly
/// (every field sent is named in the schema). The document and the server cannot drift apart unseen.
@Suite(.serialized) struct OpenAPIConformanceTests {
    /// The document's operations and schemas, and the checks made against them.
    final class Conformance {
        let paths: JSONObject
        let validator: SchemaValidator
        /// `METHOD pattern status` of every answer checked.
        var checked: Set<String> = []

        init(_ api: APIFixture) throws {
            let answer = try api.call("GET", "/openapi.json", token: nil)
            guard case .object(let document) = try JSONParser().parse(answer.body),
                case .object(let paths)? = document["paths"], case .object(let components)? = document["components"],
                case .object(let schemas)? = components["schemas"]
            else { throw LoopbackClient.ClientError(message: "no paths or schemas in \(answer.text.prefix(200))") }
            self.paths = paths
            validator = SchemaValidator(schemas: schemas, strict: true)
        }

        /// Sends the request and checks its answer against the operation of the route it reached.
        func check(
            _ api: APIFixture, _ method: String, _ path: String, token: String?,
            contentType: String = "application/json", body: String = "", expecting status: Int,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let answer = try api.call(method, path, token: token, contentType: contentType, body: body)
            #expect(
                answer.status == status, "\(method) \(path): \(answer.text.prefix(300))", sourceLocation: sourceLocation
            )
            let bare = String(path.prefix { $0 != "?" })
            guard let route = Route.all.first(where: { $0.method == method && $0.match(bare) != nil }) else {
                Issue.record("no route for \(method) \(bare)", sourceLocation: sourceLocation)
                return
            }
            let name = "\(method) \(route.pattern) \(answer.status)"
            checked.insert(name)
            guard case .object(let operations)? = paths[route.pattern],
                case .object(let operation)? = operations[method.lowercased()],
                case .object(let responses)? = operation["responses"]
            else {
                Issue.record("\(method) \(route.pattern) is not in the document", sourceLocation: sourceLocation)
                return
            }
            guard case .object(let response)? = responses[String(answer.status)] else {
                Issue.record("\(name) is not documented", sourceLocation: sourceLocation)
                return
            }
            if case .object(let headers)? = response["headers"] {
                for header in headers where header.key != "Retry-After" {
                    #expect(
                        answer.header(header.key) != nil, "\(name) lacks \(header.key)", sourceLocation: sourceLocation)
                }
            }
            guard case .object(let content)? = response["content"] else {
                #expect(answer.body.isEmpty, "\(name) has a body it documents none of", sourceLocation: sourceLocation)
                return
            }
            let type = String((answer.header("Content-Type") ?? "").prefix { $0 != ";" })
            guard case .object(let media)? = content[type], let schema = media["schema"] else {
                Issue.record("\(name) sends \(type), documented: \(content.map(\.key))", sourceLocation: sourceLocation)
                return
            }
            guard type == "application/json" else { return }
            let problems = validator.mismatches(try JSONParser().parse(answer.body), schema)
            #expect(
                problems.isEmpty, "\(name): \(problems) in \(answer.text.prefix(300))", sourceLocation: sourceLocation)
        }
    }

    @Test func everyAnswerIsDocumentedAndConformsToItsSchema() throws {
        let api = try APIFixture()
        let conformance = try Conformance(api)
        let admin = APIFixture.token(["super_admin"])
        let member = APIFixture.token(["member"], tenant: APIFixture.tenant)
        let tenantAdmin = APIFixture.token(["tenant_admin"], tenant: APIFixture.tenant)
        let ingest = APIFixture.token(["ingest"], tenant: APIFixture.tenant)
        let tenant = APIFixture.tenant
        let unknown = "00000000-0000-4000-8000-000000000001"
        func check(
            _ method: String, _ path: String, token: String?, contentType: String = "application/json",
            body: String = "", _ status: Int, sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            try conformance.check(
                api, method, path, token: token, contentType: contentType, body: body, expecting: status,
                sourceLocation: sourceLocation)
        }

        // The tenants API.
        let tenants = "/api/v1/admin/tenants/"
        try check("POST", tenants, token: admin, body: #"{"id":"\#(tenant)","name":"Acme","partner_id":"p1"}"#, 201)
        try check("POST", tenants, token: admin, body: #"{"id":"\#(tenant)","name":"Acme"}"#, 409)
        try check("POST", tenants, token: admin, body: #"{"id":"\#(APIFixture.other)","name":7}"#, 422)
        try check("POST", tenants, token: admin, body: "{", 422)
        try check("POST", tenants, token: admin, contentType: "text/plain", body: "{}", 415)
        try check("POST", tenants, token: member, body: #"{"id":"\#(APIFixture.other)","name":"B"}"#, 403)
        try check("GET", tenants + "?page=1&per_page=10&status=active", token: admin, 200)
        try check("GET", tenants + "?page=0", token: admin, 422)
        try check("GET", tenants, token: member, 403)
        try check("GET", tenants, token: nil, 401)
        try check("GET", tenants + tenant, token: tenantAdmin, 200)
        try check("GET", tenants + unknown, token: admin, 404)
        try check("GET", tenants + "not-a-uuid", token: admin, 422)
        try check("PATCH", tenants + tenant, token: admin, body: #"{"settings":{"storage_quota_mb":2048}}"#, 200)
        try check("PATCH", tenants + tenant, token: admin, body: #"{"settings":{"mfa_required":"yes"}}"#, 422)
        try check("PATCH", tenants + unknown, token: admin, body: #"{"name":"X"}"#, 404)

        // Ingest: every outcome.
        let events = "/api/v1/events"
        try check("POST", events, token: ingest, body: APIFixture.event("c1"), 200)
        try check("POST", events, token: ingest, body: "[" + APIFixture.event("c1") + #",{"id":"x"}]"#, 207)
        try check("POST", events, token: ingest, body: #"[{"id":"x","type":"nope"}]"#, 422)
        try check("POST", events, token: ingest, contentType: "application/x-ndjson", body: #"{"id":"y"}"#, 422)
        try check("POST", events, token: ingest, body: "[{", 400)
        try check("POST", events, token: ingest, body: "[]", 400)
        try check("POST", events, token: ingest, contentType: "text/csv", body: "a,b", 415)
        try check(
            "POST", events, token: ingest,
            body: "[" + Array(repeating: "{}", count: IngestBody.maxEvents + 1).joined(separator: ",") + "]", 413)
        try check("POST", events, token: member, body: APIFixture.event("c2"), 403)
        try check("POST", events, token: "not.a.token", body: APIFixture.event("c2"), 401)

        // Both stats answers.
        try check("GET", "/api/v1/admin/tenants/\(tenant)/stats", token: tenantAdmin, 200)
        try check("GET", "/api/v1/admin/tenants/not-a-uuid/stats", token: admin, 400)
        try check("GET", "/api/v1/admin/tenants/\(unknown)/stats", token: admin, 404)
        try check("GET", "/api/v1/admin/tenants/\(APIFixture.other)/stats", token: tenantAdmin, 403)
        try check("GET", "/api/organizations/\(tenant)/api-keys/stats", token: member, 200)
        try check("GET", "/api/organizations/nope/api-keys/stats", token: admin, 400)
        try check("GET", "/api/organizations/\(tenant)/api-keys/stats", token: nil, 401)

        // Deletion, then a change that does not restore.
        try check("DELETE", tenants + tenant, token: member, 403)
        try check("DELETE", tenants + tenant, token: admin, 204)
        try check("PATCH", tenants + tenant, token: admin, body: #"{"name":"Still gone"}"#, 409)

        // The open routes.
        try check("GET", "/healthz", token: nil, 200)
        try check("GET", "/metrics", token: nil, 200)
        try check("GET", "/openapi.json", token: nil, 200)
        // A body where none is read.
        try check("GET", "/healthz", token: nil, body: "{}", 413)
        try check("GET", "/api/v1/admin/tenants/\(APIFixture.other)/stats", token: admin, body: "{}", 413)
        try check("DELETE", tenants + APIFixture.other, token: admin, body: "{}", 413)

        // Every route was reached, and with most of its documented statuses.
        for route in Route.all {
            #expect(
                conformance.checked.contains { $0.hasPrefix("\(route.method) \(route.pattern) ") },
                "\(route.method) \(route.pattern) was never checked")
        }
    }

    /// The answers of a store that has failed: ingest's results in the error envelope, the read-only health
    /// answer and a refused tenant write.
    @Test func readOnlyAnswersAreDocumentedToo() throws {
        let fileSystem = FaultyFileSystem()
        let api = try APIFixture(fileSystem: fileSystem)
        let conformance = try Conformance(api)
        let admin = APIFixture.token(["super_admin"])
        fileSystem.update { $0.failSyncsOfPathsContaining = "/segments/" }
        try conformance.check(
            api, "POST", "/api/v1/events", token: admin, body: APIFixture.event("lost"), expecting: 503)
        try conformance.check(api, "GET", "/healthz", token: nil, expecting: 503)
        try conformance.check(
            api, "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"id":"\#(APIFixture.other)","name":"Late"}"#, expecting: 503)
    }
}
