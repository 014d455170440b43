import TallyCore

/// The document's component schemas: tenant bodies and settings, the response envelopes of seed 000, and
/// every route's answer.
extension OpenAPIDocument {
    /// The tenant `settings` rules (``TenantSettings``): known settings are checked, any other key is kept
    /// as given. In an update, `null` removes a setting.
    static func settingsSchema(update: Bool) -> JSONValue {
        func value(_ schema: [(String, JSONValue)]) -> JSONValue {
            update
                ? object([("anyOf", .array([object(schema), object([("type", .string("null"))])]))]) : object(schema)
        }
        return object([
            ("type", .string("object")),
            (
                "description",
                .string(
                    "Known settings are checked; any other key is kept as given."
                        + (update
                            ? " Merged into the tenant's settings: each member replaces the setting of that name, and null removes it."
                            : "")
                )
            ),
            (
                "properties",
                object([
                    ("mfa_required", value([("type", .string("boolean"))])),
                    (
                        "mfa_methods",
                        value([
                            ("type", .string("array")), ("uniqueItems", .bool(true)),
                            ("items", enumeration(TenantSettings.mfaMethods.sorted())),
                        ])
                    ),
                    ("password_policy", value([("type", .string("object"))])),
                    (
                        "session_timeout",
                        value([
                            ("type", .string("integer")), ("minimum", .int(1)), ("maximum", .int(.max)),
                            ("description", .string("Minutes")),
                        ])
                    ),
                    (
                        "storage_quota_mb",
                        value([
                            ("type", .string("integer")), ("minimum", .int(1)), ("maximum", .int(.max)),
                            (
                                "description",
                                .string(
                                    "Megabytes (2^20 bytes); \(TenantSettings.defaultStorageQuotaMB) when not set. Only super_admin may change it."
                                )
                            ),
                        ])
                    ),
                ])
            ),
            // Any other setting is kept as given; only an update's `null` (removal) may be null.
            ("additionalProperties", update ? .bool(true) : object([("not", object([("type", .string("null"))]))])),
        ])
    }

    /// The body of a tenant create (`name` required) or update (every field optional; `{}` changes nothing).
    /// Members other than these are refused (422 `extra_forbidden`).
    static func tenantBodySchema(update: Bool) -> JSONValue {
        var status = enumeration(TenantStatus.allCases.map(\.rawValue))
        if update, case .object(var fields) = status {
            fields.set(
                "description",
                .string("Only super_admin may change it; a deleted tenant is restored by another status"))
            status = .object(fields)
        }
        let properties: [(String, JSONValue)] = [
            (
                "name",
                object([
                    ("type", .string("string")), ("minLength", .int(1)),
                    ("maxLength", .int(Int64(EventJSONDecoder.maxNameLength))),
                    ("pattern", .string(EventJSONDecoder.nonBlankPattern)),
                    ("description", .string("Not only whitespace (Unicode White_Space scalars)")),
                ])
            ),
            (
                "id",
                object([
                    ("type", .string("string")), ("format", .string("uuid")),
                    (
                        "description",
                        .string(
                            update
                                ? "If given, the path's tenant_id: an id cannot change"
                                : "Chosen by the server when absent")
                    ),
                ])
            ),
            ("status", status),
            (
                "partner_id",
                object([
                    ("type", .array([.string("string"), .string("null")])), ("minLength", .int(1)),
                    ("maxLength", .int(Int64(EventJSONDecoder.maxIdLength))), ("pattern", .string("^[ -~]+$")),
                    ("description", .string("Printable ASCII" + (update ? "; null clears it" : ""))),
                ])
            ),
            ("settings", reference(update ? "TenantSettingsUpdate" : "TenantSettings")),
        ]
        var pairs: [(String, JSONValue)] = [("type", .string("object"))]
        if !update { pairs.append(("required", .array([.string("name")]))) }
        pairs += [("properties", object(properties)), ("additionalProperties", .bool(false))]
        return object(pairs)
    }

    /// An object of integer counters.
    static func counters(_ names: [String]) -> JSONValue {
        objectSchema(names.map { ($0, scalar("integer", format: "int64")) })
    }

    /// `schema` with a `description`.
    static func described(_ schema: JSONValue, _ text: String) -> JSONValue {
        guard case .object(var members) = schema else { return schema }
        members.set("description", .string(text))
        return .object(members)
    }

    /// How the stats answers show times: kept to the microsecond, shown to the millisecond.
    static let shownTime =
        "An event time as sent (up to the future limit, 5 minutes by default, ahead of `generatedAt`), kept to the microsecond and shown to the millisecond"

    /// The success envelope around `data`.
    static func envelope(_ data: JSONValue) -> JSONValue {
        objectSchema([
            ("success", scalar("boolean")), ("message", scalar("string")), ("data", data),
            ("timestamp", scalar("string", format: "date-time")),
        ])
    }

    /// Response schemas by name: the stats answers in seed 000's shape (and the key-stats route's, which
    /// seed 001 leaves open), the error envelopes, and the ingest, tenants, health and document answers.
    static let responseSchemas: [(String, JSONValue)] = [
        (
            "TenantStatsResponse",
            envelope(
                objectSchema([
                    ("tenantId", scalar("string", format: "uuid")),
                    (
                        "tenantName",
                        described(
                            scalar("string", nullable: true),
                            "null while the tenant has events but no `tenant.created`")
                    ),
                    (
                        "users",
                        described(
                            counters(["total", "active", "inactive", "admins"]),
                            "total = active + inactive; an inactive admin still counts as an admin")
                    ),
                    (
                        "credentials",
                        described(
                            counters(["total", "active", "expired"]),
                            "total = active + expired, expired read from each `expiresAt`; revoked ones leave the counts"
                        )
                    ),
                    (
                        "apiKeys",
                        described(
                            counters(["total", "active", "revoked"]),
                            "total = active + revoked; a key past its `expiresAt` leaves these counts (see the API-key stats' `expiredKeys`)"
                        )
                    ),
                    ("oauthClients", counters(["total", "active"])),
                    (
                        "usage",
                        described(
                            counters(["apiCallsThisMonth", "apiCallsLastMonth", "storageUsedMB", "storageQuotaMB"]),
                            "API calls per UTC calendar month by event time; storage in MiB (2^20 bytes), rounded up; the quota from `settings.storage_quota_mb` (10000 when unset)"
                        )
                    ),
                    (
                        "lastActivity",
                        described(
                            scalar("string", format: "date-time", nullable: true),
                            "The latest event time of any event of the tenant. " + shownTime)
                    ),
                    ("generatedAt", scalar("string", format: "date-time")),
                ]))
        ),
        (
            "KeyStatsResponse",
            envelope(
                objectSchema(
                    [("organizationId", scalar("string", format: "uuid"))]
                        + [
                            "totalKeys", "activeKeys", "revokedKeys", "expiredKeys", "totalRequests", "rateLimitHits",
                            "errors",
                        ].map { ($0, scalar("integer", format: "int64")) }
                        + [
                            (
                                "mostRecentlyUsed",
                                object([
                                    ("type", .string("array")), ("maxItems", .int(5)),
                                    (
                                        "items",
                                        objectSchema([
                                            ("keyId", scalar("string")), ("name", scalar("string", nullable: true)),
                                            ("status", enumeration(KeyStats.RecentKey.Status.allCases.map(\.rawValue))),
                                            ("requests", scalar("integer", format: "int64")),
                                            ("rateLimitHits", scalar("integer", format: "int64")),
                                            ("errors", scalar("integer", format: "int64")),
                                            (
                                                "lastUsedAt",
                                                described(
                                                    scalar("string", format: "date-time", nullable: true),
                                                    "The key's latest call. " + shownTime
                                                        + "; keys are ranked by it to the microsecond, then by `keyId`"
                                                )
                                            ),
                                        ])
                                    ),
                                ])
                            ),
                            ("generatedAt", scalar("string", format: "date-time")),
                        ]))
        ),
        (
            "ProtocolErrorResponse",
            objectSchema([
                ("success", scalar("boolean")),
                ("error", objectSchema([("status", scalar("integer")), ("message", scalar("string"))])),
            ])
        ),
        ("ErrorResponse", objectSchema(errorFields)),
        // An ingest that stored nothing (every event rejected, 422; storage failed, 503): the error envelope
        // with the per-event results as its data.
        ("IngestErrorResponse", objectSchema(errorFields + [("data", reference("IngestResult"))])),
        ("IngestResponse", envelope(reference("IngestResult"))),
        (
            "IngestResult",
            objectSchema([
                ("totals", counters(["received", "accepted", "duplicates", "rejected", "failed"])),
                (
                    "results",
                    object([
                        ("type", .string("array")),
                        (
                            "items",
                            objectSchema(
                                [
                                    ("index", scalar("integer")), ("line", scalar("integer")),
                                    ("status", enumeration(["accepted", "duplicate", "rejected", "failed"])),
                                    ("offset", scalar("integer", format: "int64")), ("error", scalar("string")),
                                ],
                                // `line` for NDJSON bodies; `offset` when stored, `error` when not.
                                optional: ["line", "offset", "error"])
                        ),
                    ])
                ),
            ])
        ),
        (
            "Tenant",
            objectSchema([
                // Only registered tenants (a `tenant.created` seen) have a record: name and times are set.
                ("id", scalar("string", format: "uuid")), ("name", scalar("string")),
                ("status", enumeration(TenantStatus.allCases.map(\.rawValue))),
                ("partner_id", scalar("string", nullable: true)),
                ("settings", object([("type", .string("object")), ("additionalProperties", .bool(true))])),
                ("created_at", scalar("string", format: "date-time")),
                ("updated_at", scalar("string", format: "date-time")),
                ("deleted_at", scalar("string", format: "date-time", nullable: true)),
            ])
        ),
        ("TenantSettings", settingsSchema(update: false)),
        ("TenantSettingsUpdate", settingsSchema(update: true)),
        ("TenantCreate", tenantBodySchema(update: false)),
        ("TenantUpdate", tenantBodySchema(update: true)),
        ("TenantResponse", envelope(reference("Tenant"))),
        (
            "TenantListResponse",
            envelope(
                objectSchema([
                    ("items", object([("type", .string("array")), ("items", reference("Tenant"))])),
                    ("total", scalar("integer")), ("page", scalar("integer")), ("per_page", scalar("integer")),
                    ("pages", scalar("integer")),
                ]))
        ),
        (
            "OpenAPIDocument",
            object([
                ("type", .string("object")), ("required", .array([.string("openapi"), .string("paths")])),
                (
                    "properties",
                    object([("openapi", scalar("string")), ("paths", object([("type", .string("object"))]))])
                ),
                ("additionalProperties", .bool(true)),
            ])
        ),
        (
            "HealthResponse",
            envelope(
                objectSchema([
                    ("status", enumeration(["ok", "read-only", "degraded"])),
                    ("events", scalar("integer", format: "int64")),
                    (
                        "logDamage",
                        object([
                            ("type", .string("array")), ("items", scalar("string")),
                            (
                                "description",
                                .string(
                                    "What the last background scrub found damaged in the log, one entry per segment (empty when nothing)"
                                )
                            ),
                        ])
                    ),
                ]))
        ),
    ]

    /// A JSON response described by the component schema `name`, or by any of `names` (`anyOf`: the error
    /// envelope also satisfies the shorter protocol error's schema, so `oneOf` would match neither), with
    /// `headers` (name and description).
    static func jsonResponse(
        _ description: String, schema name: String, or names: [String] = [], headers: [(String, String)] = []
    ) -> JSONValue {
        let references = ([name] + names).map(reference)
        let schema = references.count == 1 ? references[0] : object([("anyOf", .array(references))])
        var fields: [(String, JSONValue)] = [
            ("description", .string(description)),
            ("content", object([("application/json", object([("schema", schema)]))])),
        ]
        if !headers.isEmpty {
            fields.append(
                (
                    "headers",
                    object(
                        headers.map { header, about in
                            (header, object([("description", .string(about)), ("schema", scalar("string"))]))
                        })
                ))
        }
        return object(fields)
    }

    /// Seed 002's validation failure: `HTTPValidationError`, a list of `ValidationError`s.
    static let validationSchemas: [(String, JSONValue)] = [
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
    ]
}
