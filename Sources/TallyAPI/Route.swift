import TallyHTTP

/// Every route the API serves: the router matches these and `GET /openapi.json` documents them.
///
/// A class, so handing the matched route around on every request costs one reference count, not a copy of
/// each of its strings.
final class Route: Sendable, Equatable {
    /// What a route does: the handler dispatches on it.
    enum Endpoint: Sendable, Equatable {
        case ingest, tenantStats, keyStats, listTenants, createTenant, getTenant, updateTenant, deleteTenant
        case health, metrics, openAPI
    }

    let endpoint: Endpoint
    let method: String
    /// Path with `{name}` placeholders, as OpenAPI writes it.
    let pattern: String
    let summary: String
    /// Whether a bearer token is required.
    let authenticated: Bool
    /// `method` as the parser gives it.
    let verb: HTTPMethod
    /// The pattern's segments between slashes: a literal's UTF-8 bytes, or `nil` for a placeholder.
    let parts: [[UInt8]?]
    /// `METHOD pattern`: the route's label in metrics.
    let label: String

    /// Whether the route reads a request body: ingest, and the tenants API's create and update. The others
    /// answer 413 to a body (see ``TallyAPIHandler/bodyNotTaken(_:_:)``).
    var takesBody: Bool { [.ingest, .createTenant, .updateTenant].contains(endpoint) }

    init(_ endpoint: Endpoint, method: String, pattern: String, summary: String, authenticated: Bool) {
        self.endpoint = endpoint
        self.method = method
        self.pattern = pattern
        self.summary = summary
        self.authenticated = authenticated
        verb = HTTPMethod(name: method)
        parts = pattern.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.first == "{" ? nil : Array($0.utf8)
        }
        label = "\(method) \(pattern)"
    }

    static func == (lhs: Route, rhs: Route) -> Bool {
        lhs.endpoint == rhs.endpoint && lhs.method == rhs.method && lhs.pattern == rhs.pattern
            && lhs.summary == rhs.summary && lhs.authenticated == rhs.authenticated
    }

    static let all: [Route] = [
        Route(.ingest, method: "POST", pattern: "/api/v1/events", summary: "Ingest events", authenticated: true),
        Route(
            .tenantStats, method: "GET", pattern: "/api/v1/admin/tenants/{tenantId}/stats",
            summary: "Get tenant statistics", authenticated: true),
        Route(
            .keyStats, method: "GET", pattern: "/api/organizations/{organizationId}/api-keys/stats",
            summary: "Get API key statistics", authenticated: true),
        Route(
            .listTenants, method: "GET", pattern: "/api/v1/admin/tenants/", summary: "List tenants", authenticated: true
        ),
        Route(
            .createTenant, method: "POST", pattern: "/api/v1/admin/tenants/", summary: "Create tenant",
            authenticated: true),
        Route(
            .getTenant, method: "GET", pattern: "/api/v1/admin/tenants/{tenant_id}", summary: "Get tenant",
            authenticated: true),
        Route(
            .updateTenant, method: "PATCH", pattern: "/api/v1/admin/tenants/{tenant_id}", summary: "Update tenant",
            authenticated: true),
        Route(
            .deleteTenant, method: "DELETE", pattern: "/api/v1/admin/tenants/{tenant_id}",
            summary: "Delete tenant (soft)", authenticated: true),
        Route(.health, method: "GET", pattern: "/healthz", summary: "Health check", authenticated: false),
        Route(.metrics, method: "GET", pattern: "/metrics", summary: "Prometheus metrics", authenticated: false),
        Route(.openAPI, method: "GET", pattern: "/openapi.json", summary: "This API description", authenticated: false),
    ]

    /// The placeholders' values, in the pattern's order, when `path` fits the pattern: as many segments,
    /// literals equal byte for byte (patterns are ASCII, which has one spelling in Unicode), placeholders
    /// not empty. Walks the path's UTF-8 once and allocates only the values.
    func match(_ path: String) -> [String]? {
        if let result = path.utf8.withContiguousStorageIfAvailable({ match($0) }) { return result }
        return Array(path.utf8).withUnsafeBufferPointer { match($0) }
    }

    private func match(_ path: UnsafeBufferPointer<UInt8>) -> [String]? {
        var values: [String] = []
        var start = 0
        for (index, part) in parts.enumerated() {
            var end = start
            while end < path.count && path[end] != UInt8(ascii: "/") { end += 1 }
            let segment = UnsafeBufferPointer(rebasing: path[start..<end])
            if let literal = part {
                guard literal.elementsEqual(segment) else { return nil }
            } else {
                guard end > start else { return nil }
                values.append(String(decoding: segment, as: UTF8.self))
            }
            // Every segment but the last ends at a slash; the last ends the path.
            if index == parts.count - 1 { return end == path.count ? values : nil }
            guard end < path.count else { return nil }
            start = end + 1
        }
        return nil
    }

    /// The route for a method and path with its placeholders' values; `HEAD` is served as `GET`.
    static func find(_ method: HTTPMethod, _ path: String) -> (route: Route, values: [String])? {
        let verb = method == .head ? .get : method
        for route in all where route.verb == verb {
            if let values = route.match(path) { return (route, values) }
        }
        return nil
    }

    /// Serves a path with or without its trailing slash alike, where FastAPI would redirect (307) to the
    /// other: `/api/v1/admin/tenants` is the list and create routes' `/api/v1/admin/tenants/`, and any other
    /// path loses one trailing slash (`/api/v1/admin/tenants/{id}/`, `/healthz/`).
    static func normalize(_ path: String) -> String {
        if path == "/api/v1/admin/tenants" { return "/api/v1/admin/tenants/" }
        if path.utf8.count > 1, path.utf8.last == UInt8(ascii: "/"), path != "/api/v1/admin/tenants/" {
            return String(path.dropLast())
        }
        return path
    }
}
