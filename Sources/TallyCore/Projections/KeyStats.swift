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
        self = withUnsafePointer(to: projection) { KeyStats(reading: $0, tenantId: tenantId, now: now) }
    }

    /// Reads the key statistics through a pointer, touching only the fields it needs (no copy of the
    /// projection).
    public init(reading pointer: UnsafePointer<TenantProjection>, tenantId: TenantID, now: Timestamp) {
        organizationId = tenantId
        let expiredNow = pointer.pointee.keyExpiries.countExpired(at: now)
        totalKeys = pointer.pointee.registeredKeys
        activeKeys = pointer.pointee.activeKeys - expiredNow
        revokedKeys = pointer.pointee.revokedKeys
        expiredKeys = expiredNow
        totalRequests = pointer.pointee.totalRequests
        rateLimitHits = pointer.pointee.totalRateLimitHits
        errors = pointer.pointee.totalErrors
        mostRecentlyUsed = pointer.pointee.recentKeys.compactMap { recent in
            let keyId = recent.keyId
            guard let entry = pointer.pointee.keys[keyId] else { return nil }
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
