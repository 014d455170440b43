/// Parses a complete header section (request line plus field lines) into a request and its body framing.
enum RequestHeadParser {
    /// The outcome of parsing a header section.
    struct Head: Sendable {
        /// The request with an empty body.
        var request: HTTPRequest
        /// How the body that follows is delimited.
        var framing: BodyFraming
        /// Whether the client waits for `100 Continue` before it sends the body (`Expect: 100-continue` on an
        /// HTTP/1.1 request that has one).
        var expectsContinue = false
    }

    /// Parses a header section.
    ///
    /// - Parameters:
    ///   - head: The bytes of the section from the request line up to and including the line feed that ends the
    ///     last field line, excluding the blank line. Every line in it ends with LF, optionally preceded by CR.
    ///   - limits: The limits to enforce.
    /// - Returns: The request (with an empty body) and the framing of its body.
    /// - Throws: ``HTTPParseError`` with code `badRequest`, `headersTooLarge`, `bodyTooLarge`,
    ///   `versionNotSupported`, `notImplemented`, `lengthRequired` or `expectationFailed`.
    static func parse(_ head: UnsafeBufferPointer<UInt8>, limits: HTTPLimits, checksHost: Bool = false)
        throws(HTTPParseError) -> Head
    {
        var cursor = 0
        let requestLine = nextLine(head, from: &cursor)
        do throws(HTTPParseError) {
            let request = try parseRequestLine(UnsafeBufferPointer(rebasing: head[requestLine]))
            do throws(HTTPParseError) {
                return try parseFields(head, from: cursor, of: request, limits: limits, checksHost: checksHost)
            } catch {
                // The request line was read: the answer is logged under the request it refuses, and a HEAD
                // gets the answer's head alone.
                var refusal = error
                refusal.method = request.method
                refusal.path = request.path
                throw refusal
            }
        } catch {
            // Whatever was refused, the client's id names the answer, as it names any other.
            var refusal = error
            refusal.requestId = requestIdField(in: head, from: cursor)
            throw refusal
        }
    }

    /// The value of the first well-formed `X-Request-Id` field line of a head, from `start` on, or `nil`.
    /// Read on its own, so a head refused for another of its fields still names its request.
    private static func requestIdField(in head: UnsafeBufferPointer<UInt8>, from start: Int) -> String? {
        var cursor = start
        while cursor < head.count {
            let line = nextLine(head, from: &cursor)
            guard let (name, value) = try? splitFieldLine(head, line),
                HTTPGrammar.equalsIgnoringCase(UnsafeBufferPointer(rebasing: head[name]), "x-request-id")
            else { continue }
            return String(decoding: UnsafeBufferPointer(rebasing: head[value]), as: UTF8.self)
        }
        return nil
    }

    /// Parses the field lines after the request line, checks `Host` (when asked), the body's framing and
    /// `Expect`, in
    /// that order: a `Host` problem is the 400 RFC 9112 §3.2 asks for, whatever else is wrong with the
    /// framing (501) or the expectation (417).
    private static func parseFields(
        _ head: UnsafeBufferPointer<UInt8>, from start: Int, of requestLine: HTTPRequest, limits: HTTPLimits,
        checksHost: Bool
    ) throws(HTTPParseError) -> Head {
        var cursor = start
        var request = requestLine
        var headers: [HTTPHeader] = []
        headers.reserveCapacity(12)
        var fields = FramingFields()
        while cursor < head.count {
            let line = nextLine(head, from: &cursor)
            guard headers.count < limits.maxHeaderCount else {
                throw HTTPParseError(
                    code: .headersTooLarge, message: "more than \(limits.maxHeaderCount) header fields")
            }
            let header = try parseFieldLine(head, line, fields: &fields)
            headers.append(header)
        }
        request.headers = HTTPHeaders(headers)
        // A request refused for its Host is refused on its head: its body is neither invited nor read.
        if checksHost, let problem = HostHeader.problem(in: request) { throw .badRequest(problem) }

        let framing = try resolveFraming(fields, request: request, limits: limits)
        if request.minorVersion == 0 {
            request.keepAlive = fields.connectionKeepAlive && !fields.connectionClose
        } else {
            request.keepAlive = !fields.connectionClose
        }
        // RFC 9110 §10.1.1: an HTTP/1.0 request's Expect is ignored; 100-continue is the only expectation.
        guard request.minorVersion == 0 || !fields.unknownExpectation else {
            throw HTTPParseError(code: .expectationFailed, message: "the only expectation supported is 100-continue")
        }
        let hasBody: Bool
        switch framing {
        case .none: hasBody = false
        case .contentLength(let length): hasBody = length > 0
        case .chunked: hasBody = true
        }
        // A request the server will refuse for its Host is not invited to send its body (a parser that does
        // not check it leaves that to its caller); checked last, so only requests that would be invited pay.
        return Head(
            request: request, framing: framing,
            expectsContinue: request.minorVersion == 1 && fields.expectContinue && hasBody
                && HostHeader.problem(in: request) == nil)
    }

    /// Returns the content range of the line starting at `cursor` (without its CR LF) and advances `cursor` past it.
    ///
    /// - Parameters:
    ///   - bytes: The header section.
    ///   - cursor: The start of the line; on return, the start of the next line.
    /// - Returns: The line's content range, excluding the terminating LF and one CR before it.
    private static func nextLine(_ bytes: UnsafeBufferPointer<UInt8>, from cursor: inout Int) -> Range<Int> {
        let start = cursor
        var end = HTTPGrammar.index(of: HTTPGrammar.lf, in: bytes, from: start, to: bytes.count)
        cursor = end + 1
        if end > start && bytes[end - 1] == HTTPGrammar.cr { end -= 1 }
        return start..<end
    }

    /// Parses `field-name ":" OWS field-value OWS` and records framing-related fields.
    ///
    /// - Parameters:
    ///   - bytes: The header section.
    ///   - line: The line's content range.
    ///   - fields: Framing information gathered so far; updated for framing-related fields.
    /// - Returns: The header field.
    /// - Throws: `badRequest` for malformed lines or framing values, `notImplemented` is deferred to
    ///   ``resolveFraming(_:request:limits:)``.
    private static func parseFieldLine(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ line: Range<Int>,
        fields: inout FramingFields
    ) throws(HTTPParseError) -> HTTPHeader {
        let (nameRange, valueRange) = try splitFieldLine(bytes, line)
        let name = UnsafeBufferPointer(rebasing: bytes[nameRange])
        let value = UnsafeBufferPointer(rebasing: bytes[valueRange])
        switch name.count {
        case 10 where HTTPGrammar.equalsIgnoringCase(name, "connection"):
            HTTPGrammar.forEachListElement(bytes, valueRange) { element in
                if HTTPGrammar.equalsIgnoringCase(element, "close") {
                    fields.connectionClose = true
                } else if HTTPGrammar.equalsIgnoringCase(element, "keep-alive") {
                    fields.connectionKeepAlive = true
                }
            }
        case 14 where HTTPGrammar.equalsIgnoringCase(name, "content-length"):
            let length = try parseContentLength(value)
            if let previous = fields.contentLength, previous != length {
                throw .badRequest("conflicting Content-Length values")
            }
            fields.contentLength = length
        case 17 where HTTPGrammar.equalsIgnoringCase(name, "transfer-encoding"):
            fields.sawTransferEncoding = true
            try parseTransferCodings(bytes, valueRange, into: &fields)
        case 6 where HTTPGrammar.equalsIgnoringCase(name, "expect"):
            if HTTPGrammar.equalsIgnoringCase(value, "100-continue") {
                fields.expectContinue = true
            } else {
                fields.unknownExpectation = true
            }
        default:
            break
        }
        return HTTPHeader(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    /// Validates a field line (header or trailer) and splits it into name and trimmed value.
    ///
    /// - Parameters:
    ///   - bytes: The buffer holding the line.
    ///   - line: The line's content range, without its terminator.
    /// - Returns: The range of the field name and the range of the value with OWS trimmed.
    /// - Throws: `badRequest` for leading whitespace (obs-fold), an invalid or empty name, whitespace before the
    ///   colon, a missing colon, or a control character (CR, LF, NUL, ...) in the value.
    static func splitFieldLine(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ line: Range<Int>
    ) throws(HTTPParseError) -> (name: Range<Int>, value: Range<Int>) {
        guard !line.isEmpty else { throw .badRequest("empty field line") }
        if HTTPGrammar.isWhitespace(bytes[line.lowerBound]) {
            throw .badRequest("obsolete line folding or leading whitespace in header section")
        }
        var colon = line.lowerBound
        while colon < line.upperBound && HTTPGrammar.isTokenChar(bytes[colon]) { colon += 1 }
        guard colon > line.lowerBound, colon < line.upperBound, bytes[colon] == HTTPGrammar.colon else {
            throw .badRequest("invalid header field name")
        }
        let valueRange = HTTPGrammar.trimmed(bytes, (colon + 1)..<line.upperBound)
        guard HTTPGrammar.isValidFieldValue(bytes, valueRange) else {
            throw .badRequest("invalid character in header value")
        }
        return (line.lowerBound..<colon, valueRange)
    }
}
