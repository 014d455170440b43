/// Turns an `Authorization` header into a principal.
public protocol RequestAuthenticator: Sendable {
    /// The principal the `Authorization` header's value proves, or why it proves none (`nil`: no header).
    func authenticate(authorization: String?) -> Result<Principal, AuthenticationFailure>

    /// Requests authenticated so far with a credential kept only for a rotation's overlap (a token a
    /// previous secret signed), for the metrics page.
    var previousSecretUses: Int { get }
}

extension RequestAuthenticator {
    /// None: an authenticator without previous secrets.
    public var previousSecretUses: Int { 0 }
}
