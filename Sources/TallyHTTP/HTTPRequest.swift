import TallyStorage

/// A complete, parsed HTTP/1.x request.
public struct HTTPRequest: Sendable, Equatable {
    /// The request method.
    public var method: HTTPMethod
    /// The raw request-target exactly as received, e.g. `"/api/v1/events?x=1"`.
    public var target: String
    /// The percent-decoded path without the query, e.g. `"/api/v1/events"`; `"*"` for `OPTIONS *`.
    public var path: String
    /// The percent-decoded query items in order (`+` decoded as space).
    public var query: [QueryItem]
    /// The minor HTTP version: `0` for HTTP/1.0, `1` for HTTP/1.1.
    public var minorVersion: Int
    /// The header fields in order.
    public var headers: HTTPHeaders
    /// The body bytes (decoded when chunked); empty when there is no body.
    public var body: [UInt8]
    /// Whether the connection may be reused after this request.
    ///
    /// HTTP/1.1 defaults to `true` unless `Connection: close`; HTTP/1.0 defaults to `false` unless
    /// `Connection: keep-alive`. `close` wins when both appear.
    public var keepAlive: Bool
    /// When the request's first byte was read, in ``MonotonicClock`` nanoseconds, as the server sets it
    /// (`nil` for a request made by hand): durations are measured from here, so a request that took long to
    /// arrive, or waited behind an earlier one, says so.
    public var arrivedAt: UInt64?

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - method: The request method.
    ///   - target: The raw request-target.
    ///   - path: The percent-decoded path.
    ///   - query: The decoded query items.
    ///   - minorVersion: The minor HTTP version (0 or 1).
    ///   - headers: The header fields.
    ///   - body: The body bytes.
    ///   - keepAlive: Whether the connection may be reused.
    public init(
        method: HTTPMethod,
        target: String,
        path: String,
        query: [QueryItem] = [],
        minorVersion: Int = 1,
        headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [],
        keepAlive: Bool = true
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }
}

extension HTTPRequest {
    /// The value of a query parameter; the last one when it is given more than once (`?per_page=1&per_page=50`
    /// reads 50), as Starlette's query dictionary reads it.
    public func queryValue(_ name: String) -> String? {
        query.last { $0.name == name }?.value
    }
}

extension HTTPRequest {
    /// The seconds since ``arrivedAt``, or 0 when it is not known.
    public var secondsSinceArrival: Double {
        arrivedAt.map(MonotonicClock.seconds(since:)) ?? 0
    }
}
