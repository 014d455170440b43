import TallyCore

/// The event schemas of `POST /api/v1/events`: the wire form ``EventJSONDecoder`` reads, and the CloudEvents
/// envelope around it.
extension OpenAPIDocument {
    /// An identifier (`id`, `keyId`, …): 1 to 128 printable ASCII characters; `null` allowed when `nullable`
    /// (an optional field's `null` counts as absent).
    private static func identifier(nullable: Bool = false) -> JSONValue {
        object([
            ("type", nullable ? .array([.string("string"), .string("null")]) : .string("string")),
            ("minLength", .int(1)), ("maxLength", .int(Int64(EventJSONDecoder.maxIdLength))),
            ("pattern", .string("^[ -~]+$")), ("description", .string("1-128 printable ASCII characters")),
        ])
    }

    /// An integer from `minimum` to `maximum`; `null` allowed when `nullable`.
    private static func integer(_ minimum: Int64, _ maximum: Int64, nullable: Bool = false) -> JSONValue {
        object([
            ("type", nullable ? .array([.string("integer"), .string("null")]) : .string("integer")),
            ("minimum", .int(minimum)), ("maximum", .int(maximum)),
        ])
    }

    /// A string limited to `values`, or `null` (absent).
    private static func nullableEnumeration(_ values: [String]) -> JSONValue {
        object([
            ("type", .array([.string("string"), .string("null")])),
            ("enum", .array(values.map(JSONValue.string) + [.null])),
        ])
    }

    /// A name (of a key or tenant): up to 256 characters, not only whitespace.
    private static func name(nullable: Bool) -> JSONValue {
        object([
            ("type", nullable ? .array([.string("string"), .string("null")]) : .string("string")),
            ("maxLength", .int(Int64(EventJSONDecoder.maxNameLength))),
            ("pattern", .string(EventJSONDecoder.nonBlankPattern)),
            ("description", .string("Not only whitespace (Unicode White_Space scalars)")),
        ])
    }

    /// A `data` object with exactly these members (`null` members count as absent).
    private static func data(_ properties: [(String, JSONValue)], required: [String]) -> JSONValue {
        object([
            ("type", .string("object")), ("required", .array(required.map(JSONValue.string))),
            ("properties", object(properties)), ("additionalProperties", .bool(false)),
        ])
    }

    /// One character of a URI (RFC 3986: unreserved, reserved, or a percent-encoded octet), as a regular
    /// expression; ECMA-262 and the server's check read it alike (ASCII only).
    static let uriCharacters = #"([A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})"#

    /// How Tally reads a time it is sent, where that departs from JSON Schema's `date-time` (RFC 3339 §5.6).
    static let inputTimeRules =
        "RFC 3339 (a space may stand for T, as RFC 3339 §5.6 allows; a leap second, :60, is refused; digits past "
        + "the microsecond are dropped; years 0001-9999, also once the offset is applied)"

    /// A time the server reads from a request: a `date-time`, or null, described as Tally reads it.
    static func inputTime(_ whenNull: String) -> JSONValue {
        object([
            ("type", .array([.string("string"), .string("null")])), ("format", .string("date-time")),
            ("description", .string(inputTimeRules + "; " + whenNull)),
        ])
    }

    /// Each type's `data`: the schema's name, the types it belongs to, and the schema.
    private static let eventData: [(name: String, types: [EventType], schema: JSONValue)] = {
        let time = inputTime("null: no expiry")
        let storage = EventJSONDecoder.maxStorageBytes
        return [
            (
                "ApiCallData", [.apiCall],
                data(
                    [
                        ("keyId", identifier()), ("status", integer(100, 599)),
                        ("bytes", integer(0, .max, nullable: true)),
                        (
                            "durationMs",
                            object([("type", .array([.string("number"), .string("null")])), ("minimum", .int(0))])
                        ),
                        ("oauthClientId", identifier(nullable: true)),
                    ], required: ["keyId", "status"])
            ),
            (
                "KeyCreatedData", [.keyCreated],
                data(
                    [("keyId", identifier()), ("name", name(nullable: true)), ("expiresAt", time)],
                    required: ["keyId"])
            ),
            ("KeyData", [.keyRevoked], data([("keyId", identifier())], required: ["keyId"])),
            (
                "UserCreatedData", [.userCreated],
                data(
                    [("userId", identifier()), ("role", nullableEnumeration(["member", "admin"]))],
                    required: ["userId"])
            ),
            (
                "UserRoleChangedData", [.userRoleChanged],
                data(
                    [("userId", identifier()), ("role", enumeration(["member", "admin"]))],
                    required: ["userId", "role"])
            ),
            (
                "UserData", [.userDeactivated, .userActivated, .userDeleted],
                data([("userId", identifier())], required: ["userId"])
            ),
            (
                "CredentialCreatedData", [.credentialCreated],
                data([("credentialId", identifier()), ("expiresAt", time)], required: ["credentialId"])
            ),
            (
                "CredentialData", [.credentialExpired, .credentialRevoked],
                data([("credentialId", identifier())], required: ["credentialId"])
            ),
            (
                "OAuthClientData", [.oauthClientCreated, .oauthClientDisabled],
                data([("clientId", identifier())], required: ["clientId"])
            ),
            (
                "StorageChangedData", [.storageChanged],
                data([("deltaBytes", integer(-storage, storage))], required: ["deltaBytes"])
            ),
            (
                "StorageMeasuredData", [.storageMeasured],
                data([("usedBytes", integer(0, storage))], required: ["usedBytes"])
            ),
            (
                "TenantCreatedData", [.tenantCreated],
                data(
                    [
                        ("name", name(nullable: false)),
                        ("status", nullableEnumeration(TenantStatus.allCases.map(\.rawValue))),
                        ("partnerId", identifier(nullable: true)),
                        ("settings", object([("anyOf", .array([reference("TenantSettings"), scalar("null")]))])),
                    ], required: ["name"])
            ),
            (
                "TenantUpdatedData", [.tenantUpdated],
                object([
                    ("type", .string("object")),
                    (
                        "properties",
                        object([
                            ("name", name(nullable: true)),
                            ("status", nullableEnumeration(TenantStatus.allCases.map(\.rawValue))),
                            (
                                "partnerId",
                                object([
                                    ("anyOf", .array([identifier(), scalar("null")])),
                                    ("description", .string("null clears it")),
                                ])
                            ),
                            (
                                "settings",
                                object([("anyOf", .array([reference("TenantSettingsUpdate"), scalar("null")]))])
                            ),
                        ])
                    ),
                    ("additionalProperties", .bool(false)),
                    // At least one change: a name, status or settings given, or a partnerId given (null too).
                    (
                        "anyOf",
                        .array([
                            object([
                                ("required", .array([.string("name")])),
                                ("properties", object([("name", scalar("string"))])),
                            ]),
                            object([
                                ("required", .array([.string("status")])),
                                ("properties", object([("status", scalar("string"))])),
                            ]),
                            object([("required", .array([.string("partnerId")]))]),
                            object([
                                ("required", .array([.string("settings")])),
                                ("properties", object([("settings", scalar("object"))])),
                            ]),
                        ])
                    ),
                ])
            ),
            (
                "TenantDeletedData", [.tenantDeleted],
                object([
                    ("type", .array([.string("object"), .string("null")])), ("additionalProperties", .bool(false)),
                ])
            ),
            (
                "EventVoidedData", [.eventVoided],
                data(
                    [
                        ("eventId", identifier()),
                        (
                            "reason",
                            object([
                                ("type", .array([.string("string"), .string("null")])),
                                ("maxLength", .int(Int64(EventJSONDecoder.maxReasonLength))),
                            ])
                        ),
                    ], required: ["eventId"])
            ),
        ]
    }()

    /// The schemas of events: `Event` (the wire form, its `data` chosen by `type`), each type's `data`, and
    /// `CloudEvent` (the CloudEvents 1.0 structured envelope).
    static var eventSchemas: [(String, JSONValue)] {
        let types = EventType.allCases.map(\.rawValue)
        // One branch per data schema: the types it serves, and their data (required unless it has no field).
        let branches = eventData.map { entry -> JSONValue in
            var pairs: [(String, JSONValue)] = [
                (
                    "properties",
                    object([
                        ("type", object([("enum", .array(entry.types.map { .string($0.rawValue) }))])),
                        ("data", reference(entry.name)),
                    ])
                )
            ]
            if entry.types != [.tenantDeleted] { pairs.append(("required", .array([.string("data")]))) }
            return object(pairs)
        }
        let event = object([
            ("type", .string("object")),
            (
                "description",
                .string("A usage event. Optional fields may also be null, which counts as absent.")
            ),
            ("required", .array([.string("id"), .string("type"), .string("tenantId")])),
            (
                "properties",
                object([
                    ("id", identifier()),
                    ("type", enumeration(types)),
                    ("tenantId", scalar("string", format: "uuid")),
                    (
                        "time",
                        object([
                            ("type", .array([.string("string"), .string("null")])), ("format", .string("date-time")),
                            (
                                "description",
                                .string(
                                    OpenAPIDocument.inputTimeRules + "; the time Tally received the event when absent")
                            ),
                        ])
                    ),
                    ("data", object([("type", .array([.string("object"), .string("null")]))])),
                    ("offset", object([("description", .string("Ignored (as tally dump prints it)"))])),
                    ("ingestTime", object([("description", .string("Ignored (as tally dump prints it)"))])),
                ])
            ),
            ("additionalProperties", .bool(false)),
            ("oneOf", .array(branches)),
        ])
        let cloudEvent = object([
            ("type", .string("object")),
            (
                "description",
                .string(
                    "CloudEvents 1.0 structured mode: the tenant is the tenantid extension, else subject; data is the event's data, as JSON (data_base64 is refused). A null attribute counts as absent. Other extension attributes (lowercase letters and digits) are accepted and ignored, except one a letter away from an attribute Tally reads (tiem, tenantd): that is refused as a typo."
                )
            ),
            (
                "required",
                .array([.string("specversion"), .string("id"), .string("source"), .string("type")])
            ),
            (
                "properties",
                object([
                    ("specversion", enumeration(["1.0"])),
                    ("id", identifier()),
                    (
                        "source",
                        object([
                            ("type", .string("string")), ("pattern", .string("^" + uriCharacters + "+$")),
                            ("description", .string("A URI-reference (RFC 3986 characters; percent-encode others)")),
                        ])
                    ),
                    (
                        "dataschema",
                        object([
                            ("type", .array([.string("string"), .string("null")])),
                            ("pattern", .string("^[A-Za-z][A-Za-z0-9+.-]*:" + uriCharacters + "*$")),
                            ("description", .string("An absolute URI; accepted and ignored")),
                        ])
                    ),
                    ("type", enumeration(types)),
                    ("tenantid", scalar("string", format: "uuid", nullable: true)),
                    (
                        "subject",
                        object([
                            ("type", .array([.string("string"), .string("null")])), ("minLength", .int(1)),
                            (
                                "description",
                                .string(
                                    "The tenant's UUID when there is no tenantid; any non-empty string when there is one"
                                )
                            ),
                        ])
                    ),
                    ("time", inputTime("the time Tally received the event when absent")),
                    (
                        "datacontenttype",
                        object([
                            ("type", .array([.string("string"), .string("null")])),
                            (
                                "pattern",
                                .string(
                                    #"^[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+/([!#$%&'*+.^_`|~0-9A-Za-z-]*\+)?[Jj][Ss][Oo][Nn][ \t]*(;.*)?$"#
                                )
                            ),
                            ("description", .string("A JSON type: application/json, text/json or one ending in +json")),
                        ])
                    ),
                    ("data", object([("type", .array([.string("object"), .string("null")]))])),
                    (
                        "data_base64",
                        object([("type", .string("null")), ("description", .string("Refused: send data as JSON"))])
                    ),
                ])
            ),
            ("propertyNames", object([("pattern", .string("^([a-z0-9]+|data_base64)$"))])),
            // Extension attributes: the CloudEvents types a JSON value carries (String, Boolean, Integer).
            (
                "additionalProperties",
                object([
                    (
                        "anyOf",
                        .array([
                            scalar("string"), scalar("boolean"), scalar("null"),
                            object([
                                ("type", .string("integer")), ("minimum", .int(Int64(Int32.min))),
                                ("maximum", .int(Int64(Int32.max))),
                            ]),
                        ])
                    )
                ])
            ),
            // The tenant: a tenantid, else a subject that is a UUID.
            (
                "anyOf",
                .array([
                    object([
                        ("required", .array([.string("tenantid")])),
                        ("properties", object([("tenantid", scalar("string"))])),
                    ]),
                    object([
                        ("required", .array([.string("subject")])),
                        ("properties", object([("subject", scalar("string", format: "uuid"))])),
                    ]),
                ])
            ),
            ("oneOf", .array(branches)),
        ])
        return [("Event", event), ("CloudEvent", cloudEvent)] + eventData.map { ($0.name, $0.schema) }
    }
}
