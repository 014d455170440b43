/// Every kind of event Tally accepts. Anything else is rejected by name.
///
/// The raw value is the wire name; ``code`` is the stable byte stored on disk and must never be reused.
public enum EventType: String, CaseIterable, Sendable, Hashable {
    /// A request made with one of the tenant's API keys.
    case apiCall = "api.call"
    /// An API key was created.
    case keyCreated = "key.created"
    /// An API key was revoked.
    case keyRevoked = "key.revoked"
    /// A user was added to the tenant.
    case userCreated = "user.created"
    /// A user's role changed between member and admin.
    case userRoleChanged = "user.role_changed"
    /// A user was deactivated.
    case userDeactivated = "user.deactivated"
    /// A deactivated user was activated again.
    case userActivated = "user.activated"
    /// A user was removed.
    case userDeleted = "user.deleted"
    /// A credential was issued, optionally with an expiry time.
    case credentialCreated = "credential.created"
    /// A credential expired.
    case credentialExpired = "credential.expired"
    /// A credential was revoked.
    case credentialRevoked = "credential.revoked"
    /// An OAuth client was registered.
    case oauthClientCreated = "oauth_client.created"
    /// An OAuth client was disabled.
    case oauthClientDisabled = "oauth_client.disabled"
    /// The tenant's storage grew or shrank by a number of bytes.
    case storageChanged = "storage.changed"
    /// The tenant's storage was measured: an absolute figure in bytes.
    case storageMeasured = "storage.measured"
    /// The tenant was created, with its name, status, partner and settings.
    case tenantCreated = "tenant.created"
    /// Some of the tenant's name, status, partner or settings changed.
    case tenantUpdated = "tenant.updated"
    /// The tenant was soft-deleted; its counters are kept.
    case tenantDeleted = "tenant.deleted"
    /// An earlier `api.call` or `storage.changed` of the tenant is retracted.
    case eventVoided = "event.voided"

    /// The byte that identifies this type in the binary record format.
    public var code: UInt8 {
        switch self {
        case .apiCall: 1
        case .keyCreated: 2
        case .keyRevoked: 3
        case .userCreated: 4
        case .userRoleChanged: 5
        case .userDeactivated: 6
        case .userActivated: 7
        case .userDeleted: 8
        case .credentialCreated: 9
        case .credentialExpired: 10
        case .credentialRevoked: 11
        case .oauthClientCreated: 12
        case .oauthClientDisabled: 13
        case .storageChanged: 14
        case .storageMeasured: 15
        case .tenantCreated: 16
        case .tenantUpdated: 17
        case .tenantDeleted: 18
        case .eventVoided: 19
        }
    }

    /// Looks a type up by its on-disk code.
    /// - Parameter code: The stored type byte.
    /// - Returns: `nil` for a code no version of Tally has written.
    public init?(code: UInt8) {
        guard code >= 1, Int(code) <= EventType.allCases.count else { return nil }
        self = EventType.allCases[Int(code) - 1]
    }

    /// All wire names, comma separated, for error messages.
    public static let wireNames: String = allCases.map(\.rawValue).joined(separator: ", ")
}
