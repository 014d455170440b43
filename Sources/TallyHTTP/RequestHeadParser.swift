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

    /// What the framing-related header fields said, gathered while walking the field lines.
    private struct FramingFields {
        var contentLength: Int?
        var sawTransferEncoding = false
        var codingCount = 0
        var chunkedNotLast = false
        var lastIsChunked = false
        var unsupportedCoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var expectContinue = false
        var unknownExpectation = false
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
    static func parse(_ head: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) throws(HTTPParseError) -> Head {
        var cursor = 0
        let requestLine = nextLine(head, from: &cursor)
        var request = try parseRequestLine(UnsafeBufferPointer(rebasing: head[requestLine]))

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
        // A request the server will refuse for its Host (see ``HostHeader``) is not invited to send its body;
        // checked last, so only requests that would be invited pay for a second check.
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

    /// Parses `method SP request-target SP HTTP-version`.
    ///
    /// - Parameters:
    ///   - line: The request line without its terminator.
    /// - Returns: A request with method, target, path, query and version filled in.
    /// - Throws: `badRequest` for malformed syntax, `versionNotSupported` for a well-formed non-1.x version.
    private static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> HTTPRequest {
        var methodEnd = 0
        while methodEnd < line.count && line[methodEnd] != HTTPGrammar.space {
            guard HTTPGrammar.isTokenChar(line[methodEnd]) else { throw .badRequest("invalid method") }
            methodEnd += 1
        }
        guard methodEnd > 0, methodEnd < line.count else { throw .badRequest("invalid request line") }

        let targetStart = methodEnd + 1
        var targetEnd = targetStart
        while targetEnd < line.count && line[targetEnd] != HTTPGrammar.space {
            let byte = line[targetEnd]
            guard byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "#") else {
                throw .badRequest("invalid character in request-target")
            }
            targetEnd += 1
        }
        guard targetEnd > targetStart, targetEnd < line.count else { throw .badRequest("invalid request line") }

        let minorVersion = try parseVersion(UnsafeBufferPointer(rebasing: line[(targetEnd + 1)...]))
        let method = HTTPMethod.parse(UnsafeBufferPointer(rebasing: line[0..<methodEnd]))
        var targetBytes = UnsafeBufferPointer(rebasing: line[targetStart..<targetEnd])
        let target = String(decoding: targetBytes, as: UTF8.self)
        // Absolute-form (`http://host/path?query`, as proxies send): the server must accept it (RFC 9112
        // §3.2.2); routing uses what follows the authority, and `/` when nothing does.
        if let afterAuthority = absoluteFormPathStart(targetBytes) {
            // RFC 9110 §4.2.4: user information in an `http` URI is an error (it is how phishing hides a
            // host), as it is in `Host`.
            if targetBytes[0..<afterAuthority].contains(UInt8(ascii: "@")) {
                throw .badRequest("user information (user@) in the request target is refused (RFC 9110 §4.2.4)")
            }
            if afterAuthority == targetBytes.count {
                return HTTPRequest(method: method, target: target, path: "/", minorVersion: minorVersion)
            }
            targetBytes = UnsafeBufferPointer(rebasing: targetBytes[afterAuthority...])
            if targetBytes[0] == UInt8(ascii: "?") {
                let query = try parseQuery(UnsafeBufferPointer(rebasing: targetBytes[1...]))
                return HTTPRequest(method: method, target: target, path: "/", query: query, minorVersion: minorVersion)
            }
        }

        if targetBytes[0] == UInt8(ascii: "*") && targetBytes.count == 1 {
            guard method == .options else { throw .badRequest("asterisk-form target is only valid for OPTIONS") }
            return HTTPRequest(method: method, target: target, path: "*", minorVersion: minorVersion)
        }
        guard targetBytes[0] == UInt8(ascii: "/") else {
            throw .badRequest("request-target must be in origin-form")
        }
        var pathEnd = 0
        while pathEnd < targetBytes.count && targetBytes[pathEnd] != UInt8(ascii: "?") { pathEnd += 1 }
        // Decoded, `%2F` would be a separator here and data to a proxy in front (or the other way round).
        if pathEnd >= 3,
            (0..<(pathEnd - 2)).contains(where: { index in
                targetBytes[index] == UInt8(ascii: "%") && targetBytes[index + 1] == UInt8(ascii: "2")
                    && (targetBytes[index + 2] | 0x20) == UInt8(ascii: "f")
            })
        {
            throw .badRequest(
                "an encoded slash (%2F) in the path is refused: it would split the path differently here and in a proxy"
            )
        }
        guard
            let path = PercentDecoder.decode(
                UnsafeBufferPointer(rebasing: targetBytes[0..<pathEnd]), plusAsSpace: false, allowNUL: false)
        else { throw .badRequest("invalid percent-encoding in path") }
        var query: [QueryItem] = []
        if pathEnd < targetBytes.count {
            query = try parseQuery(UnsafeBufferPointer(rebasing: targetBytes[(pathEnd + 1)...]))
        }
        return HTTPRequest(method: method, target: target, path: path, query: query, minorVersion: minorVersion)
    }

    /// Where the path of an absolute-form `http://` or `https://` target starts (the first `/` or `?` after
    /// the authority, or the end), or `nil` for any other form.
    private static func absoluteFormPathStart(_ target: UnsafeBufferPointer<UInt8>) -> Int? {
        var schemeEnd = 0
        while schemeEnd < target.count, schemeEnd < 6, target[schemeEnd] != UInt8(ascii: ":") { schemeEnd += 1 }
        guard schemeEnd < target.count, target[schemeEnd] == UInt8(ascii: ":"),
            HTTPGrammar.equalsIgnoringCase(UnsafeBufferPointer(rebasing: target[0..<schemeEnd]), "http")
                || HTTPGrammar.equalsIgnoringCase(UnsafeBufferPointer(rebasing: target[0..<schemeEnd]), "https"),
            target.count >= schemeEnd + 3, target[schemeEnd + 1] == UInt8(ascii: "/"),
            target[schemeEnd + 2] == UInt8(ascii: "/")
        else { return nil }
        var index = schemeEnd + 3
        while index < target.count, target[index] != UInt8(ascii: "/"), target[index] != UInt8(ascii: "?") {
            index += 1
        }
        guard index > schemeEnd + 3 else { return nil }
        return index
    }

    /// Parses `HTTP/DIGIT.DIGIT`.
    ///
    /// - Parameters:
    ///   - bytes: The version bytes.
    /// - Returns: The minor version, 0 or 1.
    /// - Throws: `badRequest` when malformed, `versionNotSupported` for any other well-formed version.
    private static func parseVersion(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        guard bytes.count == 8,
            bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
            bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"), bytes[6] == UInt8(ascii: "."),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[5]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[7])
        else { throw .badRequest("invalid HTTP version") }
        let major = bytes[5] - UInt8(ascii: "0")
        let minor = bytes[7] - UInt8(ascii: "0")
        guard major == 1, minor <= 1 else {
            throw HTTPParseError(code: .versionNotSupported, message: "HTTP/\(major).\(minor) is not supported")
        }
        return Int(minor)
    }

    /// Splits a query on `&` and `=`, percent-decoding each part with `+` as space. Empty pairs are skipped.
    /// Decoded leniently, as web frameworks do (Python's `unquote_plus` behind Starlette): a `%` not followed by
    /// two hex digits stays as it is, and bytes that are not UTF-8 become U+FFFD. A search for `100%` is a
    /// question with an answer, not a broken request.
    ///
    /// - Parameters:
    ///   - bytes: The query bytes after `?`.
    /// - Returns: The decoded items in order.
    private static func parseQuery(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> [QueryItem] {
        var items: [QueryItem] = []
        var start = 0
        while start < bytes.count {
            var end = start
            var equals = -1
            while end < bytes.count && bytes[end] != UInt8(ascii: "&") {
                if equals < 0 && bytes[end] == UInt8(ascii: "=") { equals = end }
                end += 1
            }
            if end > start {
                let nameEnd = equals >= 0 ? equals : end
                let valueStart = equals >= 0 ? equals + 1 : end
                let name = PercentDecoder.decodeLeniently(
                    UnsafeBufferPointer(rebasing: bytes[start..<nameEnd]), plusAsSpace: true)
                let value = PercentDecoder.decodeLeniently(
                    UnsafeBufferPointer(rebasing: bytes[valueStart..<end]), plusAsSpace: true)
                items.append(QueryItem(name: name, value: value))
            }
            start = end + 1
        }
        return items
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

    /// Parses a `Content-Length` value: one or more digits, saturating at `Int.max`.
    ///
    /// - Parameters:
    ///   - value: The trimmed field value.
    /// - Returns: The length.
    /// - Throws: `badRequest` when empty or containing anything but digits.
    private static func parseContentLength(_ value: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        guard !value.isEmpty else { throw .badRequest("empty Content-Length") }
        var length = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                throw .badRequest("invalid Content-Length")
            }
            let digit = Int(byte - UInt8(ascii: "0"))
            length = length > (Int.max - digit) / 10 ? Int.max : length * 10 + digit
        }
        return length
    }

    /// Records the transfer-codings listed in one `Transfer-Encoding` field line.
    ///
    /// - Parameters:
    ///   - bytes: The header section.
    ///   - range: The trimmed value range.
    ///   - fields: Updated with coding count, order and support.
    /// - Throws: `badRequest` for a malformed coding or parameters on `chunked`.
    private static func parseTransferCodings(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ range: Range<Int>,
        into fields: inout FramingFields
    ) throws(HTTPParseError) {
        try HTTPGrammar.forEachListElement(bytes, range) { (element) throws(HTTPParseError) in
            var nameEnd = 0
            while nameEnd < element.count && element[nameEnd] != HTTPGrammar.semicolon { nameEnd += 1 }
            let nameRange = HTTPGrammar.trimmed(element, 0..<nameEnd)
            guard !nameRange.isEmpty, nameRange.allSatisfy({ HTTPGrammar.isTokenChar(element[$0]) }) else {
                throw .badRequest("invalid transfer-coding")
            }
            let isChunked = HTTPGrammar.equalsIgnoringCase(UnsafeBufferPointer(rebasing: element[nameRange]), "chunked")
            if isChunked && nameEnd < element.count {
                throw .badRequest("chunked transfer-coding takes no parameters")
            }
            if fields.lastIsChunked {
                fields.chunkedNotLast = true
            }
            fields.codingCount += 1
            fields.lastIsChunked = isChunked
            if !isChunked {
                fields.unsupportedCoding = true
            }
        }
    }

    /// Decides the body framing from the gathered fields (RFC 9112 §6.3) and applies the body limits.
    ///
    /// - Parameters:
    ///   - fields: The framing information.
    ///   - request: The request so far (method and version matter).
    ///   - limits: The limits to enforce.
    /// - Returns: The body framing.
    /// - Throws: `badRequest` for ambiguous framing, `notImplemented` for unsupported codings, `bodyTooLarge` for a
    ///   `Content-Length` above the limit, `lengthRequired` when configured and framing is missing.
    private static func resolveFraming(
        _ fields: FramingFields,
        request: HTTPRequest,
        limits: HTTPLimits
    ) throws(HTTPParseError) -> BodyFraming {
        if fields.sawTransferEncoding {
            guard fields.contentLength == nil else {
                throw .badRequest("both Transfer-Encoding and Content-Length present")
            }
            guard request.minorVersion == 1 else { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            guard fields.codingCount > 0 else { throw .badRequest("empty Transfer-Encoding") }
            // Without chunked last the body's length cannot be known: 400 (RFC 9112 §6.3), before the 501 an
            // unknown coding otherwise draws (§6.1).
            guard !fields.chunkedNotLast && fields.lastIsChunked else {
                throw .badRequest("chunked must be the final transfer-coding")
            }
            guard !fields.unsupportedCoding else {
                throw HTTPParseError(code: .notImplemented, message: "unsupported transfer-coding")
            }
            return .chunked
        }
        if let length = fields.contentLength {
            guard length <= limits.maxBodyBytes else {
                throw HTTPParseError(code: .bodyTooLarge, message: "Content-Length exceeds \(limits.maxBodyBytes)")
            }
            return length == 0 ? .none : .contentLength(length)
        }
        if limits.requireExplicitBodyLength {
            switch request.method {
            case .post, .put, .patch:
                throw HTTPParseError(code: .lengthRequired, message: "\(request.method) without Content-Length")
            default:
                break
            }
        }
        return .none
    }
}
