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

    private static func build() -> JSONValue {
        var paths = JSONObject()
        for route in Route.all {
            var operations: JSONObject
            if case .object(let existing)? = paths[route.pattern] {
                operations = existing
            } else {
                operations = JSONObject()
            }
            var parameters: [JSONValue] = []
            for part in route.pattern.split(separator: "/") where part.hasPrefix("{") {
                parameters.append(
                    object([
                        ("name", .string(String(part.dropFirst().dropLast()))), ("in", .string("path")),
                        ("required", .bool(true)),
                        ("schema", object([("type", .string("string")), ("format", .string("uuid"))])),
                    ]))
            }
            if route.authenticated {
                parameters.append(
                    object([
                        ("name", .string("x-tenantid")), ("in", .string("header")), ("required", .bool(true)),
                        ("schema", object([("type", .string("string")), ("format", .string("uuid"))])),
                    ]))
            }
            if route.pattern == "/api/v1/events" && route.method == "POST" {
                parameters.append(
                    object([
                        ("name", .string("Content-Encoding")), ("in", .string("header")), ("required", .bool(false)),
                        (
                            "description",
                            .string(
                                "gzip (or x-gzip) to send a gzip-compressed body; identity or absent for none. The decompressed body is limited like an uncompressed one (--max-body-bytes)."
                            )
                        ),
                        (
                            "schema",
                            object([
                                ("type", .string("string")),
                                ("enum", .array(ContentDecoding.supported.map { .string($0) })),
                            ])
                        ),
                    ]))
            }
            if route.pattern == "/api/v1/admin/tenants/" && route.method == "GET" {
                for (name, fallback, maximum) in TallyAPIHandler.pagingParameters {
                    parameters.append(
                        object([
                            ("name", .string(name)), ("in", .string("query")),
                            (
                                "schema",
                                object([
                                    ("type", .string("integer")), ("minimum", .int(1)),
                                    ("maximum", .int(Int64(maximum))),
                                    ("default", .int(Int64(fallback))),
                                ])
                            ),
                        ]))
                }
                let filters: [(String, JSONValue, String)] = [
                    ("search", object([("type", .string("string"))]), "Part of the name, ignoring case"),
                    (
                        "status", enumeration(TenantStatus.allCases.map(\.rawValue)),
                        "Only tenants of this status; deleted tenants are listed only when asked for"
                    ),
                    ("partner_id", object([("type", .string("string"))]), "Only this partner's tenants"),
                ]
                for (name, schema, description) in filters {
                    parameters.append(
                        object([
                            ("name", .string(name)), ("in", .string("query")), ("description", .string(description)),
                            ("schema", schema),
                        ]))
                }
            }
            if route.endpoint == .tenantStats {
                parameters.append(
                    object([
                        ("name", .string("realmname")), ("in", .string("header")), ("required", .bool(false)),
                        (
                            "description",
                            .string("Accepted, as seed 000 lists it, and not used: the tenant is the path's")
                        ),
                        ("schema", object([("type", .string("string"))])),
                    ]))
            }
            var responses: [(String, JSONValue)] = [("200", object([("description", .string("Success"))]))]
            if route.endpoint == .health {
                responses.append(
                    (
                        "503",
                        object([
                            (
                                "description",
                                .string(
                                    "The store failed (status read-only), or the live stats miss a void whose target could not be read (status degraded). Damage the background scrub found answers 200 with status degraded and the damage in logDamage"
                                )
                            )
                        ])
                    ))
            }
            switch (route.method, route.pattern) {
            case ("POST", "/api/v1/admin/tenants/"):
                responses = [("201", object([("description", .string("Created"))]))]
            case ("DELETE", _): responses = [("204", object([("description", .string("Deleted (soft)"))]))]
            case ("POST", "/api/v1/events"):
                responses += [
                    (
                        "207",
                        object([
                            (
                                "description",
                                .string("Some events rejected: success is false, and data.results gives each reason")
                            )
                        ])
                    ),
                    (
                        "413",
                        object([
                            (
                                "description",
                                .string(
                                    "Body too large, before or after gzip decompression, or more than \(IngestBody.maxEvents) events (too_many_events)"
                                )
                            )
                        ])
                    ),
                    ("415", object([("description", .string("Unsupported Content-Type or Content-Encoding"))])),
                    ("422", object([("description", .string("Every event rejected"))])),
                    ("503", object([("description", .string("Storage failed; nothing acknowledged"))])),
                ]
            default: break
            }
            if ["POST", "PATCH"].contains(route.method) && route.pattern.hasPrefix("/api/v1/admin/tenants/") {
                responses += [
                    ("413", object([("description", .string("Body too large, before or after gzip decompression"))])),
                    (
                        "415",
                        object([
                            (
                                "description",
                                .string("Content-Type other than application/json, or an unsupported Content-Encoding")
                            )
                        ])
                    ),
                ]
            }
            if !route.takesBody {
                responses.append(
                    ("413", object([("description", .string("A request body was sent: this route reads none"))])))
            }
            if route.authenticated {
                let tenantsAPI = route.pattern.hasPrefix("/api/v1/admin/tenants/") && !route.pattern.hasSuffix("/stats")
                let badRequest =
                    route.pattern == "/api/v1/events"
                    ? "Invalid x-tenantid, malformed JSON or a corrupt gzip body"
                    : tenantsAPI
                        ? (["POST", "PATCH"].contains(route.method)
                            ? "Invalid x-tenantid or a corrupt gzip body (a body that is not JSON is a 422)"
                            : "Invalid x-tenantid")
                        : "Invalid id or x-tenantid"
                // The key-stats route keeps seed 001's wording.
                let keyStats = route.endpoint == .keyStats
                responses += [
                    ("400", object([("description", .string(badRequest))])),
                    (
                        "401",
                        object([
                            (
                                "description",
                                .string(
                                    keyStats
                                        ? "Authentication required. Provide a valid bearer token."
                                        : "Missing, expired or invalid bearer token")
                            )
                        ])
                    ),
                    (
                        "403",
                        object([
                            (
                                "description",
                                .string(
                                    keyStats
                                        ? "Access denied. User is not a member of this organization."
                                        : "Insufficient permissions")
                            )
                        ])
                    ),
                ]
                if keyStats {
                    responses[0] = ("200", object([("description", .string("Statistics retrieved successfully"))]))
                }
                if route.pattern.contains("{") {
                    responses.append(("404", object([("description", .string("Not found"))])))
                }
                switch (route.method, route.pattern) {
                case ("POST", "/api/v1/admin/tenants/"):
                    responses.append(
                        ("409", object([("description", .string("A tenant with this id exists (tenant_exists)"))])))
                case ("PATCH", _):
                    responses.append(
                        (
                            "409",
                            object([
                                (
                                    "description",
                                    .string("The tenant is deleted and the body does not restore it (tenant_deleted)")
                                )
                            ])
                        ))
                default: break
                }
                // The seed's validation failures, on every tenants API route: bodies (POST, PATCH), the list's
                // query parameters and a `tenant_id` that is not a UUID.
                if tenantsAPI {
                    responses.append(
                        (
                            "422",
                            object([
                                ("description", .string("Validation Error")),
                                (
                                    "content",
                                    object([
                                        (
                                            "application/json",
                                            object([
                                                (
                                                    "schema",
                                                    object([
                                                        ("$ref", .string("#/components/schemas/HTTPValidationError"))
                                                    ])
                                                )
                                            ])
                                        )
                                    ])
                                ),
                            ])
                        ))
                }
            }
            // Seed 000's last row; and a write refused once the store has failed (the server is read-only then).
            if route.authenticated {
                responses.append(("500", object([("description", .string("Server error"))])))
                if route.method != "GET" && !responses.contains(where: { $0.0 == "503" }) {
                    responses.append(
                        (
                            "503",
                            object([
                                (
                                    "description",
                                    .string("The store has failed: the server is read-only (storage_failed)")
                                )
                            ])
                        ))
                }
            }
            // The stats answers and every error envelope carry their schemas (the tenants API's 422 has its own).
            responses = responses.map { status, response in
                guard case .object(let fields) = response, case .string(let description)? = fields["description"],
                    fields["content"] == nil
                else { return (status, response) }
                // A body the server has no memory for is refused by the HTTP layer in its shorter shape.
                let bodyBudget = ["POST", "PATCH"].contains(route.method) ? ["ProtocolErrorResponse"] : []
                let retryAfter =
                    bodyBudget.isEmpty
                    ? [] : [("Retry-After", "Seconds to wait, when the server's memory for request bodies is full")]
                switch (status, route.endpoint) {
                case ("200", .tenantStats): return (status, jsonResponse(description, schema: "TenantStatsResponse"))
                case ("200", .keyStats): return (status, jsonResponse(description, schema: "KeyStatsResponse"))
                case ("200", .ingest), ("207", .ingest):
                    return (status, jsonResponse(description, schema: "IngestResponse"))
                case ("422", .ingest): return (status, jsonResponse(description, schema: "IngestErrorResponse"))
                case ("503", .ingest):
                    return (
                        status,
                        jsonResponse(description, schema: "IngestErrorResponse", or: bodyBudget, headers: retryAfter)
                    )
                case ("200", .listTenants): return (status, jsonResponse(description, schema: "TenantListResponse"))
                case ("200", .getTenant), ("200", .updateTenant), ("201", .createTenant):
                    return (status, jsonResponse(description, schema: "TenantResponse"))
                case ("200", .health), ("503", .health):
                    return (status, jsonResponse(description, schema: "HealthResponse"))
                case ("200", .openAPI):
                    return (status, jsonResponse(description, schema: "OpenAPIDocument"))
                case ("200", .metrics):
                    return (
                        status,
                        object([
                            ("description", .string("Prometheus text exposition format 0.0.4")),
                            ("content", object([("text/plain", object([("schema", scalar("string"))]))])),
                        ])
                    )
                // A 400 or 413 may come from the HTTP layer, before any route, in its shorter shape.
                case ("400", _), ("413", _):
                    return (status, jsonResponse(description, schema: "ErrorResponse", or: ["ProtocolErrorResponse"]))
                case ("401", _):
                    return (
                        status,
                        jsonResponse(
                            description, schema: "ErrorResponse",
                            headers: [("WWW-Authenticate", "Bearer: the scheme the server expects")])
                    )
                case ("503", _):
                    return (
                        status, jsonResponse(description, schema: "ErrorResponse", or: bodyBudget, headers: retryAfter)
                    )
                case ("403", _), ("404", _), ("409", _), ("415", _), ("500", _):
                    return (status, jsonResponse(description, schema: "ErrorResponse"))
                default: return (status, response)
                }
            }
            var operation: [(String, JSONValue)] = [
                ("operationId", .string(operationId(route))),
                ("tags", .array([.string(tag(route))])),
                ("summary", .string(route.summary)),
                ("parameters", .array(parameters)),
                ("responses", object(responses)),
            ]
            // Open routes say so, rather than leave the bearer requirement undefined.
            operation.append(("security", .array(route.authenticated ? [object([("bearer", .array([]))])] : [])))
            if route.endpoint == .ingest {
                let event = reference("Event")
                let events = object([
                    ("oneOf", .array([event, object([("type", .string("array")), ("items", event)])]))
                ])
                operation.append(
                    (
                        "requestBody",
                        object([
                            ("required", .bool(true)),
                            (
                                "content",
                                object([
                                    ("application/json", object([("schema", events)])),
                                    (
                                        "application/x-ndjson",
                                        object([
                                            (
                                                "schema",
                                                object([
                                                    ("type", .string("string")),
                                                    ("description", .string("One event per line")),
                                                ])
                                            )
                                        ])
                                    ),
                                    ("application/cloudevents+json", object([("schema", reference("CloudEvent"))])),
                                    (
                                        "application/cloudevents-batch+json",
                                        object([
                                            (
                                                "schema",
                                                object([("type", .string("array")), ("items", reference("CloudEvent"))])
                                            )
                                        ])
                                    ),
                                ])
                            ),
                        ])
                    ))
            } else if ["POST", "PATCH"].contains(route.method) {
                let schema = reference(route.method == "POST" ? "TenantCreate" : "TenantUpdate")
                operation.append(
                    (
                        "requestBody",
                        object([
                            ("required", .bool(true)),
                            ("content", object([("application/json", object([("schema", schema)]))])),
                        ])
                    ))
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
                        object(
                            responseSchemas + eventSchemas + [
                                (
                                    "HTTPValidationError",
                                    object([
                                        ("type", .string("object")),
                                        (
                                            "properties",
                                            object([
                                                (
                                                    "detail",
                                                    object([
                                                        ("type", .string("array")),
                                                        (
                                                            "items",
                                                            object([
                                                                (
                                                                    "$ref",
                                                                    .string("#/components/schemas/ValidationError")
                                                                )
                                                            ])
                                                        ),
                                                    ])
                                                )
                                            ])
                                        ),
                                    ])
                                ),
                                (
                                    "ValidationError",
                                    object([
                                        ("type", .string("object")),
                                        ("required", .array([.string("loc"), .string("msg"), .string("type")])),
                                        (
                                            "properties",
                                            object([
                                                (
                                                    "loc",
                                                    object([
                                                        ("type", .string("array")),
                                                        (
                                                            "items",
                                                            object([
                                                                (
                                                                    "anyOf",
                                                                    .array([
                                                                        object([("type", .string("string"))]),
                                                                        object([("type", .string("integer"))]),
                                                                    ])
                                                                )
                                                            ])
                                                        ),
                                                    ])
                                                ),
                                                ("msg", object([("type", .string("string"))])),
                                                ("type", object([("type", .string("string"))])),
                                            ])
                                        ),
                                    ])
                                ),
                            ])
                    ),
                ])
            ),
        ])
    }
}
