import Synchronization

/// The id that names one request in its answer's `X-Request-Id` header and its log line, so a client's
/// report, a proxy's log and Tally's log can be matched. A client (or a proxy in front) may send its own in
/// `X-Request-Id`: it is kept when it is 1-128 visible ASCII characters (no spaces), else the server gives
/// the request one of its own: 16 hexadecimal digits, counting up from a random start each time the server
/// starts, so two requests of one run never share one.
final class RequestID: Sendable {
    /// The header that carries the id, in requests and answers.
    static let headerName = "X-Request-Id"
    /// The longest id taken from a client.
    static let maxLength = 128

    private let start: UInt64
    private let issued = Atomic<UInt64>(0)

    /// A source of ids counting up from a random start.
    init() {
        start = UInt64.random(in: 0...UInt64.max)
    }

    /// The id a client sent in `headers` (the first `X-Request-Id`), when it is one this server keeps.
    static func sent(in headers: HTTPHeaders?) -> String? {
        kept(headers?[headerName])
    }

    /// `value` when it is an id this server keeps, else `nil`.
    static func kept(_ value: String?) -> String? {
        guard let value, (1...maxLength).contains(value.utf8.count),
            value.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else { return nil }
        return value
    }

    /// The id for a request that sent `headers`: the client's, else a new one.
    func id(for headers: HTTPHeaders?) -> String {
        Self.sent(in: headers) ?? next()
    }

    /// The id for a request refused with `error`: the one it sent, when the server keeps it, else a new one.
    func id(for error: HTTPParseError) -> String {
        Self.kept(error.requestId) ?? next()
    }

    /// A new id: 16 lowercase hexadecimal digits.
    func next() -> String {
        let value = start &+ issued.wrappingAdd(1, ordering: .relaxed).newValue
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 16) { buffer in
            for index in 0..<16 { buffer[index] = digits[Int(value >> UInt64(60 - index * 4) & 0xF)] }
            return 16
        }
    }
}
