import Dispatch
import TallyHTTP
import TallyStorage

/// Echoes method, path and body length; `/slow` answers from another thread after a delay, so pipelined
/// responses must be reordered into request order.
struct EchoHandler: HTTPHandler {
    /// Each request's path and `q` value, noted when its handling starts.
    let started = StartedRequests()
    /// The status of each answer the server gave itself (``HTTPHandler/answeredByServer(status:seconds:)``).
    let serverAnswers = StartedRequests()

    func answeredByServer(status: Int, seconds: Double) {
        serverAnswers.note("\(status)")
    }

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        started.note("\(request.path) \(request.queryValue("q") ?? "-")")
        let text = "\(request.method.name) \(request.path) \(request.body.count) \(request.queryValue("q") ?? "-")"
        let response = HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
        if request.path == "/busy" {
            // Answered on the loop's thread after 20 µs of work: slower than a client can send.
            let start = MonotonicClock.nanoseconds()
            while MonotonicClock.nanoseconds() - start < 20_000 {}
        }
        if request.path == "/nothing" {
            respond(HTTPResponse(status: 204))
            return
        }
        if request.path == "/slow" || request.path == "/slower" {
            let delay = request.path == "/slow" ? 50 : 400
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) { respond(response) }
        } else {
            respond(response)
        }
    }
}
