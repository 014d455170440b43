/// The type-specific fields of an event. The case decides the ``EventType``.
public enum EventPayload: Sendable, Equatable {
    /// `api.call`: the call's key and status, with optional size, duration and OAuth client.
    case apiCall(APICall)
    /// `key.created`: registers a key, with an optional name and expiry time.
    case keyCreated(keyId: String, name: String?, expiresAt: Timestamp?)
    /// `key.revoked`: the key stops being active.
    case keyRevoked(keyId: String)
    /// `user.created`: a new active user with this role (`member` when the event names none).
    case userCreated(userId: String, role: UserRole)
    /// `user.role_changed`: the user's new role.
    case userRoleChanged(userId: String, role: UserRole)
    /// `user.deactivated`: an active user becomes inactive.
    case userDeactivated(userId: String)
    /// `user.activated`: an inactive user becomes active again.
    case userActivated(userId: String)
    /// `user.deleted`: the user leaves every count.
    case userDeleted(userId: String)
    /// `credential.created`: a new active credential; `expiresAt` is `nil` when it never expires.
    case credentialCreated(credentialId: String, expiresAt: Timestamp?)
    /// `credential.expired`: an active credential becomes expired.
    case credentialExpired(credentialId: String)
    /// `credential.revoked`: the credential leaves the counts, active or expired.
    case credentialRevoked(credentialId: String)
    /// `oauth_client.created`: a new active OAuth client.
    case oauthClientCreated(clientId: String)
    /// `oauth_client.disabled`: an active OAuth client is disabled.
    case oauthClientDisabled(clientId: String)
    /// `storage.changed`: storage grew (negative: shrank) by `deltaBytes`, at most 2^60 bytes either way.
    case storageChanged(deltaBytes: Int64)
    /// `storage.measured`: storage in use is now `usedBytes` (0 to 2^60), replacing the running figure.
    case storageMeasured(usedBytes: Int64)
    /// `tenant.created`: the tenant's name, status, partner and settings.
    case tenantCreated(TenantCreation)
    /// `tenant.updated`: the fields that change; at least one is set.
    case tenantUpdated(TenantUpdate)
    /// `tenant.deleted`: soft delete; the status becomes `deleted` and the counters are kept.
    case tenantDeleted
    /// `event.voided`: retracts the `api.call` or `storage.changed` with id `eventId`; `reason` is optional.
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

extension EventPayload {
    /// Whether the payload holds tenant settings: JSON of any size, the one field whose stored record is not
    /// bounded by the fields' own limits.
    public var carriesSettings: Bool {
        switch self {
        case .tenantCreated, .tenantUpdated: true
        default: false
        }
    }
}
