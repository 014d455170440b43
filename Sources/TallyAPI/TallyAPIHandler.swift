import Dispatch
import Synchronization
import TallyCore
import TallyEngine
import TallyHTTP
import TallyStorage

/// The metering API over HTTP: routes requests to the engine, checks tokens and roles, and answers in the
/// seeds' JSON shapes. Ingest answers once the events are durable, without blocking an event loop.
public final class TallyAPIHandler: HTTPHandler {
    let engine: Engine
    let authenticator: any RequestAuthenticator
    let metrics = APIMetrics()
    let clock: @Sendable () -> Timestamp
    /// Reports the server's open connections and held body bytes for `/metrics`.
    let serverGauges: @Sendable () -> HTTPServerGauges
    /// The server's limits; ``HTTPLimits/maxBodyBytes`` also bounds a body after its content coding is undone.
    let limits: HTTPLimits
    /// Runs the tenants API's creates, updates and deletes of one tenant one at a time, each deciding on the
    /// record the one before left (two creates of one id: the second answers 409).
    let tenantChanges = TenantChangeQueue()
    /// The tenants list's sorted directory, rebuilt when a tenant record changed (see ``TenantDirectory``).
    let tenantDirectory = Mutex<TenantDirectory?>(nil)
    /// Where tenants lists are answered, one at a time, off the event loops: filtering a million tenants
    /// takes milliseconds, and bringing the directory up to date after many changes far longer, which on a
    /// loop's thread would hold up every connection of that loop (and, waiting on the directory's lock,
    /// the other loops' lists too).
    let tenantLists = DispatchQueue(label: "tally-tenant-list")
    /// Where large or compressed bodies (an ingest's, a tenant record's) are decoded and parsed, and their
    /// requests answered, off the event loops (see ``decodesOnLoop(_:)``): at most `bodyWorkers` at once
    /// (one per event loop), in the order they came. The server's cap on body bytes held across connections
    /// bounds what waits here, since a body's bytes stay counted until its response is written.
    let bodyWork: BoundedWorkQueue

    /// Creates the handler.
    /// - Parameters:
    ///   - engine: The metering engine behind the API.
    ///   - authenticator: Checks bearer tokens.
    ///   - limits: The HTTP server's limits: a gzip body may decompress to at most `limits.maxBodyBytes`.
    ///   - serverGauges: Reports the server's open connections and held body bytes for `/metrics` (the
    ///     handler is made before the server, so this asks it once it runs).
    ///   - bodyWorkers: How many large or compressed bodies are decoded at once, off the event loops
    ///     (default: one per core, as many as the event loops by default).
    public init(
        engine: Engine, authenticator: any RequestAuthenticator, limits: HTTPLimits = HTTPLimits(),
        serverGauges: @escaping @Sendable () -> HTTPServerGauges = { HTTPServerGauges() },
        bodyWorkers: Int = HTTPServerConfiguration().eventLoops
    ) {
        self.engine = engine
        self.authenticator = authenticator
        self.limits = limits
        self.clock = engine.configuration.clock
        self.serverGauges = serverGauges
        bodyWork = BoundedWorkQueue(label: "tally-bodies", width: bodyWorkers)
    }

    /// Requests the HTTP layer refused before routing (malformed, oversized, too slow), and those their
    /// clients left part-way (499), count under one label, `protocol`, by status.
    public func answeredByServer(status: Int, seconds: Double) {
        metrics.recordRequest(route: "protocol", status: status, seconds: seconds)
    }

    /// Refuses on its head alone what would be refused whatever the body: an unknown route or method (404,
    /// 405), a body for a route that reads none (413, before any token is asked for: `/healthz` and
    /// `/metrics` need none, and their bodies would otherwise fill the server's memory for bodies), a missing
    /// or bad token (401, 400 for the tenant header), and an ingest by a caller without the role (403). A
    /// client that may not send a body is then neither read for it nor held in memory for it; everything
    /// else is decided once the body is in.
    public func refusal(beforeBody head: HTTPRequest) -> HTTPResponse? {
        let path = Route.normalize(head.path)
        guard let (route, values) = Route.find(head.method, path) else {
            let response = unmatched(head.method, path, asSent: head.path)
            metrics.recordRequest(route: "unmatched", status: response.status, seconds: head.secondsSinceArrival)
            return response
        }
        guard route.takesBody else {
            let response = bodyNotTaken(head.method, path)
            metrics.recordRequest(route: route.label, status: response.status, seconds: head.secondsSinceArrival)
            return response
        }
        guard route.authenticated else { return nil }
        let response: HTTPResponse
        // A previous secret's token is counted when this answers the request, else once the whole request
        // is handled: once either way.
        var viaPreviousSecret = false
        switch authenticate(head, viaPreviousSecret: &viaPreviousSecret) {
        case .failure(let rejected): response = rejected.response
        case .success(let principal):
            guard let refusal = refusal(route.endpoint, parameter: values.first ?? "", principal, head) else {
                return nil
            }
            response = refusal
        }
        if viaPreviousSecret { metrics.recordPreviousSecretRequest() }
        metrics.recordRequest(route: route.label, status: response.status, seconds: head.secondsSinceArrival)
        return response
    }

    /// What a route that reads a body answers a caller whatever the body says: an ingest without the role,
    /// a tenant create by other than a `super_admin`, a tenant PATCH by a caller who may not change that
    /// tenant (or, with a `tenant_id` that is no UUID, any tenant). The same answers the routes give once
    /// the body is read; `nil` when the body may matter.
    private func refusal(_ endpoint: Route.Endpoint, parameter: String, _ principal: Principal, _ head: HTTPRequest)
        -> HTTPResponse?
    {
        switch endpoint {
        case .ingest where !principal.mayIngest:
            return forbidden(TallyAPIHandler.ingestRoleRequired)
        case .ingest:
            return binaryModeRefusal(head)
        case .createTenant where !principal.isSuperAdmin:
            return APIResponse.error(403, .forbidden, TallyAPIHandler.createRequiresSuperAdmin, now: clock())
        case .updateTenant:
            guard let tenant = TenantID(parameter) else {
                // The path's issue alone, as the route answers a caller whose body it does not decode.
                let administers = principal.isSuperAdmin || principal.roles.contains(.tenantAdmin)
                return administers ? nil : TallyAPIHandler.invalidTenantPath
            }
            return principal.mayAdminister(tenant)
                ? nil : APIResponse.error(403, .forbidden, Self.requiresTenantAdmin, now: clock())
        default:
            return nil
        }
    }

    /// The 415 for a CloudEvent in binary mode (its attributes in `ce-*` headers, its data the body), which
    /// Tally does not read: taken for an event of Tally's own format, its body would be judged by other rules,
    /// or stored with its `ce-*` attributes unseen. The `Content-Type` decides the mode (the HTTP binding,
    /// §3): a structured or batched CloudEvent may carry `ce-*` headers too, which are ignored.
    func binaryModeRefusal(_ request: HTTPRequest) -> HTTPResponse? {
        guard request.headers["ce-specversion"] != nil else { return nil }
        switch HeaderValue.mediaType(request.headers["Content-Type"] ?? "") {
        case "application/cloudevents+json", "application/cloudevents-batch+json": return nil
        default: break
        }
        return APIResponse.error(
            415, .unsupportedMediaType,
            "CloudEvents binary mode (ce-* headers) is not supported: send structured mode, the whole CloudEvent as the body with Content-Type: application/cloudevents+json",
            now: clock())
    }

    /// The 413 for a body sent to a route that reads none (GET, HEAD, DELETE): refused rather than ignored,
    /// since such a body has no meaning (RFC 9110 §9.3.1, §9.3.5) and only takes the server's memory.
    func bodyNotTaken(_ method: HTTPMethod, _ path: String) -> HTTPResponse {
        APIResponse.error(
            413, .payloadTooLarge, "\(method.name) \(path) takes no request body: send none",
            now: clock())
    }

    /// The 403's detail for a caller who may not ingest at all.
    static let ingestRoleRequired = "ingesting events requires the ingest or super_admin role"

    /// The answer for a method HTTP does not define (501, whatever the path), a path no route matches (404),
    /// or a method its routes do not take (405, with `Allow`).
    /// - Parameters:
    ///   - path: The path as routes match it (``Route/normalize(_:)``).
    ///   - asSent: The path as the request gave it, which the answer quotes.
    private func unmatched(_ method: HTTPMethod, _ path: String, asSent: String) -> HTTPResponse {
        let now = clock()
        guard method.isStandard else {
            return APIResponse.error(
                501, .notImplemented,
                "\(method.name) is not an HTTP method this server implements: use GET, HEAD, POST, PATCH or DELETE",
                now: now)
        }
        let candidates = Route.all.filter { $0.match(path) != nil }
        if candidates.isEmpty {
            return APIResponse.error(404, .notFound, "no route for \(asSent)", now: now)
        }
        let allowed = Array(
            Set(candidates.map(\.method) + (candidates.contains { $0.method == "GET" } ? ["HEAD"] : []))
        ).sorted()
        return APIResponse.error(
            405, .methodNotAllowed, "\(method.name) is not allowed on \(asSent)",
            now: now, headers: [("Allow", allowed.joined(separator: ", "))])
    }

    /// Routes the request, checks its token and role, and answers in the seeds' shapes; ingest answers once
    /// its events are durable.
    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        // The arrival time is the server's; one set by hand in the future counts as now.
        let started = min(request.arrivedAt ?? .max, MonotonicClock.nanoseconds())
        let path = Route.normalize(request.path)
        guard let (route, values) = Route.find(request.method, path) else {
            let response = unmatched(request.method, path, asSent: request.path)
            // Counted under one label, whatever the path: scans and wrong methods show in the metrics
            // without a series per path.
            metrics.recordRequest(
                route: "unmatched", status: response.status,
                seconds: MonotonicClock.seconds(since: started))
            respond(Self.uncacheable(response))
            return
        }
        let metrics = self.metrics
        let finish: @Sendable (HTTPResponse) -> Void = { response in
            metrics.recordRequest(
                route: route.label, status: response.status,
                seconds: MonotonicClock.seconds(since: started))
            respond(Self.uncacheable(response))
        }
        // A body short enough to arrive with its head was not refused before it: it is here.
        if !route.takesBody && !request.body.isEmpty {
            finish(bodyNotTaken(request.method, path))
            return
        }
        // The route's one placeholder, where it has one.
        let parameter = values.first ?? ""
        var principal: Principal?
        if route.authenticated {
            var viaPreviousSecret = false
            let result = authenticate(request, viaPreviousSecret: &viaPreviousSecret)
            if viaPreviousSecret { metrics.recordPreviousSecretRequest() }
            switch result {
            case .success(let who): principal = who
            case .failure(let rejected):
                finish(rejected.response)
                return
            }
        }
        guard !route.takesBody || TallyAPIHandler.decodesOnLoop(request) else {
            let caller = principal
            // Read before the wait for a worker: an ingested event without a time takes this one.
            let receivedAt = clock()
            bodyWork.submit {
                self.answer(
                    route.endpoint, parameter: parameter, request, principal: caller, receivedAt: receivedAt,
                    respond: finish)
            }
            return
        }
        answer(route.endpoint, parameter: parameter, request, principal: principal, receivedAt: nil, respond: finish)
    }

    /// `response` with `Cache-Control: no-store`: every answer is live state (stats, records, health, metrics)
    /// or about one request, so no browser or cache should keep it and guess a freshness of its own (RFC 9111
    /// §5.2.2.5).
    static func uncacheable(_ response: HTTPResponse) -> HTTPResponse {
        var answer = response
        answer.headers.append(("Cache-Control", "no-store"))
        return answer
    }

    /// Whether a request's body is small enough to decode and parse on the event loop that read it: it is
    /// uncompressed and at most ``inlineBodyBytes`` long. A larger or compressed body takes milliseconds to
    /// seconds (a gzip body may inflate to the whole body limit), which on a loop's thread would hold up
    /// every other connection of that loop; a small one takes microseconds, less than the hop to a worker.
    static func decodesOnLoop(_ request: HTTPRequest) -> Bool {
        request.body.count <= inlineBodyBytes && request.headers["Content-Encoding"] == nil
    }

    /// The largest uncompressed body parsed on an event loop's thread (64 KiB: a few hundred events).
    static let inlineBodyBytes = 64 << 10

    /// Answers a routed and authenticated request.
    /// - Parameters:
    ///   - endpoint: The request's route.
    ///   - parameter: The route's one placeholder (a tenant id), or empty.
    ///   - request: The request, body and all.
    ///   - principal: The caller, for a route that needs a token.
    ///   - receivedAt: When the request was routed, for one that waited for a worker (`nil`: now), the time of
    ///     an ingested event that gives none.
    ///   - finish: Sends the response and records it in the metrics.
    private func answer(
        _ endpoint: Route.Endpoint, parameter: String, _ request: HTTPRequest, principal: Principal?,
        receivedAt: Timestamp?, respond finish: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        switch endpoint {
        case .ingest:
            ingest(request, principal: principal, receivedAt: receivedAt, respond: finish)
        case .tenantStats:
            finish(tenantStats(parameter, principal: principal))
        case .keyStats:
            finish(keyStats(parameter, principal: principal))
        case .listTenants:
            let caller = principal
            tenantLists.async { finish(self.listTenants(request, principal: caller)) }
        case .createTenant:
            createTenant(request, principal: principal, respond: finish)
        case .getTenant:
            finish(getTenant(parameter, principal: principal))
        case .updateTenant:
            updateTenant(parameter, request, principal: principal, respond: finish)
        case .deleteTenant:
            deleteTenant(parameter, principal: principal, respond: finish)
        case .health:
            // Each condition is read once, so the status and the body cannot disagree.
            let storeFailure = engine.store.failure
            let readOnly = storeFailure != nil
            let gap = engine.projectionGapReason
            let damage = engine.logDamage
            let degraded = gap != nil || !damage.isEmpty
            // A gap makes the stats wrong: 503, so a balancer stops routing reads here. Damage the scrub found
            // leaves them whole, and a restart could refuse the store: 200, so a liveness probe does not
            // restart the server; `status` and the `tally_log_damage` gauge say it.
            let unavailable = readOnly || gap != nil
            var data = JSONObject()
            data.set("status", .string(readOnly ? "read-only" : degraded ? "degraded" : "ok"))
            data.set("events", .int(Int64(engine.eventCount)))
            data.set("logDamage", .array(damage.map { .string($0) }))
            let message: String
            if let storeFailure {
                message =
                    "storage failed: the server is read-only (\(storeFailure.message)); stats reads still work; fix the cause, then restart the server"
            } else if let gap {
                message = "the live stats miss a void: \(gap); \(engine.projectionGapRemedy ?? "")"
            } else if !damage.isEmpty {
                message =
                    "the background scrub found the log damaged: \(damage.joined(separator: "; ")). \(LogScrubber.remedy)"
            } else {
                message = "healthy"
            }
            finish(
                APIResponse.success(
                    unavailable ? 503 : 200, message: message, data: .object(data), now: clock()))
        case .metrics:
            finish(
                HTTPResponse(
                    status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                    body: Array(
                        metrics.render(
                            server: serverGauges(),
                            syncs: engine.store.syncStatistics.snapshot,
                            engine: engine.gauges,
                            bodiesWaiting: bodyWork.waitingCount
                        ).utf8)))
        case .openAPI:
            finish(.json(200, OpenAPIDocument.bytes))
        }
    }

    // MARK: - Authentication

    /// Checks the bearer token and the `x-tenantid` header; `viaPreviousSecret` is set when a previous
    /// secret's token was verified, whether or not the request is then refused.
    private func authenticate(_ request: HTTPRequest, viaPreviousSecret: inout Bool) -> Result<
        Principal, RejectedRequest
    > {
        let now = clock()
        // None may repeat (RFC 9110 §5.3): which copy counts would be a guess, and the answer could depend
        // on a proxy's choice of the other.
        let repeated = ["Authorization", "x-tenantid", "Content-Type"].first { request.headers.occurrences($0) > 1 }
        if let repeated {
            return .failure(
                RejectedRequest(
                    APIResponse.error(
                        400, .duplicateHeader, "the \(repeated) header appears more than once; send it once", now: now
                    )))
        }
        let principal: Principal
        switch authenticator.authenticate(authorization: request.headers["Authorization"]) {
        case .success(let who):
            principal = who
            viaPreviousSecret = who.viaPreviousSecret
        case .failure(let failure):
            return .failure(
                RejectedRequest(
                    APIResponse.error(
                        401, .unauthorized, "authentication failed: \(failure.message)",
                        now: now,
                        headers: [
                            ("WWW-Authenticate", failure.refusedToken ? #"Bearer error="invalid_token""# : "Bearer")
                        ])))
        }
        guard let header = request.headers["x-tenantid"] else {
            return .failure(
                RejectedRequest(
                    APIResponse.error(
                        400, .missingTenantHeader, Self.missingTenantHeaderMessage(request.headers), now: now)))
        }
        guard let tenant = TenantID(header) else {
            return .failure(
                RejectedRequest(APIResponse.error(400, .invalidTenantHeader, "x-tenantid must be a UUID", now: now)))
        }
        if !principal.isSuperAdmin, let bound = principal.tenantId, bound != tenant {
            return .failure(
                RejectedRequest(
                    APIResponse.error(403, .forbidden, "x-tenantid does not match the token's tenant", now: now)))
        }
        return .success(principal)
    }

    /// The 400 for a request without `x-tenantid`, naming a header sent in its place by mistake
    /// (`x-tenant-id`, `X-Tenant-ID`, `tenant-id`, `x_tenantid`: the name with its dashes and underscores
    /// dropped is `xtenantid` or `tenantid`).
    static func missingTenantHeaderMessage(_ headers: HTTPHeaders) -> String {
        let message = "the x-tenantid header is required"
        let lookalike = headers.first { header in
            let squeezed = header.name.lowercased().filter { $0 != "-" && $0 != "_" }
            return squeezed == "xtenantid" || squeezed == "tenantid"
        }
        guard let lookalike else { return message }
        return message + " (\(lookalike.name) was sent: the header is spelled x-tenantid)"
    }

    private func forbidden(_ message: String) -> HTTPResponse {
        APIResponse.error(403, .forbidden, message, now: clock())
    }

    // MARK: - Stats

    private func tenantStats(_ text: String, principal: Principal?) -> HTTPResponse {
        let now = clock()
        guard let tenant = TenantID(text) else {
            return APIResponse.error(400, .invalidTenantId, "tenantId must be a UUID", now: now)
        }
        guard principal?.mayAdminister(tenant) == true else {
            return forbidden(Self.requiresTenantAdmin)
        }
        guard let stats = engine.tenantStats(tenant, now: now) else {
            return APIResponse.error(404, .tenantNotFound, "no tenant \(tenant)", now: now)
        }
        return APIResponse.success(
            message: "Tenant statistics retrieved successfully", now: now, writeData: stats.writeJSON)
    }

    private func keyStats(_ text: String, principal: Principal?) -> HTTPResponse {
        let now = clock()
        guard let tenant = TenantID(text) else {
            return APIResponse.error(400, .invalidOrganizationId, "organizationId must be a UUID", now: now)
        }
        guard principal?.mayReadKeys(of: tenant) == true else {
            // Seed 001's 403 is about membership; a token of this organization with another role is told
            // which roles read key statistics instead.
            if principal?.tenantId == tenant {
                return forbidden("access denied: key statistics need the member or tenant_admin role (or super_admin)")
            }
            return forbidden("access denied: not a member of this organization")
        }
        guard let stats = engine.keyStats(tenant, now: now) else {
            return APIResponse.error(404, .organizationNotFound, "no organization \(tenant)", now: now)
        }
        return APIResponse.success(message: "Statistics retrieved successfully", now: now, writeData: stats.writeJSON)
    }

    // MARK: - Ingest

    private func ingest(
        _ request: HTTPRequest, principal: Principal?, receivedAt: Timestamp?,
        respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let now = receivedAt ?? clock()
        // The role first: a caller that may not ingest never makes the server decompress or parse a body.
        guard let principal, principal.mayIngest else {
            respond(forbidden(TallyAPIHandler.ingestRoleRequired))
            return
        }
        metrics.recordIngestBody(bytes: request.body.count)
        if let refusal = binaryModeRefusal(request) {
            respond(refusal)
            return
        }
        var events: [Result<Event, EventValidationError>]
        var lines: [Int] = []
        // A CloudEvent's tenant attribute, per event: an error about the tenant names what the client sent.
        var tenantFields: [String] = []
        do throws(IngestBody.Failure) {
            let body = try ContentDecoding.decode(
                request.body, header: request.headers.combined("Content-Encoding"),
                maxBytes: limits.maxBodyBytes, remedy: "send smaller batches")
            events = try IngestBody.events(
                body: body, contentType: request.headers["Content-Type"], receivedAt: now,
                lines: &lines, tenantFields: &tenantFields)
        } catch {
            respond(APIResponse.error(error.status, error.code, error.message, now: now, headers: error.headers))
            return
        }
        // An empty CloudEvents batch is valid (the JSON format, §4.3: `[]`, "also valid in a request"), and
        // answered with no results; an empty body of Tally's own formats is a client's mistake.
        let isCloudEventsBatch =
            HeaderValue.mediaType(request.headers["Content-Type"] ?? "") == "application/cloudevents-batch+json"
        guard !events.isEmpty || isCloudEventsBatch else {
            respond(APIResponse.error(400, .emptyBatch, "the body holds no events", now: now))
            return
        }
        for index in events.indices {
            guard case .success(let event) = events[index] else { continue }
            if !principal.mayIngest(for: event.tenantId) {
                events[index] = .failure(
                    EventValidationError(
                        field: index < tenantFields.count ? tenantFields[index] : "tenantId",
                        rule: "this token may not ingest for another tenant"))
            } else if !principal.mayIngest(event.payload.type) {
                events[index] = .failure(
                    EventValidationError(
                        field: "type", rule: "tenant.* events need the super_admin role (as the tenants API does)"))
            }
        }
        let metrics = self.metrics
        let eventLines = lines
        let clock = self.clock
        engine.ingest(events) { outcomes in
            respond(IngestResponse.make(outcomes, lines: eventLines, metrics: metrics, now: clock()))
        }
    }
}
