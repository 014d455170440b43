/// Answers requests. `respond` may be called on any thread, once, now or later (after an fsync, say); the
/// server writes responses of one connection in request order.
public protocol HTTPHandler: Sendable {
    /// Handles one request, calling `respond` exactly once (from any thread, now or later).
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)

    /// Notes a response the server gave itself, before any request reached ``handle(_:respond:)``: a
    /// malformed or oversized request (400, 413, 414, 431, 501, 505, ...) or one too slow to arrive (408). Called
    /// on an event loop's thread; keep it short. The default does nothing.
    func answeredByServer(status: Int)
}

extension HTTPHandler {
    /// Does nothing.
    public func answeredByServer(status: Int) {}
}
