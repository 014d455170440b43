/// An incremental, allocation-conscious HTTP/1.1 request parser (RFC 9112) for the server side.
///
/// The parser performs no I/O: feed it the bytes read from a connection with ``feed(_:)-([UInt8])`` and call
/// ``next()`` until it returns `nil` (more bytes needed). Pipelined requests are returned one at a time, in order;
/// bytes of a following request stay buffered. After an error the parser is permanently failed: ``next()`` rethrows
/// the same error, fed bytes are discarded, and the server should send ``HTTPParseError/status`` and close.
///
/// ```swift
/// var parser = HTTPRequestParser()
/// parser.feed(Array("GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
/// while let request = try parser.next() {
///     print(request.method, request.path, request.query)
/// }
/// ```
public struct HTTPRequestParser: Sendable {
    /// What the parser is waiting for.
    private enum Phase: Sendable, Equatable {
        /// The request line and header section.
        case head
        /// A `Content-Length` body of this many bytes.
        case fixedBody(length: Int)
        /// A chunk-size line.
        case chunkSize
        /// Chunk data, with this many bytes still to come.
        case chunkData(remaining: Int)
        /// The CRLF that ends chunk data.
        case chunkDataEnd
        /// Trailer field lines and the final blank line.
        case trailers
    }

    /// Result of searching the buffered bytes for the end of the header section.
    private enum HeadScan {
        /// The section (without blank line) is `section` bytes long; `total` includes the blank line.
        case found(section: Int, total: Int)
        /// Not found yet; the next search resumes at this offset.
        case needMore(resumeAt: Int)
        /// The header section cannot end within the limit.
        case tooLarge
        /// Not even the request line ends within the limit.
        case targetTooLong
    }

    /// The limits this parser enforces.
    private let limits: HTTPLimits
    /// Received bytes; bytes before `readIndex` are consumed.
    private var storage: [UInt8] = []
    /// Index of the first unconsumed byte in `storage`.
    private var readIndex = 0
    /// Where the current line or header-end search resumes, relative to `readIndex` (read by tests that check
    /// a head delivered a byte at a time is never rescanned).
    private(set) var scanOffset = 0
    /// What the parser is waiting for.
    private var phase: Phase = .head
    /// The parsed head of a request whose body is still arriving.
    private var pendingRequest: HTTPRequest?
    /// The body bytes decoded so far for `pendingRequest` (chunked framing).
    private var pendingBody: [UInt8] = []
    /// Bytes of trailer lines seen so far.
    private var trailerBytes = 0
    /// Number of trailer lines seen so far.
    private var trailerCount = 0
    /// The error the parser failed with, if any.
    private var failure: HTTPParseError?
    /// Whether empty lines were skipped since the last request: they are ignored on the wire but still start the
    /// next request's clock, or a client could hold a connection forever by sending one every few seconds.
    private var skippedEmptyLines = false
    /// Whether the request whose body is arriving asked for `100 Continue` and has not been given it yet.
    private var continueOwed = false

    /// Creates a parser.
    ///
    /// - Parameters:
    ///   - limits: The size limits and policies to enforce. Defaults to ``HTTPLimits`` with its default values.
    public init(limits: HTTPLimits = .init()) {
        self.limits = limits
    }

    /// Appends bytes received from the connection. Bytes fed after a failure are discarded.
    ///
    /// - Parameters:
    ///   - bytes: The received bytes; they are copied.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, !bytes.isEmpty else { return }
        bytes.withMemoryRebound(to: UInt8.self) { storage.append(contentsOf: $0) }
    }

    /// Appends bytes received from the connection. Bytes fed after a failure are discarded.
    ///
    /// - Parameters:
    ///   - bytes: The received bytes.
    public mutating func feed(_ bytes: [UInt8]) {
        guard failure == nil, !bytes.isEmpty else { return }
        storage.append(contentsOf: bytes)
    }

    /// Bytes buffered but not yet consumed (for pipelining tests). Decoded chunked body bytes are not counted.
    public var bufferedByteCount: Int { storage.count - readIndex }

    /// True once a request has started arriving but is not complete yet: some of its bytes are buffered, empty lines
    /// preceding it were skipped, or its body is being received (for slow-request timeouts). False when idle between
    /// requests and after a failure.
    public var isMidRequest: Bool {
        failure == nil && (phase != .head || bufferedByteCount > 0 || skippedEmptyLines)
    }

    /// True while the body of a request whose head is complete is being received (for the body timeout).
    public var isReceivingBody: Bool {
        failure == nil && phase != .head
    }

    /// The bytes the body now arriving will hold, as far as the framing has told: its `Content-Length`, or
    /// for a chunked body the bytes decoded so far plus the rest of the chunk being read. Zero while no body
    /// is arriving. The server refuses a body whose announced size its memory budget has no room for.
    public var announcedBodyBytes: Int {
        guard failure == nil else { return 0 }
        switch phase {
        case .head: return 0
        case .fixedBody(let length): return length
        case .chunkData(let remaining): return pendingBody.count + remaining
        case .chunkSize, .chunkDataEnd, .trailers: return pendingBody.count
        }
    }

    /// Whether the body arriving is chunked and holds no data so far: its first chunk's size is not known yet,
    /// or it was the last chunk (size 0) and the trailer section is still arriving. Such a body may turn out
    /// empty, however its bytes are split.
    var awaitsFirstChunk: Bool {
        failure == nil && pendingBody.isEmpty && (phase == .chunkSize || phase == .trailers)
    }

    /// Whether the request whose body is arriving waits for `100 Continue` before it sends it; unlike
    /// ``takeContinueRequest()``, asking does not answer it.
    var owesContinue: Bool {
        continueOwed && failure == nil && phase != .head
    }

    /// The head (request line and fields, no body) of the request whose body is arriving, or `nil`.
    public var headAwaitingBody: HTTPRequest? {
        failure == nil && phase != .head ? pendingRequest : nil
    }

    /// The bytes of the body now arriving that are held so far: buffered (`Content-Length`) or decoded
    /// (chunked). Zero while no body is arriving. The server charges its memory budget with these, so a
    /// client that announces a large body and sends nothing holds none of it.
    public var receivedBodyBytes: Int {
        guard failure == nil else { return 0 }
        switch phase {
        case .head: return 0
        case .fixedBody(let length): return min(bufferedByteCount, length)
        case .chunkSize, .chunkData, .chunkDataEnd, .trailers: return pendingBody.count
        }
    }

    /// Whether the request whose body is arriving sent `Expect: 100-continue` and still waits for the interim
    /// `100 Continue` (RFC 9110 §10.1.1); true once per such request, until its body completes. The head has
    /// passed every check by then (a `Content-Length` over the limit, say, fails it first), so the server
    /// may invite the body.
    /// - Returns: `true` once when the interim response is owed now; `false` otherwise.
    public mutating func takeContinueRequest() -> Bool {
        defer { continueOwed = false }
        return continueOwed && failure == nil && phase != .head
    }

    /// Returns the next complete request, or `nil` if more bytes are needed.
    ///
    /// Call repeatedly after each ``feed(_:)-([UInt8])`` until it returns `nil`, to drain pipelined requests.
    ///
    /// - Returns: The next request, or `nil` when the buffered bytes do not complete one.
    /// - Throws: ``HTTPParseError`` for a malformed or over-limit request; once thrown, every later call throws the
    ///   same error.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        if let failure { throw failure }
        do {
            let request = try advance()
            compact()
            return request
        } catch {
            failure = error
            storage = []
            readIndex = 0
            scanOffset = 0
            pendingRequest = nil
            pendingBody = []
            throw error
        }
    }

    /// Runs the state machine until a request completes or the buffered bytes run out.
    ///
    /// - Returns: A completed request, or `nil` when more bytes are needed.
    /// - Throws: ``HTTPParseError`` on malformed input or exceeded limits.
    private mutating func advance() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch phase {
            case .head:
                guard let (section, total) = try locateHeadEnd() else { return nil }
                let limits = self.limits
                let head = try withBuffered(count: section) { (bytes) throws(HTTPParseError) in
                    try RequestHeadParser.parse(bytes, limits: limits)
                }
                readIndex += total
                scanOffset = 0
                skippedEmptyLines = false
                continueOwed = head.expectsContinue
                switch head.framing {
                case .none:
                    return head.request
                case .contentLength(let length):
                    pendingRequest = head.request
                    phase = .fixedBody(length: length)
                case .chunked:
                    pendingRequest = head.request
                    pendingBody = []
                    phase = .chunkSize
                }

            case .fixedBody(let length):
                guard bufferedByteCount >= length else { return nil }
                let body = Array(storage[readIndex..<(readIndex + length)])
                readIndex += length
                phase = .head
                return try finishPending(body: body)

            case .chunkSize:
                guard
                    let (content, total) = try locateLine(
                        maxLength: limits.maxHeaderBytes,
                        tooLong: .badRequest("chunk-size line too long"))
                else { return nil }
                // Chunk framing ends its lines with CRLF only (RFC 9112 §7.1; a bare LF is tolerated in the
                // start line and fields alone, §2.2): a parser that differs from a proxy's here is how bodies
                // get smuggled.
                guard total == content + 2 else { throw .badRequest("chunk-size line must end with CRLF") }
                let size = try withBuffered(count: content) { (line) throws(HTTPParseError) in
                    try ChunkSizeParser.parse(line)
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

            case .chunkData(let remaining):
                let take = min(bufferedByteCount, remaining)
                guard take > 0 else { return nil }
                pendingBody.append(contentsOf: storage[readIndex..<(readIndex + take)])
                readIndex += take
                phase = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)

            case .chunkDataEnd:
                guard bufferedByteCount >= 1 else { return nil }
                guard storage[readIndex] == HTTPGrammar.cr else {
                    throw .badRequest("missing CRLF after chunk data")
                }
                guard bufferedByteCount >= 2 else { return nil }
                guard storage[readIndex + 1] == HTTPGrammar.lf else {
                    throw .badRequest("missing CRLF after chunk data")
                }
                readIndex += 2
                phase = .chunkSize

            case .trailers:
                guard
                    let (content, total) = try locateLine(
                        maxLength: limits.maxHeaderBytes - trailerBytes,
                        tooLong: HTTPParseError(code: .headersTooLarge, message: "trailer section too large"))
                else { return nil }
                // The trailer lines and the blank line ending the body are chunk framing too (RFC 9112 §7.1):
                // CRLF only, or `0\r\n\n` would end a body where a proxy sees a trailer line.
                guard total == content + 2 else { throw .badRequest("a chunked body's lines must end with CRLF") }
                if content == 0 {
                    readIndex += total
                    phase = .head
                    let body = pendingBody
                    pendingBody = []
                    return try finishPending(body: body)
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
            }
        }
    }

    /// Attaches `body` to the pending request and returns it.
    ///
    /// - Parameters:
    ///   - body: The complete body.
    /// - Returns: The completed request.
    /// - Throws: `badRequest` if no request is pending (an internal inconsistency; never expected).
    private mutating func finishPending(body: [UInt8]) throws(HTTPParseError) -> HTTPRequest {
        guard var request = pendingRequest.take() else { throw .badRequest("internal error: no pending request") }
        // The body came without the invitation (a client may stop waiting for it): none is owed any more.
        continueOwed = false
        request.body = body
        return request
    }

    /// Skips empty lines before a request line, then searches for the blank line ending the header section,
    /// resuming where the previous search stopped so byte-at-a-time delivery stays linear.
    ///
    /// - Returns: The section length (without the blank line) and the total length to consume, or `nil` when more
    ///   bytes are needed.
    /// - Throws: `headersTooLarge` when the section exceeds ``HTTPLimits/maxHeaderBytes``; `badRequest` for a bare
    ///   CR before the request line.
    private mutating func locateHeadEnd() throws(HTTPParseError) -> (section: Int, total: Int)? {
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
            let lineEnded = HTTPGrammar.index(of: HTTPGrammar.lf, in: bytes, from: 0, to: maxBytes) < maxBytes
            return lineEnded ? .tooLarge : .targetTooLong
        }
        switch scan {
        case .found(let section, let total):
            return (section, total)
        case .needMore(let resumeAt):
            // Byte 0 is never a line feed here, and a non-zero offset also marks the request line as started.
            scanOffset = max(resumeAt, 1)
            return nil
        case .tooLarge:
            throw HTTPParseError(code: .headersTooLarge, message: "header section exceeds \(maxBytes) bytes")
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
    private mutating func locateLine(
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
    private func withBuffered<R>(
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
    private mutating func compact() {
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
