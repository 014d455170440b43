import TallyCore
import TallyHTTP

/// The JSON envelopes of the API: `{"success", "message", "data", "timestamp"}` as the tenant-stats contract
/// shows, the same shape with `"success": false` and an `error` object for errors, and FastAPI's
/// `HTTPValidationError` (`{"detail": [{"loc", "msg", "type"}]}`) for the tenants API's 422s.
enum APIResponse {
    static func success(_ status: Int = 200, message: String, data: JSONValue, now: Timestamp,
                        headers: [(String, String)] = []) -> HTTPResponse {
        var object = JSONObject()
        object.set("success", .bool(true))
        object.set("message", .string(message))
        object.set("data", data)
        object.set("timestamp", .string(now.rfc3339(fractionDigits: 3)))
        return .json(status, JSONValue.object(object).jsonBytes, headers: headers)
    }

    static func error(_ status: Int, _ code: String, _ message: String, now: Timestamp,
                      headers: [(String, String)] = []) -> HTTPResponse {
        var error = JSONObject()
        error.set("status", .int(Int64(status)))
        error.set("code", .string(code))
        error.set("message", .string(message))
        var object = JSONObject()
        object.set("success", .bool(false))
        object.set("message", .string(message))
        object.set("error", .object(error))
        object.set("timestamp", .string(now.rfc3339(fractionDigits: 3)))
        return .json(status, JSONValue.object(object).jsonBytes, headers: headers)
    }

    /// One entry of a validation error: where (`["body", "settings", "mfa_required"]`), what, and its type.
    struct ValidationIssue {
        var location: [String]
        var message: String
        var type: String
    }

    static func validation(_ issues: [ValidationIssue]) -> HTTPResponse {
        let detail = issues.map { issue -> JSONValue in
            var object = JSONObject()
            object.set("loc", .array(issue.location.map { .string($0) }))
            object.set("msg", .string(issue.message))
            object.set("type", .string(issue.type))
            return .object(object)
        }
        var object = JSONObject()
        object.set("detail", .array(detail))
        return .json(422, JSONValue.object(object).jsonBytes)
    }
}

/// A request refused before it reached its route, carrying the response to send.
struct RejectedRequest: Error {
    var response: HTTPResponse

    init(_ response: HTTPResponse) {
        self.response = response
    }
}
