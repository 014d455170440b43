/// The type-specific fields of an event. The case decides the ``EventType``.
public enum EventPayload: Sendable, Equatable {
    case apiCall(APICall)
    case keyCreated(keyId: String, name: String?, expiresAt: Timestamp?)
    case keyRevoked(keyId: String)
    case userCreated(userId: String, role: UserRole)
    case userRoleChanged(userId: String, role: UserRole)
    case userDeactivated(userId: String)
    case userActivated(userId: String)
    case userDeleted(userId: String)
    case credentialCreated(credentialId: String, expiresAt: Timestamp?)
    case credentialExpired(credentialId: String)
    case credentialRevoked(credentialId: String)
    case oauthClientCreated(clientId: String)
    case oauthClientDisabled(clientId: String)
    case storageChanged(deltaBytes: Int64)
    case storageMeasured(usedBytes: Int64)
    case tenantCreated(TenantCreation)
    case tenantUpdated(TenantUpdate)
    case tenantDeleted
    case eventVoided(eventId: String, reason: String?)

    /// The event type this payload belongs to.
    public var type: EventType {
        switch self {
        case .apiCall: .apiCall
        case .keyCreated: .keyCreated
        case .keyRevoked: .keyRevoked
        case .userCreated: .userCreated
        case .userRoleChanged: .userRoleChanged
        case .userDeactivated: .userDeactivated
        case .userActivated: .userActivated
        case .userDeleted: .userDeleted
        case .credentialCreated: .credentialCreated
        case .credentialExpired: .credentialExpired
        case .credentialRevoked: .credentialRevoked
        case .oauthClientCreated: .oauthClientCreated
        case .oauthClientDisabled: .oauthClientDisabled
        case .storageChanged: .storageChanged
        case .storageMeasured: .storageMeasured
        case .tenantCreated: .tenantCreated
        case .tenantUpdated: .tenantUpdated
        case .tenantDeleted: .tenantDeleted
        case .eventVoided: .eventVoided
        }
    }
}

/// One API request made with a tenant's key.
public struct APICall: Sendable, Equatable {
    /// The API key that made the call.
    public var keyId: String
    /// The HTTP status answered, 100–599.
    public var status: UInt16
    /// Bytes transferred, when reported.
    public var bytes: Int64?
    /// Request duration in milliseconds, when reported.
    public var durationMs: Double?
    /// The OAuth client on whose behalf the call was made, when any.
    public var oauthClientId: String?

    /// Creates an API call record.
    public init(
        keyId: String, status: UInt16, bytes: Int64? = nil, durationMs: Double? = nil,
        oauthClientId: String? = nil
    ) {
        self.keyId = keyId
        self.status = status
        self.bytes = bytes
        self.durationMs = durationMs
        self.oauthClientId = oauthClientId
    }
}

/// A user's role within a tenant.
public enum UserRole: String, Sendable, CaseIterable {
    case member
    case admin
}

/// A tenant's lifecycle status.
public enum TenantStatus: String, Sendable, CaseIterable {
    case active
    case suspended
    case deleted
}

/// The fields of `tenant.created`.
public struct TenantCreation: Sendable, Equatable {
    /// The tenant's display name.
    public var name: String
    /// The initial status (default `active`).
    public var status: TenantStatus
    /// The partner that resells this tenant, if any.
    public var partnerId: String?
    /// Tenant settings such as `storage_quota_mb` or `mfa_required`.
    public var settings: JSONObject

    /// Creates the fields of a `tenant.created` event.
    public init(
        name: String, status: TenantStatus = .active, partnerId: String? = nil,
        settings: JSONObject = JSONObject()
    ) {
        self.name = name
        self.status = status
        self.partnerId = partnerId
        self.settings = settings
    }
}

/// The changed fields of `tenant.updated`; `nil` means unchanged.
public struct TenantUpdate: Sendable, Equatable {
    /// A new name.
    public var name: String?
    /// A new status.
    public var status: TenantStatus?
    /// A new partner: `.some(nil)` clears it.
    public var partnerId: String??
    /// Settings to merge: each member replaces the setting of that name, and a `null` value removes it.
    public var settings: JSONObject?

    /// Creates the fields of a `tenant.updated` event.
    public init(
        name: String? = nil, status: TenantStatus? = nil, partnerId: String?? = nil,
        settings: JSONObject? = nil
    ) {
        self.name = name
        self.status = status
        self.partnerId = partnerId
        self.settings = settings
    }

    /// Whether the update changes nothing.
    public var isEmpty: Bool { name == nil && status == nil && partnerId == nil && settings == nil }
}
