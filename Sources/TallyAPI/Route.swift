/// Every route the API serves: the router matches these and `GET /openapi.json` documents them.
struct Route: Sendable, Equatable {
    var method: String
    /// Path with `{name}` placeholders, as OpenAPI writes it.
    var pattern: String
    var summary: String
    /// Whether a bearer token is required.
    var authenticated: Bool
    /// The pattern's segments, split once.
    let segments: [Substring]
    /// `METHOD pattern`: the route's label in metrics.
    let label: String

    init(method: String, pattern: String, summary: String, authenticated: Bool) {
        self.method = method
        self.pattern = pattern
        self.summary = summary
        self.authenticated = authenticated
        segments = Route.segments(of: pattern)
        label = "\(method) \(pattern)"
    }

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

    /// Whether already-split path segments fit the pattern (no allocation).
    func matches(_ given: [Substring]) -> Bool {
        guard segments.count == given.count else { return false }
        for (pattern, part) in zip(segments, given) {
            if pattern.first == "{" {
                if part.isEmpty { return false }
            } else if pattern != part {
                return false
            }
        }
        return true
    }

    /// The placeholder values of a path that ``matches(_:)`` the pattern.
    func parameters(_ given: [Substring]) -> [String: String] {
        var values: [String: String] = [:]
        for (pattern, part) in zip(segments, given) where pattern.first == "{" {
            values[String(pattern.dropFirst().dropLast())] = String(part)
        }
        return values
    }

    /// A path's segments between slashes, empty ones included (as `split(separator: "/",
    /// omittingEmptySubsequences: false)` gives them), found by scanning UTF-8 bytes: splitting by
    /// `Character` pays for grapheme breaking on every request.
    static func segments(of path: String) -> [Substring] {
        var parts: [Substring] = []
        parts.reserveCapacity(8)
        let bytes = path.utf8
        var start = bytes.startIndex
        var index = start
        while index != bytes.endIndex {
            if bytes[index] == UInt8(ascii: "/") {
                parts.append(path[start..<index])
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        parts.append(path[start..<bytes.endIndex])
        return parts
    }

    /// Treats `/api/v1/admin/tenants` like `/api/v1/admin/tenants/` (the list and create routes end in `/`).
    static func normalize(_ path: String) -> String {
        path == "/api/v1/admin/tenants" ? "/api/v1/admin/tenants/" : path
    }
}
