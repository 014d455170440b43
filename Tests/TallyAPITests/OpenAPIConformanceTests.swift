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
            contentType: String = "application/json", body: String = "", headers: [(String, String)] = [],
            expecting status: Int, sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let answer = try api.call(
                method, path, token: token, contentType: contentType, body: body, headers: headers)
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
            // A body the server took was sent as a media type the operation documents.
            if (200..<300).contains(answer.status), !body.isEmpty {
                let sent = String(contentType.prefix { $0 != ";" })
                guard case .object(let requestBody)? = operation["requestBody"],
                    case .object(let media)? = requestBody["content"], media[sent] != nil
                else {
                    Issue.record("\(name) took a body sent as \(sent), not documented", sourceLocation: sourceLocation)
                    return
                }
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
            body: String = "", headers: [(String, String)] = [], _ status: Int,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            try conformance.check(
                api, method, path, token: token, contentType: contentType, body: body, headers: headers,
                expecting: status, sourceLocation: sourceLocation)
        }

        // The tenants API.
        let tenants = "/api/v1/admin/tenants/"
        try check("POST", tenants, token: admin, body: #"{"id":"\#(tenant)","name":"Acme","partner_id":"p1"}"#, 201)
        try check("POST", tenants, token: admin, body: #"{"id":"\#(tenant)","name":"Acme"}"#, 409)
        try check(
            "POST", tenants, token: admin, contentType: "text/json; charset=utf-8",
            body: #"{"id":"00000000-0000-4000-8000-000000000002","name":"Typed as text/json"}"#, 201)
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
        try check("POST", events, token: ingest, contentType: "text/json", body: APIFixture.event("t1"), 200)
        for lines in ["application/x-ndjson", "application/jsonl"] {
            try check("POST", events, token: ingest, contentType: lines, body: APIFixture.event(lines), 200)
        }
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
        // The HTTP layer's own 400 (a second Host), on every open route.
        for path in ["/healthz", "/metrics", "/openapi.json"] {
            try check("GET", path, token: nil, headers: [("Host", "elsewhere")], 400)
        }
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

    /// The document's request schemas say what the server takes: each body or query below is accepted by its
    /// documented schema exactly when the server accepts it (2xx) rather than answering 422, so a client
    /// generated from the document does not send what the server refuses.
    @Test func requestSchemasAgreeWithTheServer() throws {
        let api = try APIFixture()
        let conformance = try Conformance(api)
        let admin = APIFixture.token(["super_admin"])
        guard case .object(let document) = try JSONParser().parse(try api.call("GET", "/openapi.json", token: nil).body)
        else { throw LoopbackClient.ClientError(message: "no document") }
        func operation(_ path: String, _ method: String) -> JSONObject? {
            guard case .object(let paths)? = document["paths"], case .object(let operations)? = paths[path],
                case .object(let operation)? = operations[method]
            else { return nil }
            return operation
        }
        func bodySchema(_ path: String, _ method: String) -> JSONValue? {
            guard case .object(let body)? = operation(path, method)?["requestBody"],
                case .object(let content)? = body["content"], case .object(let json)? = content["application/json"]
            else { return nil }
            return json["schema"]
        }
        let createSchema = try #require(bodySchema("/api/v1/admin/tenants/", "post"))
        let updateSchema = try #require(bodySchema("/api/v1/admin/tenants/{tenant_id}", "patch"))
        let long = String(repeating: "n", count: 257)
        let creates = [
            #"{"name":"Acme"}"#, #"{"name":"Acme","status":"suspended","partner_id":"p-1"}"#,
            #"{"name":"Acme","settings":{"mfa_required":true,"mfa_methods":["totp","sms"],"session_timeout":30,"storage_quota_mb":5000,"custom":{"a":1}}}"#,
            #"{"name":"  "}"#, #"{"name":""}"#, #"{"name":"\#(long)"}"#, "{}", #"{"name":"A","tenantName":"x"}"#,
            #"{"name":"A","status":"Active"}"#, #"{"name":"A","partner_id":""}"#, #"{"name":"A","partner_id":"é"}"#,
            #"{"name":"A","settings":{"mfa_required":"yes"}}"#, #"{"name":"A","settings":{"mfa_methods":["fax"]}}"#,
            #"{"name":"A","settings":{"mfa_methods":["sms","sms"]}}"#,
            #"{"name":"A","settings":{"session_timeout":0}}"#,
            #"{"name":"A","settings":{"storage_quota_mb":1.5}}"#, #"{"name":"A","settings":{"password_policy":[]}}"#,
            #"{"name":"A","settings":{"mfa_required":null}}"#, #"{"name":"A","id":"not-a-uuid"}"#,
            // Whole, but past 64 bits: the schema's maximum, and the server's.
            #"{"name":"A","settings":{"session_timeout":9223372036854775808}}"#,
            #"{"name":"A","settings":{"storage_quota_mb":1e19}}"#,
            #"{"name":"A","settings":{"storage_quota_mb":9223372036854775807}}"#,
        ]
        for body in creates {
            let documented = conformance.validator.mismatches(try JSONParser().parse(Array(body.utf8)), createSchema)
            let answer = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: body)
            #expect(answer.status == 201 || answer.status == 422, "\(body): \(answer.text)")
            #expect(documented.isEmpty == (answer.status == 201), "\(body): \(documented); \(answer.text)")
        }
        let created = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"Target"}"#)
        guard case .object(let envelope) = try JSONParser().parse(created.body),
            case .object(let data)? = envelope["data"],
            case .string(let id)? = data["id"]
        else { throw LoopbackClient.ClientError(message: "no id in \(created.text)") }
        let updates = [
            "{}", #"{"name":"B"}"#, #"{"partner_id":null}"#, #"{"settings":{"mfa_required":null,"x":1}}"#,
            #"{"id":"\#(id)"}"#, #"{"name":null}"#, #"{"status":"gone"}"#, #"{"extra":1}"#,
            #"{"settings":{"session_timeout":-1}}"#, #"{"settings":[]}"#,
        ]
        for body in updates {
            let documented = conformance.validator.mismatches(try JSONParser().parse(Array(body.utf8)), updateSchema)
            let answer = try api.call("PATCH", "/api/v1/admin/tenants/\(id)", token: admin, body: body)
            #expect(answer.status == 200 || answer.status == 422, "\(body): \(answer.text)")
            #expect(documented.isEmpty == (answer.status == 200), "\(body): \(documented); \(answer.text)")
        }
        // The list's query parameters, value by value.
        guard case .array(let parameters)? = operation("/api/v1/admin/tenants/", "get")?["parameters"] else {
            Issue.record("the list documents no parameters")
            return
        }
        let queries: [(String, JSONValue, String)] = [
            ("page", .int(1), "1"), ("page", .int(0), "0"), ("page", .int(1_000_000), "1000000"),
            ("page", .int(1_000_001), "1000001"), ("per_page", .int(100), "100"), ("per_page", .int(101), "101"),
            ("status", .string("deleted"), "deleted"), ("status", .string("Active"), "Active"),
            ("status", .string(""), ""),
        ]
        for (name, value, text) in queries {
            let schema = try #require(
                parameters.lazy.compactMap { parameter -> JSONValue? in
                    guard case .object(let fields) = parameter, fields["name"] == .string(name) else { return nil }
                    return fields["schema"]
                }.first)
            let documented = conformance.validator.mismatches(value, schema)
            let answer = try api.call("GET", "/api/v1/admin/tenants/?\(name)=\(text)", token: admin)
            #expect(documented.isEmpty == (answer.status == 200), "\(name)=\(text): \(documented); \(answer.text)")
        }
    }
}
