/// Comparisons whose running time does not depend on the content of the compared bytes.
public enum ConstantTime {
    /// Compares two byte arrays without exiting early on the first differing byte.
    ///
    /// The running time depends only on the lengths of the arrays, which are treated as public (for example, the
    /// fixed 32-byte length of an HMAC-SHA256 code). Arrays of different lengths are unequal.
    ///
    /// - Parameters:
    ///   - a: The first byte array, typically the expected authentication code.
    ///   - b: The second byte array, typically the received authentication code.
    /// - Returns: `true` when both arrays have the same length and identical bytes.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { a in b.withUnsafeBytes { b in equals(a, b) } }
    }

    /// Compares two byte buffers without exiting early on the first differing byte.
    ///
    /// The running time depends only on the lengths of the buffers, which are treated as public. Buffers of
    /// different lengths are unequal.
    ///
    /// - Parameters:
    ///   - a: The first buffer, typically a secret or a remembered credential.
    ///   - b: The second buffer, typically what a client sent.
    /// - Returns: `true` when both buffers have the same length and identical bytes.
    public static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count {
            difference |= a[index] ^ b[index]
        }
        return difference == 0
    }
}
