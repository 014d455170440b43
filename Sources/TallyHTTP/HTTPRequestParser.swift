/// An incremental HTTP/1.1 request parser (RFC 9112): fed bytes as they arrive, it returns complete requests
/// in order. Pure logic, no I/O.
///
/// Limits are enforced as bytes arrive: 16 KiB of header bytes without the blank line fail at once (431),
/// a declared body over the limit fails before the body is read (413). Both `Transfer-Encoding` and
/// `Content-Length` on one request is refused (400), closing the request-smuggling door.
public struct HTTPRequestParser: Sendable {
    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the end of the header section resumes (no rescanning on slow clients).
    private var scanFrom = 0
    private var pending: Head?
    private var chunked: ChunkState?
    private var failure: HTTPParseError?

    private struct Head: Sendable {
        var method: HTTPMethod
        var target: String
        var path: String
        var query: [QueryItem]
        var minorVersion: Int
        var headers: HTTPHeaders
        var keepAlive: Bool
        var contentLength: Int?
        var isChunked: Bool
    }

    private struct ChunkState: Sendable {
        var body: [UInt8] = []
        /// Bytes of the current chunk still to read, or `nil` when a size line is expected.
        var remaining: Int?
        var readingTrailers = false
    }

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Bytes received but not yet consumed.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Whether a request has begun arriving but is not complete.
    public var isMidRequest: Bool { pending != nil || bufferedByteCount > 0 }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scanFrom -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The next complete request, `nil` when more bytes are needed.
    /// - Throws: ``HTTPParseError``; after an error the parser keeps failing.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        if let failure { throw failure }
        do {
            let request = try parseNext()
            if start > 64 * 1024 && start * 2 > buffer.count {
                buffer.removeSubrange(0..<start)
                scanFrom -= start
                start = 0
            }
            return request
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func parseNext() throws(HTTPParseError) -> HTTPRequest? {
        if pending == nil {
            guard let head = try parseHead() else { return nil }
            pending = head
            if head.isChunked { chunked = ChunkState() }
        }
        guard let head = pending else { return nil }
        let body: [UInt8]
        if head.isChunked {
            guard let decoded = try parseChunks() else { return nil }
            body = decoded
        } else {
            let length = head.contentLength ?? 0
            guard bufferedByteCount >= length else { return nil }
            body = Array(buffer[start..<start + length])
            start += length
        }
        pending = nil
        chunked = nil
        scanFrom = start
        return HTTPRequest(method: head.method, target: head.target, path: head.path, query: head.query,
                           minorVersion: head.minorVersion, headers: head.headers, body: body,
                           keepAlive: head.keepAlive)
    }

    // MARK: - Head

    private mutating func parseHead() throws(HTTPParseError) -> Head? {
        // Find the blank line that ends the header section (CRLF CRLF, or bare LF LF).
        var index = max(scanFrom, start)
        var end: Int?
        var bodyStart = 0
        while index < buffer.count {
            if buffer[index] == 0x0A {
                if index + 1 < buffer.count, buffer[index + 1] == 0x0A {
                    end = index
                    bodyStart = index + 2
                    break
                }
                if index + 2 < buffer.count, buffer[index + 1] == 0x0D, buffer[index + 2] == 0x0A {
                    end = index
                    bodyStart = index + 3
                    break
                }
            }
            index += 1
        }
        guard let headEnd = end else {
            scanFrom = max(start, buffer.count - 2)
            if buffer.count - start > limits.maxHeaderBytes {
                throw HTTPParseError(.headersTooLarge, "request line and headers exceed \(limits.maxHeaderBytes) bytes")
            }
            return nil
        }
        guard headEnd + 1 - start <= limits.maxHeaderBytes else {
            throw HTTPParseError(.headersTooLarge, "request line and headers exceed \(limits.maxHeaderBytes) bytes")
        }
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = start
        for position in start...headEnd where buffer[position] == 0x0A {
            var lineEnd = position
            if lineEnd > lineStart, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            lines.append(buffer[lineStart..<lineEnd])
            lineStart = position + 1
        }
        start = bodyStart
        scanFrom = start
        guard let requestLine = lines.first else { throw HTTPParseError(.badRequest, "empty request") }
        var head = try parseRequestLine(requestLine)
        guard lines.count - 1 <= limits.maxHeaderCount else {
            throw HTTPParseError(.headersTooLarge, "more than \(limits.maxHeaderCount) header fields")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            let (name, value) = try parseHeader(line)
            headers.append(name, value)
        }
        head.headers = headers
        try applyFraming(&head)
        return head
    }

    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Head {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw HTTPParseError(.badRequest, "malformed request line")
        }
        guard parts[0].allSatisfy(HTTPRequestParser.isTokenByte) else {
            throw HTTPParseError(.badRequest, "malformed method")
        }
        let version = parts[2]
        guard version.count == 8, version.starts(with: Array("HTTP/".utf8)), version[version.startIndex + 6] == 0x2E,
              let major = HTTPRequestParser.digit(version[version.startIndex + 5]),
              let minor = HTTPRequestParser.digit(version[version.startIndex + 7]) else {
            throw HTTPParseError(.badRequest, "malformed HTTP version")
        }
        guard major == 1, minor <= 1 else {
            throw HTTPParseError(.versionNotSupported, "HTTP/\(major).\(minor) is not supported; use HTTP/1.1")
        }
        let method = HTTPMethod(String(decoding: parts[0], as: UTF8.self))
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPParseError(.badRequest, "request target contains invalid characters")
        }
        let target = String(decoding: parts[1], as: UTF8.self)
        var path = target
        var query: [QueryItem] = []
        if target == "*" {
            guard method == .options else { throw HTTPParseError(.badRequest, "request target * is for OPTIONS only") }
        } else {
            guard target.hasPrefix("/") else {
                throw HTTPParseError(.badRequest, "request target must be a path starting with /")
            }
            var rawPath = Substring(target)
            if let mark = target.firstIndex(of: "?") {
                rawPath = target[..<mark]
                query = try HTTPRequestParser.parseQuery(target[target.index(after: mark)...])
            }
            guard let decoded = HTTPRequestParser.percentDecode(rawPath, plusIsSpace: false) else {
                throw HTTPParseError(.badRequest, "request path has invalid percent-encoding")
            }
            path = decoded
        }
        return Head(method: method, target: target, path: path, query: query, minorVersion: minor,
                    headers: HTTPHeaders(), keepAlive: minor == 1, contentLength: nil, isChunked: false)
    }

    private func parseHeader(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String) {
        guard let first = line.first, first != 0x20, first != 0x09 else {
            throw HTTPParseError(.badRequest, "obsolete line folding or whitespace before a header name")
        }
        guard let colon = line.firstIndex(of: 0x3A) else { throw HTTPParseError(.badRequest, "header line without ':'") }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(HTTPRequestParser.isTokenByte) else {
            throw HTTPParseError(.badRequest, "invalid header name")
        }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == 0x20 || byte == 0x09 { value = value.dropFirst() }
        while let byte = value.last, byte == 0x20 || byte == 0x09 { value = value.dropLast() }
        guard value.allSatisfy({ $0 != 0x00 && $0 != 0x0D && $0 != 0x0A }) else {
            throw HTTPParseError(.badRequest, "invalid character in header value")
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    private func applyFraming(_ head: inout Head) throws(HTTPParseError) {
        let connection = head.headers.values("Connection").joined(separator: ",").lowercased()
        let tokens = connection.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if tokens.contains("close") { head.keepAlive = false }
        if head.minorVersion == 0 { head.keepAlive = tokens.contains("keep-alive") && !tokens.contains("close") }
        let encodings = head.headers.values("Transfer-Encoding")
        let lengths = head.headers.values("Content-Length")
        if !encodings.isEmpty {
            guard lengths.isEmpty else {
                throw HTTPParseError(.badRequest, "both Transfer-Encoding and Content-Length are present")
            }
            let codings = encodings.joined(separator: ",").lowercased().split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard codings.last == "chunked" else {
                if codings.contains("chunked") { throw HTTPParseError(.badRequest, "chunked must be the last transfer coding") }
                throw HTTPParseError(.notImplemented, "transfer coding \(codings.joined(separator: ", ")) is not supported")
            }
            guard codings.count == 1 else {
                throw HTTPParseError(.notImplemented, "only the chunked transfer coding is supported")
            }
            head.isChunked = true
            return
        }
        if !lengths.isEmpty {
            let values = Set(lengths.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
            guard values.count == 1, let text = values.first, !text.isEmpty, text.utf8.count <= 18,
                  text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text) else {
                throw HTTPParseError(.badRequest, "invalid or conflicting Content-Length")
            }
            guard length <= limits.maxBodyBytes else {
                throw HTTPParseError(.bodyTooLarge, "body of \(length) bytes exceeds the \(limits.maxBodyBytes)-byte limit")
            }
            head.contentLength = length
        }
    }

    // MARK: - Chunked bodies

    private mutating func parseChunks() throws(HTTPParseError) -> [UInt8]? {
        guard var state = chunked else { return nil }
        defer { chunked = state }
        while true {
            if state.readingTrailers {
                guard let line = takeLine() else { return nil }
                if line.isEmpty { return state.body }
                continue
            }
            if let remaining = state.remaining {
                if remaining > 0 {
                    let available = min(remaining, bufferedByteCount)
                    guard available > 0 else { return nil }
                    state.body.append(contentsOf: buffer[start..<start + available])
                    start += available
                    state.remaining = remaining - available
                    continue
                }
                // The CRLF after a chunk's data.
                guard let line = takeLine() else { return nil }
                guard line.isEmpty else { throw HTTPParseError(.badRequest, "chunk data longer than its size") }
                state.remaining = nil
                continue
            }
            guard let line = takeLine() else {
                if bufferedByteCount > 1024 { throw HTTPParseError(.badRequest, "chunk size line too long") }
                return nil
            }
            let sizeText = line.prefix { $0 != 0x3B }.filter { $0 != 0x20 && $0 != 0x09 }
            guard !sizeText.isEmpty, sizeText.count <= 15, sizeText.allSatisfy(HTTPRequestParser.isHexByte),
                  let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16) else {
                throw HTTPParseError(.badRequest, "invalid chunk size")
            }
            guard state.body.count + size <= limits.maxBodyBytes else {
                throw HTTPParseError(.bodyTooLarge, "chunked body exceeds the \(limits.maxBodyBytes)-byte limit")
            }
            if size == 0 {
                state.readingTrailers = true
            } else {
                state.remaining = size
            }
        }
    }

    /// Takes one line (without CRLF or LF) from the buffer, or `nil` when no full line has arrived.
    private mutating func takeLine() -> ArraySlice<UInt8>? {
        guard let newline = buffer[start...].firstIndex(of: 0x0A) else { return nil }
        var end = newline
        if end > start, buffer[end - 1] == 0x0D { end -= 1 }
        let line = buffer[start..<end]
        start = newline + 1
        return line
    }

    // MARK: - Helpers

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    static func isHexByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    static func digit(_ byte: UInt8) -> Int? {
        (0x30...0x39).contains(byte) ? Int(byte - 0x30) : nil
    }

    static func parseQuery(_ text: Substring) throws(HTTPParseError) -> [QueryItem] {
        var items: [QueryItem] = []
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecode(parts[0], plusIsSpace: true),
                  let value = percentDecode(parts.count > 1 ? parts[1] : "", plusIsSpace: true) else {
                throw HTTPParseError(.badRequest, "query has invalid percent-encoding")
            }
            items.append(QueryItem(name: name, value: value))
        }
        return items
    }

    /// Decodes `%XX` escapes; `nil` for a bad escape, invalid UTF-8 or a NUL.
    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else {
                bytes.append(byte)
            }
        }
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
