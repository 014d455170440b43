/// Parses the `chunk-size [ chunk-ext ]` line that precedes each chunk of a chunked body.
enum ChunkSizeParser {
    /// A parsed chunk-size line.
    struct Line: Equatable {
        /// The chunk size in bytes.
        var size: Int
        /// The line's bytes beyond the size's significant digits (leading zeros, extensions): counted
        /// against a request's allowance, since they cost reading but carry nothing.
        var overhead: Int
    }

    /// Parses a chunk-size line. Extensions are checked against RFC 9112 §7.1.1's grammar,
    /// `*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`, and ignored: one a proxy could read
    /// otherwise (an unclosed quote, a space inside a value) is refused, not passed over.
    ///
    /// - Parameters:
    ///   - line: The line without its CR LF.
    /// - Returns: The chunk size and the line's overhead.
    /// - Throws: `badRequest` when the size is missing, not hexadecimal, overflows `Int`, is followed by
    ///   whitespace with no extension, or an extension breaks the grammar.
    static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Line {
        var size = 0
        var index = 0
        var leadingZeros = 0
        while index < line.count, let digit = HTTPGrammar.hexValue(line[index]) {
            guard size <= (Int.max - digit) >> 4 else { throw .badRequest("chunk size overflows") }
            if size == 0 && digit == 0 { leadingZeros += 1 }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .badRequest("invalid chunk size") }
        // A size of 0 keeps one zero as its digit.
        let overhead = line.count - index + (size == 0 ? leadingZeros - 1 : leadingZeros)
        guard index < line.count else { return Line(size: size, overhead: overhead) }
        // Whitespace only before an extension's `;` (RFC 9112 §7.1.1: BWS), never trailing the size alone.
        skipWhitespace(line, &index)
        guard index < line.count, line[index] == HTTPGrammar.semicolon else { throw .badRequest("invalid chunk size") }
        while index < line.count {
            // BWS ";" BWS name
            skipWhitespace(line, &index)
            guard index < line.count, line[index] == HTTPGrammar.semicolon else {
                throw .badRequest("invalid chunk extension: expected ';'")
            }
            index += 1
            skipWhitespace(line, &index)
            guard skipToken(line, &index) else { throw .badRequest("invalid chunk extension: expected a name") }
            var afterName = index
            skipWhitespace(line, &afterName)
            guard afterName < line.count, line[afterName] == UInt8(ascii: "=") else {
                index = afterName
                continue
            }
            // BWS "=" BWS ( token / quoted-string )
            index = afterName + 1
            skipWhitespace(line, &index)
            if index < line.count, line[index] == UInt8(ascii: "\"") {
                try skipQuotedString(line, &index)
            } else if !skipToken(line, &index) {
                throw .badRequest("invalid chunk extension: expected a value")
            }
        }
        return Line(size: size, overhead: overhead)
    }

    private static func skipWhitespace(_ line: UnsafeBufferPointer<UInt8>, _ index: inout Int) {
        while index < line.count && HTTPGrammar.isWhitespace(line[index]) { index += 1 }
    }

    /// Skips a token; `false` when none starts at `index`.
    private static func skipToken(_ line: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Bool {
        let start = index
        while index < line.count && HTTPGrammar.isTokenChar(line[index]) { index += 1 }
        return index > start
    }

    /// Skips a quoted-string starting at its opening quote: qdtext (HTAB, SP, visible ASCII but `"` and `\`,
    /// obs-text) and quoted-pairs, up to the closing quote.
    private static func skipQuotedString(_ line: UnsafeBufferPointer<UInt8>, _ index: inout Int)
        throws(HTTPParseError)
    {
        index += 1
        while index < line.count {
            let byte = line[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                guard index + 1 < line.count, isQuotable(line[index + 1]) else {
                    throw .badRequest("invalid chunk extension: bad escape in a quoted value")
                }
                index += 2
            default:
                guard isQuotable(byte) else {
                    throw .badRequest("invalid chunk extension: a control character in a quoted value")
                }
                index += 1
            }
        }
        throw .badRequest("invalid chunk extension: unclosed quoted value")
    }

    /// HTAB, SP, visible ASCII and obs-text (0x80-0xFF).
    private static func isQuotable(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }
}
