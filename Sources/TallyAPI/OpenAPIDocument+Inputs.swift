import TallyCore

/// Each operation's inputs: its parameters (path ids, the `x-tenantid` header, and the query and header
/// parameters particular routes read) and its request body.
extension OpenAPIDocument {
    /// The parameters of `route`'s operation.
    static func parameters(for route: Route) -> [JSONValue] {
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
        if route.takesBody {
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
            // An empty value (`?status=`, as a form's empty choice sends) is no filter, for each of them.
            let filters: [(String, JSONValue, String)] = [
                ("search", object([("type", .string("string"))]), "Part of the name, ignoring case; empty: any"),
                (
                    "status", enumeration(TenantStatus.allCases.map(\.rawValue) + [""]),
                    "Only tenants of this status; deleted tenants are listed only when asked for; empty: any but deleted"
                ),
                ("partner_id", object([("type", .string("string"))]), "Only this partner's tenants; empty: any"),
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
        return parameters
    }

    /// The body `route`'s operation reads: events in any of the ingest formats, or a tenant to create or
    /// update; nil for a route that reads none.
    static func requestBody(for route: Route) -> JSONValue? {
        if route.endpoint == .ingest {
            let event = reference("Event")
            let events = object([
                (
                    "oneOf",
                    .array([event, object([("type", .string("array")), ("items", event), ("minItems", .int(1))])])
                )
            ])
            let lines = object([
                ("type", .string("string")),
                (
                    "description",
                    .string("One event per line; blank lines are skipped, and at least one event is needed")
                ),
            ])
            return object([
                ("required", .bool(true)),
                (
                    "content",
                    object([
                        ("application/json", object([("schema", events)])),
                        ("text/json", object([("schema", events)])),
                        ("application/x-ndjson", object([("schema", lines)])),
                        ("application/jsonl", object([("schema", lines)])),
                        ("application/cloudevents+json", object([("schema", reference("CloudEvent"))])),
                        (
                            "application/cloudevents-batch+json",
                            object([
                                (
                                    "schema",
                                    object([
                                        // Empty is valid CloudEvents (JSON format §4.3): answered 200, no results.
                                        ("type", .string("array")), ("items", reference("CloudEvent")),
                                    ])
                                )
                            ])
                        ),
                    ])
                ),
            ])
        } else if ["POST", "PATCH"].contains(route.method) {
            let schema = reference(route.method == "POST" ? "TenantCreate" : "TenantUpdate")
            return object([
                ("required", .bool(true)),
                (
                    "content",
                    object([
                        ("application/json", object([("schema", schema)])),
                        ("text/json", object([("schema", schema)])),
                    ])
                ),
            ])
        }
        return nil
    }
}
