import TallyCore
import TallyEngine
import TallyHTTP

// Reading a tenants-API request body: its members checked one by one, each problem a 422 entry in the seed's shape.

extension TallyAPIHandler {
    /// The tenants API's body parser: one level of nesting fewer than an event's, because a body's `settings`
    /// sit one level higher than in the stored event (under `data`). So whatever the API stores, an event, a
    /// dump and an import carry back.
    static let tenantBodyDecoder = EventDocumentDecoder(
        parser: JSONParser(limits: .init(maxDepth: JSONParser.Limits().maxDepth - 1)))

    /// A tenant body as the create and update routes read it.
    struct TenantBody {
        var name: String?
        var status: TenantStatus?
        /// `.some(nil)` when the body clears it with `null`.
        var partner: String??
        var settings: JSONObject?
        var id: TenantID?
    }

    /// Why a tenant body was refused: a response of its own (415, 413, a body that is not JSON), or
    /// validation issues that a bad path parameter's issue goes in front of, as FastAPI lists them together.
    enum TenantBodyFailure: Error {
        case rejected(HTTPResponse)
        case invalid([APIResponse.ValidationIssue])

        var response: HTTPResponse {
            switch self {
            case .rejected(let response): response
            case .invalid(let issues): APIResponse.validation(issues)
            }
        }
    }

    /// Reads a tenant body: `name`, `status`, `partner_id` (`null` clears), `settings`.
    func tenantBody(_ request: HTTPRequest, requireName: Bool) -> Result<TenantBody, TenantBodyFailure> {
        let now = clock()
        var body: [UInt8]
        do throws(IngestBody.Failure) {
            let type = HeaderValue.mediaType(request.headers["Content-Type"] ?? "application/json")
            guard type == "application/json" || type == "text/json" else {
                throw IngestBody.Failure(
                    status: 415, code: .unsupportedMediaType,
                    message: "\(HeaderValue.naming(mediaType: type)) is not supported here; send application/json")
            }
            body = try ContentDecoding.decode(
                request.body, header: request.headers.combined("Content-Encoding"), maxBytes: limits.maxBodyBytes,
                remedy: "a tenant's body is far smaller: check what is sent")
        } catch {
            return .failure(
                .rejected(APIResponse.error(error.status, error.code, error.message, now: now, headers: error.headers)))
        }
        // The body is required (seed 002): a missing one is a 422 naming it, as the seed's FastAPI answers. Any
        // byte at all is parsed, as FastAPI parses it, so a body of spaces is JSON that ends too soon.
        guard !body.isEmpty else {
            return .failure(.invalid([.init(location: ["body"], message: "Field required", type: .missing)]))
        }
        body = IngestBody.droppingByteOrderMark(body)
        let value: JSONValue
        var repeats: [[EventDocumentDecoder.PathStep]] = []
        do throws(JSONParseError) {
            let parsed = try body.withUnsafeBytes { bytes in
                Result { () throws(JSONParseError) in try TallyAPIHandler.tenantBodyDecoder.parseDocument(bytes) }
            }.get()
            // A repeated member is well-formed JSON, but which copy counts would be a guess: a 422 entry naming
            // it, beside the entries of the other members.
            if parsed.repeatsKeys { repeats = EventDocumentDecoder.repeatedKeyPaths(in: parsed.value) }
            value = parsed.value
        } catch {
            // As the seed's FastAPI answers a body that is not JSON: a 422 at the byte where it breaks, alone
            // (FastAPI reports it before it validates any parameter).
            return .failure(
                .rejected(
                    APIResponse.validation([
                        .init(
                            location: ["body", .index(error.offset)], message: "JSON decode error: \(error.message)",
                            type: .jsonInvalid)
                    ])))
        }
        guard case .object(var object) = value else {
            return .failure(.invalid([.init(location: ["body"], message: "must be a JSON object", type: .typeError)]))
        }
        var issues = repeats.map { path in
            APIResponse.ValidationIssue(
                location: ["body"]
                    + path.map { step in
                        switch step {
                        case .key(let key): .name(key)
                        case .index(let position): .index(position)
                        }
                    },
                message: EventDocumentDecoder.repeatedKeyRule, type: .valueError)
        }
        // A member with a repeat in it is reported by that alone: a repeated member, or one holding a repeat
        // deeper down, is left out, except that a repeated setting leaves out only that setting.
        var repeated: Set<String> = []
        for path in repeats {
            guard case .key(let member) = path[0] else { continue }
            repeated.insert(member)
            if path.count >= 2, member == "settings", case .key(let setting) = path[1],
                case .object(var written)? = object["settings"]
            {
                written.remove(setting)
                object.set("settings", .object(written))
            } else {
                object.remove(member)
            }
        }
        var name: String?
        switch object["name"] {
        case .string(let text)?
        where !EventJSONDecoder.isBlank(text) && text.unicodeScalars.count <= EventJSONDecoder.maxNameLength:
            // Counted in Unicode scalars, as the event decoder counts: what the API stores, an import takes back.
            name = text
        case nil where !requireName || repeated.contains("name"): break
        case nil: issues.append(.init(location: ["body", "name"], message: "Field required", type: .missing))
        case .string(let text)? where EventJSONDecoder.isBlank(text):
            issues.append(
                .init(
                    location: ["body", "name"], message: "must not be empty or only whitespace", type: .valueError))
        case let field?:
            issues.append(
                .init(
                    location: ["body", "name"],
                    message: "must be a non-empty string of at most \(EventJSONDecoder.maxNameLength) characters",
                    type: Self.isString(field) ? .valueError : .typeError))
        }
        var status: TenantStatus?
        if let field = object["status"] {
            if case .string(let text) = field, let parsed = TenantStatus(rawValue: text) {
                status = parsed
            } else {
                issues.append(
                    .init(
                        location: ["body", "status"], message: "must be active, suspended or deleted",
                        type: Self.isString(field) ? .valueError : .typeError))
            }
        }
        var partner: String??
        if let field = object["partner_id"] {
            switch field {
            case .null: partner = .some(nil)
            case .string(let text)
            where EventJSONDecoder.isIdentifier(text):
                partner = .some(text)
            default:
                issues.append(
                    .init(
                        location: ["body", "partner_id"],
                        message: "must be 1-\(EventJSONDecoder.maxIdLength) printable ASCII characters or null",
                        type: Self.isString(field) ? .valueError : .typeError))
            }
        }
        var settings: JSONObject?
        if let field = object["settings"] {
            if case .object(let given) = field {
                let problems = TenantSettings.invalidSettings(given, allowNull: !requireName)
                if problems.isEmpty { settings = given }
                for problem in problems {
                    issues.append(
                        .init(
                            location: ["body", "settings", .name(problem.key)], message: problem.rule,
                            type: problem.wrongType ? .typeError : .valueError
                        ))
                }
            } else {
                issues.append(.init(location: ["body", "settings"], message: "must be an object", type: .typeError))
            }
        }
        var id: TenantID?
        if let field = object["id"] {
            if case .string(let text) = field, let parsed = TenantID(text) {
                id = parsed
            } else {
                issues.append(
                    .init(
                        location: ["body", "id"], message: "must be a UUID",
                        type: Self.isString(field) ? .valueError : .typeError))
            }
        }
        for member in object where !["name", "status", "partner_id", "settings", "id"].contains(member.key) {
            issues.append(
                .init(location: ["body", .name(member.key)], message: "unknown field", type: .extraForbidden))
        }
        guard issues.isEmpty else { return .failure(.invalid(issues)) }
        return .success(TenantBody(name: name, status: status, partner: partner, settings: settings, id: id))
    }

    /// Whether a member's value is a JSON string: a string the rule refuses is a `value_error`, a value of
    /// another type a `type_error`.
    private static func isString(_ value: JSONValue) -> Bool {
        if case .string = value { return true }
        return false
    }
}
