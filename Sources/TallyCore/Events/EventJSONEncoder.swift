/// Writes events as the JSON objects the decoder accepts, for `tally dump` and the HTTP API.
public enum EventJSONEncoder {
    /// Appends a stored event as one compact JSON object: `offset`, `ingestTime`, then the event's fields.
    public static func write(_ stored: StoredEvent, to writer: inout JSONWriter) {
        writer.writeRaw("{\"offset\":")
        writer.writeUInt(stored.offset)
        writer.writeRaw(",\"ingestTime\":")
        writer.writeString(stored.ingestTime.rfc3339())
        writer.writeRaw(",")
        writeFields(stored.event, to: &writer)
        writer.writeRaw("}")
    }

    /// The event as a JSON value (without offset and ingest time).
    public static func jsonValue(_ event: Event) -> JSONValue {
        var object = JSONObject()
        object.set("id", .string(event.id))
        object.set("type", .string(event.type.rawValue))
        object.set("tenantId", .string(event.tenantId.description))
        object.set("time", .string(event.time.rfc3339()))
        object.set("data", .object(data(event.payload)))
        return .object(object)
    }

    private static func writeFields(_ event: Event, to writer: inout JSONWriter) {
        writer.writeRaw("\"id\":")
        writer.writeString(event.id)
        writer.writeRaw(",\"type\":")
        writer.writeString(event.type.rawValue)
        writer.writeRaw(",\"tenantId\":")
        writer.writeString(event.tenantId.description)
        writer.writeRaw(",\"time\":")
        writer.writeString(event.time.rfc3339())
        writer.writeRaw(",\"data\":")
        writer.write(.object(data(event.payload)))
    }

    /// The `data` object of a payload.
    public static func data(_ payload: EventPayload) -> JSONObject {
        var data = JSONObject()
        func time(_ key: String, _ value: Timestamp?) {
            if let value { data.set(key, .string(value.rfc3339())) }
        }
        func text(_ key: String, _ value: String?) {
            if let value { data.set(key, .string(value)) }
        }
        switch payload {
        case .apiCall(let call):
            text("keyId", call.keyId)
            data.set("status", .int(Int64(call.status)))
            if let bytes = call.bytes { data.set("bytes", .int(bytes)) }
            if let duration = call.durationMs { data.set("durationMs", .double(duration)) }
            text("oauthClientId", call.oauthClientId)
        case .keyCreated(let keyId, let name, let expiresAt):
            text("keyId", keyId)
            text("name", name)
            time("expiresAt", expiresAt)
        case .keyRevoked(let keyId):
            text("keyId", keyId)
        case .userCreated(let userId, let role), .userRoleChanged(let userId, let role):
            text("userId", userId)
            text("role", role.rawValue)
        case .userDeactivated(let userId), .userActivated(let userId), .userDeleted(let userId):
            text("userId", userId)
        case .credentialCreated(let credentialId, let expiresAt):
            text("credentialId", credentialId)
            time("expiresAt", expiresAt)
        case .credentialExpired(let credentialId), .credentialRevoked(let credentialId):
            text("credentialId", credentialId)
        case .oauthClientCreated(let clientId), .oauthClientDisabled(let clientId):
            text("clientId", clientId)
        case .storageChanged(let delta):
            data.set("deltaBytes", .int(delta))
        case .storageMeasured(let used):
            data.set("usedBytes", .int(used))
        case .tenantCreated(let creation):
            text("name", creation.name)
            text("status", creation.status.rawValue)
            text("partnerId", creation.partnerId)
            if creation.settings.count > 0 { data.set("settings", .object(creation.settings)) }
        case .tenantUpdated(let update):
            text("name", update.name)
            text("status", update.status?.rawValue)
            if let partner = update.partnerId { data.set("partnerId", partner.map(JSONValue.string) ?? .null) }
            if let settings = update.settings { data.set("settings", .object(settings)) }
        case .tenantDeleted:
            break
        case .eventVoided(let eventId, let reason):
            text("eventId", eventId)
            text("reason", reason)
        }
        return data
    }
}
