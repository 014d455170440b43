/// An HTTP request method.
///
/// Methods are case-sensitive: the parser maps the exact upper-case spellings of the common methods to their
/// dedicated cases and every other token (including `get`) to ``other(_:)``.
public enum HTTPMethod: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// `GET`
    case get
    /// `HEAD`
    case head
    /// `POST`
    case post
    /// `PUT`
    case put
    /// `PATCH`
    case patch
    /// `DELETE`
    case delete
    /// `OPTIONS`
    case options
    /// Any other method token, stored verbatim.
    case other(String)

    /// Creates a method from its wire spelling, normalising the well-known methods to their dedicated cases.
    ///
    /// - Parameters:
    ///   - name: The method token exactly as it appears on the request line.
    public init(name: String) {
        switch name {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "PATCH": self = .patch
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        default: self = .other(name)
        }
    }

    /// The method token as it appears on the wire, e.g. `"GET"`.
    public var name: String {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .post: return "POST"
        case .put: return "PUT"
        case .patch: return "PATCH"
        case .delete: return "DELETE"
        case .options: return "OPTIONS"
        case .other(let name): return name
        }
    }

    /// Whether the method is safe (RFC 9110 §9.2.1: `GET`, `HEAD`, `OPTIONS`, `TRACE`): a request with it
    /// changes nothing, so pipelined safe requests may be handled at the same time.
    public var isSafe: Bool {
        switch self {
        case .get, .head, .options: return true
        case .other(let name): return name == "TRACE"
        case .post, .put, .patch, .delete: return false
        }
    }

    /// Whether the method is one HTTP defines: RFC 9110 §9's (`GET`, `HEAD`, `POST`, `PUT`, `DELETE`,
    /// `CONNECT`, `OPTIONS`, `TRACE`) or RFC 5789's `PATCH`. A server answers any other 501 (RFC 9110 §9.1),
    /// and one it knows but a resource does not take 405.
    public var isStandard: Bool {
        switch self {
        case .get, .head, .post, .put, .patch, .delete, .options: return true
        case .other(let name): return name == "CONNECT" || name == "TRACE"
        }
    }

    /// The method token, same as ``name``.
    public var description: String { name }

    /// Maps raw method bytes to a method without allocating for the well-known methods.
    ///
    /// - Parameters:
    ///   - bytes: The method token bytes (already validated as a token).
    /// - Returns: The matching method.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> HTTPMethod {
        switch bytes.count {
        case 3:
            if matches(bytes, "GET") { return .get }
            if matches(bytes, "PUT") { return .put }
        case 4:
            if matches(bytes, "POST") { return .post }
            if matches(bytes, "HEAD") { return .head }
        case 5:
            if matches(bytes, "PATCH") { return .patch }
        case 6:
            if matches(bytes, "DELETE") { return .delete }
        case 7:
            if matches(bytes, "OPTIONS") { return .options }
        default:
            break
        }
        return .other(String(decoding: bytes, as: UTF8.self))
    }

    /// Compares raw bytes with an ASCII literal, case-sensitively.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to compare.
    ///   - literal: The expected ASCII spelling.
    /// - Returns: `true` when both are identical.
    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<bytes.count where bytes[index] != expected[index] {
            return false
        }
        return true
    }
}
