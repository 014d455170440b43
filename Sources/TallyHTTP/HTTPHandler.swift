/// Answers requests. `respond` may be called on any thread, once, now or later (after an fsync, say); the
/// server writes responses of one connection in request order.
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)
}
