/// Base64 with the URL- and filename-safe alphabet (RFC 4648, section 5), without padding, as used by JWS (RFC 7515).
///
/// Decoding is strict: it accepts only canonical unpadded text, so every byte string has exactly one accepted
/// encoding.
public enum Base64URL {
    /// The 64 alphabet characters in value order, as ASCII bytes.
    private static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8
    )

    /// Maps an ASCII byte to its 6-bit value, or to `invalid` for bytes outside the alphabet.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    /// The decode-table marker for bytes that are not in the alphabet.
    private static let invalid: UInt8 = 0xFF

    /// Encodes bytes as unpadded base64url text.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to encode.
    /// - Returns: The encoded text, using `A–Z a–z 0–9 - _` and no `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        if let text = bytes.withContiguousStorageIfAvailable({ encode(buffer: $0) }) {
            return text
        }
        return Array(bytes).withUnsafeBufferPointer { encode(buffer: $0) }
    }

    /// Encodes contiguous bytes as unpadded base64url text.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to encode.
    /// - Returns: The encoded text.
    private static func encode(buffer bytes: UnsafeBufferPointer<UInt8>) -> String {
        let fullGroups = bytes.count / 3
        let remainder = bytes.count % 3
        let outputCount = fullGroups * 4 + (remainder == 0 ? 0 : remainder + 1)
        return alphabet.withUnsafeBufferPointer { symbols in
            String(unsafeUninitializedCapacity: outputCount) { output in
                var inputIndex = 0
                var outputIndex = 0
                for _ in 0..<fullGroups {
                    let group =
                        UInt32(bytes[inputIndex]) << 16 | UInt32(bytes[inputIndex + 1]) << 8
                        | UInt32(bytes[inputIndex + 2])
                    output[outputIndex] = symbols[Int(group >> 18 & 0x3F)]
                    output[outputIndex + 1] = symbols[Int(group >> 12 & 0x3F)]
                    output[outputIndex + 2] = symbols[Int(group >> 6 & 0x3F)]
                    output[outputIndex + 3] = symbols[Int(group & 0x3F)]
                    inputIndex += 3
                    outputIndex += 4
                }
                if remainder == 1 {
                    let group = UInt32(bytes[inputIndex]) << 16
                    output[outputIndex] = symbols[Int(group >> 18 & 0x3F)]
                    output[outputIndex + 1] = symbols[Int(group >> 12 & 0x3F)]
                    outputIndex += 2
                } else if remainder == 2 {
                    let group = UInt32(bytes[inputIndex]) << 16 | UInt32(bytes[inputIndex + 1]) << 8
                    output[outputIndex] = symbols[Int(group >> 18 & 0x3F)]
                    output[outputIndex + 1] = symbols[Int(group >> 12 & 0x3F)]
                    output[outputIndex + 2] = symbols[Int(group >> 6 & 0x3F)]
                    outputIndex += 3
                }
                return outputIndex
            }
        }
    }

    /// Decodes strict, unpadded base64url text.
    ///
    /// The text is rejected if it contains padding (`=`), characters of the standard alphabet (`+`, `/`),
    /// whitespace or any other byte outside the url-safe alphabet, if its length leaves a remainder of 1 when divided
    /// by 4, or if the unused low bits of its last character are not zero (a non-canonical encoding).
    ///
    /// - Parameters:
    ///   - text: The encoded text.
    /// - Returns: The decoded bytes, or `nil` if the text is not canonical unpadded base64url.
    public static func decode(_ text: Substring) -> [UInt8]? {
        var text = text
        if let bytes = text.utf8.withContiguousStorageIfAvailable({ decode(bytes: $0) }) {
            return bytes
        }
        text.makeContiguousUTF8()
        if let bytes = text.utf8.withContiguousStorageIfAvailable({ decode(bytes: $0) }) {
            return bytes
        }
        return Array(text.utf8).withUnsafeBufferPointer { decode(bytes: $0) }
    }

    /// Decodes strict, unpadded base64url text held as contiguous ASCII bytes.
    ///
    /// - Parameters:
    ///   - bytes: The encoded text as bytes.
    /// - Returns: The decoded bytes, or `nil` if the text is invalid.
    static func decode(bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let remainder = bytes.count % 4
        guard remainder != 1 else { return nil }
        let fullGroups = bytes.count / 4
        let outputCount = fullGroups * 3 + (remainder == 0 ? 0 : remainder - 1)
        return decodeTable.withUnsafeBufferPointer { table -> [UInt8]? in
            var valid = true
            let output = [UInt8](unsafeUninitializedCapacity: outputCount) { output, initializedCount in
                var inputIndex = 0
                var outputIndex = 0
                for _ in 0..<fullGroups {
                    let v0 = table[Int(bytes[inputIndex])]
                    let v1 = table[Int(bytes[inputIndex + 1])]
                    let v2 = table[Int(bytes[inputIndex + 2])]
                    let v3 = table[Int(bytes[inputIndex + 3])]
                    guard (v0 | v1 | v2 | v3) & 0xC0 == 0 else {
                        valid = false
                        initializedCount = 0
                        return
                    }
                    let group = UInt32(v0) << 18 | UInt32(v1) << 12 | UInt32(v2) << 6 | UInt32(v3)
                    output[outputIndex] = UInt8(truncatingIfNeeded: group >> 16)
                    output[outputIndex + 1] = UInt8(truncatingIfNeeded: group >> 8)
                    output[outputIndex + 2] = UInt8(truncatingIfNeeded: group)
                    inputIndex += 4
                    outputIndex += 3
                }
                if remainder == 2 {
                    let v0 = table[Int(bytes[inputIndex])]
                    let v1 = table[Int(bytes[inputIndex + 1])]
                    // The last character carries 2 data bits; its low 4 bits must be zero to be canonical.
                    guard (v0 | v1) & 0xC0 == 0, v1 & 0x0F == 0 else {
                        valid = false
                        initializedCount = 0
                        return
                    }
                    output[outputIndex] = v0 << 2 | v1 >> 4
                    outputIndex += 1
                } else if remainder == 3 {
                    let v0 = table[Int(bytes[inputIndex])]
                    let v1 = table[Int(bytes[inputIndex + 1])]
                    let v2 = table[Int(bytes[inputIndex + 2])]
                    // The last character carries 4 data bits; its low 2 bits must be zero to be canonical.
                    guard (v0 | v1 | v2) & 0xC0 == 0, v2 & 0x03 == 0 else {
                        valid = false
                        initializedCount = 0
                        return
                    }
                    output[outputIndex] = v0 << 2 | v1 >> 4
                    output[outputIndex + 1] = v1 << 4 | v2 >> 2
                    outputIndex += 2
                }
                initializedCount = outputIndex
            }
            return valid ? output : nil
        }
    }
}
