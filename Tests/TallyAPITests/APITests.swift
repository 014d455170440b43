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

/// End to end against the real server: ingest then both stats endpoints (seeds 000 and 001). The
/// `APITests+` files extend this one suite by concern, so that all of it runs serialized.
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
}
