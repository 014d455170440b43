import TallyCore

/// Each operation's answers: the statuses a route can give, each with its description and, where it has
/// a body, its schema.
extension OpenAPIDocument {
    /// The responses of `route`'s operation, by status.
    static func responses(for route: Route) -> [(String, JSONValue)] {
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
                            .string(
                                "Content-Type other than application/json (or text/json), or an unsupported Content-Encoding"
                            )
                        )
                    ])
                ),
            ]
        }
        if !route.takesBody {
            responses.append(
                ("413", object([("description", .string("A request body was sent: this route reads none"))])))
        }
        // The open routes' only 400 is the HTTP layer's, for a request it cannot take as sent (no Host, two
        // of them, a Transfer-Encoding it does not know, …); the other routes list it beside their own.
        if !route.authenticated {
            responses.append(
                ("400", object([("description", .string("A malformed request, refused by the HTTP layer"))])))
        }
        if route.authenticated {
            let tenantsAPI = route.pattern.hasPrefix("/api/v1/admin/tenants/") && !route.pattern.hasSuffix("/stats")
            let badRequest =
                route.pattern == "/api/v1/events"
                ? "Invalid x-tenantid, malformed JSON, a body with no events (empty_batch; an empty CloudEvents batch is valid and answered 200) or a corrupt gzip body"
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
        return responses.map { status, response in withSchema(status, response, route: route) }
    }

    /// `response` for `status` with the schema of its body added, unless it has content already.
    private static func withSchema(_ status: String, _ response: JSONValue, route: Route) -> (String, JSONValue) {
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
        case ("400", _) where !route.authenticated:
            return (status, jsonResponse(description, schema: "ProtocolErrorResponse"))
        // A 400 or 413 may come from the HTTP layer, before any route, in its shorter shape.
        case ("400", _), ("413", _):
            return (status, jsonResponse(description, schema: "ErrorResponse", or: ["ProtocolErrorResponse"]))
        case ("401", _):
            return (
                status,
                jsonResponse(
                    description, schema: "ErrorResponse",
                    headers: [
                        (
                            "WWW-Authenticate",
                            #"`Bearer`, the scheme the server expects; `Bearer error="invalid_token"` when a bearer token was sent and refused (RFC 6750 §3.1)"#
                        )
                    ])
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
}
