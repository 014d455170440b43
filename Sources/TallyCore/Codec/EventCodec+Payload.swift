extension EventCodec {
    /// Presence bits for optional fields.
    enum Flag {
        static let first: UInt8 = 1 << 0
        static let second: UInt8 = 1 << 1
        static let third: UInt8 = 1 << 2
        static let fourth: UInt8 = 1 << 3
        static let fifth: UInt8 = 1 << 4
    }

    /// Writes the type's fields. `voidTarget` is the offset of the event an `event.voided` retracts: stored
    /// with the void (flag `second`), so a replay finds the target however old it is.
    static func encodePayload(_ payload: EventPayload, voidTarget: UInt64? = nil, into writer: inout BinaryWriter) {
        switch payload {
        case .apiCall(let call):
            writer.writeString(call.keyId)
            writer.writeVarint(UInt64(call.status))
            var flags: UInt8 = 0
            if call.bytes != nil { flags |= Flag.first }
            if call.durationMs != nil { flags |= Flag.second }
            if call.oauthClientId != nil { flags |= Flag.third }
            writer.writeUInt8(flags)
            if let bytes = call.bytes { writer.writeInt64(bytes) }
            if let duration = call.durationMs { writer.writeUInt64(duration.bitPattern) }
            if let client = call.oauthClientId { writer.writeString(client) }
        case .keyCreated(let keyId, let name, let expiresAt):
            writer.writeString(keyId)
            writer.writeUInt8((name != nil ? Flag.first : 0) | (expiresAt != nil ? Flag.second : 0))
            if let name { writer.writeString(name) }
            if let expiresAt { writer.writeInt64(expiresAt.microseconds) }
        case .keyRevoked(let id), .userDeactivated(let id), .userActivated(let id), .userDeleted(let id),
            .credentialExpired(let id), .credentialRevoked(let id), .oauthClientCreated(let id),
            .oauthClientDisabled(let id):
            writer.writeString(id)
        case .userCreated(let userId, let role), .userRoleChanged(let userId, let role):
            writer.writeString(userId)
            writer.writeUInt8(role == .admin ? 1 : 0)
        case .credentialCreated(let credentialId, let expiresAt):
            writer.writeString(credentialId)
            writer.writeUInt8(expiresAt != nil ? Flag.first : 0)
            if let expiresAt { writer.writeInt64(expiresAt.microseconds) }
        case .storageChanged(let delta):
            writer.writeInt64(delta)
        case .storageMeasured(let used):
            writer.writeInt64(used)
        case .tenantCreated(let creation):
            writer.writeString(creation.name)
            writer.writeUInt8(statusCode(creation.status))
            writer.writeUInt8(creation.partnerId != nil ? Flag.first : 0)
            if let partner = creation.partnerId { writer.writeString(partner) }
            encodeObject(creation.settings, into: &writer)
        case .tenantUpdated(let update):
            var flags: UInt8 = 0
            if update.name != nil { flags |= Flag.first }
            if update.status != nil { flags |= Flag.second }
            if let partner = update.partnerId { flags |= partner == nil ? Flag.fourth : Flag.third }
            if update.settings != nil { flags |= Flag.fifth }
            writer.writeUInt8(flags)
            if let name = update.name { writer.writeString(name) }
            if let status = update.status { writer.writeUInt8(statusCode(status)) }
            if let partner = update.partnerId, let partner { writer.writeString(partner) }
            if let settings = update.settings { encodeObject(settings, into: &writer) }
        case .tenantDeleted:
            break
        case .eventVoided(let eventId, let reason):
            writer.writeString(eventId)
            writer.writeUInt8((reason != nil ? Flag.first : 0) | (voidTarget != nil ? Flag.second : 0))
            if let reason { writer.writeString(reason) }
            if let voidTarget { writer.writeUInt64(voidTarget) }
        }
    }

    /// Reads the type's fields; an `event.voided` written with its target's offset sets `voidTarget` (records
    /// written before that field existed leave it `nil`).
    static func decodePayload(
        _ type: EventType, from reader: inout BinaryReader,
        voidTarget: inout UInt64?
    ) throws(CodecError) -> EventPayload {
        switch type {
        case .apiCall:
            let fields = try readCallFields(&reader)
            return .apiCall(
                APICall(
                    keyId: String(decoding: fields.keyId, as: UTF8.self), status: fields.status,
                    bytes: fields.bytes, durationMs: fields.durationMs,
                    oauthClientId: fields.oauthClientId.map { String(decoding: $0, as: UTF8.self) }))
        case .keyCreated:
            let keyId = try reader.readString()
            let flags = try readFlags(&reader, allowed: Flag.first | Flag.second)
            let name = flags & Flag.first != 0 ? try reader.readString() : nil
            let expires = flags & Flag.second != 0 ? try readTimestamp(&reader, "expiresAt") : nil
            return .keyCreated(keyId: keyId, name: name, expiresAt: expires)
        case .keyRevoked: return .keyRevoked(keyId: try reader.readString())
        case .userDeactivated: return .userDeactivated(userId: try reader.readString())
        case .userActivated: return .userActivated(userId: try reader.readString())
        case .userDeleted: return .userDeleted(userId: try reader.readString())
        case .credentialExpired: return .credentialExpired(credentialId: try reader.readString())
        case .credentialRevoked: return .credentialRevoked(credentialId: try reader.readString())
        case .oauthClientCreated: return .oauthClientCreated(clientId: try reader.readString())
        case .oauthClientDisabled: return .oauthClientDisabled(clientId: try reader.readString())
        case .userCreated, .userRoleChanged:
            let userId = try reader.readString()
            let roleByte = try reader.readUInt8()
            guard roleByte <= 1 else { throw CodecError("unknown user role code \(roleByte)") }
            let role: UserRole = roleByte == 1 ? .admin : .member
            return type == .userCreated
                ? .userCreated(userId: userId, role: role)
                : .userRoleChanged(userId: userId, role: role)
        case .credentialCreated:
            let credentialId = try reader.readString()
            let flags = try readFlags(&reader, allowed: Flag.first)
            let expires = flags & Flag.first != 0 ? try readTimestamp(&reader, "expiresAt") : nil
            return .credentialCreated(credentialId: credentialId, expiresAt: expires)
        // The JSON decoder's bounds, so no sum of them can overflow a projection.
        case .storageChanged:
            let delta = try reader.readInt64()
            guard delta >= -EventJSONDecoder.maxStorageBytes && delta <= EventJSONDecoder.maxStorageBytes else {
                throw CodecError("storage.changed deltaBytes \(delta) lies outside ±2^60")
            }
            return .storageChanged(deltaBytes: delta)
        case .storageMeasured:
            let used = try reader.readInt64()
            guard used >= 0 && used <= EventJSONDecoder.maxStorageBytes else {
                throw CodecError("storage.measured usedBytes \(used) lies outside 0...2^60")
            }
            return .storageMeasured(usedBytes: used)
        case .tenantCreated:
            let name = try reader.readString()
            let status = try readStatus(&reader)
            let flags = try readFlags(&reader, allowed: Flag.first)
            let partner = flags & Flag.first != 0 ? try reader.readString() : nil
            let settings = try decodeObject(from: &reader, depth: 0)
            return .tenantCreated(TenantCreation(name: name, status: status, partnerId: partner, settings: settings))
        case .tenantUpdated:
            let flags = try readFlags(
                &reader, allowed: Flag.first | Flag.second | Flag.third | Flag.fourth | Flag.fifth)
            guard flags & (Flag.third | Flag.fourth) != (Flag.third | Flag.fourth) else {
                throw CodecError("tenant.updated both sets and clears partnerId")
            }
            var update = TenantUpdate()
            if flags & Flag.first != 0 { update.name = try reader.readString() }
            if flags & Flag.second != 0 { update.status = try readStatus(&reader) }
            if flags & Flag.third != 0 { update.partnerId = .some(try reader.readString()) }
            if flags & Flag.fourth != 0 { update.partnerId = .some(nil) }
            if flags & Flag.fifth != 0 { update.settings = try decodeObject(from: &reader, depth: 0) }
            return .tenantUpdated(update)
        case .tenantDeleted:
            return .tenantDeleted
        case .eventVoided:
            let eventId = try reader.readString()
            let flags = try readFlags(&reader, allowed: Flag.first | Flag.second)
            let reason = flags & Flag.first != 0 ? try reader.readString() : nil
            if flags & Flag.second != 0 { voidTarget = try reader.readUInt64() }
            return .eventVoided(eventId: eventId, reason: reason)
        }
    }

    /// The fields of an `api.call` payload, strings as validated UTF-8 bytes inside the record.
    struct CallFields {
        var keyId: UnsafeRawBufferPointer
        var status: UInt16
        var bytes: Int64?
        var durationMs: Double?
        var oauthClientId: UnsafeRawBufferPointer?
    }

    static func readCallFields(_ reader: inout BinaryReader) throws(CodecError) -> CallFields {
        let keyId = try reader.readUTF8()
        let status = try reader.readVarint()
        guard (100...599).contains(status) else { throw CodecError("api.call status \(status) out of range") }
        let flags = try readFlags(&reader, allowed: Flag.first | Flag.second | Flag.third)
        let bytes = flags & Flag.first != 0 ? try reader.readInt64() : nil
        let duration = flags & Flag.second != 0 ? Double(bitPattern: try reader.readUInt64()) : nil
        if let bytes, bytes < 0 { throw CodecError("api.call bytes \(bytes) is negative") }
        if let duration, !isDuration(duration) {
            throw CodecError("api.call durationMs \(duration) is not a finite number of at least 0")
        }
        let client = flags & Flag.third != 0 ? try reader.readUTF8() : nil
        return CallFields(
            keyId: keyId, status: UInt16(status), bytes: bytes, durationMs: duration, oauthClientId: client)
    }

    /// Whether `value` is a duration the JSON decoder accepts: finite and at least 0.
    @inline(__always)
    static func isDuration(_ value: Double) -> Bool { value.isFinite && value >= 0 }

    private static func readFlags(_ reader: inout BinaryReader, allowed: UInt8) throws(CodecError) -> UInt8 {
        let flags = try reader.readUInt8()
        guard flags & ~allowed == 0 else {
            throw CodecError("unknown field flags \(flags) at byte \(reader.position - 1)")
        }
        return flags
    }

    private static func statusCode(_ status: TenantStatus) -> UInt8 {
        switch status {
        case .active: 0
        case .suspended: 1
        case .deleted: 2
        }
    }

    private static func readStatus(_ reader: inout BinaryReader) throws(CodecError) -> TenantStatus {
        switch try reader.readUInt8() {
        case 0: return .active
        case 1: return .suspended
        case 2: return .deleted
        case let other: throw CodecError("unknown tenant status code \(other)")
        }
    }
}
