/// Everything Tally keeps about one tenant, updated event by event so that every read is constant time.
///
/// The lifecycle rules (which event changes what, and which are no-ops) are documented in the README's
/// "Lifecycle rules" section and implemented in `TenantProjection+Apply.swift`.
public struct TenantProjection: Sendable, Equatable {
    // What a stats read touches, first and together, so a read costs a few adjacent cache lines whatever
    // the number of tenants. The tables further down are the full record.
    /// Users created and not deleted.
    public var userCount = 0
    /// Of those, the ones not deactivated.
    public var activeUsers = 0
    /// Of those, the admins, active or not.
    public var adminUsers = 0
    /// Credentials neither expired by event nor revoked; some may be past `expiresAt` (see
    /// ``credentialExpiries``).
    public var activeCredentials = 0
    /// Credentials expired by `credential.expired` and not revoked since.
    public var expiredCredentials = 0
    /// Keys registered by `key.created`, revoked ones included.
    public var registeredKeys = 0
    /// Registered keys not revoked; some may be past `expiresAt` (see ``keyExpiries``).
    public var activeKeys = 0
    /// Registered keys revoked since.
    public var revokedKeys = 0
    /// OAuth clients ever created, disabled ones included.
    public var oauthClientCount = 0
    /// OAuth clients not disabled.
    public var activeOAuthClients = 0
    /// Storage in bytes as reported; shown clamped at zero, kept exact so voids can be undone.
    public var storageBytes: Int64 = 0
    /// `settings.storage_quota_mb`, or the default.
    public var storageQuotaMB = TenantSettings.defaultStorageQuotaMB
    /// The three latest months' calls, without a hash lookup.
    public var recentMonths = RecentMonths()
    /// The latest event time of any event of the tenant.
    public var lastActivity: Timestamp?
    /// The lifecycle status; `active` until a `tenant.created` sets it.
    public var status: TenantStatus = .active
    /// Whether a `tenant.created` has been applied.
    public var isRegistered = false
    /// The tenant's name; `nil` until a `tenant.created` is applied.
    public var name: String?
    /// Active credentials and keys with an expiry, sorted, so expiries count at read time.
    public var credentialExpiries = ExpiryIndex()
    /// The expiry times of active keys that have one, sorted.
    public var keyExpiries = ExpiryIndex()
    /// Requests, rate-limit hits (429) and other errors (status >= 400) across all keys.
    public var totalRequests: Int64 = 0
    /// Calls answered 429 (rate-limited), across all keys.
    public var totalRateLimitHits: Int64 = 0
    /// Calls answered 400 or more other than 429, across all keys.
    public var totalErrors: Int64 = 0
    /// The most recently used keys with their last-used times, newest first, at most ``recentKeyLimit``.
    public var recentKeys: [RecentKey] = []
    /// The most keys ``recentKeys`` holds.
    public static let recentKeyLimit = 5

    // The rest of the tenant record.
    /// The partner that resells this tenant; `nil` when none.
    public var partnerId: String?
    /// The tenant's settings, as created and then merged by each `tenant.updated`.
    public var settings = JSONObject()
    /// The event time of the `tenant.created`; `nil` until one is applied.
    public var createdAt: Timestamp?
    /// The event time of the latest change to the record (its creation, update or deletion).
    public var updatedAt: Timestamp?
    /// When the status became `deleted`; `nil` while it is not `deleted`.
    public var deletedAt: Timestamp?
    /// The latest storage measurement's time and the changes timed at or after it, which make up
    /// ``storageBytes`` whatever order they arrived in.
    public var storage = StorageHistory()

    // Entity tables: users, credentials, keys (including keys seen only in calls), OAuth clients (`true`
    // while active), and calls per UTC month keyed by ``Timestamp/monthIndex`` for the months older than
    // those in `recentMonths` (read both through ``callsIn(month:)``).
    /// Users by id; a deleted user is removed.
    public var users: [String: UserEntry] = [:]
    /// Credentials by id in every state, revoked ones included.
    public var credentials: [String: CredentialEntry] = [:]
    /// Keys by id in first-seen order, including keys seen only in `api.call` events.
    public var keys = KeyTable()
    /// OAuth clients by id: `true` while active, `false` once disabled.
    public var oauthClients: [String: Bool] = [:]
    /// Calls per UTC month (``Timestamp/monthIndex``) for the months older than those in
    /// ``recentMonths``; a month without calls is absent.
    public var apiCallsByMonth: [Int: Int64] = [:]

    /// Creates an empty projection.
    public init() {}

    /// API calls in a month (``Timestamp/monthIndex``): the inline recent months first, then the full record.
    @inline(__always)
    public func callsIn(month: Int) -> Int64 {
        recentMonths.calls(in: month) ?? apiCallsByMonth[month] ?? 0
    }
}
