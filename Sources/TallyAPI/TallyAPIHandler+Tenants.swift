import TallyCore
import TallyEngine
import TallyHTTP

/// The tenants API (seed 002): every change is a `tenant.*` event in the log, and the list is a projection.
extension TallyAPIHandler {
    static func record(_ tenant: TenantID, _ projection: borrowing TenantProjection) -> JSONValue {
        var object = JSONObject()
        object.set("id", .string(tenant.description))
        object.set("name", projection.name.map(JSONValue.string) ?? .null)
        object.set("status", .string(projection.status.rawValue))
        object.set("partner_id", projection.partnerId.map(JSONValue.string) ?? .null)
        object.set("settings", .object(projection.settings))
        object.set("created_at", projection.createdAt.map { .string($0.rfc3339(fractionDigits: 3)) } ?? .null)
        object.set("updated_at", projection.updatedAt.map { .string($0.rfc3339(fractionDigits: 3)) } ?? .null)
        object.set("deleted_at", projection.deletedAt.map { .string($0.rfc3339(fractionDigits: 3)) } ?? .null)
        return .object(object)
    }

    /// The 403 message of a tenant create by a caller who is not a `super_admin`.
    static let createRequiresSuperAdmin = "creating tenants requires super_admin"

    /// The 403 message of a tenant's own routes (its stats and its record) to a caller who may not.
    static let requiresTenantAdmin = "requires super_admin, or tenant_admin of this tenant"

    /// How many times a list is made again when tenant records changed between its directory and the read of
    /// its page; the last time keeps the page's records still as listed.
    static let listAttempts = 8

    /// The tenants list's paging parameters: name, default and largest value (the smallest is 1). The
    /// OpenAPI document reads them here, so it cannot drift from what the route takes.
    static let pagingParameters: [(name: String, fallback: Int, maximum: Int)] = [
        ("page", 1, 1_000_000), ("per_page", 20, 100),
    ]

    func listTenants(_ request: HTTPRequest, principal: Principal?) -> HTTPResponse {
        let now = clock()
        guard principal?.isSuperAdmin == true else {
            return APIResponse.error(403, .forbidden, "listing tenants requires super_admin", now: now)
        }
        var issues: [APIResponse.ValidationIssue] = []
        func positive(_ name: String, default value: Int, max limit: Int) -> Int {
            guard let text = request.queryValue(name) else { return value }
            guard let number = Int(text), number >= 1, number <= limit else {
                issues.append(
                    .init(
                        location: ["query", .name(name)], message: "must be an integer from 1 to \(limit)",
                        type: .valueError
                    ))
                return value
            }
            return number
        }
        let paging = TallyAPIHandler.pagingParameters.map { positive($0.name, default: $0.fallback, max: $0.maximum) }
        let (page, perPage) = (paging[0], paging[1])
        var statusFilter: TenantStatus?
        if let text = request.queryValue("status"), !text.isEmpty {
            if let status = TenantStatus(rawValue: text) {
                statusFilter = status
            } else {
                issues.append(
                    .init(
                        location: ["query", "status"], message: "must be active, suspended or deleted",
                        type: .valueError))
            }
        }
        guard issues.isEmpty else { return APIResponse.validation(issues) }
        let search = request.queryValue("search").map(TenantDirectory.lowercased)
        let partner = request.queryValue("partner_id")
        // Filtered and paged with no lock held; only the page's records are read under it, and only while the
        // records are as the directory has them: a change in between (a PATCH, a DELETE) would show a record
        // its filter or place no longer fits, so the list is made again from a directory brought up to date.
        let first = (page - 1) * perPage
        var total = 0
        var items: [JSONValue] = []
        for attempt in 1...Self.listAttempts {
            let directory = tenantDirectory.withLock { cached in
                let directory = TenantDirectory.current(engine, reusing: cached)
                cached = directory
                return directory
            }
            total = 0
            var page: [TenantDirectory.Entry] = []
            // By index, reading fields in place: iterating would copy each entry and retain its strings.
            let entries = directory.entries
            for index in entries.indices {
                if let statusFilter, entries[index].status != statusFilter { continue }
                if statusFilter == nil && entries[index].status == .deleted { continue }
                if let partner, !partner.isEmpty, entries[index].partnerId != partner { continue }
                if let search, !search.isEmpty, !TenantDirectory.name(entries[index].name, contains: search) {
                    continue
                }
                if total >= first && page.count < perPage { page.append(entries[index]) }
                total += 1
            }
            let read = engine.read { state -> [JSONValue]? in
                if state.tenantRecordsVersion == directory.version {
                    return page.compactMap { entry in
                        state.tenants.index(forKey: entry.id).map {
                            TallyAPIHandler.record(entry.id, state.tenants[position: $0])
                        }
                    }
                }
                guard attempt == Self.listAttempts else { return nil }
                // Changes kept racing the list: its page keeps the records still as listed, so none breaks
                // the filter or the order (`total` is the directory's).
                return page.compactMap { entry in
                    // Field by field, in place: binding the projection would copy all of it.
                    guard let position = state.tenants.index(forKey: entry.id),
                        state.tenants[position: position].isRegistered,
                        state.tenants[position: position].status == entry.status,
                        state.tenants[position: position].partnerId == entry.partnerId,
                        (state.tenants[position: position].name ?? "").hasSameUTF8(as: entry.name)
                    else { return nil }
                    return TallyAPIHandler.record(entry.id, state.tenants[position: position])
                }
            }
            if let read {
                items = read
                break
            }
        }
        var data = JSONObject()
        data.set("items", .array(items))
        data.set("total", .int(Int64(total)))
        data.set("page", .int(Int64(page)))
        data.set("per_page", .int(Int64(perPage)))
        data.set("pages", .int(Int64((total + perPage - 1) / perPage)))
        return APIResponse.success(message: "Tenants retrieved successfully", data: .object(data), now: now)
    }

    /// A `tenant_id` in the path that is not a UUID: a validation error in the seed's shape (422), as its
    /// FastAPI answers for a path parameter that fails validation.
    static var invalidTenantPath: HTTPResponse { APIResponse.validation(invalidTenantPathIssues) }

    static var invalidTenantPathIssues: [APIResponse.ValidationIssue] {
        [.init(location: ["path", "tenant_id"], message: "must be a UUID", type: .valueError)]
    }

    func getTenant(_ text: String, principal: Principal?) -> HTTPResponse {
        let now = clock()
        guard let tenant = TenantID(text) else { return TallyAPIHandler.invalidTenantPath }
        guard principal?.mayAdminister(tenant) == true else {
            return APIResponse.error(403, .forbidden, Self.requiresTenantAdmin, now: now)
        }
        let record = engine.read { state -> JSONValue? in
            guard let index = state.tenants.index(forKey: tenant), state.tenants[position: index].isRegistered else {
                return nil
            }
            return TallyAPIHandler.record(tenant, state.tenants[position: index])
        }
        guard let record else { return APIResponse.error(404, .tenantNotFound, "no tenant \(tenant)", now: now) }
        return APIResponse.success(message: "Tenant retrieved successfully", data: record, now: now)
    }

    /// The validation entry for the engine's rejection of a tenant event the API built from a body: a
    /// reason about the event's data (`data.settings: …`) is about the body's member of that name
    /// (`["body", "settings"]`, `partnerId` being the body's `partner_id`), anything else about the body.
    static func bodyIssue(_ reason: String) -> APIResponse.ValidationIssue {
        guard reason.hasPrefix("data."), let colon = reason.firstRange(of: ": ") else {
            return .init(location: ["body"], message: reason, type: .valueError)
        }
        let path = reason[reason.index(reason.startIndex, offsetBy: 5)..<colon.lowerBound].split(separator: ".").map {
            APIResponse.ValidationIssue.Step.name($0 == "partnerId" ? "partner_id" : String($0))
        }
        return .init(location: ["body"] + path, message: String(reason[colon.upperBound...]), type: .valueError)
    }

    /// Appends one tenant event and answers with the tenant's record (or the failure).
    private func applyTenantEvent(
        _ event: Event, status: Int, message: String, respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let engine = self.engine
        let clock = self.clock
        let metrics = self.metrics
        engine.ingest([.success(event)]) { outcomes in
            let now = clock()
            // Counted with the ingest route's events, so `tally_events_total` adds up to the log.
            switch outcomes.first {
            case .accepted?: metrics.recordIngest(accepted: 1, duplicates: 0, failed: 0, rejectedReasons: [])
            case .duplicate?: metrics.recordIngest(accepted: 0, duplicates: 1, failed: 0, rejectedReasons: [])
            case .rejected(let reason)?:
                metrics.recordIngest(accepted: 0, duplicates: 0, failed: 0, rejectedReasons: [reason])
            case .failed?: metrics.recordIngest(accepted: 0, duplicates: 0, failed: 1, rejectedReasons: [])
            case nil: break
            }
            switch outcomes.first {
            case .accepted?, .duplicate?:
                if status == 204 {
                    respond(HTTPResponse(status: 204))
                    return
                }
                let record = engine.read { state -> JSONValue? in
                    state.tenants.index(forKey: event.tenantId).map {
                        TallyAPIHandler.record(event.tenantId, state.tenants[position: $0])
                    }
                }
                respond(APIResponse.success(status, message: message, data: record ?? .null, now: now))
            case .rejected(let reason)?:
                respond(APIResponse.validation([TallyAPIHandler.bodyIssue(reason)]))
            case .failed(let reason, _)?:
                respond(APIResponse.error(503, .storageFailed, reason, now: now))
            case nil:
                respond(APIResponse.error(500, .internalError, "no outcome", now: now))
            }
        }
    }

    private func newEventId(_ action: String) -> String {
        "tenants-api-\(action)-\(TenantID(high: UInt64.random(in: 0...UInt64.max), low: UInt64.random(in: 0...UInt64.max)))"
    }

    func createTenant(
        _ request: HTTPRequest, principal: Principal?, respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let now = clock()
        guard principal?.isSuperAdmin == true else {
            respond(APIResponse.error(403, .forbidden, TallyAPIHandler.createRequiresSuperAdmin, now: now))
            return
        }
        let body: TenantBody
        switch tenantBody(request, requireName: true) {
        case .success(let parsed): body = parsed
        case .failure(let rejected):
            respond(rejected.response)
            return
        }
        let tenant =
            body.id
            ?? TenantID.version4(
                randomHigh: UInt64.random(in: 0...UInt64.max), randomLow: UInt64.random(in: 0...UInt64.max))
        let creation = TenantCreation(
            name: body.name ?? "", status: body.status ?? .active, partnerId: body.partner ?? nil,
            settings: body.settings ?? JSONObject())
        let engine = self.engine
        let clock = self.clock
        tenantChanges.run(tenant) { finished in
            let now = clock()
            guard !engine.read({ state in state.tenants[tenant]?.isRegistered == true }) else {
                finished()
                respond(APIResponse.error(409, .tenantExists, "tenant \(tenant) already exists", now: now))
                return
            }
            self.applyTenantEvent(
                Event(id: self.newEventId("create"), tenantId: tenant, time: now, payload: .tenantCreated(creation)),
                status: 201, message: "Tenant created successfully"
            ) { response in
                // A `tenant.created` for the same id ingested through the events route between the check above
                // and this event registered the tenant first, and this one changed nothing (lifecycle events
                // apply in log order): the record must be the one this request made, or the answer is the
                // check's 409. Read before the next change of the tenant may run.
                let createdMeanwhile =
                    response.status == 201
                    && !engine.read { state in
                        state.tenants[tenant].map { record in
                            record.createdAt == now && record.name.map { $0.hasSameUTF8(as: creation.name) } == true
                                && record.status == creation.status
                                && record.partnerId == creation.partnerId && record.settings == creation.settings
                        } ?? false
                    }
                finished()
                respond(
                    createdMeanwhile
                        ? APIResponse.error(
                            409, .tenantExists,
                            "tenant \(tenant) was created by another request meanwhile; this one changed nothing",
                            now: clock()) : response)
            }
        }
    }

    func updateTenant(
        _ text: String, _ request: HTTPRequest, principal: Principal?,
        respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let now = clock()
        guard let tenant = TenantID(text) else {
            // As FastAPI validates the path and the body together: the body's issues follow the path's, and a
            // body it cannot read at all (not JSON, a 415 or 413) is answered alone, before any parameter. Only
            // for a caller who may change some tenant record: no one else's body is decoded.
            let administers = principal.map { $0.isSuperAdmin || $0.roles.contains(.tenantAdmin) } ?? false
            switch administers ? tenantBody(request, requireName: false) : nil {
            case .failure(.invalid(let issues))?:
                respond(APIResponse.validation(TallyAPIHandler.invalidTenantPathIssues + issues))
            case .failure(.rejected(let response))?: respond(response)
            case .success?, nil: respond(TallyAPIHandler.invalidTenantPath)
            }
            return
        }
        guard principal?.mayAdminister(tenant) == true else {
            respond(
                APIResponse.error(403, .forbidden, Self.requiresTenantAdmin, now: now))
            return
        }
        // Parsed before the change waits its turn: the body does not depend on the record.
        let parsed = tenantBody(request, requireName: false)
        let isSuperAdmin = principal?.isSuperAdmin == true
        let engine = self.engine
        let clock = self.clock
        tenantChanges.run(tenant) { finished in
            let now = clock()
            let update: TenantUpdate
            switch self.decideUpdate(tenant, parsed, isSuperAdmin: isSuperAdmin, now: now) {
            case .answer(let response):
                finished()
                respond(response)
                return
            case .append(let decided): update = decided
            }
            self.applyTenantEvent(
                Event(id: self.newEventId("update"), tenantId: tenant, time: now, payload: .tenantUpdated(update)),
                status: 200, message: "Tenant updated successfully"
            ) { response in
                // A delete ingested through the events route between the check and this update made the
                // update a no-op: say so, as the check would have. Read before the next change may run.
                let deletedMeanwhile =
                    update.status == nil && response.status == 200
                    && engine.read { $0.tenants[tenant]?.status == .deleted }
                finished()
                respond(
                    deletedMeanwhile
                        ? APIResponse.error(
                            409, .tenantDeleted,
                            "tenant \(tenant) was deleted before this change: send \"status\": \"active\" to restore it",
                            now: clock()) : response)
            }
        }
    }

    /// What a tenants-API change does: answer at once (appending nothing), or append its event.
    enum TenantChangeDecision {
        case answer(HTTPResponse)
        case append(TenantUpdate)
    }

    /// Checks a PATCH against the tenant's record as it stands, in the order FastAPI would: the body's
    /// errors (415, 422: FastAPI validates the body before its handler runs), then, in the handler, unknown
    /// tenant (404), a changed id (422), fields only a super_admin may set (403), a deleted tenant not being
    /// restored (409), and a body that changes nothing (200 with the record).
    private func decideUpdate(
        _ tenant: TenantID, _ parsed: Result<TenantBody, TenantBodyFailure>, isSuperAdmin: Bool, now: Timestamp
    ) -> TenantChangeDecision {
        let body: TenantBody
        switch parsed {
        case .success(let value): body = value
        case .failure(let rejected): return .answer(rejected.response)
        }
        let current = engine.read { state -> TenantStatus? in
            state.tenants.index(forKey: tenant).flatMap { position in
                state.tenants[position: position].isRegistered ? state.tenants[position: position].status : nil
            }
        }
        guard let current else {
            return .answer(APIResponse.error(404, .tenantNotFound, "no tenant \(tenant)", now: now))
        }
        if body.id != nil && body.id != tenant {
            return .answer(
                APIResponse.validation([
                    .init(location: ["body", "id"], message: "cannot change a tenant's id", type: .valueError)
                ]))
        }
        // A tenant admin runs its tenant (name, security settings); whether it is active, which partner it
        // belongs to and how much storage it is sold are the platform's to change.
        if !isSuperAdmin {
            let reserved = [
                ("status", body.status != nil), ("partner_id", body.partner != nil),
                ("settings.storage_quota_mb", body.settings?["storage_quota_mb"] != nil),
            ]
            .filter(\.1).map(\.0)
            guard reserved.isEmpty else {
                return .answer(
                    APIResponse.error(
                        403, .forbidden, "changing \(reserved.joined(separator: ", ")) requires super_admin", now: now))
            }
        }
        // A deleted tenant's record changes only together with a status other than deleted (the restore);
        // anything else would be a no-op answered as a success (`"status": "deleted"` restores nothing).
        if current == .deleted && (body.status == nil || body.status == .deleted) {
            return .answer(
                APIResponse.error(
                    409, .tenantDeleted,
                    isSuperAdmin
                        ? "tenant \(tenant) is deleted: send \"status\": \"active\" to restore it"
                        : "tenant \(tenant) is deleted: only a super_admin can restore it", now: now))
        }
        let update = TenantUpdate(
            name: body.name, status: body.status, partnerId: body.partner, settings: body.settings)
        // A body that changes nothing (`{}`, which FastAPI takes for a body whose fields are all optional, or
        // one that sets each field to what it is): the record as it stands, and no event in the log.
        let unchanged = engine.read { state -> JSONValue? in
            guard let position = state.tenants.index(forKey: tenant),
                update.isEmpty || !state.tenants[position: position].isChanged(by: update)
            else { return nil }
            return TallyAPIHandler.record(tenant, state.tenants[position: position])
        }
        if let unchanged {
            return .answer(
                APIResponse.success(message: "Tenant unchanged: the body changes nothing", data: unchanged, now: now))
        }
        return .append(update)
    }

    func deleteTenant(_ text: String, principal: Principal?, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let now = clock()
        guard let tenant = TenantID(text) else {
            respond(TallyAPIHandler.invalidTenantPath)
            return
        }
        guard principal?.isSuperAdmin == true else {
            respond(APIResponse.error(403, .forbidden, "deleting tenants requires super_admin", now: now))
            return
        }
        let engine = self.engine
        let clock = self.clock
        tenantChanges.run(tenant) { finished in
            let state = engine.read { state in state.tenants[tenant].map { ($0.isRegistered, $0.status) } }
            guard let state, state.0, state.1 != .deleted else {
                finished()
                // Deleting a deleted tenant changes nothing and stores nothing: 204 as for the first delete.
                respond(
                    state?.0 == true
                        ? HTTPResponse(status: 204)
                        : APIResponse.error(404, .tenantNotFound, "no tenant \(tenant)", now: clock()))
                return
            }
            self.applyTenantEvent(
                Event(id: self.newEventId("delete"), tenantId: tenant, time: clock(), payload: .tenantDeleted),
                status: 204, message: ""
            ) { response in
                finished()
                respond(response)
            }
        }
    }
}
