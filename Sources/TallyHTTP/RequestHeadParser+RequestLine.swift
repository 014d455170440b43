/// The request line: method, target (origin or absolute form, path and query) and version.
extension RequestHeadParser {
    /// Parses `method SP request-target SP HTTP-version`.
    ///
    /// - Parameters:
    ///   - line: The request line without its terminator.
    /// - Returns: A request with method, target, path, query and version filled in.
    /// - Throws: `badRequest` for malformed syntax, `versionNotSupported` for a well-formed non-1.x version.
    static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> HTTPRequest {
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

        let method = HTTPMethod.parse(UnsafeBufferPointer(rebasing: line[0..<methodEnd]))
        let targetBytes = UnsafeBufferPointer(rebasing: line[targetStart..<targetEnd])
        do throws(HTTPParseError) {
            let minorVersion = try parseVersion(UnsafeBufferPointer(rebasing: line[(targetEnd + 1)...]))
            return try parseTarget(targetBytes, method: method, minorVersion: minorVersion)
        } catch {
            // The method and target were read: the refusal is logged under them, the target as sent (it
            // may not decode), without what may not belong in a log (see ``loggable(target:)``).
            var refusal = error
            refusal.method = method
            refusal.path = loggable(target: targetBytes)
            throw refusal
        }
    }

    /// A refused target as it may be logged: as sent, but without its query and without the user
    /// information of its authority (`http://alice:password@host/x` is `http://host/x`, and
    /// `alice:password@host` is `host`), either of which may carry a credential.
    static func loggable(target: UnsafeBufferPointer<UInt8>) -> String {
        var bytes = Array(target.prefix { $0 != UInt8(ascii: "?") })
        let slash = UInt8(ascii: "/")
        // The authority follows `scheme://`, or starts the target when it is not a path.
        var authority = bytes.first == slash ? bytes.count : 0
        if let scheme = bytes.indices.first(where: {
            bytes[$0] == UInt8(ascii: ":") && bytes.count >= $0 + 3 && bytes[$0 + 1] == slash && bytes[$0 + 2] == slash
        }) {
            authority = scheme + 3
        }
        let end = bytes[authority...].firstIndex(of: slash) ?? bytes.count
        if let at = bytes[authority..<end].lastIndex(of: UInt8(ascii: "@")) {
            bytes.removeSubrange(authority...at)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The method and path a request line names: those of the request it parses to, or, when its target is
    /// refused, the ones its refusal names; `nil` for a line that does not read as method, target and version.
    static func naming(_ line: UnsafeBufferPointer<UInt8>) -> (method: HTTPMethod, path: String)? {
        do {
            let request = try parseRequestLine(line)
            return (request.method, request.path)
        } catch {
            guard let method = error.method, let path = error.path else { return nil }
            return (method, path)
        }
    }

    /// Parses a request-target of well-formed bytes into its path and query.
    private static func parseTarget(
        _ bytes: UnsafeBufferPointer<UInt8>, method: HTTPMethod, minorVersion: Int
    ) throws(HTTPParseError) -> HTTPRequest {
        var targetBytes = bytes
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
        let path: String
        switch PercentDecoder.decode(
            UnsafeBufferPointer(rebasing: targetBytes[0..<pathEnd]), plusAsSpace: false, allowNUL: false)
        {
        case .success(let decoded): path = decoded
        case .failure(let failure): throw .badRequest(failure.message(in: "path"))
        }
        var query: [QueryItem] = []
        if pathEnd < targetBytes.count {
            query = try parseQuery(UnsafeBufferPointer(rebasing: targetBytes[(pathEnd + 1)...]))
        }
        return HTTPRequest(method: method, target: target, path: path, query: query, minorVersion: minorVersion)
    }

    /// Where the path of an absolute-form `http://` or `https://` target starts (the first `/` or `?` after
    /// the authority, or the end), or `nil` for any other form.
    static func absoluteFormPathStart(_ target: UnsafeBufferPointer<UInt8>) -> Int? {
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
    /// - Returns: The minor version, 0 or 1: a later HTTP/1 minor version is read as 1, as RFC 9110 §2.5 asks
    ///   of a recipient that implements the major version (the answer says `HTTP/1.1`).
    /// - Throws: `badRequest` when malformed, `versionNotSupported` for another major version.
    static func parseVersion(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        guard bytes.count == 8,
            bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
            bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"), bytes[6] == UInt8(ascii: "."),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[5]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[7])
        else { throw .badRequest("invalid HTTP version") }
        let major = bytes[5] - UInt8(ascii: "0")
        let minor = bytes[7] - UInt8(ascii: "0")
        guard major == 1 else {
            throw HTTPParseError(code: .versionNotSupported, message: "HTTP/\(major).\(minor) is not supported")
        }
        return Int(min(minor, 1))
    }

    /// Splits a query on `&` and `=`, percent-decoding each part with `+` as space. Empty pairs are skipped.
    /// Decoded leniently, as web frameworks do (Python's `unquote_plus` behind Starlette): a `%` not followed by
    /// two hex digits stays as it is, and bytes that are not UTF-8 become U+FFFD. A search for `100%` is a
    /// question with an answer, not a broken request.
    ///
    /// - Parameters:
    ///   - bytes: The query bytes after `?`.
    /// - Returns: The decoded items in order.
    static func parseQuery(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> [QueryItem] {
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
}
