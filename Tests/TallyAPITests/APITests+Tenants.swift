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

/// The tenants API (seed 002): list, create, update, soft delete, validation and racing writes.
extension APITests {
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
        // Names and settings compare by their bytes: the same text in the other normalization form is a change.
        for body in [#"{"name":"Cr\u00e8me","settings":{"label":"\u00e9"}}"#, #"{"name":"Cre\u0300me"}"#] {
            let renormalized = try api.call("PATCH", "/api/v1/admin/tenants/\(id)", token: admin, body: body)
            #expect(renormalized.text.contains("Tenant updated successfully"), "\(body): \(renormalized.text)")
        }
        let relabeled = try api.call(
            "PATCH", "/api/v1/admin/tenants/\(id)", token: admin, body: #"{"settings":{"label":"e\u0301"}}"#)
        #expect(relabeled.text.contains("Tenant updated successfully"), "\(relabeled.text)")
        #expect(api.engine.read { $0.nextOffset } == eventsBefore + 4)
        let tenantID = try #require(TenantID(id))
        let stored = api.engine.read { $0.tenants[tenantID]?.name }
        #expect(stored.map { Array($0.unicodeScalars) } == Array("Cre\u{300}me".unicodeScalars))
        #expect(try api.call("DELETE", "/api/v1/admin/tenants/\(id)", token: admin).status == 204)
        let after = try api.call("GET", "/api/v1/admin/tenants/\(id)/", token: admin)
        #expect(after.status == 200 && after.text.contains(#""status":"deleted""#), "with a trailing slash too")
        #expect(!(try api.call("GET", "/api/v1/admin/tenants/", token: admin).text.contains("Delta")))
        #expect(try api.call("DELETE", "/api/v1/admin/tenants/\(APIFixture.other)", token: admin).status == 404)
        // A PATCH of an unknown tenant is judged by its body first, as FastAPI validates a body before its
        // handler looks the tenant up: a bad body is a 422 (or 415), a good one a 404.
        let unknown = "/api/v1/admin/tenants/\(APIFixture.other)"
        let badBody = try api.call("PATCH", unknown, token: admin, body: #"{"name":"","bogus":1}"#)
        #expect(badBody.status == 422 && badBody.text.contains("extra_forbidden"), "\(badBody.text)")
        #expect(try api.call("PATCH", unknown, token: admin, contentType: "text/plain", body: "x").status == 415)
        #expect(try api.call("PATCH", unknown, token: admin, body: #"{"name":"Fine"}"#).status == 404)
        // A name of whitespace alone is told so, not told its length.
        let blank = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"\u3000 "}"#)
        #expect(blank.status == 422 && blank.text.contains("must not be empty or only whitespace"), "\(blank.text)")
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
        let missing = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: "")
        #expect(
            missing.status == 422
                && missing.text == #"{"detail":[{"loc":["body"],"msg":"Field required","type":"missing"}]}"#,
            "\(missing.text)")
        // Any byte is parsed, as FastAPI parses it: spaces are JSON that ends before its value.
        let spaces = try api.call("PATCH", "/api/v1/admin/tenants/\(APIFixture.other)", token: admin, body: " \n ")
        #expect(
            spaces.status == 422 && spaces.text.hasPrefix(#"{"detail":[{"loc":["body",3],"msg":"JSON decode error: "#)
                && spaces.text.hasSuffix(#"","type":"json_invalid"}]}"#),
            "\(spaces.text)")
        let repeated = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"name":"A","settings":{"mfa_required":true,"mfa_required":false}}"#)
        #expect(
            repeated.status == 422
                && repeated.text.contains(#""loc":["body","settings","mfa_required"],"msg":"appears more than once"#),
            "\(repeated.text)")
        // A repeat hides none of the body's other problems: each is an entry of its own.
        let several = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body:
                #"{"name":"x","name":"y","status":"bogus","settings":{"mfa_required":1,"x":1,"x":2},"colour":"red","colour":"blue"}"#
        )
        let repeatRule = #""msg":"appears more than once (give each key once)","type":"value_error"}"#
        let expected = [
            #"{"loc":["body","name"],"# + repeatRule,
            #"{"loc":["body","colour"],"# + repeatRule,
            #"{"loc":["body","settings","x"],"# + repeatRule,
            #"{"loc":["body","status"],"msg":"must be active, suspended or deleted","type":"value_error"}"#,
            #"{"loc":["body","settings","mfa_required"],"msg":"must be a boolean","type":"type_error"}"#,
        ]
        #expect(
            several.status == 422 && several.text == #"{"detail":["# + expected.joined(separator: ",") + "]}",
            "\(several.text)")
        // Blank by Unicode White_Space, scalar by scalar, as the document's pattern says.
        let blank = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"\u0085\u3000"}"#)
        #expect(blank.status == 422 && blank.text.contains(#""loc":["body","name"]"#), "\(blank.text)")
        let byteOrderMark = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"\ufeff"}"#)
        #expect(byteOrderMark.status == 201, "\(byteOrderMark.text)")
        // A byte order mark before the body's text is dropped, as before an ingest body.
        let marked = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin, body: "\u{FEFF}" + #"{"name":"Marked"}"#)
        #expect(marked.status == 201 && marked.text.contains(#""name":"Marked""#), "\(marked.text)")
        let markOnly = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: "\u{FEFF} ")
        #expect(
            markOnly.status == 422 && markOnly.text.contains(#""loc":["body",1]"#)
                && markOnly.text.contains(#""type":"json_invalid""#), "\(markOnly.text)")
        let dotted = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"A","settings":{"a.b":1,"a.b":2}}"#)
        #expect(dotted.status == 422 && dotted.text.contains(#""loc":["body","settings","a.b"]"#), "\(dotted.text)")
        // A setting's name is one step of the location, whole, however many dots it holds, or none at all.
        for name in ["a.b", "", "."] {
            let invalid = try api.call(
                "POST", "/api/v1/admin/tenants/", token: admin, body: #"{"name":"A","settings":{"\#(name)":null}}"#)
            #expect(
                invalid.status == 422
                    && invalid.text.contains(#""loc":["body","settings","\#(name)"],"msg":"must not be null""#),
                "\(name): \(invalid.text)")
        }
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
        // A value of the wrong JSON type is a `type_error`, one of the right type the rule refuses a `value_error`.
        let kinds: [(body: String, loc: String, type: String)] = [
            (#"{"name":5}"#, #"["body","name"]"#, "type_error"), (#"{"name":" "}"#, #"["body","name"]"#, "value_error"),
            (#"{"name":"A","status":5}"#, #"["body","status"]"#, "type_error"),
            (#"{"name":"A","status":"gone"}"#, #"["body","status"]"#, "value_error"),
            (#"{"name":"A","partner_id":[]}"#, #"["body","partner_id"]"#, "type_error"),
            (#"{"name":"A","partner_id":""}"#, #"["body","partner_id"]"#, "value_error"),
            (#"{"name":"A","id":7}"#, #"["body","id"]"#, "type_error"),
            (#"{"name":"A","id":"x"}"#, #"["body","id"]"#, "value_error"),
            (#"{"name":"A","settings":{"mfa_required":"yes"}}"#, #"["body","settings","mfa_required"]"#, "type_error"),
            (#"{"name":"A","settings":{"mfa_methods":"totp"}}"#, #"["body","settings","mfa_methods"]"#, "type_error"),
            (#"{"name":"A","settings":{"mfa_methods":[1]}}"#, #"["body","settings","mfa_methods"]"#, "type_error"),
            (#"{"name":"A","settings":{"mfa_methods":["fax"]}}"#, #"["body","settings","mfa_methods"]"#, "value_error"),
            (
                #"{"name":"A","settings":{"mfa_methods":["sms","sms"]}}"#, #"["body","settings","mfa_methods"]"#,
                "value_error"
            ),
            (
                #"{"name":"A","settings":{"password_policy":"strong"}}"#, #"["body","settings","password_policy"]"#,
                "type_error"
            ),
            (
                #"{"name":"A","settings":{"session_timeout":"10"}}"#, #"["body","settings","session_timeout"]"#,
                "type_error"
            ),
            (
                #"{"name":"A","settings":{"session_timeout":1.5}}"#, #"["body","settings","session_timeout"]"#,
                "value_error"
            ),
            (
                #"{"name":"A","settings":{"storage_quota_mb":true}}"#, #"["body","settings","storage_quota_mb"]"#,
                "type_error"
            ),
            (
                #"{"name":"A","settings":{"storage_quota_mb":0}}"#, #"["body","settings","storage_quota_mb"]"#,
                "value_error"
            ),
            (
                #"{"name":"A","settings":{"storage_quota_mb":null}}"#, #"["body","settings","storage_quota_mb"]"#,
                "type_error"
            ),
        ]
        for kind in kinds {
            let answer = try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: kind.body)
            #expect(
                answer.status == 422 && answer.text.hasPrefix(#"{"detail":[{"loc":\#(kind.loc),"#)
                    && answer.text.hasSuffix(#","type":"\#(kind.type)"}]}"#), "\(kind.body): \(answer.text)")
        }
        let whole = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"name":"Whole","settings":{"storage_quota_mb":2048.0}}"#)
        #expect(
            whole.status == 201 && whole.text.contains(#""storage_quota_mb":2048"#) && !whole.text.contains("2048.0"),
            "\(whole.text)")
        // Not whole, though a double would round it to 1: refused, not stored as 1.
        let nearlyWhole = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin,
            body: #"{"name":"Near","settings":{"session_timeout":0.99999999999999999}}"#)
        #expect(
            nearlyWhole.status == 422 && nearlyWhole.text.contains(#""loc":["body","settings","session_timeout"]"#),
            "\(nearlyWhole.text)")
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
        // A body that is not JSON is answered alone, at the byte where it breaks, before any parameter is
        // validated (as FastAPI answers it); so is one of a type the route does not read.
        let notJSON = try api.call("PATCH", "/api/v1/admin/tenants/not-a-uuid", token: admin, body: #"{"name":"#)
        #expect(
            notJSON.status == 422 && notJSON.text.contains(#""type":"json_invalid""#)
                && !notJSON.text.contains(#""path""#), "\(notJSON.text)")
        let plainText = try api.call(
            "PATCH", "/api/v1/admin/tenants/not-a-uuid", token: admin, contentType: "text/plain", body: "name")
        #expect(plainText.status == 415, "\(plainText.text)")
        // text/json is read as the ingest route reads it: this body is parsed, and refused for its name.
        let textJSON = try api.call(
            "POST", "/api/v1/admin/tenants/", token: admin, contentType: "text/json; charset=utf-8",
            body: #"{"name":1}"#)
        #expect(textJSON.status == 422 && textJSON.text.contains(#""loc":["body","name"]"#), "\(textJSON.text)")
        // The five tenants created (one named U+FEFF, one sent after one) are five events in the log, and in
        // the metrics.
        let metrics = try api.call("GET", "/metrics", token: nil).text
        #expect(metrics.contains(#"tally_events_total{outcome="accepted"} 5"#), "\(metrics)")
    }

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

    /// A deleted tenant's record changes only with the status that restores it; anything else is a 409,
    /// not a 200 that changed nothing, and writes nothing to the log.
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

    /// Waits until `count` tenants-API changes wait behind a running one.
    static func waitForQueuedChanges(_ api: APIFixture, _ count: Int) -> Bool {
        for _ in 0..<2_000 where api.handler.tenantChanges.waitingCount < count { usleep(5_000) }
        return api.handler.tenantChanges.waitingCount == count
    }

    /// Creates of one id racing each other: exactly one is created, every other answers 409. The first
    /// create's fsync is held, so the others arrive on their own connections while its event is not yet in
    /// the projections, when the existence check alone would let them all through: they wait their turn,
    /// and then find the tenant.
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
        // The held create's body is all the server holds, and its gauges say so.
        let metrics = try api.call("GET", "/metrics", token: nil).text
        let heldBody = #"{"id":"\#(APIFixture.other)","name":"First"}"#.utf8.count
        #expect(metrics.contains("tally_http_buffered_body_bytes \(heldBody)\n"), "\(metrics)")
        let racers = try (1..<4).map { try create("Racer \($0)") }
        #expect(Self.waitForQueuedChanges(api, 3), "the racers wait behind the first create")
        fileSystem.releaseHeldSync()
        let created = try first.readResponse()
        #expect(created.status == 201 && created.text.contains(#""name":"First""#), "\(created.text)")
        for racer in racers {
            let response = try racer.readResponse()
            #expect(response.status == 409 && response.text.contains("tenant_exists"), "\(response.text)")
        }
        let types = try StoreTestSupport.readAll(SegmentStoreReader.open(api.directory.path)).map(\.event.type)
        #expect(types == [.tenantCreated])
    }

    /// Changes of one tenant racing each other are decided one after another, each on the record the one
    /// before left, as if sent one at a time: of four identical PATCHes one updates and three find nothing to
    /// change, a PATCH behind a DELETE answers 409, and of two DELETEs one stores an event. Only the events
    /// of changes answered as changes are in the log. The first PATCH's fsync is held while the rest arrive.
    /// A list racing changes of its tenants (statuses flipped, names changed by two writers) never shows a
    /// record its filter or its order does not fit: each page is read from the records the list was made
    /// from, or made again.
    @Test func aListRacingChangesShowsOnlyRecordsThatFitIt() throws {
        let api = try APIFixture()
        let admin = APIFixture.token(["super_admin"])
        let ids = (0..<20).map { String(format: "3fa85f64-5717-4562-b3fc-2c963f66a%03d", $0) }
        for id in ids {
            let body = #"{"id":"\#(id)","name":"t-\#(id.suffix(3))"}"#
            #expect(try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: body).status == 201)
        }
        let stop = Atomic<Bool>(false)
        let port = api.server.port
        let writers = (0..<2).map { writer in
            Thread {
                guard let client = try? LoopbackClient(port: port) else { return }
                var turn = 0
                while !stop.load(ordering: .relaxed) {
                    let id = ids[(turn * 7 + writer * 3) % ids.count]
                    let status = turn % 2 == 0 ? "suspended" : "active"
                    // A rename moves the tenant within the order: `t-…` and `u-…` sort apart.
                    let name = (turn / 2) % 2 == 0 ? "u-\(id.suffix(3))" : "t-\(id.suffix(3))"
                    _ = try? client.request(
                        "PATCH", "/api/v1/admin/tenants/\(id)",
                        headers: [
                            ("Authorization", "Bearer \(admin)"), ("x-tenantid", APIFixture.tenant),
                            ("Content-Type", "application/json"),
                        ], body: Array(#"{"status":"\#(status)","name":"\#(name)"}"#.utf8))
                    turn += 1
                }
            }
        }
        writers.forEach { $0.start() }
        defer { stop.store(true, ordering: .relaxed) }
        var misfits: [String] = []
        let deadline = Date().addingTimeInterval(3)
        var lists = 0
        // One keep-alive connection, as a dashboard polling the list holds.
        let reader = try api.client()
        let headers = [("Authorization", "Bearer \(admin)"), ("x-tenantid", APIFixture.tenant)]
        while Date() < deadline && misfits.isEmpty {
            lists += 1
            let list = try reader.request("GET", "/api/v1/admin/tenants/?status=active&per_page=100", headers: headers)
            guard case .object(let data)? = try json(list)["data"], case .array(let items)? = data["items"] else {
                misfits.append(list.text)
                break
            }
            let records = items.compactMap { item -> (name: String, id: String, status: String)? in
                guard case .object(let record) = item, case .string(let name)? = record["name"],
                    case .string(let id)? = record["id"], case .string(let status)? = record["status"]
                else { return nil }
                return (name, id, status)
            }
            if records.contains(where: { $0.status != "active" }) {
                misfits.append("a record not active: \(list.text)")
            }
            let order = records.map { [$0.name, $0.id] }
            if order != order.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                misfits.append("out of order: \(records.map(\.name))")
            }
        }
        stop.store(true, ordering: .relaxed)
        #expect(misfits.isEmpty, "\(misfits.prefix(2)) after \(lists) lists")
        #expect(lists > 10)
    }

    @Test func racingChangesOfOneTenantAreDecidedInTurn() throws {
        let fileSystem = FaultyFileSystem()
        let api = try APIFixture(fileSystem: fileSystem)
        let admin = APIFixture.token(["super_admin"])
        let tenant = APIFixture.tenant
        let path = "/api/v1/admin/tenants/\(tenant)"
        #expect(
            try api.call("POST", "/api/v1/admin/tenants/", token: admin, body: #"{"id":"\#(tenant)","name":"Acme"}"#)
                .status == 201)
        fileSystem.update { $0.holdNextSyncOfPathContaining = "/segments/" }
        defer { withExtendedLifetime(api) { fileSystem.releaseHeldSync() } }
        let same = #"{"name":"Same"}"#
        let first = try api.send("PATCH", path, token: admin, body: same)
        #expect(fileSystem.waitForHeldSync(), "the first PATCH waits in its fsync")
        var racers: [LoopbackClient] = []
        // One at a time, so they queue in this order.
        for (count, request) in [("PATCH", same), ("PATCH", same), ("DELETE", nil), ("DELETE", nil), ("PATCH", same)]
            .enumerated()
        {
            racers.append(try api.send(request.0, path, token: admin, body: request.1))
            #expect(Self.waitForQueuedChanges(api, count + 1))
        }
        fileSystem.releaseHeldSync()
        let updated = try first.readResponse()
        #expect(updated.status == 200 && updated.text.contains("Tenant updated successfully"), "\(updated.text)")
        let answers = try racers.map { try $0.readResponse() }
        for unchanged in answers[0..<2] {
            #expect(unchanged.status == 200 && unchanged.text.contains("Tenant unchanged"), "\(unchanged.text)")
        }
        #expect(answers[2].status == 204 && answers[3].status == 204)
        #expect(answers[4].status == 409 && answers[4].text.contains("tenant_deleted"), "\(answers[4].text)")
        let types = try StoreTestSupport.readAll(SegmentStoreReader.open(api.directory.path)).map(\.event.type)
        #expect(types == [.tenantCreated, .tenantUpdated, .tenantDeleted])
    }

    /// A `tenant.deleted` ingested through the events route that lands between a PATCH's check and its event
    /// turns the PATCH into the same 409 the check gives (its event is stored and changes nothing). The
    /// event's fsync is held; the PATCH, on another connection, passes its check (the tenant still reads
    /// active) and queues its event behind the delete's.
    @Test func aPatchOvertakenByADeletedEventAnswers409() throws {
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
        let event = #"{"id":"td-1","type":"tenant.deleted","tenantId":"\#(tenant)"}"#
        let deleting = try api.send("POST", "/api/v1/events", token: admin, body: event)
        #expect(fileSystem.waitForHeldSync(), "the delete waits in its fsync")
        let patching = try api.send(
            "PATCH", "/api/v1/admin/tenants/\(tenant)", token: admin, body: #"{"name":"Renamed"}"#)
        // The PATCH's event has been given its offset (its id is remembered) behind the delete's.
        for _ in 0..<2_000 where api.engine.rememberedIds < 3 { usleep(5_000) }
        #expect(api.engine.rememberedIds == 3, "create, delete and the PATCH's update")
        fileSystem.releaseHeldSync()
        #expect(try deleting.readResponse().status == 200)
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
    /// The engine's rejection of a tenant event built from a body names the body's member, not the event's
    /// field (a body has no `data.settings`).
    @Test func eventRejectionsNameTheBodysMember() {
        let issue = TallyAPIHandler.bodyIssue(
            "data.settings: the event's stored record would be 37800105 bytes; at most 33554368 fit the log")
        #expect(issue.location == ["body", "settings"])
        #expect(issue.message == "the event's stored record would be 37800105 bytes; at most 33554368 fit the log")
        #expect(TallyAPIHandler.bodyIssue("data.partnerId: too long").location == ["body", "partner_id"])
        #expect(TallyAPIHandler.bodyIssue("data.settings.x.y: no").location == ["body", "settings", "x", "y"])
        let other = TallyAPIHandler.bodyIssue("time: more than 5 minutes ahead")
        #expect(other.location == ["body"] && other.message == "time: more than 5 minutes ahead")
    }

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
}
