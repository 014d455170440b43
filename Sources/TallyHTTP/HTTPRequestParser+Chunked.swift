extension HTTPRequestParser {
    /// Reads a chunk-size line (RFC 9112 §7.1): a chunk of that many bytes follows, or, for size 0, the trailer
    /// section.
    ///
    /// - Returns: `proceed` once the line is read, or `needMore`.
    /// - Throws: `badRequest` for a malformed line; `bodyTooLarge` when the chunk would take the body past
    ///   ``HTTPLimits/maxBodyBytes``.
    mutating func readChunkSize() throws(HTTPParseError) -> Step {
        guard
            let (content, total) = try locateLine(
                maxLength: limits.maxHeaderBytes,
                tooLong: .badRequest("chunk-size line too long"))
        else { return .needMore }
        // Chunk framing ends its lines with CRLF only (RFC 9112 §7.1; a bare LF is tolerated in the
        // start line and fields alone, §2.2): a parser that differs from a proxy's here is how bodies
        // get smuggled.
        guard total == content + 2 else { throw .badRequest("chunk-size line must end with CRLF") }
        let line = try withBuffered(count: content) { (line) throws(HTTPParseError) in
            try ChunkSizeParser.parse(line)
        }
        let size = line.size
        // Leading zeros and extensions carry nothing and do not count against the body's limit: bounded in
        // all, or one-byte chunks each with a long extension would have a 16 MiB body cost gigabytes.
        chunkLineOverhead += line.overhead
        guard chunkLineOverhead <= limits.maxHeaderBytes else {
            throw .badRequest(
                "chunk extensions and leading zeros exceed \(limits.maxHeaderBytes) bytes in all in this body")
        }
        readIndex += total
        if size == 0 {
            trailerBytes = 0
            trailerCount = 0
            phase = .trailers
        } else {
            guard size <= limits.maxBodyBytes - pendingBody.count else {
                throw HTTPParseError(
                    code: .bodyTooLarge, message: "chunked body exceeds \(limits.maxBodyBytes)")
            }
            phase = .chunkData(remaining: size)
        }
        return .proceed
    }

    /// Decodes as much of the current chunk's data as is buffered.
    ///
    /// - Parameters:
    ///   - remaining: The chunk's bytes still to come.
    /// - Returns: `proceed` when bytes were taken, or `needMore`.
    mutating func readChunkData(remaining: Int) -> Step {
        let take = min(bufferedByteCount, remaining)
        guard take > 0 else { return .needMore }
        pendingBody.append(contentsOf: storage[readIndex..<(readIndex + take)])
        readIndex += take
        phase = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
        return .proceed
    }

    /// Reads the CRLF that ends a chunk's data.
    ///
    /// - Returns: `proceed` once it is read, or `needMore`.
    /// - Throws: `badRequest` when the data is not followed by CRLF.
    mutating func readChunkDataEnd() throws(HTTPParseError) -> Step {
        guard bufferedByteCount >= 1 else { return .needMore }
        guard storage[readIndex] == HTTPGrammar.cr else {
            throw .badRequest("missing CRLF after chunk data")
        }
        guard bufferedByteCount >= 2 else { return .needMore }
        guard storage[readIndex + 1] == HTTPGrammar.lf else {
            throw .badRequest("missing CRLF after chunk data")
        }
        readIndex += 2
        phase = .chunkSize
        return .proceed
    }

    /// Reads one trailer line, or the blank line that completes the request.
    ///
    /// - Returns: The completed request at the blank line; `proceed` after a trailer line; or `needMore`.
    /// - Throws: `badRequest` for a malformed line; `headersTooLarge` past the header limits.
    mutating func readTrailerLine() throws(HTTPParseError) -> Step {
        guard
            let (content, total) = try locateLine(
                maxLength: limits.maxHeaderBytes - trailerBytes,
                tooLong: HTTPParseError(code: .headersTooLarge, message: "trailer section too large"))
        else { return .needMore }
        // The trailer lines and the blank line ending the body are chunk framing too (RFC 9112 §7.1):
        // CRLF only, or `0\r\n\n` would end a body where a proxy sees a trailer line.
        guard total == content + 2 else { throw .badRequest("a chunked body's lines must end with CRLF") }
        if content == 0 {
            readIndex += total
            phase = .head
            let body = pendingBody
            pendingBody = []
            return .complete(try finishPending(body: body))
        }
        _ = try withBuffered(count: content) { (line) throws(HTTPParseError) in
            try RequestHeadParser.splitFieldLine(line, 0..<line.count)
        }
        trailerCount += 1
        trailerBytes += total
        guard trailerCount <= limits.maxHeaderCount, trailerBytes <= limits.maxHeaderBytes else {
            throw HTTPParseError(code: .headersTooLarge, message: "trailer section too large")
        }
        readIndex += total
        return .proceed
    }
}
