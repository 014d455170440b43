import TallyCore

/// The OpenAPI 3.1 description served at `GET /openapi.json`, generated from ``Route/all`` so that no
/// route can be missing from it.
enum OpenAPIDocument {
    static let json: JSONValue = build()

    private static func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
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
                for name in ["page", "per_page"] {
                    parameters.append(
                        object([
                            ("name", .string(name)), ("in", .string("query")),
                            ("schema", object([("type", .string("integer"))])),
                        ]))
                }
                for name in ["search", "status", "partner_id"] {
                    parameters.append(
                        object([
                            ("name", .string(name)), ("in", .string("query")),
                            ("schema", object([("type", .string("string"))])),
                        ]))
                }
            }
            var responses: [(String, JSONValue)] = [("200", object([("description", .string("Success"))]))]
            if route.endpoint == .health {
                responses.append(
                    ("503", object([("description", .string("The store failed: the server is read-only"))])))
            }
            switch (route.method, route.pattern) {
            case ("POST", "/api/v1/admin/tenants/"):
                responses = [("201", object([("description", .string("Created"))]))]
            case ("DELETE", _): responses = [("204", object([("description", .string("Deleted (soft)"))]))]
            case ("POST", "/api/v1/events"):
                responses += [
                    ("207", object([("description", .string("Some events rejected"))])),
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
                let event = object([("type", .string("object"))])
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
                                    ("application/cloudevents+json", object([("schema", event)])),
                                    (
                                        "application/cloudevents-batch+json",
                                        object([("schema", object([("type", .string("array")), ("items", event)]))])
                                    ),
                                ])
                            ),
                        ])
                    ))
            } else if ["POST", "PATCH"].contains(route.method) {
                operation.append(
                    (
                        "requestBody",
                        object([
                            ("required", .bool(true)),
                            (
                                "content",
                                object([
                                    ("application/json", object([("schema", object([("type", .string("object"))]))]))
                                ])
                            ),
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
                        object([
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
                                                            ("$ref", .string("#/components/schemas/ValidationError"))
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
