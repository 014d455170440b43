extension EventCodec {
    /// What replay needs of an `api.call` record, read in place: no ``Event``, no `String`.
    ///
    /// The byte views point into the record and live only as long as it.
    public struct CallView {
        /// The fixed fields: times and tenant.
        public var header: Header
        /// The event id's UTF-8 bytes (for its ``IdentityHash``).
        public var id: UnsafeRawBufferPointer
        /// The key id's UTF-8 bytes.
        public var keyId: UnsafeRawBufferPointer
        /// The HTTP status, 100–599.
        public var status: UInt16
    }

    /// Reads an `api.call` record in place, checking it exactly as ``decode(_:)-(UnsafeRawBufferPointer)``
    /// does (so a damaged record fails the same way).
    /// - Parameter record: Exactly one record's bytes.
    /// - Returns: The call's parts, or `nil` when the record is of another type (decode it whole).
    /// - Throws: ``CodecError`` when the record is damaged.
    public static func decodeCall(_ record: UnsafeRawBufferPointer) throws(CodecError) -> CallView? {
        guard record.count > 1, record[1] == EventType.apiCall.code else { return nil }
        var reader = BinaryReader(record)
        let header = try readHeader(&reader)
        let id = try reader.readUTF8()
        let fields = try readCallFields(&reader)
        guard reader.remaining == 0 else {
            throw CodecError("\(reader.remaining) unexpected bytes after a \(header.type.rawValue) record")
        }
        return CallView(header: header, id: id, keyId: fields.keyId, status: fields.status)
    }

    /// Appends an `api.call` record: the bytes ``encodeFields(_:ingestTime:into:)`` writes, sized first and
    /// stored through a pointer in one pass (ingest encodes every accepted call under its lock).
    static func encodeCall(_ event: Event, _ call: APICall, ingestTime: Timestamp, into bytes: inout [UInt8]) {
        var id = event.id
        var keyId = call.keyId
        var client = call.oauthClientId ?? ""
        id.withUTF8 { id in
            keyId.withUTF8 { keyId in
                client.withUTF8 { client in
                    var flags: UInt8 = 0
                    var size = fixedHeaderSize + varintSize(UInt64(id.count)) + id.count
                        + varintSize(UInt64(keyId.count)) + keyId.count + varintSize(UInt64(call.status)) + 1
                    if call.bytes != nil {
                        flags |= Flag.first
                        size += 8
                    }
                    if call.durationMs != nil {
                        flags |= Flag.second
                        size += 8
                    }
                    if call.oauthClientId != nil {
                        flags |= Flag.third
                        size += varintSize(UInt64(client.count)) + client.count
                    }
                    let start = bytes.count
                    bytes.append(contentsOf: repeatElement(0, count: size))
                    bytes.withUnsafeMutableBytes { buffer in
                        guard let base = buffer.baseAddress else { return }
                        var writer = PointerWriter(next: base + start)
                        writer.byte(formatVersion)
                        writer.byte(EventType.apiCall.code)
                        writer.word(UInt64(bitPattern: ingestTime.microseconds))
                        writer.word(UInt64(bitPattern: event.time.microseconds))
                        writer.word(event.tenantId.high)
                        writer.word(event.tenantId.low)
                        writer.string(id)
                        writer.string(keyId)
                        writer.varint(UInt64(call.status))
                        writer.byte(flags)
                        if let value = call.bytes { writer.word(UInt64(bitPattern: value)) }
                        if let duration = call.durationMs { writer.word(duration.bitPattern) }
                        if call.oauthClientId != nil { writer.string(client) }
                    }
                }
            }
        }
    }

    /// The length of `value` as an unsigned LEB128 varint.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        value < 0x80 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// Stores the encoding's parts at a pointer into room already made (no capacity checks), in the byte
    /// order ``BinaryWriter`` uses.
    struct PointerWriter {
        var next: UnsafeMutableRawPointer

        @inline(__always)
        mutating func byte(_ value: UInt8) {
            next.storeBytes(of: value, as: UInt8.self)
            next += 1
        }

        @inline(__always)
        mutating func word(_ value: UInt64) {
            next.storeBytes(of: value.littleEndian, as: UInt64.self)
            next += 8
        }

        @inline(__always)
        mutating func varint(_ value: UInt64) {
            var remaining = value
            while remaining >= 0x80 {
                byte(UInt8(truncatingIfNeeded: remaining) | 0x80)
                remaining >>= 7
            }
            byte(UInt8(remaining))
        }

        /// A length-prefixed string, as ``BinaryWriter/writeString(_:)`` writes it.
        @inline(__always)
        mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
            varint(UInt64(utf8.count))
            if let source = utf8.baseAddress, utf8.count > 0 {
                next.copyMemory(from: source, byteCount: utf8.count)
                next += utf8.count
            }
        }
    }
}
