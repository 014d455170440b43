/// How the body of a request is delimited, as determined from its header section.
enum BodyFraming: Sendable, Equatable {
    /// No body (no `Content-Length`, no `Transfer-Encoding`).
    case none
    /// A body of exactly this many bytes.
    case contentLength(Int)
    /// A chunked body.
    case chunked
}
