/// Usage statistics for all API keys of an organization (tenant): `GET /api/organizations/{id}/api-keys/stats`.
public struct KeyStats: Sendable, Equatable {
    /// One recently used key.
    public struct RecentKey: Sendable, Equatable {
        public var keyId: String
        public var name: String?
        public var status: String
        public var requests, rateLimitHits, errors: Int64
        public var lastUsedAt: Timestamp?
    }

    public var organizationId: TenantID
    public var totalKeys, activeKeys, revokedKeys, expiredKeys: Int
    public var totalRequests, rateLimitHits, errors: Int64
    public var mostRecentlyUsed: [RecentKey]
    public var generatedAt: Timestamp

    /// Reads the key statistics from a projection in constant time.
    public init(_ projection: borrowing TenantProjection, tenantId: TenantID, now: Timestamp) {
        organizationId = tenantId
        let expiredNow = projection.keyExpiries.countExpired(at: now)
        totalKeys = projection.registeredKeys
        activeKeys = projection.activeKeys - expiredNow
        revokedKeys = projection.revokedKeys
        expiredKeys = expiredNow
        totalRequests = projection.totalRequests
        rateLimitHits = projection.totalRateLimitHits
        errors = projection.totalErrors
        mostRecentlyUsed = projection.recentKeys.compactMap { recent in
            let keyId = recent.keyId
            guard let entry = projection.keys[keyId] else { return nil }
            let status: String
            switch entry.state {
            case .unregistered: status = "unregistered"
            case .revoked: status = "revoked"
            case .active: status = entry.expiresAt.map { $0 <= now } == true ? "expired" : "active"
            }
            return RecentKey(keyId: keyId, name: entry.name, status: status, requests: entry.requests,
                             rateLimitHits: entry.rateLimitHits, errors: entry.errors, lastUsedAt: entry.lastUsed)
        }
        generatedAt = now
    }

    /// The JSON object served by the API and printed by `tally key-stats`.
    public var json: JSONValue {
        func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
            .object(JSONObject(pairs.map { JSONObject.Member(key: $0.0, value: $0.1) }))
        }
        return object([
            ("organizationId", .string(organizationId.description)),
            ("totalKeys", .int(Int64(totalKeys))),
            ("activeKeys", .int(Int64(activeKeys))),
            ("revokedKeys", .int(Int64(revokedKeys))),
            ("expiredKeys", .int(Int64(expiredKeys))),
            ("totalRequests", .int(totalRequests)),
            ("rateLimitHits", .int(rateLimitHits)),
            ("errors", .int(errors)),
            ("mostRecentlyUsed", .array(mostRecentlyUsed.map { key in
                object([
                    ("keyId", .string(key.keyId)),
                    ("name", key.name.map(JSONValue.string) ?? .null),
                    ("status", .string(key.status)),
                    ("requests", .int(key.requests)),
                    ("rateLimitHits", .int(key.rateLimitHits)),
                    ("errors", .int(key.errors)),
                    ("lastUsedAt", key.lastUsedAt.map { .string($0.rfc3339(fractionDigits: 3)) } ?? .null),
                ])
            })),
            ("generatedAt", .string(generatedAt.rfc3339(fractionDigits: 3))),
        ])
    }
}
