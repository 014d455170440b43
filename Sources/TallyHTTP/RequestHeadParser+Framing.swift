/// Body framing: what `Content-Length`, `Transfer-Encoding`, `Connection` and `Expect` say, and the
/// framing they resolve to (RFC 9112 section 6.3).
extension RequestHeadParser {
    /// What the framing-related header fields said, gathered while walking the field lines.
    struct FramingFields {
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

    /// Parses a `Content-Length` value: one or more digits, saturating at `Int.max`.
    ///
    /// - Parameters:
    ///   - value: The trimmed field value.
    /// - Returns: The length.
    /// - Throws: `badRequest` when empty or containing anything but digits.
    static func parseContentLength(_ value: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
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
    static func parseTransferCodings(
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
    static func resolveFraming(
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
        if limits.lengthRequiredMethods.contains(request.method) {
            throw HTTPParseError(
                code: .lengthRequired,
                message:
                    "\(request.method) without Content-Length or Transfer-Encoding: send the body's length in Content-Length (or a chunked body over HTTP/1.1)"
            )
        }
        return .none
    }
}
