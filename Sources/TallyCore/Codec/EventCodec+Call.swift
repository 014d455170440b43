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
        if let call = scanCall(record) { return call }
        return try readCall(record)
    }

    /// Reads an `api.call` record through a ``BinaryReader``, every field checked, with the error that
    /// names what is wrong: any record ``scanCall(_:)`` does not take.
    static func readCall(_ record: UnsafeRawBufferPointer) throws(CodecError) -> CallView {
        var reader = BinaryReader(record)
        let header = try readHeader(&reader)
        let id = try reader.readUTF8()
        let fields = try readCallFields(&reader)
        guard reader.remaining == 0 else {
            throw CodecError("\(reader.remaining) unexpected bytes after a \(header.type.rawValue) record")
        }
        return CallView(header: header, id: id, keyId: fields.keyId, status: fields.status)
    }

    /// Reads the common shape of an `api.call` record with one bounds check per field and no error paths:
    /// ASCII id, key and client of under 128 bytes each (one-byte lengths). Anything else, valid or not,
    /// gives `nil`, for ``readCall(_:)`` to read or refuse.
    @inline(__always)
    static func scanCall(_ record: UnsafeRawBufferPointer) -> CallView? {
        guard let base = record.baseAddress else { return nil }
        let count = record.count
        // Version, type, times and tenant, then at least the id's length, the key's length, status and flags.
        guard count >= fixedHeaderSize + 4, base.load(as: UInt8.self) == formatVersion else { return nil }
        @inline(__always) func byte(_ at: Int) -> Int { Int(base.load(fromByteOffset: at, as: UInt8.self)) }
        @inline(__always) func word(_ at: Int) -> UInt64 {
            UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        }
        let idStart = fixedHeaderSize + 1
        let idCount = byte(fixedHeaderSize)
        var position = idStart + idCount
        // The key's length, status and flags follow the id.
        guard idCount < 0x80, position + 3 <= count else { return nil }
        let keyStart = position + 1
        let keyCount = byte(position)
        position = keyStart + keyCount
        guard keyCount < 0x80, position + 2 <= count else { return nil }
        var status = byte(position)
        if status >= 0x80 {
            // Two bytes, in the shortest form: the second is 1-127, and flags follow it.
            let high = byte(position + 1)
            guard high != 0, high < 0x80, position + 3 <= count else { return nil }
            status = status & 0x7F | high << 7
            position += 1
        }
        guard status >= 100, status <= 599 else { return nil }
        let flags = UInt8(byte(position + 1))
        position += 2
        guard flags & ~(Flag.first | Flag.second | Flag.third) == 0 else { return nil }
        // Bytes and duration are checked as ``readCallFields(_:)`` checks them, so both paths agree.
        if flags & Flag.first != 0 {
            guard position + 8 <= count, Int64(bitPattern: word(position)) >= 0 else { return nil }
            position += 8
        }
        if flags & Flag.second != 0 {
            guard position + 8 <= count, isDuration(Double(bitPattern: word(position))) else { return nil }
            position += 8
        }
        var ascii = asciiBits(base, from: idStart, count: idCount) | asciiBits(base, from: keyStart, count: keyCount)
        if flags & Flag.third != 0 {
            guard position < count else { return nil }
            let clientCount = byte(position)
            guard clientCount < 0x80, position + 1 + clientCount <= count else { return nil }
            ascii |= asciiBits(base, from: position + 1, count: clientCount)
            position += 1 + clientCount
        }
        guard position == count, ascii & 0x8080_8080_8080_8080 == 0 else { return nil }
        let ingestTime = Int64(bitPattern: word(2))
        let time = Int64(bitPattern: word(10))
        guard isTimestamp(ingestTime), isTimestamp(time) else { return nil }
        let header = Header(
            type: .apiCall, ingestTime: Timestamp(microseconds: ingestTime),
            time: Timestamp(microseconds: time),
            tenantId: TenantID(high: word(18), low: word(26)))
        return CallView(
            header: header, id: UnsafeRawBufferPointer(start: base + idStart, count: idCount),
            keyId: UnsafeRawBufferPointer(start: base + keyStart, count: keyCount), status: UInt16(status))
    }

    /// The bytes `start..<start + count` ored together eight at a time: ASCII when no byte's high bit is set.
    /// The last 0-7 bytes come from the eight bytes ending at `start + count`, shifted to drop those before
    /// them, so at least eight bytes of the buffer must lie before `start + count`.
    @inline(__always)
    static func asciiBits(_ base: UnsafeRawPointer, from start: Int, count: Int) -> UInt64 {
        var bits: UInt64 = 0
        var index = start
        let end = start + count
        while end - index >= 8 {
            bits |= base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        let last = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self))
        return bits | last >> UInt64((8 - (end - index)) * 8)
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
                    var size =
                        fixedHeaderSize + varintSize(UInt64(id.count)) + id.count
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
