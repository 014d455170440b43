/// A response to send: status, headers and body.
public struct HTTPResponse: Sendable {
    /// The status code, such as 200 or 404.
    public var status: Int
    /// Header fields in the order written; the server adds `Date`, `Content-Length` and `Connection`.
    public var headers: [(String, String)]
    /// The body bytes (not written for a `HEAD` request, nor for a status that has no content).
    public var body: [UInt8]
    /// Close the connection after sending (set for errors that leave the stream unusable).
    public var closeConnection: Bool
    /// Why the request failed, for its log line (never sent as such: the body tells the client); `nil` for
    /// a success.
    public var failure: Failure?

    /// Why a request failed: a short code and the detail, as its answer gives them.
    public struct Failure: Sendable, Equatable {
        /// A stable code, such as `unauthorized` or `malformed_json`.
        public var code: String
        /// What went wrong, in the answer's words.
        public var message: String

        /// Creates a failure of `code` with `message`.
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// Creates a response.
    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], closeConnection: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.closeConnection = closeConnection
        self.failure = nil
    }

    /// A JSON response.
    public static func json(_ status: Int, _ body: [UInt8], headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// Whether a response of this status has no content by definition (1xx, 204, 304): it carries neither a
    /// body nor `Content-Length` (RFC 9110 §8.6).
    var hasNoContent: Bool { (100..<200).contains(status) || status == 204 || status == 304 }

    /// Appends the wire bytes, with `Content-Length` and `Connection` added, to `output` (building no strings).
    /// - Parameters:
    ///   - keepAlive: Whether the connection stays open; `false` adds `Connection: close`.
    ///   - confirmKeepAlive: Adds `Connection: keep-alive` when the connection stays open, for HTTP/1.0
    ///     clients, which otherwise wait for the server to close.
    ///   - headOnly: Leaves out the body (an answer to `HEAD`).
    ///   - date: The `Date` header's value (see ``HTTPDate``), or empty for none.
    func serialize(
        into output: inout [UInt8], keepAlive: Bool, confirmKeepAlive: Bool = false, headOnly: Bool = false,
        date: [UInt8] = []
    ) {
        func append(_ text: StaticString) {
            text.withUTF8Buffer { output.append(contentsOf: $0) }
        }
        append("HTTP/1.1 ")
        HTTPGrammar.appendDecimal(max(0, status), to: &output)
        output.append(UInt8(ascii: " "))
        append(HTTPResponse.reason(status))
        append("\r\n")
        if !date.isEmpty {
            append("Date: ")
            output.append(contentsOf: date)
            append("\r\n")
        }
        for (name, value) in headers {
            output.append(contentsOf: name.utf8)
            append(": ")
            output.append(contentsOf: value.utf8)
            append("\r\n")
        }
        let noContent = hasNoContent
        if !noContent {
            append("Content-Length: ")
            HTTPGrammar.appendDecimal(body.count, to: &output)
            append("\r\n")
        }
        if !keepAlive {
            append("Connection: close\r\n")
        } else if confirmKeepAlive {
            append("Connection: keep-alive\r\n")
        }
        append("\r\n")
        if !headOnly && !noContent { output.append(contentsOf: body) }
    }

    /// The reason phrase of `status` (RFC 9110 §15), `Status` for one this server never sends.
    package static func reason(_ status: Int) -> StaticString {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 207: "Multi-Status"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}
