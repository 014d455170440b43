/// Why a request was not authenticated (401).
public struct AuthenticationFailure: Error, Sendable, Equatable {
    /// What is wrong with the credentials (never the token itself), for the 401's `error.message`.
    public var message: String

    /// Creates a failure with its message.
    public init(_ message: String) {
        self.message = message
    }
}
