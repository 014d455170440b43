// Strings: plain ASCII skipped a word at a time, UTF-8 validated, escapes decoded into scratch storage.

extension JSONParser.Reader {
    /// Parses the string whose opening quote is at `index`, leaving `index` after the closing quote.
    mutating func parseString() throws(JSONParseError) -> String {
        index &+= 1
        let start = index
        while true {
            skipPlainASCII()
            guard index < count else {
                throw error(.unexpectedEnd, at: index, "expected '\"' to close the string")
            }
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                let string = makeString(from: start, to: index)
                index &+= 1
                return string
            } else if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(from: start)
            } else if byte < 0x20 {
                throw error(.controlCharacterInString, at: index, "control characters must be escaped")
            } else if byte < 0x80 {
                index &+= 1
            } else {
                try skipMultiByteScalar()
            }
        }
    }

    /// Continues a string that contains escapes: `start` is its first content byte, `index` is at a backslash.
    mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var runStart = start
        while true {
            skipPlainASCII()
            guard index < count else {
                throw error(.unexpectedEnd, at: index, "expected '\"' to close the string")
            }
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                appendToScratch(from: runStart, to: index)
                index &+= 1
                return String(decoding: scratch, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                appendToScratch(from: runStart, to: index)
                try decodeEscape()
                runStart = index
            } else if byte < 0x20 {
                throw error(.controlCharacterInString, at: index, "control characters must be escaped")
            } else if byte < 0x80 {
                index &+= 1
            } else {
                try skipMultiByteScalar()
            }
        }
    }

    @inline(__always)
    func makeString(from start: Int, to end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: input[start..<end]), as: UTF8.self)
    }

    @inline(__always)
    mutating func appendToScratch(from start: Int, to end: Int) {
        if start < end {
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
        }
    }

    /// Moves `index` to the first byte at or after it that needs attention inside a string: `"`, `\`, a
    /// control below `0x20`, a non-ASCII byte, or the end of input. Works eight bytes at a time where possible.
    @inline(__always)
    mutating func skipPlainASCII() {
        var position = index
        let end = count
        while position &+ 8 <= end {
            let word = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            let mask = Self.attentionMask(word)
            if mask != 0 {
                index = position &+ mask.trailingZeroBitCount &>> 3
                return
            }
            position &+= 8
        }
        while position < end {
            let byte = input[position]
            if byte < 0x20 || byte >= 0x80 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                break
            }
            position &+= 1
        }
        index = position
    }

    /// The high bit of each byte of `word` (first byte in the low bits) that is `"`, `\`, below `0x20` or at
    /// least `0x80`. Borrows can flag extra bytes, but only above a truly flagged one, so the lowest set bit
    /// is always exact.
    @inline(__always)
    static func attentionMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let belowSpace = word &- ones &* 0x20
        let quoteHits = (quotes &- ones) & ~quotes
        let backslashHits = (backslashes &- ones) & ~backslashes
        return (word | belowSpace | quoteHits | backslashHits) & highBits
    }

    /// Validates the multi-byte UTF-8 sequence starting at `index` (a byte >= 0x80) and moves past it.
    mutating func skipMultiByteScalar() throws(JSONParseError) {
        let lead = input[index]
        let length: Int
        var secondLow: UInt8 = 0x80
        var secondHigh: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF:
            length = 2
        case 0xE0:
            length = 3
            secondLow = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF:
            length = 3
        case 0xED:
            length = 3
            secondHigh = 0x9F
        case 0xF0:
            length = 4
            secondLow = 0x90
        case 0xF1...0xF3:
            length = 4
        case 0xF4:
            length = 4
            secondHigh = 0x8F
        default:
            throw error(.invalidUTF8, at: index, "byte cannot start a UTF-8 sequence")
        }
        for position in 1..<length {
            guard index &+ position < count else {
                throw error(.unexpectedEnd, at: count, "input ends inside a UTF-8 sequence")
            }
            let byte = input[index &+ position]
            let low = position == 1 ? secondLow : 0x80
            let high = position == 1 ? secondHigh : 0xBF
            guard byte >= low && byte <= high else {
                throw error(.invalidUTF8, at: index, "ill-formed UTF-8 sequence")
            }
        }
        index &+= length
    }

    /// Decodes the escape whose backslash is at `index` into `scratch` and moves past it.
    mutating func decodeEscape() throws(JSONParseError) {
        let escapeStart = index
        guard index &+ 1 < count else {
            throw error(.unexpectedEnd, at: count, "input ends inside an escape sequence")
        }
        let decoded: UInt8
        switch input[index &+ 1] {
        case UInt8(ascii: "\""): decoded = 0x22
        case UInt8(ascii: "\\"): decoded = 0x5C
        case UInt8(ascii: "/"): decoded = 0x2F
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            try decodeUnicodeEscape()
            return
        default:
            throw error(.invalidEscape, at: escapeStart, "expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u")
        }
        scratch.append(decoded)
        index &+= 2
    }

    /// Decodes `\uXXXX` (combining a surrogate pair with the following `\uXXXX`) at `index` into `scratch`.
    mutating func decodeUnicodeEscape() throws(JSONParseError) {
        let escapeStart = index
        let first = try readUnicodeEscapeUnit()
        var scalarValue = UInt32(first)
        if first >= 0xDC00 && first <= 0xDFFF {
            throw error(.invalidUnicodeEscape, at: escapeStart, "lone low surrogate")
        }
        if first >= 0xD800 && first <= 0xDBFF {
            // Expect `\u` next; running out of input first is a truncation, anything else a lone surrogate.
            for (position, expected) in [(0, UInt8(ascii: "\\")), (1, UInt8(ascii: "u"))] {
                guard index &+ position < count else {
                    throw error(.unexpectedEnd, at: count, "expected a low surrogate escape")
                }
                guard input[index &+ position] == expected else {
                    throw error(.invalidUnicodeEscape, at: escapeStart, "high surrogate without a low surrogate")
                }
            }
            let second = try readUnicodeEscapeUnit()
            guard second >= 0xDC00 && second <= 0xDFFF else {
                throw error(.invalidUnicodeEscape, at: escapeStart, "high surrogate without a low surrogate")
            }
            scalarValue = 0x10000 &+ ((UInt32(first) &- 0xD800) << 10) &+ (UInt32(second) &- 0xDC00)
        }
        appendUTF8(scalarValue)
    }

    /// Reads the four hex digits of the `\u` escape whose backslash is at `index`, moving past them.
    mutating func readUnicodeEscapeUnit() throws(JSONParseError) -> UInt16 {
        let escapeStart = index
        var unit: UInt16 = 0
        for position in 2..<6 {
            guard index &+ position < count else {
                throw error(.unexpectedEnd, at: count, "input ends inside a \\u escape")
            }
            let byte = input[index &+ position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default:
                throw error(.invalidUnicodeEscape, at: escapeStart, "expected four hex digits after \\u")
            }
            unit = unit << 4 | UInt16(digit)
        }
        index &+= 6
        return unit
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            scratch.append(0xC0 | UInt8(truncatingIfNeeded: scalar >> 6))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(0xE0 | UInt8(truncatingIfNeeded: scalar >> 12))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        default:
            scratch.append(0xF0 | UInt8(truncatingIfNeeded: scalar >> 18))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 12) & 0x3F))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        }
    }
}
