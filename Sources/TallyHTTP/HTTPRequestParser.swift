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
    enum Phase: Sendable, Equatable {
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

    /// The limits this parser enforces.
    let limits: HTTPLimits
    /// Whether heads are refused for their `Host` (see ``init(limits:checksHost:)``).
    let checksHost: Bool
    /// Received bytes; bytes before `readIndex` are consumed.
    var storage: [UInt8] = []
    /// Index of the first unconsumed byte in `storage`.
    var readIndex = 0
    /// Where the current line or header-end search resumes, relative to `readIndex` (read by tests that check
    /// a head delivered a byte at a time is never rescanned).
    var scanOffset = 0
    /// What the parser is waiting for.
    var phase: Phase = .head
    /// The parsed head of a request whose body is still arriving.
    var pendingRequest: HTTPRequest?
    /// The body bytes decoded so far for `pendingRequest` (chunked framing).
    var pendingBody: [UInt8] = []
    /// Bytes of trailer lines seen so far.
    var trailerBytes = 0
    /// Bytes of the current chunked body's chunk-size lines beyond their sizes' digits (see
    /// ``ChunkSizeParser/Line/overhead``).
    var chunkLineOverhead = 0
    /// Number of trailer lines seen so far.
    var trailerCount = 0
    /// The error the parser failed with, if any.
    private var failure: HTTPParseError?
    /// Whether empty lines were skipped since the last request: they are ignored on the wire but still start the
    /// next request's clock, or a client could hold a connection forever by sending one every few seconds.
    var skippedEmptyLines = false
    /// Whether the request whose body is arriving asked for `100 Continue` and has not been given it yet.
    private var continueOwed = false

    /// Creates a parser.
    ///
    /// - Parameters:
    ///   - limits: The size limits and policies to enforce. Defaults to ``HTTPLimits`` with its default values.
    public init(limits: HTTPLimits = .init()) {
        self.init(limits: limits, checksHost: false)
    }

    /// Creates a parser that also refuses a head whose `Host` breaks RFC 9112 §3.2 (a 400), before its
    /// framing or expectation is judged, as the server's connections do.
    ///
    /// - Parameters:
    ///   - limits: The size limits and policies to enforce.
    ///   - checksHost: Whether to check `Host` (see ``HostHeader``).
    init(limits: HTTPLimits, checksHost: Bool) {
        self.limits = limits
        self.checksHost = checksHost
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

    /// True when part of a request has arrived (bytes of its head, or its head and not all of its body): what
    /// a client that leaves now abandons. Empty lines skipped before a request are not part of it.
    public var holdsPartialRequest: Bool {
        failure == nil && (phase != .head || bufferedByteCount > 0)
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

    /// The request line of a head still arriving, once that line is whole and reads (its fields are not all
    /// here yet), or `nil`: a request that times out there is logged under its method and path.
    public var requestLineOfHeadArriving: (method: HTTPMethod, path: String)? {
        guard failure == nil, phase == .head, readIndex < storage.count else { return nil }
        return storage.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[readIndex...])
            let limit = min(bytes.count, limits.maxHeaderBytes)
            let lineEnd = HTTPGrammar.index(of: HTTPGrammar.lf, in: bytes, from: 0, to: limit)
            guard lineEnd < limit else { return nil }
            let end = lineEnd > 0 && bytes[lineEnd - 1] == HTTPGrammar.cr ? lineEnd - 1 : lineEnd
            return RequestHeadParser.naming(UnsafeBufferPointer(rebasing: bytes[..<end]))
        }
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
            var error = error
            // A body refused (its framing, its size) is its request's: the answer and log line name the
            // request and its id, whether its head arrived in the same read or an earlier one.
            if error.method == nil, let head = pendingRequest {
                error.method = head.method
                error.path = head.path
                error.requestId = head.headers[RequestID.headerName]
            }
            failure = error
            storage = []
            readIndex = 0
            scanOffset = 0
            pendingRequest = nil
            pendingBody = []
            throw error
        }
    }

    /// What one step of the state machine came to.
    enum Step {
        /// The buffered bytes end before the step could finish; the phase is unchanged.
        case needMore
        /// The step consumed bytes and moved to another phase.
        case proceed
        /// A request is complete.
        case complete(HTTPRequest)
    }

    /// Runs the state machine until a request completes or the buffered bytes run out.
    ///
    /// - Returns: A completed request, or `nil` when more bytes are needed.
    /// - Throws: ``HTTPParseError`` on malformed input or exceeded limits.
    private mutating func advance() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            let step: Step
            switch phase {
            case .head: step = try readHead()
            case .fixedBody(let length): step = try readFixedBody(length: length)
            case .chunkSize: step = try readChunkSize()
            case .chunkData(let remaining): step = readChunkData(remaining: remaining)
            case .chunkDataEnd: step = try readChunkDataEnd()
            case .trailers: step = try readTrailerLine()
            }
            switch step {
            case .needMore: return nil
            case .proceed: continue
            case .complete(let request): return request
            }
        }
    }

    /// Parses the request line and header section once the blank line ending them has arrived.
    ///
    /// - Returns: The request when it has no body; otherwise `proceed` to the body's framing.
    /// - Throws: ``HTTPParseError`` for a malformed or over-limit head.
    private mutating func readHead() throws(HTTPParseError) -> Step {
        guard let (section, total) = try locateHeadEnd() else { return .needMore }
        let limits = self.limits
        let checksHost = self.checksHost
        let head = try withBuffered(count: section) { (bytes) throws(HTTPParseError) in
            try RequestHeadParser.parse(bytes, limits: limits, checksHost: checksHost)
        }
        readIndex += total
        scanOffset = 0
        skippedEmptyLines = false
        continueOwed = head.expectsContinue
        switch head.framing {
        case .none:
            return .complete(head.request)
        case .contentLength(let length):
            pendingRequest = head.request
            phase = .fixedBody(length: length)
        case .chunked:
            pendingRequest = head.request
            pendingBody = []
            chunkLineOverhead = 0
            phase = .chunkSize
        }
        return .proceed
    }

    /// Completes a `Content-Length` body once all of its bytes are buffered.
    ///
    /// - Parameters:
    ///   - length: The body's length.
    /// - Returns: The completed request, or `needMore`.
    /// - Throws: `badRequest` if no request is pending (never expected).
    private mutating func readFixedBody(length: Int) throws(HTTPParseError) -> Step {
        guard bufferedByteCount >= length else { return .needMore }
        let body = Array(storage[readIndex..<(readIndex + length)])
        readIndex += length
        phase = .head
        return .complete(try finishPending(body: body))
    }

    /// Attaches `body` to the pending request and returns it.
    ///
    /// - Parameters:
    ///   - body: The complete body.
    /// - Returns: The completed request.
    /// - Throws: `badRequest` if no request is pending (an internal inconsistency; never expected).
    mutating func finishPending(body: [UInt8]) throws(HTTPParseError) -> HTTPRequest {
        guard var request = pendingRequest.take() else { throw .badRequest("internal error: no pending request") }
        // The body came without the invitation (a client may stop waiting for it): none is owed any more.
        continueOwed = false
        request.body = body
        return request
    }
}
