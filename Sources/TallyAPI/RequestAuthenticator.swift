/// Turns an `Authorization` header into a principal.
public protocol RequestAuthenticator: Sendable {
    /// The principal the `Authorization` header's value proves, or why it proves none (`nil`: no header).
    func authenticate(authorization: String?) -> Result<Principal, AuthenticationFailure>
}
