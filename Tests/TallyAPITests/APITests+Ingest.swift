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

/// Ingest bodies: NDJSON, CloudEvents and JSON arrays, per-event results, pipelining and the ingest metrics.
extension APITests {
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
        // A byte order mark before the first line is dropped, as `tally import` drops it.
        let marked = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/x-ndjson",
            body: "\u{FEFF}" + APIFixture.event("bom1") + "\n" + APIFixture.event("bom2"))
        #expect(marked.status == 200, "\(marked.text)")
        #expect(marked.text.contains(#"{"index":0,"line":1,"status":"accepted""#), "\(marked.text)")
        // So before any JSON body (RFC 8259 §8.1 lets a parser ignore it): one event, an array, CloudEvents.
        let tenant = APIFixture.tenant
        let cloud =
            #"{"specversion":"1.0","id":"bom5","source":"/s","type":"api.call","tenantid":"\#(tenant)","data":{"keyId":"k","status":200}}"#
        for (type, body) in [
            ("application/json", APIFixture.event("bom3")),
            ("application/json", "[" + APIFixture.event("bom4") + "]"),
            ("application/cloudevents+json", cloud),
            ("application/cloudevents-batch+json", "[" + cloud.replacing("bom5", with: "bom6") + "]"),
        ] {
            let answer = try api.call(
                "POST", "/api/v1/events", token: ingest, contentType: type, body: "\u{FEFF}" + body)
            #expect(
                answer.status == 200 && answer.text.contains(#""results":[{"index":0,"status":"accepted""#),
                "\(type): \(answer.text)")
        }
        // Only before the text: one anywhere else is a byte JSON does not allow there.
        let inside = try api.call("POST", "/api/v1/events", token: ingest, body: " \u{FEFF}" + APIFixture.event("bom7"))
        #expect(
            inside.status == 400 && inside.text.contains("unexpected byte 0xEF at line 1, column 2 (byte 1)"),
            "\(inside.text)")
        let twice = try api.call(
            "POST", "/api/v1/events", token: ingest, body: "\u{FEFF}\u{FEFF}" + APIFixture.event("bom8"))
        #expect(twice.status == 400 && twice.text.contains("column 1 (byte 0)"), "\(twice.text)")
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
            (cloud("c2", #""source":"","subject":"\#(tenant)""#), "source: must be a non-empty URI-reference"),
            (cloud("c2n", #""source":5,"subject":"\#(tenant)""#), "source: must be a non-empty URI-reference"),
            // A CloudEvents String holds no control characters and no noncharacters, in any attribute.
            (
                cloud("c2c", #""source":"/gw","subject":"\#(tenant)","note":"a\u0001b""#),
                "note: must not hold U+0001: a CloudEvents String holds no control characters or noncharacters"
            ),
            (cloud("c2d", #""source":"/gw","subject":"\#(tenant)","note":"a\u0085b""#), "note: must not hold U+0085"),
            (cloud("c2e", #""source":"/gw","subject":"\#(tenant)","note":"a\ufdd0b""#), "note: must not hold U+FDD0"),
            (
                cloud("c2f", #""source":"/gw","subject":"\#(tenant)","note":"\udbff\udfff""#),
                "note: must not hold U+10FFFF"
            ),
            (cloud("c2g", #""source":"/gw","subject":"\#(tenant)","note":"caf\u00e9 \u2028""#), nil),
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
            // An extension beside the attribute it resembles is no typo of it: a producer's `date` beside
            // `data`, `types` beside `type`, `tenantids` beside `tenantid`.
            (
                cloud(
                    "c8d",
                    #""source":"/gw","tenantid":"\#(tenant)","date":"x","types":"y","tenantids":"w""#),
                nil
            ),
            (
                cloud("c8e", #""source":"/gw","subject":"\#(tenant)","times":"2026-01-01T00:00:00Z""#),
                "times: unknown field, a letter away from time"
            ),
            (
                #"{"id":"c8f","type":"api.call","source":"/gw","subject":"\#(tenant)","data":{"keyId":"k","status":200}}"#,
                #""error":"specversion: is required: \"1.0\""#
            ),
            (
                #"{"specversion":"1.0.2","id":"c8g","type":"api.call","source":"/gw","subject":"\#(tenant)","data":{"keyId":"k","status":200}}"#,
                #""error":"specversion: must be \"1.0\""#
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
            // Attributes Tally does not use are still held to the specification's types.
            (
                cloud("c20", #""source":"not a uri","subject":"\#(tenant)""#),
                "source: must be a non-empty URI-reference"
            ),
            (
                cloud("c21", #""source":"/gw","subject":"\#(tenant)","dataschema":"/relative""#),
                "dataschema: must be an absolute URI"
            ),
            (
                cloud("c22", #""source":"/gw","subject":"\#(tenant)","dataschema":5"#),
                "dataschema: must be a string, an absolute URI"
            ),
            (
                cloud("c23", #""source":"/gw","tenantid":"\#(tenant)","subject":"""#),
                "subject: must be a non-empty string"
            ),
            (
                cloud("c24", #""source":"/gw","subject":"\#(tenant)","ext":{"a":1}"#),
                "ext: must be a string, a boolean or an integer"
            ),
            (
                cloud("c25", #""source":"/gw","subject":"\#(tenant)","ext":4.5"#),
                "ext: must be a string, a boolean or an integer"
            ),
            (
                cloud("c26", #""source":"/gw","subject":"\#(tenant)","ext":2147483648"#),
                "ext: must be a string, a boolean or an integer"
            ),
            (
                cloud("c27", #""source":"/gw","subject":"\#(tenant)","datacontenttype":"application /json""#),
                "datacontenttype: must be a JSON type"
            ),
            (
                cloud(
                    "c28",
                    #""source":"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66","subject":"\#(tenant)","dataschema":"https://example.com/s%20v1.json","ext":-2147483648,"flag":true"#
                ), nil
            ),
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
        // A CloudEvent sent as a Tally event is told of the media type, not of a missing tenantId.
        for contentType in ["application/json", "application/x-ndjson"] {
            let misfiled = try api.call(
                "POST", "/api/v1/events", token: ingest, contentType: contentType,
                body: cloud("c29", #""source":"/gw","subject":"\#(tenant)""#))
            #expect(
                misfiled.status == 422
                    && misfiled.text.contains(
                        "specversion: unknown field: this is a CloudEvent, which Tally reads as Content-Type: application/cloudevents+json"
                    ), "\(misfiled.text)")
        }
        // An empty batch is valid CloudEvents (JSON format §4.3), answered with no results; the single-event
        // and batch types each name the other when given the other's shape.
        let empty = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents-batch+json", body: "[]")
        #expect(empty.status == 200 && empty.text.contains(#""received":0"#), "\(empty.status) \(empty.text)")
        let arrayAsOne = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents+json",
            body: "[" + cloud("c30", #""source":"/gw","subject":"\#(tenant)""#) + "]")
        #expect(
            arrayAsOne.status == 400 && arrayAsOne.text.contains("as application/cloudevents-batch+json"),
            "\(arrayAsOne.text)")
        let objectAsBatch = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents-batch+json",
            body: cloud("c31", #""source":"/gw","subject":"\#(tenant)""#))
        #expect(
            objectAsBatch.status == 400 && objectAsBatch.text.contains("as application/cloudevents+json"),
            "\(objectAsBatch.text)")
        let nullAsBatch = try api.call(
            "POST", "/api/v1/events", token: ingest, contentType: "application/cloudevents-batch+json", body: "null")
        #expect(
            nullAsBatch.status == 400
                && nullAsBatch.text.contains("must be a JSON array: send the CloudEvents (objects)"),
            "\(nullAsBatch.text)")
        // Binary mode (attributes in ce-* headers) is refused, not read as an event of Tally's own format.
        let binary = try api.client()
        let data = #"{"keyId":"k1","status":200}"#
        try binary.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nAuthorization: Bearer \(ingest)\r\n"
                + "ce-specversion: 1.0\r\nce-id: b1\r\nce-type: api.call\r\nce-source: /gw\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(data.utf8.count)\r\n\r\n\(data)")
        let binaryAnswer = try binary.readResponse()
        #expect(
            binaryAnswer.status == 415 && binaryAnswer.text.contains("CloudEvents binary mode"), "\(binaryAnswer.text)")
        // The Content-Type decides the mode: a structured CloudEvent that also carries ce-* headers (as some
        // gateways add them) is read from its body, the headers ignored.
        let structured = try api.client()
        let event = cloud("c32", #""source":"/gw","subject":"\#(tenant)""#)
        try structured.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: t\r\nx-tenantid: \(tenant)\r\nAuthorization: Bearer \(ingest)\r\n"
                + "ce-specversion: 1.0\r\nce-id: other\r\nce-type: api.call\r\nce-source: /gw\r\n"
                + "Content-Type: application/cloudevents+json; charset=utf-8\r\nContent-Length: \(event.utf8.count)\r\n\r\n\(event)"
        )
        let structuredAnswer = try structured.readResponse()
        #expect(structuredAnswer.status == 200, "\(structuredAnswer.text)")
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
            + cloud("f", #""tenantd":"\#(APIFixture.tenant)","subject":"\#(APIFixture.tenant)","#) + ","
            // A plain event's member is no CloudEvents attribute: an unknown field, not a bad tenantId.
            + cloud("g", #""tenantId":"\#(APIFixture.tenant)","subject":"\#(APIFixture.tenant)","#) + ","
            + cloud("h", #""subject":"\#(APIFixture.tenant)","dataschema":"not a uri","#) + "]"
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
        #expect(metrics.contains(#"tally_events_rejected_total{reason="unknown_field"} 3"#), "\(metrics)")
        #expect(metrics.contains(#"tally_events_rejected_total{reason="dataschema"} 1"#), "\(metrics)")
        #expect(!metrics.contains(#"reason="other""#) && !metrics.contains(#"reason="tenantId""#))
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
}
