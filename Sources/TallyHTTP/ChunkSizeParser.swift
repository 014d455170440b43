/// Parses the `chunk-size [ chunk-ext ]` line that precedes each chunk of a chunked body.
enum ChunkSizeParser {
    /// Parses a chunk-size line; chunk extensions are validated loosely and ignored.
    ///
    /// - Parameters:
    ///   - line: The line without its LF and without one CR before it.
    /// - Returns: The chunk size in bytes.
    /// - Throws: `badRequest` when the size is missing, not hexadecimal, overflows `Int`, is followed by
    ///   whitespace with no extension, or the extension contains control characters.
    static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var index = 0
        while index < line.count, let digit = HTTPGrammar.hexValue(line[index]) {
            guard size <= (Int.max - digit) >> 4 else { throw .badRequest("chunk size overflows") }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .badRequest("invalid chunk size") }
        guard index < line.count else { return size }
        // Whitespace only before an extension's `;` (RFC 9112 §7.1.1: BWS), never trailing the size alone.
        while index < line.count && HTTPGrammar.isWhitespace(line[index]) { index += 1 }
        guard index < line.count, line[index] == HTTPGrammar.semicolon else { throw .badRequest("invalid chunk size") }
        while index < line.count {
            guard HTTPGrammar.isFieldValueByte(line[index]) else { throw .badRequest("invalid chunk extension") }
            index += 1
        }
        return size
    }
}
