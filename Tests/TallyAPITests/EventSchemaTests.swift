import TallyCore
import TallyTestSupport
import Testing

@testable import TallyAPI

/// The `Event` schema of `/openapi.json` against the decoder the server runs: each body is valid by the
/// schema exactly when ``EventJSONDecoder`` accepts it, so a client validating against the document never
/// sends an event the server rejects, nor holds back one it would take.
@Suite struct EventSchemaTests {
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    static func schemas() throws -> JSONObject {
        guard case .object(let document) = OpenAPIDocument.json, case .object(let components)? = document["components"],
            case .object(let schemas)? = components["schemas"]
        else {
            Issue.record("the document has no components.schemas")
            return JSONObject()
        }
        return schemas
    }

    /// An event of `type` with `data` (a JSON text, or none), and any other top-level members.
    static func event(_ type: String, _ data: String?, extra: String = "") -> String {
        #"{"id":"e-1","type":"\#(type)","tenantId":"\#(tenant)"\#(data.map { #","data":\#($0)"# } ?? "")\#(extra)}"#
    }

    @Test func theEventSchemaAcceptsExactlyWhatTheDecoderAccepts() throws {
        let validator = SchemaValidator(schemas: try Self.schemas())
        let schema = JSONValue.object(JSONObject([.init(key: "$ref", value: .string("#/components/schemas/Event"))]))
        let long = String(repeating: "x", count: 129)
        let longName = String(repeating: "n", count: 257)
        let longReason = String(repeating: "r", count: 1025)
        var bodies = EventFixtures.everyType().map { event in
            var writer = JSONWriter()
            writer.write(EventJSONEncoder.jsonValue(event))
            return writer.string
        }
        bodies += [
            Self.event("api.call", #"{"keyId":"k","status":200}"#),
            Self.event("api.call", #"{"keyId":"k","status":200.0,"bytes":null,"durationMs":1.5,"oauthClientId":null}"#),
            Self.event("api.call", #"{"keyId":"k","status":99}"#),
            Self.event("api.call", #"{"keyId":"k","status":600}"#),
            Self.event("api.call", #"{"keyId":"k","status":"200"}"#),
            Self.event("api.call", #"{"keyId":"k","status":200.5}"#),
            Self.event("api.call", #"{"keyId":"k","status":200,"bytes":-1}"#),
            Self.event("api.call", #"{"keyId":"k","status":200,"durationMs":-1}"#),
            Self.event("api.call", #"{"keyId":"","status":200}"#),
            Self.event("api.call", #"{"keyId":"\#(long)","status":200}"#),
            Self.event("api.call", #"{"keyId":"é","status":200}"#),
            Self.event("api.call", #"{"keyId":"k","status":200,"extra":1}"#),
            Self.event("api.call", nil), Self.event("api.call", "null"), Self.event("api.call", "[]"),
            Self.event("api.calls", #"{"keyId":"k","status":200}"#),
            Self.event("api.call", #"{"keyId":"k","status":200}"#, extra: #","offset":3,"ingestTime":"x""#),
            Self.event("api.call", #"{"keyId":"k","status":200}"#, extra: #","time":"2026-11-01T10:00:00Z""#),
            Self.event("api.call", #"{"keyId":"k","status":200}"#, extra: #","time":null"#),
            Self.event("api.call", #"{"keyId":"k","status":200}"#, extra: #","time":"yesterday""#),
            Self.event("api.call", #"{"keyId":"k","status":200}"#, extra: #","source":"x""#),
            #"{"type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k","status":200}}"#,
            #"{"id":"e","type":"api.call","tenantId":"acme","data":{"keyId":"k","status":200}}"#,
            #"{"id":"e","type":"api.call","data":{"keyId":"k","status":200}}"#, "[]", #""event""#,
            Self.event("key.created", #"{"keyId":"k","name":"Prod","expiresAt":"2027-01-01T00:00:00Z"}"#),
            Self.event("key.created", #"{"keyId":"k","name":"  "}"#),
            // Blank is every scalar White_Space, as the schema's pattern lists them: U+0085 and U+3000 are,
            // U+FEFF and U+200B are not, and a space carrying a combining mark is not blank.
            Self.event("key.created", #"{"keyId":"k","name":"\u0085\u3000\u2000\u200a\t\r\n"}"#),
            Self.event("key.created", #"{"keyId":"k","name":"\ufeff"}"#),
            Self.event("key.created", #"{"keyId":"k","name":"\u200b"}"#),
            Self.event("key.created", #"{"keyId":"k","name":" \u0301"}"#),
            Self.event("tenant.created", #"{"name":"\u2028\u00a0"}"#),
            Self.event("tenant.created", #"{"name":"\u00a0x"}"#),
            Self.event("key.created", #"{"keyId":"k","name":"\#(longName)"}"#),
            Self.event("key.created", #"{"keyId":"k","expiresAt":"soon"}"#),
            Self.event("key.revoked", #"{"keyId":"k","name":"x"}"#),
            Self.event("user.created", #"{"userId":"u"}"#), Self.event("user.created", #"{"userId":"u","role":null}"#),
            Self.event("user.created", #"{"userId":"u","role":"owner"}"#),
            Self.event("user.role_changed", #"{"userId":"u"}"#),
            Self.event("user.role_changed", #"{"userId":"u","role":"admin"}"#),
            Self.event("user.deleted", #"{"userId":"u","role":"admin"}"#),
            Self.event("credential.expired", #"{"credentialId":"c"}"#),
            Self.event("oauth_client.disabled", #"{"clientId":"o"}"#), Self.event("oauth_client.created", "{}"),
            Self.event("storage.changed", #"{"deltaBytes":1152921504606846976}"#),
            Self.event("storage.changed", #"{"deltaBytes":-1152921504606846976}"#),
            Self.event("storage.changed", #"{"deltaBytes":1152921504606846977}"#),
            Self.event("storage.measured", #"{"usedBytes":-1}"#), Self.event("storage.measured", #"{"usedBytes":0}"#),
            Self.event("tenant.created", #"{"name":"Acme","status":"suspended","partnerId":"p","settings":{"x":1}}"#),
            Self.event("tenant.created", #"{"name":"  "}"#), Self.event("tenant.created", #"{"status":"active"}"#),
            Self.event("tenant.created", #"{"name":"A","status":"gone"}"#),
            Self.event("tenant.created", #"{"name":"A","partnerId":""}"#),
            Self.event("tenant.created", #"{"name":"A","settings":{"mfa_required":"x"}}"#),
            Self.event("tenant.created", #"{"name":"A","settings":{"mfa_required":null}}"#),
            Self.event("tenant.created", #"{"name":"A","settings":null}"#),
            Self.event("tenant.updated", "{}"), Self.event("tenant.updated", #"{"name":null}"#),
            Self.event("tenant.updated", #"{"partnerId":null}"#), Self.event("tenant.updated", #"{"settings":null}"#),
            Self.event("tenant.updated", #"{"settings":{"x":null,"session_timeout":null}}"#),
            Self.event("tenant.updated", #"{"settings":{"session_timeout":0}}"#),
            Self.event("tenant.updated", #"{"name":null,"status":"deleted"}"#),
            Self.event("tenant.updated", #"{"name":"  "}"#), Self.event("tenant.updated", #"{"partnerId":"é"}"#),
            Self.event("tenant.deleted", nil), Self.event("tenant.deleted", "{}"), Self.event("tenant.deleted", "null"),
            Self.event("tenant.deleted", #"{"reason":"x"}"#),
            Self.event("event.voided", #"{"eventId":"e-0","reason":null}"#),
            Self.event("event.voided", #"{"eventId":"e-0","reason":"\#(longReason)"}"#),
            Self.event("event.voided", #"{"reason":"x"}"#),
        ]
        var accepted = 0
        for body in bodies {
            let value = try JSONParser().parse(Array(body.utf8))
            // The server's own entry point (an NDJSON line's), fast path and all.
            var refusal: String?
            let result = try Array(body.utf8).withUnsafeBytes {
                try EventDocumentDecoder().decodeEvent($0, receivedAt: EventFixtures.time)
            }
            if case .failure(let error) = result { refusal = error.description }
            let decoded = refusal == nil
            let documented = validator.mismatches(value, schema)
            #expect(documented.isEmpty == decoded, "\(body): \(documented); \(refusal ?? "accepted")")
            if decoded { accepted += 1 }
        }
        #expect(accepted > 20 && accepted < bodies.count - 20, "both verdicts are exercised")
    }

    /// The `CloudEvent` schema against the server's CloudEvents reader: each body is valid by the schema
    /// exactly when the server takes it, but for the typo rule (an attribute a letter away from one Tally
    /// reads), which JSON Schema cannot state: the schema's description does.
    @Test func theCloudEventSchemaAcceptsExactlyWhatTheServerAccepts() throws {
        let validator = SchemaValidator(schemas: try Self.schemas())
        let schema = JSONValue.object(
            JSONObject([.init(key: "$ref", value: .string("#/components/schemas/CloudEvent"))]))
        func cloud(_ members: String, type: String = "api.call", data: String? = #"{"keyId":"k","status":200}"#)
            -> String
        {
            let body = #"{"specversion":"1.0","id":"c1","source":"/gw","type":"\#(type)"\#(members)"#
            return body + (data.map { #","data":\#($0)"# } ?? "") + "}"
        }
        let tenant = #","tenantid":"\#(Self.tenant)""#
        let bodies = [
            cloud(tenant + #","traceparent":"00-x""#),
            cloud(#","subject":"\#(Self.tenant)""#, type: "tenant.deleted", data: nil),
            cloud(tenant + #","subject":"not-a-uuid""#), cloud(#","subject":"not-a-uuid""#), cloud(""),
            cloud(#","tenantid":null,"subject":"\#(Self.tenant)""#), cloud(#","tenantid":"acme""#),
            cloud(tenant + #","time":"2026-11-01T10:00:00Z""#), cloud(tenant + #","time":"soon""#),
            cloud(tenant + #","time":null"#), cloud(tenant, data: "{}"), cloud(tenant, data: nil),
            cloud(tenant, data: "null"),
            cloud(tenant, type: "user.created", data: #"{"userId":"u"}"#), cloud(tenant, type: "user.created"),
            cloud(tenant, type: "api.calls"),
            cloud(tenant + #","datacontenttype":"application/json""#),
            cloud(tenant + #","datacontenttype":"application/cloudevents+json; charset=utf-8""#),
            cloud(tenant + #","datacontenttype":"Text/JSON""#), cloud(tenant + #","datacontenttype":"text/plain""#),
            cloud(tenant + #","datacontenttype":"/json""#), cloud(tenant + #","datacontenttype":"a/b/json""#),
            cloud(tenant + #","datacontenttype":" /json""#), cloud(tenant + #","datacontenttype":" text/json ; x=1""#),
            cloud(tenant + #","subject":5"#), cloud(#","subject":5"#),
            cloud(tenant + #","datacontenttype":"application/jsonx""#), cloud(tenant + #","datacontenttype":null"#),
            cloud(tenant + #","data_base64":"e30=""#), cloud(tenant + #","data_base64":null"#),
            cloud(tenant + #","N":1"#), cloud(tenant + #","N":null"#), cloud(tenant + #","trace_id":"x""#),
            cloud(tenant + #","":1"#), cloud(tenant + #","ext1":{"a":[1]}"#),
            cloud(tenant + #","ext1":4.5"#), cloud(tenant + #","ext1":2147483647"#),
            cloud(tenant + #","ext1":-2147483649"#),
            cloud(tenant + #","ext1":true"#), cloud(tenant + #","dataschema":"/relative""#),
            cloud(tenant + #","dataschema":"https://example.com/a%20b""#), cloud(tenant + #","dataschema":"x:%2""#),
            cloud(tenant + #","subject":"""#), cloud(tenant + #","datacontenttype":"application /json""#),
            cloud(tenant + #","datacontenttype":"app\u00e9/json""#),
            #"{"specversion":"1.0","id":"c1","source":"a b","type":"api.call"\#(tenant),"data":{"keyId":"k","status":200}}"#,
            #"{"specversion":"1.0","id":"c1","source":"urn:x:%41","type":"api.call"\#(tenant),"data":{"keyId":"k","status":200}}"#,
            #"{"specversion":"0.3","id":"c1","source":"/gw","type":"api.call"\#(tenant),"data":{"keyId":"k","status":200}}"#,
            #"{"specversion":"1.0","id":"c1","source":"","type":"api.call"\#(tenant),"data":{"keyId":"k","status":200}}"#,
            #"{"specversion":"1.0","id":"c1","type":"api.call"\#(tenant),"data":{"keyId":"k","status":200}}"#,
            #"{"specversion":"1.0","source":"/gw","type":"api.call"\#(tenant),"data":{"keyId":"k","status":200}}"#,
        ]
        var accepted = 0
        for body in bodies {
            let value = try JSONParser().parse(Array(body.utf8))
            let result = CloudEvents.event(value, receivedAt: EventFixtures.time)
            let refusal: String? = if case .failure(let error) = result { error.description } else { nil }
            let documented = validator.mismatches(value, schema)
            #expect(documented.isEmpty == (refusal == nil), "\(body): \(documented); \(refusal ?? "accepted")")
            if refusal == nil { accepted += 1 }
        }
        #expect(accepted > 8 && accepted < bodies.count - 8, "both verdicts are exercised")
        // The typo rule: valid by the schema, refused by the server, which names the attribute meant.
        for typo in [#","tiem":"2026-11-01T10:00:00Z""#, #","subjet":"x""#] {
            let value = try JSONParser().parse(Array(cloud(tenant + typo).utf8))
            #expect(validator.mismatches(value, schema).isEmpty)
            guard case .failure(let error) = CloudEvents.event(value, receivedAt: EventFixtures.time) else {
                Issue.record("\(typo) was accepted")
                continue
            }
            #expect(error.rule.contains("a letter away from"), "\(error)")
        }
    }

    /// What the server refuses whatever its events, the document refuses too: an empty batch (400
    /// `empty_batch`) but an empty CloudEvents batch (answered 200), and a `null` setting in a create (only an
    /// update's `null` removes one).
    @Test func theDocumentRefusesEmptyBatchesButCloudEventsAndNullSettingsOnCreate() throws {
        let validator = SchemaValidator(schemas: try Self.schemas())
        guard case .object(let document) = OpenAPIDocument.json, case .object(let paths)? = document["paths"],
            case .object(let events)? = paths["/api/v1/events"], case .object(let post)? = events["post"],
            case .object(let body)? = post["requestBody"], case .object(let content)? = body["content"]
        else {
            Issue.record("no request body for POST /api/v1/events")
            return
        }
        // An empty CloudEvents batch is valid (JSON format §4.3) and answered 200; Tally's own `[]` is not.
        for (type, valid) in [("application/json", false), ("application/cloudevents-batch+json", true)] {
            guard case .object(let media)? = content[type], let schema = media["schema"] else {
                Issue.record("no schema for \(type)")
                continue
            }
            #expect(validator.mismatches(.array([]), schema).isEmpty == valid, "\(type): []")
        }
        func tenantBody(_ name: String) -> JSONValue {
            .object(JSONObject([.init(key: "$ref", value: .string("#/components/schemas/\(name)"))]))
        }
        let nullSetting = try JSONParser().parse(Array(#"{"name":"A","settings":{"theme":null}}"#.utf8))
        #expect(!validator.mismatches(nullSetting, tenantBody("TenantCreate")).isEmpty)
        #expect(validator.mismatches(nullSetting, tenantBody("TenantUpdate")).isEmpty)
        let setting = try JSONParser().parse(Array(#"{"name":"A","settings":{"theme":"dark"}}"#.utf8))
        #expect(validator.mismatches(setting, tenantBody("TenantCreate")).isEmpty)
    }
}
