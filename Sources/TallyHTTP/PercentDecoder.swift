/// Percent-decoding of request-target components into UTF-8 strings: strict for paths, lenient for queries.
enum PercentDecoder {
    /// Why a component does not decode.
    enum Failure: Error, Equatable {
        /// A `%` not followed by two hexadecimal digits.
        case malformedEscape
        /// A `%00`, where NUL is not allowed.
        case encodedNUL
        /// Escapes that decode to bytes that are not UTF-8 (`%E9`, Latin-1's `é`).
        case notUTF8

        /// The problem in words, naming the component (`path`).
        func message(in component: String) -> String {
            switch self {
            case .malformedEscape:
                "malformed percent-encoding in the \(component): % must be followed by two hex digits"
            case .encodedNUL: "the \(component) holds an encoded NUL (%00)"
            case .notUTF8: "the \(component)'s percent-encoded bytes are not UTF-8 (encode é as %C3%A9, not %E9)"
            }
        }
    }

    /// Decodes `%XX` escapes (and optionally `+` as space) and validates the result as UTF-8.
    ///
    /// - Parameters:
    ///   - bytes: The encoded component (ASCII, as validated from the request-target).
    ///   - plusAsSpace: Whether `+` decodes to a space (query components).
    ///   - allowNUL: Whether a decoded NUL byte is acceptable.
    /// - Returns: The decoded string, or why it does not decode: a malformed escape, a forbidden NUL or
    ///   bytes that are not UTF-8.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, plusAsSpace: Bool, allowNUL: Bool) -> Result<
        String, Failure
    > {
        var needsDecoding = false
        for byte in bytes {
            if byte == UInt8(ascii: "%") || (plusAsSpace && byte == UInt8(ascii: "+")) || byte >= 0x80 || byte == 0 {
                needsDecoding = true
                break
            }
        }
        if !needsDecoding {
            return .success(String(decoding: bytes, as: UTF8.self))
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
                else { return .failure(.malformedEscape) }
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
            return .failure(.encodedNUL)
        }
        return String(validating: decoded, as: UTF8.self).map(Result.success) ?? .failure(.notUTF8)
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
