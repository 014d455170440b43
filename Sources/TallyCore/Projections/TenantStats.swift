/// A tenant's statistics at one instant: the `data` of `GET /api/v1/admin/tenants/{tenantId}/stats`.
public struct TenantStats: Sendable, Equatable, JSONWritable {
    public struct Users: Sendable, Equatable {
        public var total, active, inactive, admins: Int
        public init(total: Int, active: Int, inactive: Int, admins: Int) {
            (self.total, self.active, self.inactive, self.admins) = (total, active, inactive, admins)
        }
    }
    public struct Credentials: Sendable, Equatable {
        public var total, active, expired: Int
        public init(total: Int, active: Int, expired: Int) {
            (self.total, self.active, self.expired) = (total, active, expired)
        }
    }
    public struct APIKeys: Sendable, Equatable {
        public var total, active, revoked: Int
        public init(total: Int, active: Int, revoked: Int) {
            (self.total, self.active, self.revoked) = (total, active, revoked)
        }
    }
    public struct OAuthClients: Sendable, Equatable {
        public var total, active: Int
        public init(total: Int, active: Int) {
            (self.total, self.active) = (total, active)
        }
    }
    public struct Usage: Sendable, Equatable {
        public var apiCallsThisMonth, apiCallsLastMonth: Int64
        public var storageUsedMB, storageQuotaMB: Int64
        public init(apiCallsThisMonth: Int64, apiCallsLastMonth: Int64, storageUsedMB: Int64, storageQuotaMB: Int64) {
            (self.apiCallsThisMonth, self.apiCallsLastMonth) = (apiCallsThisMonth, apiCallsLastMonth)
            (self.storageUsedMB, self.storageQuotaMB) = (storageUsedMB, storageQuotaMB)
        }
    }

    public var tenantId: TenantID
    public var tenantName: String?
    public var status: TenantStatus
    public var users: Users
    public var credentials: Credentials
    public var apiKeys: APIKeys
    public var oauthClients: OAuthClients
    public var usage: Usage
    public var lastActivity: Timestamp?
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
