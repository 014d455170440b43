extension HTTPRequestParser {
    /// Result of searching the buffered bytes for the end of the header section.
    private enum HeadScan {
        /// The section (without blank line) is `section` bytes long; `total` includes the blank line.
        case found(section: Int, total: Int)
        /// Not found yet; the next search resumes at this offset.
        case needMore(resumeAt: Int)
        /// The header section cannot end within the limit; its request line, without line end, is `requestLine`
        /// bytes long.
        case tooLarge(requestLine: Int)
        /// Not even the request line ends within the limit.
        case targetTooLong
    }

    /// Skips empty lines before a request line, then searches for the blank line ending the header section,
    /// resuming where the previous search stopped so byte-at-a-time delivery stays linear.
    ///
    /// - Returns: The section length (without the blank line) and the total length to consume, or `nil` when more
    ///   bytes are needed.
    /// - Throws: `headersTooLarge` when the section exceeds ``HTTPLimits/maxHeaderBytes``; `badRequest` for a bare
    ///   CR before the request line.
    mutating func locateHeadEnd() throws(HTTPParseError) -> (section: Int, total: Int)? {
        if scanOffset == 0 {
            while readIndex < storage.count {
                let byte = storage[readIndex]
                if byte == HTTPGrammar.lf {
                    readIndex += 1
                    skippedEmptyLines = true
                } else if byte == HTTPGrammar.cr {
                    guard readIndex + 1 < storage.count else { return nil }
                    guard storage[readIndex + 1] == HTTPGrammar.lf else { throw .badRequest("bare CR") }
                    readIndex += 2
                    skippedEmptyLines = true
                } else {
                    break
                }
            }
            guard readIndex < storage.count else { return nil }
        }
        let start = readIndex
        let resume = scanOffset
        let maxBytes = limits.maxHeaderBytes
        let scan: HeadScan = storage.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[start...])
            let count = bytes.count
            let limit = min(count, maxBytes)
            var index = resume
            while true {
                index = HTTPGrammar.index(of: HTTPGrammar.lf, in: bytes, from: index, to: limit)
                guard index < limit else { break }
                guard index + 1 < count else { return .needMore(resumeAt: index) }
                let following = bytes[index + 1]
                if following == HTTPGrammar.lf {
                    return .found(section: index + 1, total: index + 2)
                }
                if following == HTTPGrammar.cr {
                    guard index + 2 < count else { return .needMore(resumeAt: index) }
                    if bytes[index + 2] == HTTPGrammar.lf {
                        return .found(section: index + 1, total: index + 3)
                    }
                }
                index += 1
            }
            guard count > maxBytes else { return .needMore(resumeAt: limit) }
            // No line end in the whole allowance: the request line alone is too long (RFC 9112 §3: 414).
            let lineEnd = HTTPGrammar.index(of: HTTPGrammar.lf, in: bytes, from: 0, to: maxBytes)
            guard lineEnd < maxBytes else { return .targetTooLong }
            return .tooLarge(requestLine: lineEnd > 0 && bytes[lineEnd - 1] == HTTPGrammar.cr ? lineEnd - 1 : lineEnd)
        }
        switch scan {
        case .found(let section, let total):
            return (section, total)
        case .needMore(let resumeAt):
            // Byte 0 is never a line feed here, and a non-zero offset also marks the request line as started.
            scanOffset = max(resumeAt, 1)
            return nil
        case .tooLarge(let requestLine):
            var error = HTTPParseError(code: .headersTooLarge, message: "header section exceeds \(maxBytes) bytes")
            // A request line that reads is the request refused: its answer is logged under its method and
            // path, and a HEAD gets the answer's head alone, as for any refusal after the request line.
            let named = storage.withUnsafeBufferPointer { all in
                RequestHeadParser.naming(UnsafeBufferPointer(rebasing: all[start..<(start + requestLine)]))
            }
            error.method = named?.method
            error.path = named?.path
            throw error
        case .targetTooLong:
            throw HTTPParseError(code: .targetTooLong, message: "request line exceeds \(maxBytes) bytes")
        }
    }

    /// Searches for the end of the line starting at `readIndex`, resuming where the previous search stopped.
    ///
    /// - Parameters:
    ///   - maxLength: The longest acceptable line, in bytes, excluding its LF.
    ///   - tooLong: The error to throw when the line exceeds `maxLength`.
    /// - Returns: The content length (without LF and one preceding CR) and the total length including the LF, or
    ///   `nil` when more bytes are needed.
    /// - Throws: `tooLong` when the line is longer than `maxLength`.
    mutating func locateLine(
        maxLength: Int,
        tooLong: HTTPParseError
    ) throws(HTTPParseError) -> (content: Int, total: Int)? {
        let start = readIndex
        let resume = scanOffset
        let found: (content: Int, total: Int)? = storage.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[start...])
            let index = HTTPGrammar.index(of: HTTPGrammar.lf, in: bytes, from: resume, to: bytes.count)
            guard index < bytes.count else { return nil }
            let content = index > 0 && bytes[index - 1] == HTTPGrammar.cr ? index - 1 : index
            return (content, index + 1)
        }
        guard let found else {
            scanOffset = bufferedByteCount
            if bufferedByteCount > maxLength { throw tooLong }
            return nil
        }
        scanOffset = 0
        if found.content > maxLength { throw tooLong }
        return found
    }

    /// Calls `body` with the first `count` unconsumed bytes.
    ///
    /// - Parameters:
    ///   - count: How many bytes to expose; must not exceed ``bufferedByteCount``.
    ///   - body: The work to do with the bytes.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    func withBuffered<R>(
        count: Int,
        _ body: (UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> R
    ) throws(HTTPParseError) -> R {
        let start = readIndex
        let result: Result<R, HTTPParseError> = storage.withUnsafeBufferPointer { all in
            do throws(HTTPParseError) {
                return .success(try body(UnsafeBufferPointer(rebasing: all[start..<(start + count)])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Drops consumed bytes when that is cheap (buffer fully consumed) or amortised (consumed prefix is large and at
    /// least half the buffer), keeping the total copying linear in the bytes received.
    mutating func compact() {
        if readIndex == storage.count {
            if storage.capacity > 64 * 1024 {
                storage = []
            } else {
                storage.removeAll(keepingCapacity: true)
            }
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= storage.count {
            storage.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
