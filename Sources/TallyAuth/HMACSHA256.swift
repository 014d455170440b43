/// HMAC with SHA-256 as the hash function (RFC 2104, test vectors in RFC 4231).
///
/// ```swift
/// let tag = HMACSHA256.authenticationCode(key: Array("key".utf8), message: Array("message".utf8))
/// ```
public enum HMACSHA256 {
    /// The size of an HMAC-SHA256 authentication code in bytes.
    public static let codeByteCount = 32

    /// Computes the HMAC-SHA256 authentication code of a message.
    ///
    /// - Parameters:
    ///   - key: The secret key, of any length (keys longer than 64 bytes are hashed first, per RFC 2104).
    ///   - message: The message to authenticate.
    /// - Returns: The full 32-byte authentication code. Truncate it yourself if a protocol asks for fewer bytes.
    public static func authenticationCode(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        HMACSHA256Key(key).authenticationCode(for: message)
    }
}
