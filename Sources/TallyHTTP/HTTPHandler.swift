/// Answers requests. `respond` may be called on any thread, once, now or later (after an fsync, say); the
/// server writes responses of one connection in request order.
public protocol HTTPHandler: Sendable {
    /// Handles one request, calling `respond` exactly once (from any thread, now or later).
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)

    /// Looks at the head of a request whose body has not all arrived yet: a response to send instead (the
    /// connection closes after it, unread body and all), or `nil` to read the body. A handler answers here
    /// what it would answer whatever the body (a missing token, an unknown route), so a client that may not
    /// send a body is not read for it, nor held in memory. Called on an event loop's thread, once per such
    /// request; keep it short. For a chunked body it is called once its first chunk turns out to hold data
    /// (an empty chunked body, trailers and all, reaches ``handle(_:respond:)`` as if none had been sent), or
    /// at once when the client waits for `100 Continue`. The default reads every body.
    func refusal(beforeBody head: HTTPRequest) -> HTTPResponse?

    /// Notes a response the server gave itself, before any request reached ``handle(_:respond:)``: a
    /// malformed or oversized request (400, 413, 414, 431, 501, 505, ...) or one too slow to arrive (408); and
    /// 499 for a request its client left part-way (closing or resetting the connection), which is answered
    /// with nothing. Called on an event loop's thread; keep it short. The default does nothing.
    /// - Parameters:
    ///   - status: The response's status (499: none was sent).
    ///   - seconds: The time since the request's first byte was read (for a 408, the head's time and the
    ///     timeout's; for a 499, until the client left).
    func answeredByServer(status: Int, seconds: Double)
}

extension HTTPHandler {
    /// Reads every body.
    public func refusal(beforeBody head: HTTPRequest) -> HTTPResponse? { nil }

    /// Does nothing.
    public func answeredByServer(status: Int, seconds: Double) {}
}
