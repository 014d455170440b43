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

/// The server a handler reports gauges of, once it exists (the handler is made first).
final class ServerReference: Sendable {
    let server = Mutex<HTTPServer?>(nil)

    var gauges: HTTPServerGauges { server.withLock { $0?.gauges } ?? HTTPServerGauges() }
}

/// End to end: the real server on a free loopback port, a real store in a temporary directory.
final class APIFixture {
    static let secret = Array("test-secret-0123456789abcdef".utf8)
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    static let other = "9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48"
    let directory = TemporaryDirectory()
    let engine: Engine
    let server: HTTPServer
    let handler: TallyAPIHandler

    /// - Parameters:
    ///   - maxBodyBytes: The server's body limit.
    ///   - fileSystem: The store's file system (a ``FaultyFileSystem`` to hold or fail a sync).
    ///   - maxBufferedBodyBytes: The server's cap on body bytes held across connections.
    ///   - eventLoops: The server's event-loop threads.
    init(
        maxBodyBytes: Int = HTTPLimits().maxBodyBytes, fileSystem: any FileSystem = PosixFileSystem(),
        maxBufferedBodyBytes: Int = HTTPServerConfiguration().maxBufferedBodyBytes, eventLoops: Int = 2
    ) throws {
        var configuration = EngineConfiguration()
        configuration.store = StoreTestSupport.configuration(durability: .always)
        configuration.clock = TestClock.midMonth()
        engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        var http = HTTPServerConfiguration()
        http.port = 0
        http.eventLoops = eventLoops
        http.log = { _ in }
        http.limits.maxBodyBytes = maxBodyBytes
        http.maxBufferedBodyBytes = maxBufferedBodyBytes
        let reference = ServerReference()
        handler = TallyAPIHandler(
            engine: engine, authenticator: JWTAuthenticator(secret: APIFixture.secret), limits: http.limits,
            serverGauges: { reference.gauges })
        server = try HTTPServer(configuration: http, handler: handler)
        reference.server.withLock { $0 = server }
    }

    deinit {
        server.shutdown()
        try? engine.close()
    }

    static func token(_ roles: [String], tenant: String? = nil, expiresIn: Int64 = 3600, secret: [UInt8] = secret)
        -> String
    {
        let now = Timestamp.now().seconds
        return JWTSigner(secret: secret).sign(
            JWTClaims(subject: "test", roles: roles, tenantId: tenant, expiresAt: now + expiresIn, issuedAt: now))
    }

    func client() throws -> LoopbackClient { try LoopbackClient(port: server.port) }

    func call(
        _ method: String, _ path: String, token: String?, tenantHeader: String? = APIFixture.tenant,
        contentType: String = "application/json", body: String = ""
    ) throws -> LoopbackClient.Response {
        var headers: [(String, String)] = [("Content-Type", contentType)]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let tenantHeader { headers.append(("x-tenantid", tenantHeader)) }
        return try client().request(method, path, headers: headers, body: Array(body.utf8))
    }

    /// Opens a connection and sends one request on it without waiting for the answer (for requests held
    /// in a fsync while others race them); read it with ``LoopbackClient/readResponse()``.
    func send(_ method: String, _ path: String, token: String, body: String? = nil) throws -> LoopbackClient {
        let client = try client()
        var head =
            "\(method) \(path) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n"
            + "x-tenantid: \(APIFixture.tenant)\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        try client.send(head + "\r\n" + (body ?? ""))
        return client
    }

    static func event(
        _ id: String, _ type: String = "api.call", tenant: String = tenant,
        data: String = #"{"keyId":"k1","status":200}"#
    ) -> String {
        #"{"id":"\#(id)","type":"\#(type)","tenantId":"\#(tenant)","data":\#(data)}"#
    }
}

func json(_ response: LoopbackClient.Response) throws -> JSONObject {
    guard case .object(let object) = try JSONParser().parse(response.body) else {
        throw LoopbackClient.ClientError(message: "not an object")
    }
    return object
}

@Suite(.serialized) struct APITests {
    @Test func ingestThenReadBothStatsEndpoints() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let create = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"id":"\#(APIFixture.tenant)","name":"Acme Corporation","settings":{"storage_quota_mb":2048}}"#)
        #expect(create.status == 201)
        let events = [
            APIFixture.event("u1", "user.created", data: #"{"userId":"alice","role":"admin"}"#),
            APIFixture.event("k1", "key.created", data: #"{"keyId":"k1","name":"Prod"}"#),
            APIFixture.event("c1"), APIFixture.event("c2", data: #"{"keyId":"k1","status":429}"#),
            APIFixture.event("c1"),
            APIFixture.event("x", "api.calls"),
        ]
        let ingest = try api.call(
            "POST", "/api/v1/events", token: admin, body: "[" + events.joined(separator: ",") + "]")
        #expect(ingest.status == 207)
        let data = try json(ingest)["data"]
        guard case .object(let body)? = data, case .object(let totals)? = body["totals"] else {
            Issue.record("no totals: \(ingest.text)")
            return
        }
        #expect(totals["accepted"] == .int(4) && totals["duplicates"] == .int(1) && totals["rejected"] == .int(1))
        #expect(ingest.text.contains(#"unknown event type \"api.calls\""#))

        let stats = try api.call("GET", "/api/v1/admin/tenants/\(APIFixture.tenant)/stats", token: admin)
        #expect(stats.status == 200)
        let object = try json(stats)
        #expect(object["success"] == .bool(true))
        #expect(object["message"] == .string("Tenant statistics retrieved successfully"))
        guard case .object(let statsData)? = object["data"], case .object(let usage)? = statsData["usage"] else {
            Issue.record("bad stats \(stats.text)")
            return
        }
        #expect(statsData["tenantName"] == .string("Acme Corporation"))
        #expect(usage["apiCallsThisMonth"] == .int(2))
        #expect(usage["storageQuotaMB"] == .int(2048))
        #expect(statsData["users"] == (try JSONParser().parse(#"{"total":1,"active":1,"inactive":0,"admins":1}"#)))

        let member = APIFixture.token(["member"], tenant: APIFixture.tenant)
        let keys = try api.call("GET", "/api/organizations/\(APIFixture.tenant)/api-keys/stats", token: member)
        #expect(keys.status == 200)
        #expect(keys.text.contains(#""totalRequests":2"#) && keys.text.contains(#""rateLimitHits":1"#))
    }

    /// Requests pipelined on one connection see the effects of those before them: a tenant created, then
    /// renamed, then read; events posted, then counted.
    @Test func pipelinedRequestsSeeTheWritesBeforeThem() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        func request(_ method: String, _ path: String, _ body: String = "") -> String {
            "\(method) \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(admin)\r\nx-tenantid: \(APIFixture.tenant)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        let tenantPath = "/api/v1/admin/tenants/\(APIFixture.tenant)"
        let client = try api.client()
        try client.send(
            request("POST", "/api/v1/admin/tenants/", #"{"id":"\#(APIFixture.tenant)","name":"Pipe"}"#)
                + request("PATCH", tenantPath, #"{"name":"Pipe 2"}"#) + request("GET", tenantPath)
                + request("POST", "/api/v1/events", APIFixture.event("p1")) + request("GET", tenantPath + "/stats")
                + request("POST", "/api/v1/events", APIFixture.event("p2")) + request("GET", tenantPath + "/stats"))
        #expect(try client.readResponse().status == 201)
        #expect(try client.readResponse().status == 200)
        let read = try client.readResponse()
        #expect(read.status == 200 && read.text.contains(#""name":"Pipe 2""#), "\(read.text)")
        for expected in [1, 2] {
            #expect(try client.readResponse().status == 200)
            let stats = try client.readResponse()
            #expect(stats.text.contains(#""apiCallsThisMonth":\#(expected)"#), "\(stats.text)")
        }
    }

    @Test func ndjsonAndCloudEventsBodiesAreAccepted() throws {
        let api = try APIFixture()
        let ingest = APIFixture.token(["ingest"], tenant: APIFixture.tenant)
        let ndjson = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/x-ndjson",
            body: APIFixture.event("n1") + "\n" + APIFixture.event("n2") + "\n\n")
        #expect(ndjson.status == 200)
        let cloud =
            #"{"specversion":"1.0","id":"ce1","type":"api.call","source":"/gw","subject":"\#(APIFixture.tenant)","data":{"keyId":"k","status":201}}"#
        #expect(
            try api.call(
                "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents+json", body: cloud
            ).status == 200)
        #expect(
            try api.call(
                "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents-batch+json",
                body: "[\(cloud)]"
            ).text.contains(#""duplicates":1"#))
        #expect(api.engine.tenantStats(TenantID(APIFixture.tenant)!)?.usage.apiCallsThisMonth == 3)
    }

    /// An event that repeats a key is rejected on its own (naming the key); the events beside it are stored,
    /// in a JSON array, a CloudEvents batch and as a single event alike.
    @Test func anEventRepeatingAKeyNeverBlocksItsNeighbours() throws {
        let api = try APIFixture()
        let ingest = APIFixture.token(["ingest"], tenant: APIFixture.tenant)
        let repeated =
            #"{"id":"r1","type":"api.call","tenantId":"\#(APIFixture.tenant)","data":{"keyId":"k","status":200,"status":500}}"#
        let array = try api.call(
            "POST", "/api/v1/events", token: ingest,
            body: "[" + APIFixture.event("n1") + "," + repeated + "," + APIFixture.event("n2") + "]")
        #expect(array.status == 207, "\(array.text)")
        #expect(array.text.contains(#""accepted":2"#) && array.text.contains(#""rejected":1"#), "\(array.text)")
        #expect(array.text.contains("data.status: appears more than once"), "\(array.text)")
        let single = try api.call("POST", "/api/v1/events", token: ingest, body: repeated)
        #expect(single.status == 422 && single.text.contains("data.status: appears more than once"), "\(single.text)")
        #expect(
            single.text.contains(
                #""success":false,"message":"Unprocessable Content","error":{"status":422,"code":"events_rejected""#),
            "every event rejected is an error envelope, with the results as its data: \(single.text)")
        let cloud =
            #"{"specversion":"1.0","id":"ce-ok","type":"api.call","source":"/gw","subject":"\#(APIFixture.tenant)","data":{"keyId":"k","status":201}}"#
        let cloudRepeated =
            #"{"specversion":"1.0","id":"ce-r","id":"ce-r2","type":"api.call","source":"/gw","subject":"\#(APIFixture.tenant)","data":{"keyId":"k","status":201}}"#
        let batch = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents-batch+json",
            body: "[\(cloud),\(cloudRepeated)]")
        #expect(batch.status == 207 && batch.text.contains("id: appears more than once"), "\(batch.text)")
        #expect(api.engine.tenantStats(TenantID(APIFixture.tenant)!)?.usage.apiCallsThisMonth == 3)
        // Malformed JSON is still the whole body's error.
        #expect(
            try api.call("POST", "/api/v1/events", token: ingest, body: "[" + APIFixture.event("n3") + ",{\"id\":}]")
                .status == 400)
    }

    /// NDJSON results name each event's line (blank lines hold none), so a client can find what failed.
    @Test func ndjsonResultsCarryTheirLineNumbers() throws {
        let api = try APIFixture()
        let ingest = APIFixture.token(["ingest"], tenant: APIFixture.tenant)
        let body =
            "\n\n" + APIFixture.event("l3") + "\r\n\n" + APIFixture.event("l5", data: #"{"keyId":"k","status":99}"#)
            + "\n{bad"
        let response = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/x-ndjson", body: body)
        #expect(response.status == 207)
        #expect(response.text.contains(#"{"index":0,"line":3,"status":"accepted""#), "\(response.text)")
        #expect(response.text.contains(#"{"index":1,"line":5,"status":"rejected","error":"data.status"#))
        #expect(
            response.text.contains(
                #"{"index":2,"line":6,"status":"rejected","error":"line 6: invalid JSON: unexpected byte 'b' at column 2 (byte 1)"#
            ), "\(response.text)")
        let array = try api.call("POST", "/api/v1/events", token: ingest, body: "[" + APIFixture.event("a1") + "]")
        #expect(!array.text.contains(#""line""#), "only NDJSON has lines")
    }

    /// CloudEvents' own rules: a non-empty `source`, JSON `data` (no `data_base64`, a JSON
    /// `datacontenttype`), the `tenantid` extension before `subject` unless it is null, and any null
    /// attribute as good as absent.
    @Test func cloudEventsAttributesAreChecked() throws {
        let api = try APIFixture()
        let ingest = APIFixture.token(["ingest"], tenant: APIFixture.tenant)
        func cloud(_ id: String, _ attributes: String) -> String {
            #"{"specversion":"1.0","id":"\#(id)","type":"api.call",\#(attributes),"data":{"keyId":"k","status":200}}"#
        }
        let tenant = APIFixture.tenant
        let cases: [(String, String?)] = [
            (cloud("c1", #""subject":"\#(tenant)""#), "source: is required"),
            (cloud("c2", #""source":"","subject":"\#(tenant)""#), "source: is required"),
            (
                cloud("c3", #""source":"/gw","subject":"\#(tenant)","data_base64":"e30=""#),
                "data_base64: is not supported"
            ),
            (
                cloud("c4", #""source":"/gw","subject":"\#(tenant)","datacontenttype":"application/xml""#),
                "datacontenttype: must be a JSON type"
            ),
            (cloud("c5", #""source":"/gw","tenantid":null,"subject":"\#(tenant)""#), nil),
            // A null attribute is unset (JSON format §2.2), whichever attribute it is.
            (cloud("c5n", #""source":"/gw","subject":"\#(tenant)","datacontenttype":null,"data_base64":null"#), nil),
            (cloud("c5t", #""source":"/gw","subject":"\#(tenant)","datacontenttype":"text/json""#), nil),
            (
                cloud(
                    "c6",
                    #""source":"/gw","subject":"\#(tenant)","datacontenttype":"application/vnd.acme+json; charset=utf-8""#
                ), nil
            ),
            // Attribute names are lowercase: a camel-case tenantId is not the extension, and the answer says so.
            (
                cloud("c7", #""source":"/gw","tenantId":"\#(tenant)""#),
                "tenantId: unknown field: not a CloudEvents attribute name, which are lowercase letters and digits only"
            ),
            (
                cloud("c8", #""source":"/gw","subject":"\#(tenant)","my-ext":"v""#),
                "my-ext: unknown field: not a CloudEvents attribute name"
            ),
            // Extension attributes are accepted and ignored, but one a letter away from an attribute Tally
            // reads is a typo that would drop the tenant (here billing the subject instead) or the time.
            (
                cloud("c8t", #""source":"/gw","tenantd":"\#(APIFixture.other)","subject":"\#(tenant)""#),
                "tenantd: unknown field, a letter away from tenantid: send tenantid"
            ),
            (
                cloud("c8s", #""source":"/gw","subject":"\#(tenant)","tiem":"2026-01-01T00:00:00Z""#),
                "tiem: unknown field, a letter away from time"
            ),
            (
                cloud(
                    "c8x",
                    #""source":"/gw","subject":"\#(tenant)","traceparent":"00-ab-cd-01","knativearrivaltime":"x","ip":"1""#
                ),
                nil
            ),
            (
                cloud("c9", #""source":"/gw""#),
                "tenantid: is required: the tenant's UUID as the tenantid extension attribute (CloudEvents attribute names are lowercase)"
            ),
            // Errors about the tenant name the attribute it came in, not the decoder's tenantId.
            (cloud("c10", #""source":"/gw","tenantid":"nope""#), #""error":"tenantid: must be a UUID"#),
            (cloud("c11", #""source":"/gw","subject":"nope""#), #""error":"subject: must be a UUID"#),
            (
                cloud("c12", #""source":"/gw","subject":"\#(APIFixture.other)""#),
                #""error":"subject: this token may not ingest for another tenant"#
            ),
            (
                cloud("c13", #""source":"/gw","tenantid":"\#(APIFixture.other)","subject":"\#(tenant)""#),
                #""error":"tenantid: this token may not ingest for another tenant"#
            ),
        ]
        for (event, error) in cases {
            let response = try api.call(
                "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents+json", body: event)
            if let error {
                #expect(response.status == 422 && response.text.contains(error), "\(event): \(response.text)")
            } else {
                #expect(response.status == 200, "\(event): \(response.text)")
            }
        }
        let sequence = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/json-seq",
            body: "\u{1E}" + APIFixture.event("s1") + "\n")
        #expect(sequence.status == 415, "RFC 7464 record separators are not NDJSON")
    }

    /// A CloudEvent's tenant fault is labelled with the attribute it came in (not `other`), and every ingest
    /// body counts towards `tally_ingest_bytes_total`, a malformed or refused one too.
    @Test func ingestMetricsNameCloudEventAttributesAndCountEveryBody() throws {
        let api = try APIFixture()
        let ingest = APIFixture.token(["ingest"], tenant: APIFixture.tenant)
        let cloud = { (id: String, tenant: String) in
            #"{"specversion":"1.0","id":"\#(id)","source":"/gw","type":"api.call",\#(tenant)"data":{"keyId":"k","status":200}}"#
        }
        let batch =
            "[" + cloud("a", #""tenantid":"not-a-uuid","#) + "," + cloud("b", #""subject":"nope","#) + ","
            + cloud("c", "") + "," + cloud("d", #""tenantid":"\#(APIFixture.other)","#) + ","
            + cloud("e", #""subject":"\#(APIFixture.tenant)","my-ext":1,"#) + ","
            + cloud("f", #""tenantd":"\#(APIFixture.tenant)","subject":"\#(APIFixture.tenant)","#) + "]"
        let rejected = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents-batch+json", body: batch)
        #expect(rejected.status == 422, "\(rejected.text)")
        for (body, status) in [("[{", 400), ("[]", 400)] {
            #expect(try api.call("POST", "/api/v1/events", token: ingest, body: body).status == status)
        }
        let metrics = try api.call("GET", "/metrics", token: nil).text
        #expect(metrics.contains(#"tally_events_rejected_total{reason="tenantid"} 3"#), "\(metrics)")
        #expect(metrics.contains(#"tally_events_rejected_total{reason="subject"} 1"#))
        // A made-up attribute name and a typo of a known one are unknown fields, as in a plain event.
        #expect(metrics.contains(#"tally_events_rejected_total{reason="unknown_field"} 2"#), "\(metrics)")
        #expect(!metrics.contains(#"reason="other""#))
        #expect(metrics.contains("tally_ingest_bytes_total \(batch.utf8.count + 4)\n"))
    }

    /// Rejection reasons label a metric: made-up fields and line numbers map to fixed labels, so no client
    /// can add series without bound.
    @Test func rejectionLabelsAreAFixedSet() throws {
        let api = try APIFixture()
        let ingest = APIFixture.token(["ingest"], tenant: APIFixture.tenant)
        let unknown = (0..<20).map {
            #"{"id":"u\#($0)","type":"api.call","tenantId":"\#(APIFixture.tenant)","data":{"keyId":"k","status":200},"zz\#($0)":1}"#
        }
        let body = (unknown + ["{bad", "{worse", APIFixture.event("b", data: #"{"keyId":"k","status":99}"#)]).joined(
            separator: "\n")
        #expect(
            try api.call("POST", "/api/v1/events", token: ingest, contentType: "application/x-ndjson", body: body)
                .status == 422)
        let metrics = try api.call("GET", "/metrics", token: nil).text
        #expect(metrics.contains(#"tally_events_rejected_total{reason="unknown_field"} 20"#))
        #expect(metrics.contains(#"tally_events_rejected_total{reason="invalid_json"} 2"#))
        #expect(metrics.contains(#"tally_events_rejected_total{reason="data.status"} 1"#))
        #expect(!metrics.contains("zz") && !metrics.contains(#"reason="line"#))
        // Unknown paths and wrong methods are counted too, under one label whatever the path.
        for path in ["/nope", "/also/nope"] { _ = try api.call("GET", path, token: nil) }
        _ = try api.call("PUT", "/healthz", token: nil)
        let after = try api.call("GET", "/metrics", token: nil).text
        #expect(after.contains(#"tally_http_responses_total{route="unmatched",status="404"} 2"#))
        #expect(after.contains(#"tally_http_responses_total{route="unmatched",status="405"} 1"#))
        #expect(!after.contains("nope"))
    }

    @Test func errorsHaveTheRightStatus() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: "{oops").status == 400)
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: "[]").status == 400)
        #expect(
            try api.call("POST", "/api/v1/events", token: admin, contentType: "text/plain", body: "x").status == 415)
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

    /// The list is built once and reused until a tenant record changes: each change (a create, a rename, a
    /// delete, a `tenant.created` event) shows in the very next list, in order; searches ignore case, also
    /// beyond ASCII.
    @Test func theTenantsListFollowsEveryChangeAtOnce() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        func names(_ query: String = "") throws -> [String] {
            let list = try api.call("GET", "/api/v1/admin/tenants/?per_page=100" + query, token: admin)
            guard case .object(let data)? = try json(list)["data"], case .array(let items)? = data["items"] else {
                return []
            }
            return items.compactMap { item in
                guard case .object(let record) = item, case .string(let name)? = record["name"] else { return nil }
                return name
            }
        }
        var ids: [String: String] = [:]
        for name in ["Beta", "Alpha", "Ärzte Nord"] {
            let created = try api.call("POST", "/api/v1/admin/tenants", token: admin, body: #"{"name":"\#(name)"}"#)
            guard case .object(let data)? = try json(created)["data"], case .string(let id)? = data["id"] else {
                Issue.record("no id in \(created.status) \(created.text)")
                return
            }
            ids[name] = id
        }
        #expect(try names() == ["Alpha", "Beta", "Ärzte Nord"])
        #expect(try names() == ["Alpha", "Beta", "Ärzte Nord"], "the same list again")
        #expect(
            try api.call("PATCH", "/api/v1/admin/tenants/\(ids["Beta"]!)", token: admin, body: #"{"name":"Aardvark"}"#)
                .status == 200)
        #expect(try names() == ["Aardvark", "Alpha", "Ärzte Nord"])
        #expect(try api.call("DELETE", "/api/v1/admin/tenants/\(ids["Alpha"]!)", token: admin).status == 204)
        #expect(try names() == ["Aardvark", "Ärzte Nord"])
        #expect(try names("&status=deleted") == ["Alpha"])
        let event = #"{"id":"t-new","type":"tenant.created","tenantId":"\#(APIFixture.other)","data":{"name":"Zulu"}}"#
        let posted = try api.call("POST", "/api/v1/events", token: admin, tenantHeader: APIFixture.other, body: event)
        #expect(posted.status == 200 && posted.text.contains(#""accepted":1"#), "\(posted.text)")
        #expect(try names() == ["Aardvark", "Zulu", "Ärzte Nord"], "by Unicode scalar: Ä after Z")
        #expect(try names("&search=AARD") == ["Aardvark"])
        #expect(try names("&search=%C3%A4rzte") == ["Ärzte Nord"], "ärzte finds Ärzte")
        #expect(try names("&search=zul") == ["Zulu"])
    }

    @Test func aTenantsListWaitingForItsDirectoryHoldsUpNoOtherRequest() throws {
        // One event loop: a list answered on it would stop it while the directory's lock is held, as a long
        // rebuild of the directory holds it.
        let api = try APIFixture(eventLoops: 1)
        let admin = APIFixture.token(["super_admin"])
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let handler = api.handler
        let holder = Thread {
            handler.tenantDirectory.withLock { _ in
                locked.signal()
                release.wait()
            }
        }
        holder.start()
        locked.wait()
        // Let go however the test ends, or the server could not shut down.
        var released = false
        defer { if !released { release.signal() } }
        let list = try api.send("GET", "/api/v1/admin/tenants/", token: admin)
        usleep(200_000)
        // The loop answers others meanwhile, a tenants API read included.
        #expect(try api.call("GET", "/healthz", token: nil).status == 200)
        #expect(try api.call("GET", "/api/v1/admin/tenants/\(APIFixture.tenant)", token: admin).status == 404)
        release.signal()
        released = true
        let answer = try list.readResponse()
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.text.contains(#""total":0"#), "\(answer.text)")
    }

    @Test func tenantsAPIListsCreatesUpdatesAndSoftDeletes() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        for (index, name) in ["Beta", "Alpha", "Gamma"].enumerated() {
            let body = #"{"name":"\#(name)","partner_id":"\#(index == 2 ? "p2" : "p1")"}"#
            #expect(try api.call("POST", "/api/v1/admin/tenants", token: admin, body: body).status == 201)
        }
        let list = try api.call("GET", "/api/v1/admin/tenants/?per_page=2&page=1", token: admin)
        #expect(list.status == 200)
        #expect(list.text.contains(#""total":3"#) && list.text.contains(#""pages":2"#))
        #expect(list.text.range(of: "Alpha")!.lowerBound < list.text.range(of: "Beta")!.lowerBound)
        #expect(try api.call("GET", "/api/v1/admin/tenants/?partner_id=p2", token: admin).text.contains(#""total":1"#))
        #expect(try api.call("GET", "/api/v1/admin/tenants/?search=alp", token: admin).text.contains(#""total":1"#))
        let invalid = try api.call("GET", "/api/v1/admin/tenants/?per_page=0&status=gone", token: admin)
        #expect(invalid.status == 422 && invalid.text.contains(#""loc":["query","per_page"]"#))
        // As Starlette reads a query: the last of repeated values, and a stray `%` as itself.
        let repeated = try api.call("GET", "/api/v1/admin/tenants/?per_page=1&per_page=50", token: admin)
        #expect(repeated.status == 200 && repeated.text.contains(#""per_page":50"#), "\(repeated.text)")
        let percent = try api.call("GET", "/api/v1/admin/tenants/?search=100%&per_page=5", token: admin)
        #expect(percent.status == 200 && percent.text.contains(#""total":0"#), "\(percent.text)")

        let created = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"Delta"}"#)
        guard case .object(let data)? = try json(created)["data"], case .string(let id)? = data["id"] else {
            Issue.record("no id")
            return
        }
        let badSettings = try api.call(
            "PATCH", "/api/v1/admin/tenants/\(id)", token: admin,
            body: #"{"settings":{"mfa_required":"yes","mfa_methods":["fax"],"session_timeout":0}}"#)
        #expect(badSettings.status == 422)
        #expect(badSettings.text.contains(#""loc":["body","settings","mfa_required"]"#))
        #expect(badSettings.text.contains(#""detail":["#))
        let patched = try api.call(
            "PATCH", "/api/v1/admin/tenants/\(id)", token: admin,
            body: #"{"name":"Delta Corp","settings":{"mfa_required":true,"storage_quota_mb":300}}"#)
        #expect(patched.status == 200 && patched.text.contains("Delta Corp"))
        // A body that changes nothing answers the record as it stands, and writes no event.
        let eventsBefore = api.engine.read { $0.nextOffset }
        for body in [
            "{}", #"{"id":"\#(id)"}"#, #"{"name":"Delta Corp"}"#, #"{"status":"active"}"#, #"{"partner_id":null}"#,
            #"{"settings":{}}"#, #"{"settings":{"mfa_required":true}}"#, #"{"settings":{"session_timeout":null}}"#,
            #"{"name":"Delta Corp","settings":{"storage_quota_mb":300,"mfa_required":true}}"#,
        ] {
            let unchanged = try api.call("PATCH", "/api/v1/admin/tenants/\(id)", token: admin, body: body)
            #expect(unchanged.status == 200, "\(body): \(unchanged.text)")
            #expect(unchanged.text.contains(#""name":"Delta Corp""#) && unchanged.text.contains("Tenant unchanged"))
        }
        #expect(api.engine.read { $0.nextOffset } == eventsBefore)
        // One field that differs is a change.
        let renamed = try api.call(
            "PATCH", "/api/v1/admin/tenants/\(id)", token: admin,
            body: #"{"name":"Delta Corp","settings":{"mfa_required":false}}"#)
        #expect(renamed.status == 200 && renamed.text.contains("Tenant updated successfully"), "\(renamed.text)")
        #expect(api.engine.read { $0.nextOffset } == eventsBefore + 1)
        #expect(try api.call("DELETE", "/api/v1/admin/tenants/\(id)", token: admin).status == 204)
        let after = try api.call("GET", "/api/v1/admin/tenants/\(id)/", token: admin)
        #expect(after.status == 200 && after.text.contains(#""status":"deleted""#), "with a trailing slash too")
        #expect(!(try api.call("GET", "/api/v1/admin/tenants/", token: admin).text.contains("Delta")))
        #expect(try api.call("DELETE", "/api/v1/admin/tenants/\(APIFixture.other)", token: admin).status == 404)
        // Every change is a tenant.* event in the log.
        let types = try StoreTestSupport.readAll(SegmentStoreReader.open(api.directory.path)).map(\.event.type)
        #expect(types.filter { $0 == .tenantCreated }.count == 4)
        #expect(types.contains(.tenantUpdated) && types.contains(.tenantDeleted))
    }

    /// Tenants API bodies are JSON, by `Content-Type`, and may be gzip-compressed as ingest bodies may; a
    /// missing body, every invalid setting and a `tenant_id` that is not a UUID are validation errors in the
    /// seed's shape.
    @Test func tenantsAPIBodiesAreCheckedLikeIngestBodies() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let plain = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin, contentType: "text/plain", body: #"{"name":"Zeta"}"#)
        #expect(plain.status == 415 && plain.text.contains("unsupported_media_type"), "\(plain.text)")
        var headers: [(String, String)] = [
            ("Content-Type", "application/json; charset=utf-8"), ("Authorization", "Bearer \(admin)"),
            ("x-tenantid", APIFixture.tenant),
        ]
        let brotli = try api.client().request(
            "POST", "/api/v1/admin/tenants/", headers: headers + [("Content-Encoding", "br")],
            body: Array(#"{"name":"Br"}"#.utf8))
        #expect(brotli.status == 415 && brotli.header("Accept-Encoding") == "gzip, identity")
        headers.append(("Content-Encoding", "gzip"))
        let gzipped = try api.client().request(
            "POST", "/api/v1/admin/tenants/", headers: headers,
            body: DeflateTestEncoder.gzip(Array(#"{"name":"Gzipped"}"#.utf8)))
        #expect(gzipped.status == 201 && gzipped.text.contains(#""name":"Gzipped""#), "\(gzipped.text)")
        #expect(try api.call("GET", "/api/v1/admin/tenants/", token: admin).text.contains("Gzipped"))
        #expect(!(try api.call("GET", "/api/v1/admin/tenants/", token: admin).text.contains("Zeta")))

        // Not JSON: a 422 at the byte where it breaks, as FastAPI's json_invalid, on POST and PATCH alike.
        let broken = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"A",}"#)
        #expect(
            broken.status == 422
                && broken.text.hasPrefix(#"{"detail":[{"loc":["body",12],"msg":"JSON decode error: "#)
                && broken.text.hasSuffix(#"","type":"json_invalid"}]}"#),
            "\(broken.text)")
        #expect(
            try api.call(
                "POST", "/api/v1/admin/tenants/", token: admin,
                body: #"{"id":"\#(APIFixture.other)","name":"Patchable"}"#
            ).status == 201)
        let brokenPatch = try api.call(
            "PATCH", "/api/v1/admin/tenants/\(APIFixture.other)", token: admin, body: "notjson")
        #expect(
            brokenPatch.status == 422 && brokenPatch.text.contains(#""type":"json_invalid""#), "\(brokenPatch.text)")
        let missing = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: " \n")
        #expect(
            missing.status == 422
                && missing.text == #"{"detail":[{"loc":["body"],"msg":"Field required","type":"missing"}]}"#,
            "\(missing.text)")
        let repeated = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"name":"A","settings":{"mfa_required":true,"mfa_required":false}}"#)
        #expect(
            repeated.status == 422
                && repeated.text.contains(#""loc":["body","settings","mfa_required"],"msg":"appears more than once"#),
            "\(repeated.text)")
        let dotted = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"A","settings":{"a.b":1,"a.b":2}}"#)
        #expect(dotted.status == 422 && dotted.text.contains(#""loc":["body","settings","a.b"]"#), "\(dotted.text)")
        let nameless = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: "{}")
        #expect(
            nameless.status == 422
                && nameless.text == #"{"detail":[{"loc":["body","name"],"msg":"Field required","type":"missing"}]}"#,
            "\(nameless.text)")
        let settings = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body:
                #"{"name":"B","settings":{"mfa_required":"yes","mfa_methods":["fax"],"session_timeout":0,"storage_quota_mb":-1,"password_policy":"x"}}"#
        )
        #expect(settings.status == 422)
        for field in ["mfa_required", "mfa_methods", "session_timeout", "storage_quota_mb", "password_policy"] {
            #expect(settings.text.contains(#""loc":["body","settings","\#(field)"]"#), "\(field): \(settings.text)")
        }
        let whole = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"name":"Whole","settings":{"storage_quota_mb":2048.0}}"#)
        #expect(
            whole.status == 201 && whole.text.contains(#""storage_quota_mb":2048"#) && !whole.text.contains("2048.0"),
            "\(whole.text)")
        for method in ["GET", "PATCH", "DELETE"] {
            let notUUID = try api.call(
                method, "/api/v1/admin/tenants/not-a-uuid", token: admin,
                body: method == "PATCH" ? #"{"name":"x"}"# : "")
            #expect(
                notUUID.status == 422 && notUUID.text.contains(#""loc":["path","tenant_id"]"#),
                "\(method): \(notUUID.text)")
        }
        // A bad path and a bad body: both reported, the path first, as FastAPI validates them together.
        let both = try api.call(
            "PATCH", "/api/v1/admin/tenants/not-a-uuid", token: admin, body: #"{"name":5,"bogus":1}"#)
        #expect(both.status == 422, "\(both.text)")
        let locations = ["[\"path\",\"tenant_id\"]", "[\"body\",\"name\"]", "[\"body\",\"bogus\"]"].map {
            both.text.range(of: "\"loc\":\($0)")?.lowerBound
        }
        #expect(locations.allSatisfy { $0 != nil } && locations == locations.sorted { ($0!) < ($1!) }, "\(both.text)")
        // A caller who may change no tenant record has its body left unread: the path's issue alone.
        let ingestOnly = try api.call(
            "PATCH", "/api/v1/admin/tenants/not-a-uuid", token: APIFixture.token(["ingest"]),
            body: #"{"name":5,"bogus":1}"#)
        #expect(ingestOnly.status == 422 && !ingestOnly.text.contains(#"["body""#), "\(ingestOnly.text)")
        // The three tenants created are three events in the log, and in the metrics.
        let metrics = try api.call("GET", "/metrics", token: nil).text
        #expect(metrics.contains(#"tally_events_total{outcome="accepted"} 3"#), "\(metrics)")
    }

    /// A deleted tenant's record changes only with the status that restores it; anything else is a 409,
    /// not a 200 that changed nothing, and writes nothing to the log.
    /// The tenants API takes settings exactly as deep as a `tenant.created` event can carry them (one level
    /// less in the body, where `settings` sit one level higher than under the event's `data`), so a record
    /// it stored always travels back through an event, a dump and an import.
    @Test func tenantSettingsAreAsDeepAsAnEventCarries() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        for (depth, tenant) in [(61, APIFixture.tenant), (62, APIFixture.other)] {
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let created = try api.call(
                "POST", "/api/v1/admin/tenants/", token: admin,
                body: #"{"id":"\#(tenant)","name":"Deep","settings":{"x":\#(nested)}}"#)
            let event = try api.call(
                "POST", "/api/v1/events", token: admin,
                body: APIFixture.event(
                    "deep-\(depth)", "tenant.created", tenant: "00000000-0000-4000-8000-0000000000\(depth)",
                    data: #"{"name":"Deep","settings":{"x":\#(nested)}}"#))
            #expect(
                (created.status == 201) == (event.status == 200),
                "\(depth) levels: the API answered \(created.status), an event \(event.status): \(created.text)")
            if depth == 62 { #expect(created.status == 422 && created.text.contains("nest"), "\(created.text)") }
        }
    }

    /// A validation answer lists at most 100 issues and says how many more there were: a small (gzip) body
    /// of a million unknown members cannot make an answer of a hundred megabytes.
    @Test func validationAnswersListAtMostAHundredIssues() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let members = (0..<5_000).map { #""u\#($0)":0"# }.joined(separator: ",")
        let answer = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"id":"\#(APIFixture.tenant)","name":"Wide",\#(members)}"#)
        #expect(answer.status == 422)
        guard case .array(let detail)? = try json(answer)["detail"] else {
            Issue.record("no detail: \(answer.text.prefix(300))")
            return
        }
        #expect(detail.count == 101)
        #expect(answer.text.contains("and 4900 more issues, not listed"), "\(answer.text.suffix(300))")
    }

    @Test func aDeletedTenantIsPatchedOnlyByRestoringIt() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let path = "/api/v1/admin/tenants/\(APIFixture.tenant)"
        #expect(
            try api.call(
                "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(APIFixture.tenant)","name":"Acme"}"#
            ).status == 201)
        #expect(try api.call("DELETE", path, token: admin).status == 204)
        let eventsBefore = api.engine.eventCount
        let refused = try api.call("PATCH", path, token: admin, body: #"{"name":"Renamed"}"#)
        #expect(refused.status == 409)
        #expect(refused.text.contains(#""code":"tenant_deleted""#) && refused.text.contains("restore"))
        #expect(refused.text.contains(#"send \"status\": \"active\" to restore it"#), "\(refused.text)")
        // Its own tenant_admin is not told to send what it may not: only a super_admin restores.
        let own = APIFixture.token(["tenant_admin"], tenant: APIFixture.tenant)
        let ownRefused = try api.call("PATCH", path, token: own, body: #"{"name":"Renamed"}"#)
        #expect(ownRefused.status == 409)
        #expect(ownRefused.text.contains("is deleted: only a super_admin can restore it"), "\(ownRefused.text)")
        // "deleted" is no restore: the record stays as it was.
        let stillDeleted = try api.call(
            "PATCH", path, token: admin, body: #"{"status":"deleted","name":"Edited","partner_id":"P"}"#)
        #expect(
            stillDeleted.status == 409 && stillDeleted.text.contains(#""code":"tenant_deleted""#),
            "\(stillDeleted.text)")
        #expect(api.engine.eventCount == eventsBefore)
        // Nor through ingest: a tenant.updated that keeps a deleted tenant deleted changes nothing.
        let sneaky = try api.call(
            "POST", "/api/v1/events", token: admin,
            body:
                #"{"id":"u","type":"tenant.updated","tenantId":"\#(APIFixture.tenant)","data":{"name":"Edited","status":"deleted"}}"#
        )
        #expect(sneaky.status == 200)
        #expect(try api.call("GET", path, token: admin).text.contains(#""name":"Acme""#))
        let restored = try api.call("PATCH", path, token: admin, body: #"{"status":"active","name":"Renamed"}"#)
        #expect(restored.status == 200)
        #expect(restored.text.contains(#""status":"active""#) && restored.text.contains(#""name":"Renamed""#))
    }

    /// Creates of one id racing each other: exactly one is created, every other answers 409. The first
    /// create's fsync is held, so the others arrive on their own connections while its event is not yet in
    /// the projections, when the existence check alone would let them all through.
    @Test func racingCreatesOfOneIdCreateItOnce() throws {
        let fileSystem = FaultyFileSystem()
        let api = try APIFixture(fileSystem: fileSystem)
        let admin = APIFixture.token(["super_admin"])
        func create(_ name: String) throws -> LoopbackClient {
            try api.send(
                "POST", "/api/v1/admin/tenants/", token: admin,
                body: #"{"id":"\#(APIFixture.other)","name":"\#(name)"}"#)
        }
        fileSystem.update { $0.holdNextSyncOfPathContaining = "/segments/" }
        // Released on every path, before the server shuts down: its drain waits for the held request.
        defer { withExtendedLifetime(api) { fileSystem.releaseHeldSync() } }
        let first = try create("First")
        #expect(fileSystem.waitForHeldSync(), "the first create waits in its fsync")
        // Answered while the first still waits (a create let through would wait behind it, and time out).
        for index in 1..<4 {
            let racer = try create("Racer \(index)")
            let response = try racer.readResponse()
            #expect(response.status == 409 && response.text.contains("tenant_exists"), "\(response.text)")
        }
        // The held create's body is all the server holds, and its gauges say so.
        let metrics = try api.call("GET", "/metrics", token: nil).text
        let heldBody = #"{"id":"\#(APIFixture.other)","name":"First"}"#.utf8.count
        #expect(metrics.contains("tally_http_buffered_body_bytes \(heldBody)\n"), "\(metrics)")
        fileSystem.releaseHeldSync()
        let created = try first.readResponse()
        #expect(created.status == 201 && created.text.contains(#""name":"First""#), "\(created.text)")
        let types = try StoreTestSupport.readAll(SegmentStoreReader.open(api.directory.path)).map(\.event.type)
        #expect(types == [.tenantCreated])
    }

    /// A delete that lands between a PATCH's check and its event turns the PATCH into the same 409 the
    /// check gives. The delete's fsync is held; the PATCH, on another connection, passes its check (the
    /// tenant still reads active) and queues its event behind the delete's.
    @Test func aPatchOvertakenByADeleteAnswers409() throws {
        let fileSystem = FaultyFileSystem()
        let api = try APIFixture(fileSystem: fileSystem)
        let admin = APIFixture.token(["super_admin"])
        let tenant = APIFixture.tenant
        #expect(
            try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(tenant)","name":"Acme"}"#)
                .status == 201)
        fileSystem.update { $0.holdNextSyncOfPathContaining = "/segments/" }
        // Released on every path, before the server shuts down: its drain waits for the held request.
        defer { withExtendedLifetime(api) { fileSystem.releaseHeldSync() } }
        let deleting = try api.send("DELETE", "/api/v1/admin/tenants/\(tenant)", token: admin)
        #expect(fileSystem.waitForHeldSync(), "the delete waits in its fsync")
        let patching = try api.send(
            "PATCH", "/api/v1/admin/tenants/\(tenant)", token: admin, body: #"{"name":"Renamed"}"#)
        // The PATCH's event has been given its offset (its id is remembered) behind the delete's.
        for _ in 0..<2_000 where api.engine.rememberedIds < 3 { usleep(5_000) }
        #expect(api.engine.rememberedIds == 3, "create, delete and the PATCH's update")
        fileSystem.releaseHeldSync()
        #expect(try deleting.readResponse().status == 204)
        let patched = try patching.readResponse()
        #expect(patched.status == 409 && patched.text.contains("tenant_deleted"), "\(patched.text)")
        #expect(try api.call("GET", "/api/v1/admin/tenants/\(tenant)", token: admin).text.contains(#""name":"Acme""#))
    }

    /// A `tenant.created` for the same id that lands through the events route between a create's check and
    /// its event registers the tenant first; the create then changed nothing and answers the check's 409,
    /// not a 201 showing the other event's record. The event's fsync is held, so the create passes its check.
    @Test func aCreateOvertakenByACreatedEventAnswers409() throws {
        let fileSystem = FaultyFileSystem()
        let api = try APIFixture(fileSystem: fileSystem)
        let admin = APIFixture.token(["super_admin"])
        let tenant = APIFixture.other
        fileSystem.update { $0.holdNextSyncOfPathContaining = "/segments/" }
        defer { withExtendedLifetime(api) { fileSystem.releaseHeldSync() } }
        let event = #"{"id":"tc-1","type":"tenant.created","tenantId":"\#(tenant)","data":{"name":"From event"}}"#
        let ingesting = try api.send("POST", "/api/v1/events", token: admin, body: event)
        #expect(fileSystem.waitForHeldSync(), "the event waits in its fsync")
        let creating = try api.send(
            "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(tenant)","name":"From API"}"#)
        // The create's event has its offset, behind the held one.
        for _ in 0..<2_000 where api.engine.rememberedIds < 2 { usleep(5_000) }
        #expect(api.engine.rememberedIds == 2, "the event and the create's")
        fileSystem.releaseHeldSync()
        #expect(try ingesting.readResponse().status == 200)
        let created = try creating.readResponse()
        #expect(created.status == 409 && created.text.contains("tenant_exists"), "\(created.text)")
        #expect(
            try api.call("GET", "/api/v1/admin/tenants/\(tenant)", token: admin).text.contains(#""name":"From event""#))
    }

    /// Names are limited in Unicode scalars, as events count them, so every record the API stores survives
    /// `tally dump` and `tally import`.
    @Test func tenantNamesAreLimitedInUnicodeScalarsAsEventsAre() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let combining = String(repeating: "e\u{301}", count: 200)  // 200 characters, 400 scalars
        let refused = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"\#(combining)"}"#)
        #expect(refused.status == 422 && refused.text.contains(#""loc":["body","name"]"#))
        let longest = String(repeating: "e\u{301}", count: 128)  // 256 scalars
        #expect(
            try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"\#(longest)"}"#).status == 201
        )
    }

    /// The key-stats contract over HTTP: expired keys counted at read time, revoked and unregistered keys,
    /// the status counters, and the most recently used keys newest first, at most five.
    @Test func keyStatsCountEveryKindOfKeyAndListTheLatestUsedFirst() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let now = api.engine.configuration.clock()
        func at(_ secondsAgo: Int64) -> String {
            Timestamp(microseconds: now.microseconds - secondsAgo * 1_000_000).rfc3339()
        }
        func event(_ id: String, _ type: String, _ secondsAgo: Int64, _ data: String) -> String {
            #"{"id":"\#(id)","type":"\#(type)","tenantId":"\#(APIFixture.tenant)","time":"\#(at(secondsAgo))","data":\#(data)}"#
        }
        let events = [
            event("c-old", "key.created", 600, #"{"keyId":"old","name":"Old","expiresAt":"\#(at(60))"}"#),
            event("c-live", "key.created", 600, #"{"keyId":"live","name":"Live"}"#),
            event("c-gone", "key.created", 600, #"{"keyId":"gone"}"#),
            event("r-gone", "key.revoked", 500, #"{"keyId":"gone"}"#),
        ]
        let calls = [
            ("old", 200, 400), ("gone", 429, 300), ("stray", 500, 200), ("live", 200, 100), ("a", 200, 90),
            ("b", 404, 80), ("live", 200, 70),
        ]
        let body =
            events
            + calls.enumerated().map { index, call in
                event("call-\(index)", "api.call", Int64(call.2), #"{"keyId":"\#(call.0)","status":\#(call.1)}"#)
            }
        #expect(
            try api.call("POST", "/api/v1/events", token: admin, body: "[" + body.joined(separator: ",") + "]")
                .status == 200)
        let response = try api.call("GET", "/api/organizations/\(APIFixture.tenant)/api-keys/stats", token: admin)
        #expect(response.status == 200)
        guard case .object(let object) = try JSONParser().parse(response.body),
            case .object(let data)? = object["data"],
            case .array(let recent)? = data["mostRecentlyUsed"]
        else {
            Issue.record("no key stats: \(response.text)")
            return
        }
        #expect(data["totalKeys"] == .int(3) && data["activeKeys"] == .int(1), "\(response.text)")
        #expect(data["revokedKeys"] == .int(1) && data["expiredKeys"] == .int(1), "\(response.text)")
        #expect(data["totalRequests"] == .int(7) && data["rateLimitHits"] == .int(1), "\(response.text)")
        #expect(data["errors"] == .int(2), "404 and 500; a 429 is a rate-limit hit: \(response.text)")
        let order = recent.compactMap { entry -> String? in
            guard case .object(let key) = entry, case .string(let id)? = key["keyId"] else { return nil }
            return id
        }
        #expect(order == ["live", "b", "a", "stray", "gone"], "\(response.text)")
        let statuses = recent.compactMap { entry -> String? in
            guard case .object(let key) = entry, case .string(let status)? = key["status"] else { return nil }
            return status
        }
        #expect(statuses == ["active", "unregistered", "unregistered", "unregistered", "revoked"], "\(response.text)")
        guard case .object(let live) = recent.first else { return }
        #expect(live["requests"] == .int(2) && live["name"] == .string("Live"), "\(response.text)")
        #expect(
            live["lastUsedAt"]
                == .string(Timestamp(microseconds: now.microseconds - 70_000_000).rfc3339(fractionDigits: 3)))
    }

    /// After a failed fsync the API is read-only, as the README says: the ingest that hit it answers 503
    /// with nothing acknowledged, every later ingest fails at once (even once the disk would take writes
    /// again: a failed fsync is never retried), stats reads go on showing what was acknowledged, and
    /// `/healthz` and `tally_read_only` say so.
    @Test func aFailedFsyncMakesTheAPIReadOnlyWhileStatsReadsGoOn() throws {
        let fileSystem = FaultyFileSystem()
        let api = try APIFixture(fileSystem: fileSystem)
        let admin = APIFixture.token(["super_admin"])
        let stats = "/api/v1/admin/tenants/\(APIFixture.tenant)/stats"
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: APIFixture.event("kept")).status == 200)
        #expect(try api.call("GET", "/healthz", token: nil).status == 200)

        fileSystem.update { $0.failSyncsOfPathsContaining = "/segments/" }
        let failed = try api.call(
            "POST", "/api/v1/events", token: admin,
            body: "[" + APIFixture.event("lost-1") + "," + APIFixture.event("lost-2") + "]")
        #expect(failed.status == 503, "\(failed.text)")
        #expect(
            failed.text.contains(#""totals":{"received":2,"accepted":0,"duplicates":0,"rejected":0,"failed":2}"#),
            "nothing acknowledged: \(failed.text)")
        #expect(
            failed.text.contains(#""message":"Service Unavailable","error":{"status":503,"code":"storage_failed""#),
            "the error envelope, with the results as its data: \(failed.text)")
        fileSystem.update { $0.failSyncsOfPathsContaining = nil }
        let later = try api.call("POST", "/api/v1/events", token: admin, body: APIFixture.event("later"))
        #expect(later.status == 503, "\(later.text)")
        #expect(later.text.contains("refuses appends after a write failure"), "\(later.text)")

        let read = try api.call("GET", stats, token: admin)
        #expect(read.status == 200, "\(read.text)")
        guard case .object(let object) = try JSONParser().parse(read.body), let data = object["data"],
            case .object(let fields) = data, case .object(let usage)? = fields["usage"]
        else {
            Issue.record("no stats: \(read.text)")
            return
        }
        #expect(usage["apiCallsThisMonth"] == .int(1), "only the acknowledged call: \(read.text)")
        #expect(try api.call("GET", "/healthz", token: nil).status == 503)
        #expect(try api.call("GET", "/metrics", token: nil).text.contains("tally_read_only 1\n"))
    }

    /// A void whose target cannot be read leaves the live stats short of it: `/healthz` answers 503
    /// `degraded` with the reason and what to do, and `tally_projection_gap` is 1, so the gap is seen before
    /// a restart.
    @Test func aVoidWhoseTargetCannotBeReadMakesHealthDegraded() throws {
        let fileSystem = FaultyFileSystem()
        let api = try APIFixture(fileSystem: fileSystem)
        let admin = APIFixture.token(["super_admin"])
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: APIFixture.event("target")).status == 200)
        #expect(try api.call("GET", "/metrics", token: nil).text.contains("tally_projection_gap 0\n"))
        fileSystem.update { $0.failReadOpensOfPathsContaining = ".seg" }
        let void = APIFixture.event("void", "event.voided", data: #"{"eventId":"target"}"#)
        #expect(try api.call("POST", "/api/v1/events", token: admin, body: void).status == 200)
        fileSystem.update { $0.failReadOpensOfPathsContaining = nil }
        let health = try api.call("GET", "/healthz", token: nil)
        #expect(health.status == 503, "\(health.text)")
        #expect(health.text.contains(#""status":"degraded""#), "\(health.text)")
        #expect(health.text.contains("the live stats miss a void"), "\(health.text)")
        #expect(try api.call("GET", "/metrics", token: nil).text.contains("tally_projection_gap 1\n"))
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

    @Test func openAPIDocumentsEveryRoute() throws {
        let api = try APIFixture()
        let response = try api.call("GET", "/openapi.json", token: nil)
        #expect(response.status == 200)
        guard case .object(let paths)? = try json(response)["paths"] else {
            Issue.record("no paths")
            return
        }
        for route in Route.all {
            guard case .object(let operations)? = paths[route.pattern] else {
                Issue.record("\(route.pattern) missing from openapi.json")
                continue
            }
            #expect(operations[route.method.lowercased()] != nil, "\(route.method) \(route.pattern)")
        }
        // The seed's error rows: 422 in the HTTPValidationError shape on every tenants API route (a body, the
        // list's query or the path's tenant_id), and 409 where a create or a patch can conflict.
        func responses(_ method: String, _ pattern: String) -> JSONObject? {
            guard case .object(let operations)? = paths[pattern], case .object(let operation)? = operations[method],
                case .object(let responses)? = operation["responses"]
            else { return nil }
            return responses
        }
        let reference = ##""$ref":"#/components/schemas/HTTPValidationError""##
        for (method, pattern) in [
            ("get", "/api/v1/admin/tenants/"), ("post", "/api/v1/admin/tenants/"),
            ("get", "/api/v1/admin/tenants/{tenant_id}"), ("patch", "/api/v1/admin/tenants/{tenant_id}"),
            ("delete", "/api/v1/admin/tenants/{tenant_id}"),
        ] {
            let validation = responses(method, pattern)?["422"]
            #expect(
                validation.map { $0.jsonString.contains(reference) } == true,
                "\(method) \(pattern)")
        }
        #expect(responses("post", "/api/v1/admin/tenants/")?["409"] != nil)
        #expect(responses("patch", "/api/v1/admin/tenants/{tenant_id}")?["409"] != nil)
        // Seed 000's 500 row on every authenticated route; 503 where a write meets a failed store.
        #expect(responses("get", "/api/v1/admin/tenants/{tenantId}/stats")?["500"] != nil)
        #expect(responses("get", "/api/v1/admin/tenants/{tenantId}/stats")?["503"] == nil)
        #expect(responses("post", "/api/v1/events")?["503"] != nil)
        #expect(responses("get", "/healthz")?["500"] == nil)
        guard case .object(let components)? = try json(response)["components"],
            case .object(let schemas)? = components["schemas"]
        else {
            Issue.record("no component schemas")
            return
        }
        #expect(schemas["HTTPValidationError"] != nil && schemas["ValidationError"] != nil)
        // Every operation has a unique id and says whether it needs the bearer token.
        var ids: Set<String> = []
        for route in Route.all {
            guard case .object(let operations)? = paths[route.pattern],
                case .object(let operation)? = operations[route.method.lowercased()],
                case .string(let id)? = operation["operationId"], case .array(let security)? = operation["security"]
            else {
                Issue.record("\(route.method) \(route.pattern) lacks an operationId or security")
                continue
            }
            #expect(ids.insert(id).inserted, "\(id) repeats")
            #expect(security.isEmpty == !route.authenticated)
        }
        #expect(ids.contains("get_api_v1_admin_tenants_tenantId_stats"))
        // Seed 001's operation keeps its id, tag and wording, so clients generated from the seed still fit.
        guard case .object(let keyOperations)? = paths["/api/organizations/{organizationId}/api-keys/stats"],
            case .object(let keyStats)? = keyOperations["get"]
        else {
            Issue.record("no key-stats operation")
            return
        }
        #expect(keyStats["operationId"] == .string("ApiKeysController_getStats"))
        #expect(keyStats["tags"] == .array([.string("api-keys")]))
        #expect(
            responses("get", "/api/organizations/{organizationId}/api-keys/stats")?["403"]?.jsonString.hasPrefix(
                #"{"description":"Access denied. User is not a member of this organization.""#) == true)
        let tagNames = try json(response)["tags"]?.jsonString ?? ""
        for route in Route.all {
            guard case .object(let operations)? = paths[route.pattern],
                case .object(let operation)? = operations[route.method.lowercased()],
                case .array(let tags)? = operation["tags"], tags.count == 1, case .string(let tag) = tags[0]
            else {
                Issue.record("\(route.method) \(route.pattern) has no tag")
                continue
            }
            #expect(tagNames.contains(#""name":"\#(tag)""#), "\(tag) is declared")
        }
        // Relative, so it holds for any --host and --port.
        #expect(
            try json(response)["servers"]?.jsonString
                == #"[{"url":"/","description":"the server this document was fetched from"}]"#)
    }

    /// Requests the HTTP layer refuses before routing (413 from `Content-Length`, 400 for a broken request
    /// line, 431 for oversized headers) show in the metrics under `route="protocol"`.
    @Test func requestsRefusedBeforeRoutingAreCounted() throws {
        let api = try APIFixture(maxBodyBytes: 1000)
        for raw in [
            "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
            "GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\n\r\n",
        ] {
            let client = try api.client()
            try client.send(raw)
            _ = try client.readResponse()
        }
        let metrics = try api.call("GET", "/metrics", token: nil).text
        #expect(metrics.contains(#"tally_events_total{outcome="accepted"} 0"#), "nothing was stored")
        for status in [400, 413, 431] {
            #expect(
                metrics.contains(#"tally_http_responses_total{route="protocol",status="\#(status)"} 1"#), "\(status)")
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

    @Test func metricsCountOutcomesAndARestartKeepsAcknowledgedEvents() throws {
        let copy = TemporaryDirectory()
        do {
            let api = try APIFixture()
            let admin = APIFixture.token(["super_admin"])
            _ = try api.call(
                "POST", "/api/v1/events", token: admin,
                body: "[" + (0..<5).map { APIFixture.event("m\($0)") }.joined(separator: ",") + "]")
            _ = try api.call("POST", "/api/v1/events", token: admin, body: APIFixture.event("m1"))
            let metrics = try api.call("GET", "/metrics", token: nil)
            #expect(metrics.text.contains(#"tally_events_total{outcome="accepted"} 5"#))
            #expect(metrics.text.contains(#"tally_events_total{outcome="duplicate"} 1"#))
            #expect(metrics.text.contains("tally_http_request_duration_seconds_bucket"))
            #expect(metrics.text.contains("tally_fsync_duration_seconds_count "))
            #expect(!metrics.text.contains("tally_fsync_duration_seconds_count 0\n"), "the ingests were synced")
            #expect(metrics.text.contains("tally_log_events 5\n") && metrics.text.contains("tally_tenants 1\n"))
            #expect(
                metrics.text.contains("tally_dedup_remembered_ids 5\n") && metrics.text.contains("tally_read_only 0\n"))
            #expect(metrics.text.contains("tally_dedup_table_bytes 32768\n"), "the initial 2,048 slots of 16 bytes")
            try StoreTestSupport.copyStore(api.directory.path, to: copy.path)
        }
        var configuration = EngineConfiguration()
        configuration.store = StoreTestSupport.configuration()
        let reopened = try Engine(directory: copy.path, configuration: configuration)
        #expect(reopened.eventCount == 5)
        try reopened.close()
    }
}

enum SegmentStoreReader {
    static func open(_ directory: String) throws -> SegmentStore {
        try SegmentStore(directory: directory, configuration: StoreTestSupport.configuration(), readOnly: true)
    }
}
