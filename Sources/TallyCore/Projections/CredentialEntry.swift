/// A credential's state and expiry.
public struct CredentialEntry: Sendable, Equatable {
    /// Where the credential is in its lifecycle.
    public var state: CredentialState
    /// When the credential, while active, counts as expired at read time; `nil` if never.
    public var expiresAt: Timestamp?

    /// Creates a credential's state.
    public init(state: CredentialState, expiresAt: Timestamp?) {
        self.state = state
        self.expiresAt = expiresAt
    }
}
