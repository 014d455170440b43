import Foundation
import Glibc
import Synchronization
import TallyAuth
import TallyCore
import TallyEngine
import TallyHTTP
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyAPI

/// Operating the server: the OpenAPI document, metrics, health, a failed store and a restart.
extension APITests {
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
        if case .string(let description)? = keyStats["description"] {
            #expect(description.hasPrefix("Get usage statistics for all API keys in an organization."))
        } else {
            Issue.record("the key-stats operation has no description")
        }
        // The stats answers' fields say what the seed leaves to the reader: units, months, shown precision.
        let schemaText = JSONValue.object(schemas).jsonString
        for phrase in ["MiB (2^20 bytes), rounded up", "per UTC calendar month", "shown to the millisecond"] {
            #expect(schemaText.contains(phrase), "\(phrase)")
        }
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
    /// A refused request's log line says why, in its answer's code and words (the detail an on-call engineer
    /// needs to tell an expired token from a wrong secret), never with the token; a validation failure names
    /// its first issue; a success names none. Each line carries the request's id, as its answer does.
    @Test func aRefusedRequestsLogLineSaysWhy() throws {
        let api = try APIFixture()
        let stats = "/api/v1/admin/tenants/\(APIFixture.tenant)/stats"
        let expired = APIFixture.token(["super_admin"], expiresIn: -3600)
        let answer = try api.call("GET", stats, token: expired)
        #expect(answer.status == 401)
        let wrongSecret = APIFixture.token(["super_admin"], secret: Array("another secret of 32 bytes or so".utf8))
        #expect(try api.call("GET", stats, token: wrongSecret).status == 401)
        let invalid = try api.call(
            "POST", "/api/v1/admin/tenants/", token: APIFixture.token(["super_admin"]),
            body: #"{"name":"Acme","settings":{"mfa_required":"yes","session_timeout":0}}"#)
        #expect(invalid.status == 422, "\(invalid.text)")
        #expect(try api.call("GET", "/healthz", token: nil).status == 200)
        var lines: [String] = []
        #expect(
            Polling.until(seconds: 5) {
                lines = api.log.all.flatMap { $0.split(separator: "\n").map(String.init) }
                return lines.filter { $0.contains(#""path":"#) }.count >= 4
            })
        let refusals = lines.filter { $0.contains(#""status":401,"error":"unauthorized","message":""#) }
        #expect(refusals.count == 2, "\(lines)")
        #expect(refusals.contains { $0.contains("expired") }, "\(refusals)")
        #expect(refusals.contains { $0.contains("signature") }, "\(refusals)")
        #expect(!lines.joined().contains(expired) && !lines.joined().contains(wrongSecret))
        let id = try #require(answer.header("X-Request-Id"))
        #expect(refusals.contains { $0.hasSuffix(#""requestId":"\#(id)"}"#) }, "\(id): \(refusals)")
        let validation = lines.first { $0.contains(#""status":422"#) } ?? ""
        #expect(
            validation.contains(
                #""error":"validation_error","message":"body.settings.mfa_required: "#), "\(validation)")
        #expect(validation.contains(#"(and 1 more)""#), "\(validation)")
        let health = lines.first { $0.contains(#""path":"/healthz""#) } ?? ""
        #expect(health.contains(#""status":200,"durationMs":"#) && !health.contains(#""error""#), "\(health)")
    }

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

    /// A refusal's time in the latency histograms counts from the request's first byte, as the log's does:
    /// a head that took 400 ms to arrive and was refused for its token before its body adds 0.2 s or more to
    /// its route's sum, and a 400 for a head broken after a pause adds as much under `protocol`.
    @Test func refusalsAreTimedFromTheRequestsFirstByte() throws {
        let api = try APIFixture()
        func sum(_ route: String) throws -> Double {
            let metrics = try api.call("GET", "/metrics", token: nil).text
            let prefix = #"tally_http_request_duration_seconds_sum{route="\#(route)"} "#
            guard let line = metrics.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return -1 }
            return Double(line.dropFirst(prefix.count)) ?? -1
        }
        let refused = try api.client()
        try refused.send("POST /api/v1/events HTTP/1.1\r\nHost: x\r\n")
        usleep(400_000)
        try refused.send("Content-Type: application/json\r\nContent-Length: 10\r\n\r\n")
        #expect(try refused.readResponse().status == 401)
        #expect(try sum("POST /api/v1/events") >= 0.2)
        let broken = try api.client()
        try broken.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        usleep(400_000)
        try broken.send("no colon\r\n\r\n")
        #expect(try broken.readResponse().status == 400)
        #expect(try sum("protocol") >= 0.2)
    }

    /// The latency buckets reach past the server's own slowest answers at its default timeouts (a 408 after
    /// the 10 s header timeout, or after the 60 s body timeout, which counts from the first byte), so those
    /// land in a bucket, not only in `+Inf`.
    @Test func latencyBucketsReachTheSlowestAnswers() throws {
        let api = try APIFixture()
        api.handler.metrics.recordRequest(route: "protocol", status: 408, seconds: 10.2)
        api.handler.metrics.recordRequest(route: "protocol", status: 408, seconds: 62.5)
        let metrics = try api.call("GET", "/metrics", token: nil).text
        for (bound, count) in [
            ("2.5", 0), ("5.0", 0), ("10.0", 0), ("30.0", 1), ("60.0", 1), ("120.0", 2), ("+Inf", 2),
        ] {
            #expect(
                metrics.contains(
                    #"tally_http_request_duration_seconds_bucket{route="protocol",le="\#(bound)"} \#(count)"#),
                "\(bound)")
        }
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
            #expect(metrics.text.contains("tally_checkpoint_covered_events 0\n"))
            #expect(metrics.text.contains("tally_log_torn_tail_bytes 0\n"), "a fresh store has no torn tail")
            #expect(!metrics.text.contains("tally_checkpoint_last_success_timestamp_seconds"), "none written yet")
            // A checkpoint moves the covered events and says when it was written, by the engine's clock.
            #expect(try api.engine.checkpoint() == 5)
            let after = try api.call("GET", "/metrics", token: nil).text
            let lines = after.split(separator: "\n").map(String.init)
            func value(_ name: String) -> Double? {
                lines.first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
            }
            #expect(value("tally_checkpoint_covered_events") == 5)
            #expect(
                value("tally_checkpoint_last_success_timestamp_seconds")
                    == Double(api.engine.configuration.clock().microseconds / 1_000_000), "\(after)")
            #expect((value("tally_checkpoint_last_duration_seconds") ?? -1) >= 0)
            #expect(after.contains(#"tally_checkpoint_failures_total{reason="error"} 0"#))
            #expect(after.contains(#"tally_checkpoint_failures_total{reason="low_space"} 0"#))
            #expect(
                after.contains(
                    #"tally_build_info{segment_format="\#(SegmentFormat.version)",projection_version="\#(Engine.projectionVersion)"} 1"#
                ))
            // The process's own figures, as a Prometheus client library names them.
            #expect((value("process_resident_memory_bytes") ?? 0) > 1_000_000)
            #expect((value("process_open_fds") ?? 0) >= 4, "standard streams, the store, the listener")
            #expect((value("process_max_fds") ?? 0) >= (value("process_open_fds") ?? .infinity))
            let started = value("process_start_time_seconds") ?? 0
            let now = Double(time(nil))
            #expect(started <= now + 1 && started > now - 86_400 * 7, "started \(started), now \(now)")
            try StoreTestSupport.copyStore(api.directory.path, to: copy.path)
        }
        var configuration = EngineConfiguration()
        configuration.store = StoreTestSupport.configuration()
        let reopened = try Engine(directory: copy.path, configuration: configuration)
        #expect(reopened.eventCount == 5)
        // The checkpoint it started from stands for the last one written, by its file's time: an alert on an
        // old checkpoint works across a restart. How long it took is not known.
        let record = reopened.gauges.checkpoints
        let now = Int64(time(nil))
        #expect(record.coveredEvents == 5 && record.lastDurationSeconds == nil, "\(record)")
        #expect(
            record.lastWritten.map { now - $0.microseconds / 1_000_000 }.map { (0...60).contains($0) } == true,
            "\(record), now \(now)")
        try reopened.close()
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
}
