import TallyHTTP

/// A request refused before it reached its route, carrying the response to send.
struct RejectedRequest: Error {
    /// The answer to send instead.
    var response: HTTPResponse

    /// Wraps the answer.
    init(_ response: HTTPResponse) {
        self.response = response
    }
}
