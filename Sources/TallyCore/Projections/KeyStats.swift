/// Usage statistics for all API keys of an organization (tenant): `GET /api/organizations/{id}/api-keys/stats`.
public struct KeyStats: Sendable, Equatable, JSONWritable {
    /// One recently used key.
    public struct RecentKey: Sendable, Equatable {
        /// Where a key stands at read time, as the answer names it.
        public enum Status: String, Sendable, Equatable, CaseIterable {
            /// Registered, not revoked, not past its `expiresAt`.
            case active
            /// Registered, not revoked, past its `expiresAt` at read time.
            case expired
            /// Revoked by `key.revoked`.
            case revoked
            /// Seen only in calls: no `key.created` yet.
            case unregistered
        }

        /// The key's id, as its events name it.
        public var keyId: String
        /// The name given by `key.created`; `nil` for an unnamed or unregistered key.
        public var name: String?
        /// Where the key stands at read time.
        public var status: Status
        /// The key's calls: all of them, those answered 429, and other errors (status 400 or more).
        public var requests, rateLimitHits, errors: Int64
        /// The time of the key's latest call (a void does not move it back; a key whose every call is voided
        /// has none).
        public var lastUsedAt: Timestamp?
    }

    /// The tenant the statistics describe.
    public var organizationId: TenantID
    /// Keys registered by `key.created` (revoked and expired ones included), then those neither revoked
    /// nor past `expiresAt` at read time, those revoked, and those past `expiresAt` but not revoked.
    public var totalKeys, activeKeys, revokedKeys, expiredKeys: Int
    /// Calls across all keys, unregistered ones included: all of them, those answered 429, and other
    /// errors (status 400 or more).
    public var totalRequests, rateLimitHits, errors: Int64
    /// Up to ``TenantProjection/recentKeyLimit`` keys, most recently used first (ties by key id).
    public var mostRecentlyUsed: [RecentKey]
    /// The read time, which decided which keys count as expired.
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
        mostRecentlyUsed = pointer.pointee.recentKeys.map { recent in
            let keyId = pointer.pointee.keys.id(at: recent.keyPosition)
            let entry = pointer.pointee.keys[position: recent.keyPosition]
            let status: RecentKey.Status
            switch entry.state {
            case .unregistered: status = .unregistered
            case .revoked: status = .revoked
            case .active: status = entry.expiresAt.map { $0 <= now } == true ? .expired : .active
            }
            return RecentKey(
                keyId: keyId, name: entry.name, status: status, requests: entry.requests,
                rateLimitHits: entry.rateLimitHits, errors: entry.errors, lastUsedAt: entry.lastUsed)
        }
        generatedAt = now
    }

    /// Writes the JSON object served by the API straight to bytes (no ``JSONValue`` tree).
    /// - Parameter writer: The writer to append to.
    public func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.writeKey("organizationId")
        writer.writeTenantID(organizationId)
        writer.writeMember("totalKeys", totalKeys)
        writer.writeMember("activeKeys", activeKeys)
        writer.writeMember("revokedKeys", revokedKeys)
        writer.writeMember("expiredKeys", expiredKeys)
        writer.writeMember("totalRequests", totalRequests)
        writer.writeMember("rateLimitHits", rateLimitHits)
        writer.writeMember("errors", errors)
        writer.writeKey("mostRecentlyUsed")
        writer.beginArray()
        for key in mostRecentlyUsed {
            writer.writeElementSeparator()
            writer.beginObject()
            writer.writeKey("keyId")
            writer.writeString(key.keyId)
            writer.writeKey("name")
            writer.writeString(orNull: key.name)
            writer.writeKey("status")
            writer.writeString(key.status.rawValue)
            writer.writeMember("requests", key.requests)
            writer.writeMember("rateLimitHits", key.rateLimitHits)
            writer.writeMember("errors", key.errors)
            writer.writeKey("lastUsedAt")
            writer.writeTimestamp(key.lastUsedAt)
            writer.endObject()
        }
        writer.endArray()
        writer.writeKey("generatedAt")
        writer.writeTimestamp(generatedAt)
        writer.endObject()
    }
}
