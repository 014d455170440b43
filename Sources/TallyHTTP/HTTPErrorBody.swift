import TallyCore

/// The JSON body of errors the server itself produces (before any route sees the request).
enum HTTPErrorBody {
    /// `{"success": false, "error": {"status", "message"}}`, written by the same JSON writer as every other
    /// answer (so the message is escaped as any string is).
    static func json(status: Int, message: String) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + message.utf8.count)
        writer.beginObject()
        writer.writeKey("success")
        writer.writeRaw("false")
        writer.writeKey("error")
        writer.beginObject()
        writer.writeKey("status")
        writer.writeInt(Int64(status))
        writer.writeKey("message")
        writer.writeString(message)
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }

    /// The server's own error answer: the JSON body of ``json(status:message:)``, with the failure its log
    /// line names (``code(status:)`` and `message`).
    static func response(
        status: Int, message: String, headers: [(String, String)] = [], closeConnection: Bool = false
    ) -> HTTPResponse {
        var response = HTTPResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers,
            body: json(status: status, message: message), closeConnection: closeConnection)
        response.failure = HTTPResponse.Failure(code: code(status: status), message: message)
        return response
    }

    /// The code a log line gives the server's own refusal of `status`.
    static func code(status: Int) -> String {
        switch status {
        case 400: "bad_request"
        case 408: "request_timeout"
        case 411: "length_required"
        case 413: "payload_too_large"
        case 414: "uri_too_long"
        case 417: "expectation_failed"
        case 431: "headers_too_large"
        case 501: "not_implemented"
        case 503: "server_busy"
        case 505: "version_not_supported"
        default: "http_error"
        }
    }
}
