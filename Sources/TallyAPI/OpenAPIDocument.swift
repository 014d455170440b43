import TallyCore

/// The OpenAPI 3.1 description served at `GET /openapi.json`, generated from ``Route/all`` so that no
/// route can be missing from it.
enum OpenAPIDocument {
    static let json: JSONValue = build()
    /// ``json`` serialized once: the document never changes while the process runs.
    static let bytes: [UInt8] = json.jsonBytes

    static func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
        .object(JSONObject(pairs.map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }

    /// A stable operation id: the seed's where it names one (`ApiKeysController_getStats`, seed 001), so
    /// clients generated from the seed keep their method names; else one from the route's method and path,
    /// `get_api_v1_admin_tenants_tenantId_stats`.
    static func operationId(_ route: Route) -> String {
        if route.endpoint == .keyStats { return "ApiKeysController_getStats" }
        let words = route.pattern.split(separator: "/").map {
            $0.trimmingPrefix("{").dropLast($0.hasSuffix("}") ? 1 : 0)
        }
        return
            ([route.method.lowercased()]
            + words.map { $0.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_") })
            .joined(separator: "_")
    }

    /// An object schema whose properties are all required, except those named in `optional`.
    static func objectSchema(_ properties: [(String, JSONValue)], optional: Set<String> = []) -> JSONValue {
        object([
            ("type", .string("object")),
            ("required", .array(properties.map(\.0).filter { !optional.contains($0) }.map(JSONValue.string))),
            ("properties", object(properties)),
        ])
    }

    /// A reference to the component schema `name`.
    static func reference(_ name: String) -> JSONValue {
        object([("$ref", .string("#/components/schemas/\(name)"))])
    }

    /// A string schema limited to `values`.
    static func enumeration(_ values: [String]) -> JSONValue {
        object([("type", .string("string")), ("enum", .array(values.map(JSONValue.string)))])
    }

    /// The error envelope's fields; `data` follows them where an error carries results.
    static let errorFields: [(String, JSONValue)] = [
        ("success", scalar("boolean")), ("message", scalar("string")),
        (
            "error",
            objectSchema([
                ("status", scalar("integer")), ("code", scalar("string")), ("message", scalar("string")),
            ])
        ),
        ("timestamp", scalar("string", format: "date-time")),
    ]

    /// A schema of `type` (and `format`), or `null` when `nullable`.
    static func scalar(_ type: String, format: String? = nil, nullable: Bool = false) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("type", nullable ? .array([.string(type), .string("null")]) : .string(type))
        ]
        if let format { pairs.append(("format", .string(format))) }
        return object(pairs)
    }

    /// The tags operations are grouped by, with their descriptions; `api-keys` is the seed's.
    static let tags: [(name: String, description: String)] = [
        ("events", "Usage event ingest"),
        ("tenants", "Tenant statistics and the tenants admin API"),
        ("api-keys", "API Keys management and validation"),
        ("operations", "Health, metrics and this description"),
    ]

    /// The tag of a route's operation.
    static func tag(_ route: Route) -> String {
        switch route.endpoint {
        case .ingest: "events"
        case .keyStats: "api-keys"
        case .tenantStats, .listTenants, .createTenant, .getTenant, .updateTenant, .deleteTenant: "tenants"
        case .health, .metrics, .openAPI: "operations"
        }
    }

    /// What an operation does beyond its summary, where a client needs it: the stats routes' (seed 001's
    /// words for the key stats), which any tenant's status is served for.
    static func description(of route: Route) -> String? {
        switch route.endpoint {
        case .keyStats:
            "Get usage statistics for all API keys in an organization. An organization is a tenant; its stats are served whatever its status (suspended, deleted)."
        case .tenantStats:
            "Get a tenant's usage statistics, read from counters kept current on every event. A suspended or deleted tenant's stats are served as any other's; its status is in its record."
        default: nil
        }
    }

    /// The optional `X-Request-Id` every operation reads (see `RequestID` in TallyHTTP).
    static let requestIdParameter = object([
        ("name", .string("X-Request-Id")), ("in", .string("header")), ("required", .bool(false)),
        (
            "description",
            .string(
                "An id for this request, echoed in the answer's X-Request-Id and written in the server's log line; "
                    + "one that is not 1-128 visible ASCII characters is replaced by the server's own")
        ),
        (
            "schema",
            object([
                ("type", .string("string")), ("minLength", .int(1)), ("maxLength", .int(128)),
                ("pattern", .string("^[!-~]+$")),
            ])
        ),
    ])

    /// The `X-Request-Id` every answer carries.
    static let requestIdHeader = object([
        (
            "description",
            .string(
                "The request's id, as its log line names it: the one the request sent, else 16 hexadecimal digits "
                    + "the server chose")
        ),
        ("schema", object([("type", .string("string")), ("minLength", .int(1)), ("maxLength", .int(128))])),
    ])

    /// A `$ref` to the component parameter `name`.
    private static func reference(parameter name: String) -> JSONValue {
        object([("$ref", .string("#/components/parameters/\(name)"))])
    }

    /// `response` with the `X-Request-Id` header every answer carries added to its headers.
    private static func withRequestId(_ response: JSONValue) -> JSONValue {
        guard case .object(var fields) = response else { return response }
        var headers = JSONObject()
        if case .object(let existing)? = fields["headers"] { headers = existing }
        headers.set("X-Request-Id", object([("$ref", .string("#/components/headers/RequestId"))]))
        fields.set("headers", .object(headers))
        return .object(fields)
    }

    private static func build() -> JSONValue {
        var paths = JSONObject()
        for route in Route.all {
            var operations: JSONObject
            if case .object(let existing)? = paths[route.pattern] {
                operations = existing
            } else {
                operations = JSONObject()
            }
            var operation: [(String, JSONValue)] = [
                ("operationId", .string(operationId(route))),
                ("tags", .array([.string(tag(route))])),
                ("summary", .string(route.summary)),
            ]
            if let description = description(of: route) {
                operation.append(("description", .string(description)))
            }
            operation += [
                ("parameters", .array(parameters(for: route) + [reference(parameter: "RequestId")])),
                ("responses", object(responses(for: route).map { ($0, withRequestId($1)) })),
            ]
            // Open routes say so, rather than leave the bearer requirement undefined.
            operation.append(("security", .array(route.authenticated ? [object([("bearer", .array([]))])] : [])))
            if let body = requestBody(for: route) {
                operation.append(("requestBody", body))
            }
            operations.set(route.method.lowercased(), object(operation))
            paths.set(route.pattern, .object(operations))
        }
        return object([
            ("openapi", .string("3.1.0")),
            ("info", object([("title", .string("Tally metering API")), ("version", .string("1.0"))])),
            // Relative: resolved against wherever the document was fetched from, so it is right for any
            // --host and --port, and behind a proxy.
            (
                "servers",
                .array([
                    object([
                        ("url", .string("/")),
                        ("description", .string("the server this document was fetched from")),
                    ])
                ])
            ),
            (
                "tags",
                .array(tags.map { object([("name", .string($0.name)), ("description", .string($0.description))]) })
            ),
            ("paths", .object(paths)),
            (
                "components",
                object([
                    (
                        "securitySchemes",
                        object([
                            (
                                "bearer",
                                object([
                                    ("type", .string("http")), ("scheme", .string("bearer")),
                                    ("bearerFormat", .string("JWT")),
                                ])
                            )
                        ])
                    ),
                    (
                        "schemas",
                        object(responseSchemas + eventSchemas + validationSchemas)
                    ),
                    ("parameters", object([("RequestId", requestIdParameter)])),
                    ("headers", object([("RequestId", requestIdHeader)])),
                ])
            ),
        ])
    }
}
