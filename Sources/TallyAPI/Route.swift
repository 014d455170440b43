/// Every route the API serves: the router matches these and `GET /openapi.json` documents them.
struct Route: Sendable, Equatable {
    var method: String
    /// Path with `{name}` placeholders, as OpenAPI writes it.
    var pattern: String
    var summary: String
    /// Whether a bearer token is required.
    var authenticated: Bool

    static let all: [Route] = [
        Route(method: "POST", pattern: "/api/v1/events", summary: "Ingest events", authenticated: true),
        Route(method: "GET", pattern: "/api/v1/admin/tenants/{tenantId}/stats", summary: "Get tenant statistics", authenticated: true),
        Route(method: "GET", pattern: "/api/organizations/{organizationId}/api-keys/stats", summary: "Get API key statistics", authenticated: true),
        Route(method: "GET", pattern: "/api/v1/admin/tenants/", summary: "List tenants", authenticated: true),
        Route(method: "POST", pattern: "/api/v1/admin/tenants/", summary: "Create tenant", authenticated: true),
        Route(method: "GET", pattern: "/api/v1/admin/tenants/{tenant_id}", summary: "Get tenant", authenticated: true),
        Route(method: "PATCH", pattern: "/api/v1/admin/tenants/{tenant_id}", summary: "Update tenant", authenticated: true),
        Route(method: "DELETE", pattern: "/api/v1/admin/tenants/{tenant_id}", summary: "Delete tenant (soft)", authenticated: true),
        Route(method: "GET", pattern: "/healthz", summary: "Health check", authenticated: false),
        Route(method: "GET", pattern: "/metrics", summary: "Prometheus metrics", authenticated: false),
        Route(method: "GET", pattern: "/openapi.json", summary: "This API description", authenticated: false),
    ]

    /// The pattern's segments, split once.
    var segments: [Substring] { pattern.split(separator: "/", omittingEmptySubsequences: false) }

    /// Matches a path against the pattern; returns the placeholder values, or `nil`.
    func match(_ path: String) -> [String: String]? {
        match(path.split(separator: "/", omittingEmptySubsequences: false))
    }

    /// Matches already-split path segments against the pattern.
    func match(_ given: [Substring]) -> [String: String]? {
        let wanted = Route.segmentsByPattern[pattern] ?? segments
        guard wanted.count == given.count else { return nil }
        var values: [String: String] = [:]
        for (pattern, part) in zip(wanted, given) {
            if pattern.hasPrefix("{") && pattern.hasSuffix("}") {
                guard !part.isEmpty else { return nil }
                values[String(pattern.dropFirst().dropLast())] = String(part)
            } else if pattern != part {
                return nil
            }
        }
        return values
    }

    static let segmentsByPattern: [String: [Substring]] = Dictionary(
        Route.all.map { ($0.pattern, $0.segments) }, uniquingKeysWith: { first, _ in first })

    /// Treats `/api/v1/admin/tenants` like `/api/v1/admin/tenants/` (the list and create routes end in `/`).
    static func normalize(_ path: String) -> String {
        path == "/api/v1/admin/tenants" ? "/api/v1/admin/tenants/" : path
    }
}
