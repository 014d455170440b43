/// A tenant's statistics at one instant: the `data` of `GET /api/v1/admin/tenants/{tenantId}/stats`.
public struct TenantStats: Sendable, Equatable, JSONWritable {
    /// The tenant's users; deleted users are in no count.
    public struct Users: Sendable, Equatable {
        /// All users, then the active and the deactivated ones (together the total), and admins whether
        /// active or not.
        public var total, active, inactive, admins: Int
        /// Creates the user counts.
        public init(total: Int, active: Int, inactive: Int, admins: Int) {
            (self.total, self.active, self.inactive, self.admins) = (total, active, inactive, admins)
        }
    }
    /// The tenant's credentials; revoked ones are in no count.
    public struct Credentials: Sendable, Equatable {
        /// Active plus expired, then those still valid at read time, and those expired by event or past
        /// their `expiresAt`.
        public var total, active, expired: Int
        /// Creates the credential counts.
        public init(total: Int, active: Int, expired: Int) {
            (self.total, self.active, self.expired) = (total, active, expired)
        }
    }
    /// The tenant's registered API keys; a key past its `expiresAt` is in no count here (``KeyStats``
    /// shows it as expired).
    public struct APIKeys: Sendable, Equatable {
        /// Active plus revoked, then the keys neither revoked nor past `expiresAt`, and the revoked ones.
        public var total, active, revoked: Int
        /// Creates the API-key counts.
        public init(total: Int, active: Int, revoked: Int) {
            (self.total, self.active, self.revoked) = (total, active, revoked)
        }
    }
    /// The tenant's OAuth clients.
    public struct OAuthClients: Sendable, Equatable {
        /// Clients ever created (disabled ones included), and those not disabled.
        public var total, active: Int
        /// Creates the OAuth-client counts.
        public init(total: Int, active: Int) {
            (self.total, self.active) = (total, active)
        }
    }
    /// API calls by UTC calendar month, and storage against its quota.
    public struct Usage: Sendable, Equatable {
        /// API calls in the UTC month of the read time, and in the month before it.
        public var apiCallsThisMonth, apiCallsLastMonth: Int64
        /// Storage in use in MiB, rounded up and never below 0, and the quota in MiB (`storage_quota_mb` or
        /// the default).
        public var storageUsedMB, storageQuotaMB: Int64
        /// Creates the usage figures.
        public init(apiCallsThisMonth: Int64, apiCallsLastMonth: Int64, storageUsedMB: Int64, storageQuotaMB: Int64) {
            (self.apiCallsThisMonth, self.apiCallsLastMonth) = (apiCallsThisMonth, apiCallsLastMonth)
            (self.storageUsedMB, self.storageQuotaMB) = (storageUsedMB, storageQuotaMB)
        }
    }

    /// The tenant the statistics describe.
    public var tenantId: TenantID
    /// The tenant's name; `nil` until a `tenant.created` is applied.
    public var tenantName: String?
    /// The tenant's lifecycle status (`active` before any `tenant.created`); ``writeJSON(to:)`` leaves it out.
    public var status: TenantStatus
    /// User counts: the `users` object.
    public var users: Users
    /// Credential counts: the `credentials` object.
    public var credentials: Credentials
    /// API-key counts: the `apiKeys` object.
    public var apiKeys: APIKeys
    /// OAuth-client counts: the `oauthClients` object.
    public var oauthClients: OAuthClients
    /// Calls and storage: the `usage` object.
    public var usage: Usage
    /// The latest event time among the tenant's events; `nil` when it has none.
    public var lastActivity: Timestamp?
    /// The read time the figures were computed for.
    public var generatedAt: Timestamp

    /// Reads the statistics from a projection in constant time (two binary searches for expiries).
    /// - Parameters:
    ///   - projection: The tenant's projection.
    ///   - tenantId: The tenant.
    ///   - now: The read time: decides "this month" and which credentials and keys have expired.
    public init(_ projection: borrowing TenantProjection, tenantId: TenantID, now: Timestamp) {
        self = withUnsafePointer(to: projection) { TenantStats(reading: $0, tenantId: tenantId, now: now) }
    }

    /// Reads the statistics through a pointer, touching only the fields it needs: a read from shared
    /// storage then costs no copy of the projection (and none of its reference counting).
    public init(reading pointer: UnsafePointer<TenantProjection>, tenantId: TenantID, now: Timestamp) {
        self.tenantId = tenantId
        tenantName = pointer.pointee.name
        status = pointer.pointee.status
        let userTotal = pointer.pointee.userCount
        let activeUsers = pointer.pointee.activeUsers
        users = Users(
            total: userTotal, active: activeUsers, inactive: userTotal - activeUsers,
            admins: pointer.pointee.adminUsers)
        let credentialsExpiredNow = pointer.pointee.credentialExpiries.countExpired(at: now)
        let activeCredentials = pointer.pointee.activeCredentials
        let expiredCredentials = pointer.pointee.expiredCredentials
        credentials = Credentials(
            total: activeCredentials + expiredCredentials,
            active: activeCredentials - credentialsExpiredNow,
            expired: expiredCredentials + credentialsExpiredNow)
        // The total is the sum of the buckets shown (active + revoked), as for credentials (active +
        // expired). A key past its expiresAt is in neither bucket, so it leaves this total; the API-key
        // stats show it as expiredKeys, and their totalKeys counts every registered key.
        let keysExpiredNow = pointer.pointee.keyExpiries.countExpired(at: now)
        apiKeys = APIKeys(
            total: pointer.pointee.registeredKeys - keysExpiredNow, active: pointer.pointee.activeKeys - keysExpiredNow,
            revoked: pointer.pointee.revokedKeys)
        oauthClients = OAuthClients(total: pointer.pointee.oauthClientCount, active: pointer.pointee.activeOAuthClients)
        let month = now.monthIndex
        let megabyte: Int64 = 1 << 20
        // Whole megabytes (MiB), rounded up: usage is never shown below what is stored, so 1.4 MB against a
        // 1 MB quota reads as over it. Computed without adding to the bytes first: any stored value reads safely.
        let storedBytes = max(0, pointer.pointee.storageBytes)
        usage = Usage(
            apiCallsThisMonth: pointer.pointee.callsIn(month: month),
            apiCallsLastMonth: pointer.pointee.callsIn(month: month - 1),
            storageUsedMB: storedBytes / megabyte + (storedBytes % megabyte > 0 ? 1 : 0),
            storageQuotaMB: pointer.pointee.storageQuotaMB)
        lastActivity = pointer.pointee.lastActivity
        generatedAt = now
    }

    /// Writes the JSON object, field for field as the tenant-stats contract names them, straight to bytes:
    /// the API's stats responses build no ``JSONValue`` tree.
    /// - Parameter writer: The writer to append to.
    public func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.writeKey("tenantId")
        writer.writeTenantID(tenantId)
        writer.writeKey("tenantName")
        writer.writeString(orNull: tenantName)
        writer.writeKey("users")
        writer.beginObject()
        writer.writeMember("total", users.total)
        writer.writeMember("active", users.active)
        writer.writeMember("inactive", users.inactive)
        writer.writeMember("admins", users.admins)
        writer.endObject()
        writer.writeKey("credentials")
        writer.beginObject()
        writer.writeMember("total", credentials.total)
        writer.writeMember("active", credentials.active)
        writer.writeMember("expired", credentials.expired)
        writer.endObject()
        writer.writeKey("apiKeys")
        writer.beginObject()
        writer.writeMember("total", apiKeys.total)
        writer.writeMember("active", apiKeys.active)
        writer.writeMember("revoked", apiKeys.revoked)
        writer.endObject()
        writer.writeKey("oauthClients")
        writer.beginObject()
        writer.writeMember("total", oauthClients.total)
        writer.writeMember("active", oauthClients.active)
        writer.endObject()
        writer.writeKey("usage")
        writer.beginObject()
        writer.writeMember("apiCallsThisMonth", usage.apiCallsThisMonth)
        writer.writeMember("apiCallsLastMonth", usage.apiCallsLastMonth)
        writer.writeMember("storageUsedMB", usage.storageUsedMB)
        writer.writeMember("storageQuotaMB", usage.storageQuotaMB)
        writer.endObject()
        writer.writeKey("lastActivity")
        writer.writeTimestamp(lastActivity)
        writer.writeKey("generatedAt")
        writer.writeTimestamp(generatedAt)
        writer.endObject()
    }
}
