/// Percent-decoding of request-target components into UTF-8 strings: strict for paths, lenient for queries.
enum PercentDecoder {
    /// Decodes `%XX` escapes (and optionally `+` as space) and validates the result as UTF-8.
    ///
    /// - Parameters:
    ///   - bytes: The encoded component (ASCII, as validated from the request-target).
    ///   - plusAsSpace: Whether `+` decodes to a space (query components).
    ///   - allowNUL: Whether a decoded NUL byte is acceptable.
    /// - Returns: The decoded string, or `nil` for a malformed escape, invalid UTF-8 or a forbidden NUL.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, plusAsSpace: Bool, allowNUL: Bool) -> String? {
        var needsDecoding = false
        for byte in bytes {
            if byte == UInt8(ascii: "%") || (plusAsSpace && byte == UInt8(ascii: "+")) || byte >= 0x80 || byte == 0 {
                needsDecoding = true
                break
            }
        }
        if !needsDecoding {
            return String(decoding: bytes, as: UTF8.self)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count,
                    let high = HTTPGrammar.hexValue(bytes[index + 1]),
                    let low = HTTPGrammar.hexValue(bytes[index + 2])
                else { return nil }
                decoded.append(UInt8(truncatingIfNeeded: high << 4 | low))
                index += 3
            } else if plusAsSpace && byte == UInt8(ascii: "+") {
                decoded.append(HTTPGrammar.space)
                index += 1
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        if !allowNUL && decoded.contains(0) {
            return nil
        }
        return String(validating: decoded, as: UTF8.self)
    }

    /// Decodes `%XX` escapes (and optionally `+` as space) without refusing anything: a `%` not followed by
    /// two hex digits is kept as it is, and bytes that are not UTF-8 become U+FFFD.
    ///
    /// - Parameters:
    ///   - bytes: The encoded component.
    ///   - plusAsSpace: Whether `+` decodes to a space (query components).
    /// - Returns: The decoded string.
    static func decodeLeniently(_ bytes: UnsafeBufferPointer<UInt8>, plusAsSpace: Bool) -> String {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = HTTPGrammar.hexValue(bytes[index + 1]),
                let low = HTTPGrammar.hexValue(bytes[index + 2])
            {
                decoded.append(UInt8(truncatingIfNeeded: high << 4 | low))
                index += 3
            } else {
                decoded.append(plusAsSpace && byte == UInt8(ascii: "+") ? HTTPGrammar.space : byte)
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }
}
