/// A credential's lifecycle state.
public enum CredentialState: UInt8, Sendable {
    /// Active until `credential.expired` makes it expired; `credential.revoked` revokes it from
    /// either.
    case active, expired, revoked
}
