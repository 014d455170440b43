/// The reason a JSON Web Token was rejected.
///
/// The ``message`` is fixed, human-readable text chosen by the library. It never contains any part of the token or
/// the secret, so it is safe to log or return to a client.
public struct JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable classification of the failure.
    public enum Code: String, Sendable {
        /// The token is not a well-formed compact JWS (segment count, encoding, JSON structure, size).
        case malformed
        /// The header names an algorithm other than HS256, omits it, or requires unsupported extensions (`crit`).
        case unsupportedAlgorithm
        /// The signature does not match the header and payload under the configured secret.
        case badSignature
        /// The token's `exp` time has passed (beyond the leeway).
        case expired
        /// The token's `nbf` time has not yet been reached (beyond the leeway).
        case notYetValid
        /// A registered or application claim has the wrong JSON type or an unrepresentable value.
        case invalidClaims
    }

    /// The classification of the failure.
    public var code: Code

    /// Human-readable text describing the failure; never includes token content or secrets.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The classification of the failure.
    ///   - message: Human-readable text; must not contain token content or secrets.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// A description of the form `"<code>: <message>"`, for example `"expired: token has expired"`.
    public var description: String {
        "\(code.rawValue): \(message)"
    }
}
