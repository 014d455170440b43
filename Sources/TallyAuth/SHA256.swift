/// The SHA-256 hash function (FIPS 180-4).
///
/// ```swift
/// let digest = SHA256.hash(Array("abc".utf8))   // 32 bytes
/// ```
public enum SHA256 {
    /// The size of a SHA-256 digest in bytes.
    public static let digestByteCount = 32

    /// Computes the SHA-256 digest of a byte sequence.
    ///
    /// - Parameters:
    ///   - bytes: The message to hash. Contiguous collections (arrays, `String.UTF8View`, ...) are hashed in place;
    ///     other collections are copied once.
    /// - Returns: The 32-byte digest.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { hash($0) }
    }

    /// Computes the SHA-256 digest of raw memory.
    ///
    /// - Parameters:
    ///   - bytes: The message to hash.
    /// - Returns: The 32-byte digest.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: digestByteCount) { output, initializedCount in
            SHA256State().digest(of: bytes, into: UnsafeMutableRawBufferPointer(output))
            initializedCount = digestByteCount
        }
    }
}
