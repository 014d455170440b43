/// An error produced by ``HTTPRequestParser`` for a malformed or unacceptable request.
///
/// The ``status`` is the response status a server should send before closing the connection.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The category of failure, each mapping to one response status.
    public enum Code: Sendable, Equatable, Hashable, CaseIterable {
        /// Malformed syntax or framing (400).
        case badRequest
        /// Request line plus headers, header count or trailers exceed the limits (431).
        case headersTooLarge
        /// The request line alone exceeds ``HTTPLimits/maxHeaderBytes``: its target is too long to parse (414).
        case targetTooLong
        /// The body exceeds ``HTTPLimits/maxBodyBytes`` (413).
        case bodyTooLarge
        /// A well-formed HTTP version whose major version is not 1 (505); a later HTTP/1 minor version is read as 1.1.
        case versionNotSupported
        /// A transfer-coding other than `chunked`, before a final `chunked` (501).
        case notImplemented
        /// A body-carrying method without framing while ``HTTPLimits/lengthRequiredMethods`` lists it (411).
        case lengthRequired
        /// An `Expect` other than `100-continue` on an HTTP/1.1 request (417).
        case expectationFailed
    }

    /// The category of failure.
    public var code: Code
    /// A short human-readable explanation, safe to log (never echoes more than a few input bytes).
    public var message: String
    /// The refused request's method and path, once its method and target were read (its target, version, a
    /// field, its `Host`, its framing, its expectation or its body is refused), so its answer is logged
    /// under them, and a HEAD gets the answer's head alone; `nil` otherwise.
    public var method: HTTPMethod?
    /// See ``method``. A target refused as it stands (an encoded slash, bad percent-encoding, user
    /// information) is given as sent, without its query or user information.
    public var path: String?
    /// The first `X-Request-Id` field the refused request sent, as sent, when its head arrived whole: the
    /// answer and its log line carry it when it is an id the server keeps (see `RequestID`), however early
    /// in the head the request was refused.
    public var requestId: String?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The category of failure.
    ///   - message: A short explanation.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The HTTP status code matching ``code``: 400, 431, 414, 413, 505, 501, 411 or 417.
    public var status: Int {
        switch code {
        case .badRequest: return 400
        case .headersTooLarge: return 431
        case .targetTooLong: return 414
        case .bodyTooLarge: return 413
        case .versionNotSupported: return 505
        case .notImplemented: return 501
        case .lengthRequired: return 411
        case .expectationFailed: return 417
        }
    }

    /// The standard reason phrase for ``status``, e.g. `"Bad Request"`.
    /// (The response's own table: one list of phrases for every status the server sends.)
    public var reasonPhrase: String { HTTPResponse.reason(status).description }

    /// A description such as `"400 Bad Request: invalid request line"`.
    public var description: String {
        "\(status) \(reasonPhrase): \(message)"
    }

    /// Shorthand for a ``Code/badRequest`` error.
    ///
    /// - Parameters:
    ///   - message: A short explanation.
    /// - Returns: The error.
    static func badRequest(_ message: String) -> HTTPParseError {
        HTTPParseError(code: .badRequest, message: message)
    }
}
