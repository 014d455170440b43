/// Turns a parsed JSON event into a validated ``Event``: every field checked, every error naming the field.
///
/// Wire form: `{"id", "type", "tenantId", "time"?, "data"?}`. `offset` and `ingestTime` (as `tally dump`
/// prints them) are accepted and ignored, so a dump can be imported again. Any other field is rejected.
public struct EventJSONDecoder: Sendable {
    /// Longest identifier (`id`, `keyId`, `userId` and the like), in bytes: printable ASCII only.
    public static let maxIdLength = 128

    /// Whether `text` is a valid identifier (an event id, key id, partner id...): 1 to ``maxIdLength``
    /// printable ASCII characters.
    package static func isIdentifier(_ text: String) -> Bool {
        let utf8 = text.utf8
        return !utf8.isEmpty && utf8.count <= EventJSONDecoder.maxIdLength
            && utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }
    /// Longest key or tenant `name`, in Unicode scalars.
    public static let maxNameLength = 256
    /// The Unicode scalars with the `White_Space` property: a name made of these only is refused.
    public static let whitespaceScalars: [Unicode.Scalar] =
        (0x09...0x0D).map { Unicode.Scalar(UInt8($0)) }
        + [" ", "\u{85}", "\u{A0}", "\u{1680}"]
        + (0x2000...0x200A).compactMap(Unicode.Scalar.init(_:))
        + ["\u{2028}", "\u{2029}", "\u{202F}", "\u{205F}", "\u{3000}"]

    /// Whether `name` is blank: empty, or only scalars with the Unicode `White_Space` property (counted scalar
    /// by scalar, so a space carrying a combining mark is not blank, and U+FEFF, which is not `White_Space`,
    /// is not either).
    public static func isBlank(_ name: String) -> Bool {
        name.unicodeScalars.allSatisfy(\.properties.isWhitespace)
    }

    /// The JSON Schema (ECMA-262) `pattern` of a name that is not blank: a scalar outside
    /// ``whitespaceScalars``, each listed as a `\uHHHH` escape (not ECMA-262's `\S`, whose whitespace adds
    /// U+FEFF and leaves out U+0085).
    public static let nonBlankPattern =
        "[^"
        + whitespaceScalars.map { scalar in
            let digits = String(scalar.value, radix: 16, uppercase: true)
            return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        }.joined() + "]"

    /// Longest `reason` of an `event.voided`, in Unicode scalars.
    public static let maxReasonLength = 1024
    /// Largest storage figure one event may carry, either way (2^60 bytes, 1 EiB): far beyond any tenant,
    /// and small enough that the counters built from such events stay readable.
    public static let maxStorageBytes: Int64 = 1 << 60

    /// Creates a decoder.
    public init() {}

    /// Decodes and validates one event.
    /// - Parameters:
    ///   - value: The parsed JSON, read with `JSONParser.Limits.wholeNumbersAsIntegers` (as
    ///     ``EventDocumentDecoder`` reads it): integer fields and settings take only `.int` values, so a whole
    ///     number written with a fraction or exponent (`5e3`) must arrive as one.
    ///   - receivedAt: The time to use when the event has no `time`.
    /// - Returns: The event.
    /// - Throws: ``EventValidationError`` for the first rule broken.
    public func decode(_ value: JSONValue, receivedAt: Timestamp) throws(EventValidationError) -> Event {
        guard case .object(let object) = value else {
            throw EventValidationError(field: "event", rule: "must be a JSON object")
        }
        // A CloudEvent sent as a Tally event would fail on its first missing field (`tenantId`), which says
        // nothing of the mistake: the media type.
        if object["specversion"] != nil {
            throw EventValidationError(
                field: "specversion",
                rule:
                    "unknown field: this is a CloudEvent, which Tally reads as Content-Type: application/cloudevents+json (an array as application/cloudevents-batch+json); a Tally event has id, type, tenantId, time and data"
            )
        }
        var fields = FieldReader(object: object, prefix: "")
        let id = try fields.identifier("id")
        let typeName = try fields.requiredString("type")
        guard let type = EventType(rawValue: typeName) else {
            throw EventValidationError(
                field: "type", rule: "unknown event type \"\(typeName)\" (expected one of: \(EventType.wireNames))")
        }
        let tenantText = try fields.requiredString("tenantId")
        guard let tenantId = TenantID(tenantText) else {
            throw EventValidationError(
                field: "tenantId", rule: "must be a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6")
        }
        let time = try fields.optionalTimestamp("time") ?? receivedAt
        let data: JSONObject
        switch fields.take("data") {
        case nil, .null?: data = JSONObject()
        case .object(let object)?: data = object
        default: throw EventValidationError(field: "data", rule: "must be an object")
        }
        _ = fields.take("offset")
        _ = fields.take("ingestTime")
        try fields.rejectUnknown(context: "event")
        var payloadFields = FieldReader(object: data, prefix: "data.")
        let payload = try decodePayload(type, &payloadFields)
        try payloadFields.rejectUnknown(context: type.rawValue)
        return Event(id: id, tenantId: tenantId, time: time, payload: payload)
    }

    private func decodePayload(_ type: EventType, _ data: inout FieldReader) throws(EventValidationError)
        -> EventPayload
    {
        switch type {
        case .apiCall:
            let keyId = try data.identifier("keyId")
            let status = try data.requiredInt("status", in: 100...599, rule: "must be an integer from 100 to 599")
            let bytes = try data.optionalInt(
                "bytes", in: 0...Int64.max, rule: "must be an integer from 0 to 9223372036854775807 (2^63 - 1)")
            let duration = try data.optionalNumber("durationMs", rule: "must be a number of at least 0")
            let client = try data.optionalIdentifier("oauthClientId")
            return .apiCall(
                APICall(
                    keyId: keyId, status: UInt16(status), bytes: bytes, durationMs: duration,
                    oauthClientId: client))
        case .keyCreated:
            return .keyCreated(
                keyId: try data.identifier("keyId"), name: try data.optionalName("name"),
                expiresAt: try data.optionalTimestamp("expiresAt"))
        case .keyRevoked: return .keyRevoked(keyId: try data.identifier("keyId"))
        case .userCreated:
            return .userCreated(userId: try data.identifier("userId"), role: try data.optionalRole("role") ?? .member)
        case .userRoleChanged:
            let userId = try data.identifier("userId")
            guard let role = try data.optionalRole("role") else {
                throw EventValidationError(field: "data.role", rule: "is required (member or admin)")
            }
            return .userRoleChanged(userId: userId, role: role)
        case .userDeactivated: return .userDeactivated(userId: try data.identifier("userId"))
        case .userActivated: return .userActivated(userId: try data.identifier("userId"))
        case .userDeleted: return .userDeleted(userId: try data.identifier("userId"))
        case .credentialCreated:
            return .credentialCreated(
                credentialId: try data.identifier("credentialId"),
                expiresAt: try data.optionalTimestamp("expiresAt"))
        case .credentialExpired: return .credentialExpired(credentialId: try data.identifier("credentialId"))
        case .credentialRevoked: return .credentialRevoked(credentialId: try data.identifier("credentialId"))
        case .oauthClientCreated: return .oauthClientCreated(clientId: try data.identifier("clientId"))
        case .oauthClientDisabled: return .oauthClientDisabled(clientId: try data.identifier("clientId"))
        case .storageChanged:
            return .storageChanged(
                deltaBytes: try data.requiredInt(
                    "deltaBytes", in: -EventJSONDecoder.maxStorageBytes...EventJSONDecoder.maxStorageBytes,
                    rule: "must be an integer of bytes from -2^60 to 2^60 (1 EiB)"))
        case .storageMeasured:
            return .storageMeasured(
                usedBytes: try data.requiredInt(
                    "usedBytes", in: 0...EventJSONDecoder.maxStorageBytes,
                    rule: "must be an integer of bytes from 0 to 2^60 (1 EiB)"))
        case .tenantCreated:
            guard let name = try data.optionalName("name") else {
                throw EventValidationError(field: "data.name", rule: "is required")
            }
            let status = try data.optionalStatus("status") ?? .active
            let partner = try data.optionalIdentifier("partnerId")
            let settings = try data.optionalSettings(allowNull: false) ?? JSONObject()
            return .tenantCreated(TenantCreation(name: name, status: status, partnerId: partner, settings: settings))
        case .tenantUpdated:
            var update = TenantUpdate()
            update.name = try data.optionalName("name")
            update.status = try data.optionalStatus("status")
            if let partner = data.peek("partnerId") {
                if case .null = partner {
                    _ = data.take("partnerId")
                    update.partnerId = .some(nil)
                } else {
                    update.partnerId = .some(try data.optionalIdentifier("partnerId"))
                }
            }
            update.settings = try data.optionalSettings(allowNull: true)
            guard !update.isEmpty else {
                throw EventValidationError(
                    field: "data", rule: "must change at least one of name, status, partnerId, settings")
            }
            return .tenantUpdated(update)
        case .tenantDeleted:
            return .tenantDeleted
        case .eventVoided:
            let eventId = try data.identifier("eventId")
            let reason = try data.optionalString("reason", maxLength: EventJSONDecoder.maxReasonLength)
            return .eventVoided(eventId: eventId, reason: reason)
        }
    }
}

/// Takes fields out of an object one by one, so whatever is left over is an unknown field.
struct FieldReader {
    var object: JSONObject
    let prefix: String
    /// Which members have been taken, by position. Members past the 64th always count as unknown: no event
    /// type has that many fields, so such an object carries unknown or repeated ones.
    private var taken: UInt64 = 0

    init(object: JSONObject, prefix: String) {
        self.object = object
        self.prefix = prefix
    }

    func peek(_ key: String) -> JSONValue? { object[key] }

    /// The value of the first member named `key` (as `object[key]` reads it); every member of that name
    /// counts as taken.
    mutating func take(_ key: String) -> JSONValue? {
        var found: JSONValue?
        for (position, member) in object.members.enumerated() where JSONObject.keysEqual(member.key, key) {
            if found == nil { found = member.value }
            if position < 64 { taken |= 1 << UInt64(position) }
        }
        return found
    }

    func rejectUnknown(context: String) throws(EventValidationError) {
        for (position, member) in object.members.enumerated()
        where position >= 64 || taken & (1 << UInt64(position)) == 0 {
            guard !member.key.isEmpty else {
                // An empty name would make the message start with ": ".
                throw EventValidationError(
                    field: prefix.isEmpty ? "event" : String(prefix.dropLast()),
                    rule: "has a field with an empty name, which no \(context) has")
            }
            throw EventValidationError(field: prefix + member.key, rule: "unknown field for \(context)")
        }
    }

    private func error(_ key: String, _ rule: String) -> EventValidationError {
        EventValidationError(field: prefix + key, rule: rule)
    }

    mutating func requiredString(_ key: String) throws(EventValidationError) -> String {
        switch take(key) {
        case .string(let text)?: return text
        case nil, .null?: throw error(key, "is required")
        default: throw error(key, "must be a string")
        }
    }

    mutating func optionalString(_ key: String, maxLength: Int) throws(EventValidationError) -> String? {
        switch take(key) {
        case nil, .null?: return nil
        case .string(let text)?:
            guard text.unicodeScalars.count <= maxLength else {
                throw error(key, "must be at most \(maxLength) characters")
            }
            return text
        default: throw error(key, "must be a string")
        }
    }

    mutating func identifier(_ key: String) throws(EventValidationError) -> String {
        switch take(key) {
        case .string(let text)?:
            guard EventJSONDecoder.isIdentifier(text) else {
                throw error(key, "must be 1-128 printable ASCII characters")
            }
            return text
        case nil, .null?: throw error(key, "is required")
        default: throw error(key, "must be a string of 1-128 printable ASCII characters")
        }
    }

    mutating func optionalIdentifier(_ key: String) throws(EventValidationError) -> String? {
        guard let value = peek(key), value != .null else {
            _ = take(key)
            return nil
        }
        return try identifier(key)
    }

    mutating func optionalName(_ key: String) throws(EventValidationError) -> String? {
        guard let name = try optionalString(key, maxLength: EventJSONDecoder.maxNameLength) else { return nil }
        guard !EventJSONDecoder.isBlank(name) else { throw error(key, "must not be empty") }
        return name
    }

    mutating func requiredInt(_ key: String, in range: ClosedRange<Int64>, rule: String) throws(EventValidationError)
        -> Int64
    {
        guard let value = try optionalInt(key, in: range, rule: rule) else { throw error(key, "is required; \(rule)") }
        return value
    }

    mutating func optionalInt(_ key: String, in range: ClosedRange<Int64>, rule: String) throws(EventValidationError)
        -> Int64?
    {
        switch take(key) {
        case nil, .null?: return nil
        // The parser reads every whole number, however written (`200.0`, `2e2`), as an integer; a double
        // here is a fraction or beyond 64 bits, never rounded into a count.
        case .int(let number)? where range.contains(number): return number
        default: throw error(key, rule)
        }
    }

    mutating func optionalNumber(_ key: String, rule: String) throws(EventValidationError) -> Double? {
        switch take(key) {
        case nil, .null?: return nil
        case .int(let number)? where number >= 0: return Double(number)
        case .double(let number)? where number >= 0 && number.isFinite: return number
        default: throw error(key, rule)
        }
    }

    mutating func optionalTimestamp(_ key: String) throws(EventValidationError) -> Timestamp? {
        switch take(key) {
        case nil, .null?: return nil
        case .string(let text)?:
            do {
                return try Timestamp(rfc3339: text)
            } catch {
                throw self.error(key, error.reason)
            }
        default: throw error(key, "must be an RFC 3339 string such as 2025-07-10T14:30:00Z")
        }
    }

    mutating func optionalRole(_ key: String) throws(EventValidationError) -> UserRole? {
        guard let text = try optionalString(key, maxLength: 16) else { return nil }
        guard let role = UserRole(rawValue: text) else { throw error(key, "must be member or admin") }
        return role
    }

    mutating func optionalStatus(_ key: String) throws(EventValidationError) -> TenantStatus? {
        guard let text = try optionalString(key, maxLength: 16) else { return nil }
        guard let status = TenantStatus(rawValue: text) else {
            throw error(key, "must be active, suspended or deleted")
        }
        return status
    }

    mutating func optionalSettings(allowNull: Bool) throws(EventValidationError) -> JSONObject? {
        switch take("settings") {
        case nil, .null?: return nil
        case .object(let given)?:
            // Whole numbers in any notation (`5000.0`, `5e3`) are integers already: the parser reads them from
            // their digits, so a fraction that a double would round to a whole number stays a fraction.
            try TenantSettings.validate(given, field: prefix + "settings", allowNull: allowNull)
            return given
        default: throw error("settings", "must be an object")
        }
    }
}
