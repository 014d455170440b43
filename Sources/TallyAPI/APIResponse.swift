import TallyCore
import TallyHTTP

/// The JSON envelopes of the API: `{"success", "message", "data", "timestamp"}` as the tenant-stats contract
/// shows, the same shape with `"success": false` and an `error` object for errors, and FastAPI's
/// `HTTPValidationError` (`{"detail": [{"loc", "msg", "type"}]}`) for the tenants API's 422s.
enum APIResponse {
    static func success(
        _ status: Int = 200, message: String, data: JSONValue, now: Timestamp,
        headers: [(String, String)] = []
    ) -> HTTPResponse {
        success(status, message: message, now: now, headers: headers) { $0.write(data) }
    }

    /// The success envelope with `data` written straight to bytes by `writeData` (no ``JSONValue`` tree).
    /// `succeeded` is the envelope's `success` flag: by default, whether the status is below 300.
    static func success(
        _ status: Int = 200, message: String, now: Timestamp, headers: [(String, String)] = [],
        succeeded: Bool? = nil, writeData: (inout JSONWriter) -> Void
    ) -> HTTPResponse {
        var writer = JSONWriter(reservingCapacity: 1024)
        writer.beginObject()
        writer.writeKey("success")
        writer.writeRaw(succeeded ?? (status < 300) ? "true" : "false")
        writer.writeKey("message")
        writer.writeString(message)
        writer.writeKey("data")
        writeData(&writer)
        writer.writeKey("timestamp")
        writer.writeTimestamp(now)
        writer.endObject()
        return .json(status, writer.bytes, headers: headers)
    }

    /// An error's envelope `message`: the name seed 000's error table gives it ("Invalid tenant ID",
    /// "Authentication failed", "Insufficient permissions", "Tenant not found", "Server error"), the same
    /// style for the key-stats route's organization, else the status's reason phrase. The detail, which
    /// says what to do, is the `error.message`.
    static func title(status: Int, code: APIErrorCode) -> String {
        switch (status, code) {
        case (_, .invalidTenantId): "Invalid tenant ID"
        case (_, .invalidOrganizationId): "Invalid organization ID"
        case (_, .tenantNotFound): "Tenant not found"
        case (_, .organizationNotFound): "Organization not found"
        case (401, _): "Authentication failed"
        case (403, _): "Insufficient permissions"
        case (500, _): "Server error"
        default: HTTPResponse.reason(status).description
        }
    }

    /// The error envelope: `message` is the error's name (``title(status:code:)``), `error.message` the
    /// detail.
    static func error(
        _ status: Int, _ code: APIErrorCode, _ message: String, now: Timestamp,
        headers: [(String, String)] = [], writeData: ((inout JSONWriter) -> Void)? = nil
    ) -> HTTPResponse {
        var writer = JSONWriter(reservingCapacity: 256)
        writer.beginObject()
        writer.writeKey("success")
        writer.writeRaw("false")
        writer.writeKey("message")
        writer.writeString(title(status: status, code: code))
        writer.writeKey("error")
        writer.beginObject()
        writer.writeKey("status")
        writer.writeInt(Int64(status))
        writer.writeKey("code")
        writer.writeString(code.rawValue)
        writer.writeKey("message")
        // A message may quote what the client sent (a path, a method): a token in it is not repeated, since
        // a proxy or the client's error reporting may keep the answer.
        writer.writeString(TokenRedaction.redacted(message))
        writer.endObject()
        // An error that still has an answer per item (an ingest whose every event was rejected) carries it.
        if let writeData {
            writer.writeKey("data")
            writeData(&writer)
        }
        writer.writeKey("timestamp")
        writer.writeTimestamp(now)
        writer.endObject()
        var response = HTTPResponse.json(status, writer.bytes, headers: headers)
        response.failure = HTTPResponse.Failure(code: code.rawValue, message: message)
        return response
    }

    /// One entry of a validation error: where (`["body", "settings", "mfa_required"]`), what, and its type.
    struct ValidationIssue {
        /// One step of a location: a member name, or a position (an array index, a byte offset), which
        /// FastAPI writes as a number.
        enum Step: ExpressibleByStringLiteral, Equatable {
            case name(String)
            case index(Int)

            init(stringLiteral value: String) {
                self = .name(value)
            }

            var json: JSONValue {
                switch self {
                case .name(let name): .string(name)
                case .index(let index): .int(Int64(index))
                }
            }
        }

        var location: [Step]
        var message: String
        var type: Kind

        /// The `type` of an entry, as pydantic names them.
        enum Kind: String, Sendable {
            /// A value that breaks a rule of its field.
            case valueError = "value_error"
            /// A value of the wrong JSON type.
            case typeError = "type_error"
            /// A required field, or the body, is absent.
            case missing
            /// A member the schema does not have.
            case extraForbidden = "extra_forbidden"
            /// A body that is not JSON.
            case jsonInvalid = "json_invalid"
        }
    }

    /// The most issues a validation answer lists; a body with more is told how many were left out, so that a
    /// small body (a gzip of a million unknown members) cannot make an answer of hundreds of megabytes.
    static let maxListedIssues = 100

    /// The seed's 422: `HTTPValidationError` listing `issues`, the first ``maxListedIssues`` of them and then
    /// one saying how many more there are.
    static func validation(_ issues: [ValidationIssue]) -> HTTPResponse {
        var listed = Array(issues.prefix(maxListedIssues))
        if issues.count > maxListedIssues {
            listed.append(
                ValidationIssue(
                    location: ["body"],
                    message: "and \(issues.count - maxListedIssues) more issues, not listed: fix these and send again",
                    type: .valueError))
        }
        let detail = listed.map { issue -> JSONValue in
            var object = JSONObject()
            object.set("loc", .array(issue.location.map(\.json)))
            object.set("msg", .string(issue.message))
            object.set("type", .string(issue.type.rawValue))
            return .object(object)
        }
        var object = JSONObject()
        object.set("detail", .array(detail))
        var response = HTTPResponse.json(422, JSONValue.object(object).jsonBytes)
        response.failure = failure(of: issues)
        return response
    }

    /// What a validation answer's log line says: its first issue, where and what, and how many others.
    static func failure(of issues: [ValidationIssue]) -> HTTPResponse.Failure {
        guard let first = issues.first else {
            return HTTPResponse.Failure(code: "validation_error", message: "the request is not valid")
        }
        let location = first.location.map {
            switch $0 {
            case .name(let name): name
            case .index(let index): String(index)
            }
        }
        let more = issues.count > 1 ? " (and \(issues.count - 1) more)" : ""
        return HTTPResponse.Failure(
            code: "validation_error",
            message: "\(location.joined(separator: ".")): \(first.message) [\(first.type.rawValue)]\(more)")
    }
}
