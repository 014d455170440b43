import TallyHTTP
import Testing

@testable import TallyAPI

@Suite struct RouteMatchingTests {
    /// Placeholders match any non-empty segment; literals must be equal byte for byte; segment counts must
    /// agree, so a missing or extra slash does not match.
    @Test func matchingAndParameters() {
        let stats = Route(
            .tenantStats, method: "GET", pattern: "/api/v1/admin/tenants/{tenantId}/stats", summary: "",
            authenticated: true)
        #expect(stats.match("/api/v1/admin/tenants/abc/stats") == ["abc"])
        #expect(stats.match("/api/v1/admin/tenants/ünï-✓/stats") == ["ünï-✓"])
        #expect(stats.match("/api/v1/admin/tenants//stats") == nil)
        #expect(stats.match("/api/v1/admin/tenants/abc/stats/") == nil)
        #expect(stats.match("/api/v1/admin/tenants/abc") == nil)
        #expect(stats.match("/api/v1/admin/tenant/abc/stats") == nil)
        #expect(stats.match("api/v1/admin/tenants/abc/stats") == nil)
        #expect(stats.match("//api/v1/admin/tenants/abc/stats") == nil)
        #expect(stats.match("/api/v1/admin/tenants/a/b/stats") == nil)
        #expect(stats.match("") == nil)
        #expect(stats.label == "GET /api/v1/admin/tenants/{tenantId}/stats")
        let list = Route(
            .listTenants, method: "GET", pattern: "/api/v1/admin/tenants/", summary: "", authenticated: true)
        #expect(list.match("/api/v1/admin/tenants/") == [])
        #expect(list.match("/api/v1/admin/tenants") == nil)
        #expect(list.match("/api/v1/admin/tenants/x") == nil)
    }

    /// A path is served with or without its trailing slash, where FastAPI redirects to the other.
    @Test func pathsAreServedWithOrWithoutTheirTrailingSlash() {
        #expect(Route.normalize("/api/v1/admin/tenants") == "/api/v1/admin/tenants/")
        #expect(Route.normalize("/api/v1/admin/tenants/") == "/api/v1/admin/tenants/")
        #expect(Route.normalize("/api/v1/admin/tenants/t1/") == "/api/v1/admin/tenants/t1")
        #expect(Route.normalize("/api/v1/admin/tenants/t1/stats/") == "/api/v1/admin/tenants/t1/stats")
        #expect(Route.normalize("/healthz/") == "/healthz")
        #expect(Route.normalize("/") == "/")
        #expect(Route.normalize("/healthz//") == "/healthz/", "one slash, not every one")
    }

    /// The router picks by method and path, serves HEAD as GET, and matches the standard split's answer for
    /// odd paths (empty segments, non-ASCII, a decomposed accent).
    @Test(arguments: [
        "", "/", "//", "/healthz", "/healthz/", "/api/v1/admin/tenants/", "/api//v1/", "a/b", "/ünï/cödé/✓/",
        "/api/v1/admin/tenants/6f1c0e4a-1b2c-4d5e-8f90-123456789abc/stats", "no-slash", "/e\u{301}/x",
        "/api/organizations/org-1/api-keys/stats", "/api/v1/admin/tenants/t1", "/metrics", "/openapi.json",
    ])
    func findAgreesWithSplittingThePath(path: String) {
        for method in [HTTPMethod.get, .head, .post, .patch, .delete, .put] {
            let given = path.split(separator: "/", omittingEmptySubsequences: false)
            let expected = Route.all.first { route in
                let pattern = route.pattern.split(separator: "/", omittingEmptySubsequences: false)
                return route.method == (method == .head ? "GET" : method.name) && pattern.count == given.count
                    && zip(pattern, given).allSatisfy { $0.first == "{" ? !$1.isEmpty : $0 == $1 }
            }
            let found = Route.find(method, path)
            #expect(found?.route == expected, "\(method) \(path)")
            if let found, let expected {
                let values = zip(expected.pattern.split(separator: "/", omittingEmptySubsequences: false), given)
                    .filter { $0.0.first == "{" }.map { String($0.1) }
                #expect(found.values == values)
            }
        }
    }
}
