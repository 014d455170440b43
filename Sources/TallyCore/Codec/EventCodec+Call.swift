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
}
