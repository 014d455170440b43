import Testing
@testable import TallyAPI

@Suite struct RouteMatchingTests {
    /// The byte-level splitter gives exactly what `split(separator:omittingEmptySubsequences: false)` gives.
    @Test(arguments: ["", "/", "//", "/healthz", "/api/v1/admin/tenants/", "/api//v1/", "a/b", "/ünï/cödé/✓/",
                      "/api/v1/admin/tenants/6f1c0e4a-1b2c-4d5e-8f90-123456789abc/stats", "no-slash", "/e\u{301}/x"])
    func segmentsMatchTheStandardSplit(path: String) {
        #expect(Route.segments(of: path) == path.split(separator: "/", omittingEmptySubsequences: false))
    }

    /// Placeholders match any non-empty segment; literals must be equal; counts must agree.
    @Test func matchingAndParameters() {
        let stats = Route(method: "GET", pattern: "/api/v1/admin/tenants/{tenantId}/stats", summary: "", authenticated: true)
        func match(_ path: String) -> [String: String]? {
            let given = Route.segments(of: path)
            return stats.matches(given) ? stats.parameters(given) : nil
        }
        #expect(match("/api/v1/admin/tenants/abc/stats") == ["tenantId": "abc"])
        #expect(match("/api/v1/admin/tenants//stats") == nil)
        #expect(match("/api/v1/admin/tenants/abc/stats/") == nil)
        #expect(match("/api/v1/admin/tenant/abc/stats") == nil)
        #expect(stats.label == "GET /api/v1/admin/tenants/{tenantId}/stats")
    }
}
