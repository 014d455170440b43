/// Request-size limits, with the status each answers.
public struct HTTPLimits: Sendable {
    /// Request line plus headers (default 16 KiB); beyond it: 431.
    public var maxHeaderBytes = 16 * 1024
    /// Body bytes (default 16 MiB); beyond it: 413.
    public var maxBodyBytes = 16 * 1024 * 1024
    /// Header lines (default 100); beyond it: 431.
    public var maxHeaderCount = 100

    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 16 * 1024 * 1024, maxHeaderCount: Int = 100) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderCount = maxHeaderCount
    }
}

/// A request method.
public enum HTTPMethod: Equatable, Sendable {
    case get, head, post, put, patch, delete, options
    case other(String)

    init(_ text: String) {
        switch text {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "PATCH": self = .patch
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        default: self = .other(text)
        }
    }
}

/// Header fields in arrival order, looked up without regard to case.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    mutating func append(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// The first value of a header.
    public subscript(name: String) -> String? {
        fields.first { HTTPHeaders.sameName($0.name, name) }?.value
    }

    /// Every value of a header, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { HTTPHeaders.sameName($0.name, name) }.map(\.value)
    }

    /// ASCII case-insensitive comparison of header names, without allocating.
    static func sameName(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        return zip(lhs.utf8, rhs.utf8).allSatisfy { a, b in
            a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A)
        }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

/// One query parameter.
public struct QueryItem: Sendable, Equatable {
    public var name: String
    public var value: String
}

/// A parsed request.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request-target as sent (`/api/v1/events?x=1`).
    public var target: String
    /// The percent-decoded path, without the query.
    public var path: String
    /// Percent-decoded query parameters (`+` is a space).
    public var query: [QueryItem]
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Whether the connection stays open after the response.
    public var keepAlive: Bool

    /// The first value of a query parameter.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }
}

/// Why bytes are not a valid request, with the status to answer.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case badRequest, headersTooLarge, bodyTooLarge, versionNotSupported, notImplemented
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The HTTP status for this error.
    public var status: Int {
        switch code {
        case .badRequest: 400
        case .headersTooLarge: 431
        case .bodyTooLarge: 413
        case .versionNotSupported: 505
        case .notImplemented: 501
        }
    }

    public var description: String { "\(status): \(message)" }
}
