/// Every kind of event Tally accepts. Anything else is rejected by name.
///
/// The raw value is the wire name; ``code`` is the stable byte stored on disk and must never be reused.
public enum EventType: String, CaseIterable, Sendable, Hashable {
    case apiCall = "api.call"
    case keyCreated = "key.created"
    case keyRevoked = "key.revoked"
    case userCreated = "user.created"
    case userRoleChanged = "user.role_changed"
    case userDeactivated = "user.deactivated"
    case userActivated = "user.activated"
    case userDeleted = "user.deleted"
    case credentialCreated = "credential.created"
    case credentialExpired = "credential.expired"
    case credentialRevoked = "credential.revoked"
    case oauthClientCreated = "oauth_client.created"
    case oauthClientDisabled = "oauth_client.disabled"
    case storageChanged = "storage.changed"
    case storageMeasured = "storage.measured"
    case tenantCreated = "tenant.created"
    case tenantUpdated = "tenant.updated"
    case tenantDeleted = "tenant.deleted"
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
