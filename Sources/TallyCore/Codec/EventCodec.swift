/// The compact, versioned binary form of an event record, as stored in segment frames.
///
/// Layout (little-endian): format version `u8`, type code `u8`, ingest time `i64` µs, event time `i64` µs,
/// tenant UUID as two `u64`, the id as a varint-prefixed string, then the type's fields (see
/// `EventCodec+Payload.swift`). A record is self-contained; its offset comes from the frame that holds it.
public enum EventCodec {
    /// The record format version this build writes. Readers reject versions they do not know.
    public static let formatVersion: UInt8 = 1

    /// Bytes before the id: version, type, two timestamps and the tenant.
    public static let fixedHeaderSize = 1 + 1 + 8 + 8 + 16

    /// Appends the binary record for `event` to `bytes`.
    /// - Parameters:
    ///   - event: The event to encode.
    ///   - ingestTime: When Tally accepted the event.
    ///   - voidTarget: For an `event.voided`, the offset of the event it retracts (see
    ///     ``StoredEvent/voidTarget``); ignored for other types.
    ///   - bytes: The buffer to append to.
    public static func encode(
        _ event: Event, ingestTime: Timestamp, voidTarget: UInt64? = nil, into bytes: inout [UInt8]
    ) {
        if case .apiCall(let call) = event.payload {
            encodeCall(event, call, ingestTime: ingestTime, into: &bytes)
        } else {
            encodeFields(event, ingestTime: ingestTime, voidTarget: voidTarget, into: &bytes)
        }
    }

    /// The record written field by field through a ``BinaryWriter``: every event type (``encodeCall`` writes
    /// the same bytes for an `api.call`, faster).
    static func encodeFields(
        _ event: Event, ingestTime: Timestamp, voidTarget: UInt64? = nil, into bytes: inout [UInt8]
    ) {
        var writer = BinaryWriter(bytes: [])
        swap(&writer.bytes, &bytes)
        writer.writeUInt8(formatVersion)
        writer.writeUInt8(event.type.code)
        writer.writeInt64(ingestTime.microseconds)
        writer.writeInt64(event.time.microseconds)
        writer.writeUInt64(event.tenantId.high)
        writer.writeUInt64(event.tenantId.low)
        writer.writeString(event.id)
        encodePayload(event.payload, voidTarget: voidTarget, into: &writer)
        swap(&writer.bytes, &bytes)
    }

    /// Encodes one event as a standalone record.
    /// - Parameters:
    ///   - event: The event to encode.
    ///   - ingestTime: When Tally accepted the event.
    ///   - voidTarget: For an `event.voided`, the offset of the event it retracts.
    /// - Returns: The record bytes.
    public static func encode(_ event: Event, ingestTime: Timestamp, voidTarget: UInt64? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(96)
        encode(event, ingestTime: ingestTime, voidTarget: voidTarget, into: &bytes)
        return bytes
    }

    /// Decodes a whole record.
    /// - Parameter record: Exactly one record's bytes.
    /// - Returns: The event and its ingest time.
    /// - Throws: ``CodecError`` when the bytes are truncated, carry an unknown version or type, or have
    ///   bytes left over.
    public static func decode(_ record: UnsafeRawBufferPointer) throws(CodecError) -> (
        event: Event, ingestTime: Timestamp
    ) {
        let stored = try decodeStored(record, offset: 0)
        return (stored.event, stored.ingestTime)
    }

    /// Decodes a whole record as the event stored at `offset`, with what the record keeps besides the
    /// event (its ingest time, and a void's target).
    /// - Parameters:
    ///   - record: Exactly one record's bytes.
    ///   - offset: The record's offset in the log (from its frame).
    /// - Returns: The stored event.
    /// - Throws: ``CodecError`` as ``decode(_:)-(UnsafeRawBufferPointer)`` does.
    public static func decodeStored(_ record: UnsafeRawBufferPointer, offset: UInt64) throws(CodecError) -> StoredEvent
    {
        var reader = BinaryReader(record)
        let header = try readHeader(&reader)
        let id = try reader.readString()
        var voidTarget: UInt64?
        let payload = try decodePayload(header.type, from: &reader, voidTarget: &voidTarget)
        guard reader.remaining == 0 else {
            throw CodecError("\(reader.remaining) unexpected bytes after a \(header.type.rawValue) record")
        }
        let event = Event(id: id, tenantId: header.tenantId, time: header.time, payload: payload)
        return StoredEvent(offset: offset, ingestTime: header.ingestTime, event: event, voidTarget: voidTarget)
    }

    /// Decodes a record from a byte array.
    /// - Throws: ``CodecError`` naming what is wrong with the record (truncated, an unknown version or type, a
    ///   malformed field).
    public static func decode(_ record: [UInt8]) throws(CodecError) -> (event: Event, ingestTime: Timestamp) {
        let result = record.withUnsafeBytes { buffer -> Result<(event: Event, ingestTime: Timestamp), CodecError> in
            do throws(CodecError) { return .success(try decode(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The fixed fields at the front of every record, readable without decoding the rest.
    public struct Header: Sendable, Equatable {
        /// The event's type, from its stored type code.
        public var type: EventType
        /// When Tally accepted the event.
        public var ingestTime: Timestamp
        /// When the event happened.
        public var time: Timestamp
        /// The tenant the event belongs to.
        public var tenantId: TenantID

        /// Creates a header value.
        public init(type: EventType, ingestTime: Timestamp, time: Timestamp, tenantId: TenantID) {
            self.type = type
            self.ingestTime = ingestTime
            self.time = time
            self.tenantId = tenantId
        }
    }

    /// Decodes only the fixed header, for cheap filtering.
    /// - Parameter record: A record's bytes.
    /// - Returns: Its type, times and tenant.
    /// - Throws: ``CodecError`` naming what is wrong with the record (truncated, an unknown version or type, a
    ///   malformed field).
    public static func decodeHeader(_ record: UnsafeRawBufferPointer) throws(CodecError) -> Header {
        var reader = BinaryReader(record)
        return try readHeader(&reader)
    }

    /// Reads a time, refusing one outside the years 0001-9999 that no event can be given (RFC 3339's range):
    /// a record with one passed its checksum but was not written by Tally, and a replay must not compute
    /// with it (months, hours and seconds of `Int64.max` overflow).
    static func readTimestamp(_ reader: inout BinaryReader, _ what: String) throws(CodecError) -> Timestamp {
        let microseconds = try reader.readInt64()
        guard isTimestamp(microseconds) else {
            throw CodecError("\(what) \(microseconds) µs lies outside the years 0001-9999")
        }
        return Timestamp(microseconds: microseconds)
    }

    /// Whether `microseconds` lies within ``Timestamp/min`` ... ``Timestamp/max``.
    @inline(__always)
    static func isTimestamp(_ microseconds: Int64) -> Bool {
        microseconds >= Timestamp.min.microseconds && microseconds <= Timestamp.max.microseconds
    }

    static func readHeader(_ reader: inout BinaryReader) throws(CodecError) -> Header {
        let version = try reader.readUInt8()
        guard version == formatVersion else {
            throw CodecError("record format version \(version) is not supported (this build reads \(formatVersion))")
        }
        let code = try reader.readUInt8()
        guard let type = EventType(code: code) else { throw CodecError("unknown event type code \(code)") }
        let ingestTime = try readTimestamp(&reader, "ingest time")
        let time = try readTimestamp(&reader, "event time")
        let tenantId = TenantID(high: try reader.readUInt64(), low: try reader.readUInt64())
        return Header(type: type, ingestTime: ingestTime, time: time, tenantId: tenantId)
    }
}
