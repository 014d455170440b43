/// Byte-level character classes and helpers from RFC 9110 / RFC 9112 used by the parser.
package enum HTTPGrammar {
    /// Appends a non-negative integer's decimal digits (status codes, lengths, log figures), building no
    /// string.
    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        var divisor = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            output.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / divisor % 10))
            divisor /= 10
        }
    }

    /// Carriage return.
    static let cr = UInt8(ascii: "\r")
    /// Line feed.
    static let lf = UInt8(ascii: "\n")
    /// Space.
    static let space = UInt8(ascii: " ")
    /// Horizontal tab.
    static let tab = UInt8(ascii: "\t")
    /// Colon separating field name and value.
    static let colon = UInt8(ascii: ":")
    /// Comma separating list elements.
    static let comma = UInt8(ascii: ",")
    /// Semicolon introducing parameters and chunk extensions.
    static let semicolon = UInt8(ascii: ";")

    /// Whether `byte` is a `tchar` (a character allowed in a token such as a method or field name).
    ///
    /// - Parameters:
    ///   - byte: The byte to classify.
    /// - Returns: `true` for ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``.
    @inline(__always)
    package static func isTokenChar(_ byte: UInt8) -> Bool {
        // Bit n of the masks is set when byte n (low mask: 0..<64, high mask: 64..<128) is a tchar.
        let mask: UInt64 = byte < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_C7FF_FFFE
        return byte < 128 && (mask >> UInt64(byte & 63)) & 1 == 1
    }

    /// Whether `byte` may appear inside a field value: HTAB, SP, VCHAR or obs-text (no CTLs, no DEL).
    ///
    /// - Parameters:
    ///   - byte: The byte to classify.
    /// - Returns: `true` when allowed.
    @inline(__always)
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte != 0x7F) || byte == tab
    }

    /// Whether `byte` is optional whitespace (SP or HTAB).
    ///
    /// - Parameters:
    ///   - byte: The byte to classify.
    /// - Returns: `true` for SP and HTAB.
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    /// The ASCII lower-case form of `byte`; other bytes are returned unchanged.
    ///
    /// - Parameters:
    ///   - byte: The byte to convert.
    /// - Returns: The lower-cased byte.
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
    }

    /// The value of a hexadecimal digit.
    ///
    /// - Parameters:
    ///   - byte: The byte to convert.
    /// - Returns: `0...15`, or `nil` when `byte` is not a hex digit.
    @inline(__always)
    package static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte &- UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte &- UInt8(ascii: "A")) + 10
        default: return nil
        }
    }

    /// Compares bytes with a lower-case ASCII literal, ignoring the case of the bytes.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to compare.
    ///   - literal: The expected spelling, in lower case.
    /// - Returns: `true` when equal ignoring ASCII case.
    static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<bytes.count where lowercased(bytes[index]) != expected[index] {
            return false
        }
        return true
    }

    /// The index of the first occurrence of `target` in `bytes[start..<end]`, examining eight bytes at a time.
    ///
    /// - Parameters:
    ///   - target: The byte to find.
    ///   - bytes: The buffer to search.
    ///   - start: The first index to examine.
    ///   - end: One past the last index to examine; must not exceed `bytes.count`.
    /// - Returns: The index of the first match, or `end` when there is none.
    static func index(of target: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        guard let base = bytes.baseAddress else { return end }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let pattern = UInt64(target) &* ones
        var index = start
        while index + 8 <= end {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) ^ pattern
            // The lowest flagged byte is exactly the first zero byte of `word`, i.e. the first match.
            let flagged = (word &- ones) & ~word & highs
            if flagged != 0 {
                return index + flagged.trailingZeroBitCount >> 3
            }
            index += 8
        }
        while index < end {
            if bytes[index] == target { return index }
            index += 1
        }
        return end
    }

    /// Whether every byte in `bytes[range]` satisfies ``isFieldValueByte(_:)``, examining eight bytes at a time.
    ///
    /// - Parameters:
    ///   - bytes: The buffer holding the value.
    ///   - range: The range to check; must lie within `bytes`.
    /// - Returns: `true` when the range holds no control characters other than HTAB and no DEL.
    static func isValidFieldValue(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        guard let base = bytes.baseAddress else { return range.isEmpty }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = range.lowerBound
        while index + 8 <= range.upperBound {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            // Flags bytes below 0x20 (exact for bytes below 0x80) and bytes equal to 0x7F.
            let belowSpace = (word &- 0x20 &* ones) & ~word & highs
            let deleted = word ^ (0x7F &* ones)
            let isDelete = (deleted &- ones) & ~deleted & highs
            if belowSpace | isDelete != 0 {
                for offset in index..<(index + 8) where !isFieldValueByte(bytes[offset]) {
                    return false
                }
            }
            index += 8
        }
        while index < range.upperBound {
            if !isFieldValueByte(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    /// The sub-range of `range` with leading and trailing SP/HTAB removed.
    ///
    /// - Parameters:
    ///   - bytes: The buffer the range indexes into.
    ///   - range: The range to trim.
    /// - Returns: The trimmed range (possibly empty).
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper && isWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower && isWhitespace(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    /// Calls `body` with each comma-separated element of a list field value, trimmed of OWS; empty elements are
    /// skipped as RFC 9110 §5.6.1 allows.
    ///
    /// - Parameters:
    ///   - bytes: The buffer holding the value.
    ///   - range: The range of the value.
    ///   - body: Called with each non-empty element as a buffer slice.
    /// - Throws: Whatever `body` throws.
    static func forEachListElement<E: Error>(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ range: Range<Int>,
        _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> Void
    ) throws(E) {
        var start = range.lowerBound
        while start <= range.upperBound {
            var end = start
            while end < range.upperBound && bytes[end] != comma { end += 1 }
            let element = trimmed(bytes, start..<end)
            if !element.isEmpty {
                try body(UnsafeBufferPointer(rebasing: bytes[element]))
            }
            start = end + 1
        }
    }
}
