/// Everything Tally keeps about one tenant, updated event by event so that every read is constant time.
///
/// The lifecycle rules (which event changes what, and which are no-ops) are documented in the README's
/// "Lifecycle rules" section and implemented in `TenantProjection+Apply.swift`.
public struct TenantProjection: Sendable, Equatable {
    // What a stats read touches, first and together, so a read costs a few adjacent cache lines whatever
    // the number of tenants. The tables further down are the full record.
    public var userCount = 0
    public var activeUsers = 0
    public var adminUsers = 0
    public var activeCredentials = 0
    public var expiredCredentials = 0
    public var registeredKeys = 0
    public var activeKeys = 0
    public var revokedKeys = 0
    public var oauthClientCount = 0
    public var activeOAuthClients = 0
    /// Storage in bytes as reported; shown clamped at zero, kept exact so voids can be undone.
    public var storageBytes: Int64 = 0
    /// The log offset of the latest `storage.measured`, if any: a void of a `storage.changed` from before it
    /// leaves the measured figure alone.
    public var storageMeasuredAt: UInt64?
    /// `settings.storage_quota_mb`, or the default.
    public var storageQuotaMB = TenantSettings.defaultStorageQuotaMB
    /// The three latest months' calls, without a hash lookup.
    public var recentMonths = RecentMonths()
    /// The latest event time of any event of the tenant.
    public var lastActivity: Timestamp?
    public var status: TenantStatus = .active
    /// Whether a `tenant.created` has been applied.
    public var isRegistered = false
    public var name: String?
    /// Active credentials and keys with an expiry, sorted, so expiries count at read time.
    public var credentialExpiries = ExpiryIndex()
    public var keyExpiries = ExpiryIndex()
    /// Requests, rate-limit hits (429) and other errors (status >= 400) across all keys.
    public var totalRequests: Int64 = 0
    public var totalRateLimitHits: Int64 = 0
    public var totalErrors: Int64 = 0
    /// The most recently used keys with their last-used times, newest first, at most ``recentKeyLimit``.
    public var recentKeys: [RecentKey] = []
    public static let recentKeyLimit = 5

    // The rest of the tenant record.
    public var partnerId: String?
    public var settings = JSONObject()
    public var createdAt: Timestamp?
    public var updatedAt: Timestamp?
    public var deletedAt: Timestamp?

    // Entity tables: users, credentials, keys (including keys seen only in calls), OAuth clients (`true`
    // while active), and calls per UTC month keyed by ``Timestamp/monthIndex`` for the months older than
    // those in `recentMonths` (read both through ``callsIn(month:)``).
    public var users: [String: UserEntry] = [:]
    public var credentials: [String: CredentialEntry] = [:]
    public var keys = KeyTable()
    public var oauthClients: [String: Bool] = [:]
    public var apiCallsByMonth: [Int: Int64] = [:]

    /// Creates an empty projection.
    public init() {}

    /// API calls in a month (``Timestamp/monthIndex``): the inline recent months first, then the full record.
    @inline(__always)
    public func callsIn(month: Int) -> Int64 {
        recentMonths.calls(in: month) ?? apiCallsByMonth[month] ?? 0
    }
}

/// A key in the recently-used list, with the time that placed it there.
///
/// The key is held by its position in the tenant's ``KeyTable`` (keys are kept in first-seen order and never
/// move), so keeping the list current on every call moves two plain words per entry and compares integers.
public struct RecentKey: Sendable, Equatable, BitwiseCopyable {
    /// The key's position in ``TenantProjection/keys``; its id is `keys.id(at: keyPosition)`.
    public var keyPosition: Int
    public var lastUsed: Timestamp

    public init(keyPosition: Int, lastUsed: Timestamp) {
        self.keyPosition = keyPosition
        self.lastUsed = lastUsed
    }
}

/// A user's state.
public struct UserEntry: Sendable, Equatable {
    public var role: UserRole
    public var isActive: Bool

    public init(role: UserRole, isActive: Bool) {
        self.role = role
        self.isActive = isActive
    }
}

/// A credential's lifecycle state.
public enum CredentialState: UInt8, Sendable {
    case active, expired, revoked
}

/// A credential's state and expiry.
public struct CredentialEntry: Sendable, Equatable {
    public var state: CredentialState
    public var expiresAt: Timestamp?

    public init(state: CredentialState, expiresAt: Timestamp?) {
        self.state = state
        self.expiresAt = expiresAt
    }
}

/// An API key's lifecycle state.
public enum KeyState: UInt8, Sendable {
    /// Seen in `api.call` events but never created.
    case unregistered
    case active
    case revoked
}

/// An API key's state and usage counters.
public struct KeyEntry: Sendable, Equatable {
    public var state: KeyState = .unregistered
    public var name: String?
    public var expiresAt: Timestamp?
    public var createdAt: Timestamp?
    public var requests: Int64 = 0
    public var rateLimitHits: Int64 = 0
    public var errors: Int64 = 0
    public var lastUsed: Timestamp?

    public init() {}
}
