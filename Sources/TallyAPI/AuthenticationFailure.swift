/// Why a request was not authenticated (401).
public struct AuthenticationFailure: Error, Sendable, Equatable {
    /// What is wrong with the credentials (never the token itself), for the 401's `error.message`.
    public var message: String
    /// Whether a bearer token was sent and refused, rather than none sent (no `Authorization` header, or
    /// another scheme): the 401's `WWW-Authenticate` then says `error="invalid_token"` (RFC 6750 §3.1).
    public var refusedToken: Bool

    /// Creates a failure with its message.
    /// - Parameters:
    ///   - message: What is wrong with the credentials.
    ///   - refusedToken: Whether a bearer token was sent and refused.
    public init(_ message: String, refusedToken: Bool) {
        self.message = message
        self.refusedToken = refusedToken
    }
}
