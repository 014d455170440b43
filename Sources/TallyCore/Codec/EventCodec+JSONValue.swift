extension EventCodec {
    /// Nesting deeper than this in stored settings is refused when decoding, so crafted bytes cannot
    /// exhaust the stack.
    static let maxStoredJSONDepth = 64

    private enum JSONTag {
        static let null: UInt8 = 0
        static let falseValue: UInt8 = 1
        static let trueValue: UInt8 = 2
        static let int: UInt8 = 3
        static let double: UInt8 = 4
        static let string: UInt8 = 5
        static let array: UInt8 = 6
        static let object: UInt8 = 7
    }

    /// Writes a JSON object in the record format's compact tagged encoding (also used by checkpoints).
    public static func encodeObject(_ object: JSONObject, into writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(object.count))
        for member in object {
            writer.writeString(member.key)
            encodeValue(member.value, into: &writer)
        }
    }

    static func encodeValue(_ value: JSONValue, into writer: inout BinaryWriter) {
        switch value {
        case .null: writer.writeUInt8(JSONTag.null)
        case .bool(let flag): writer.writeUInt8(flag ? JSONTag.trueValue : JSONTag.falseValue)
        case .int(let number):
            writer.writeUInt8(JSONTag.int)
            writer.writeInt64(number)
        case .double(let number):
            writer.writeUInt8(JSONTag.double)
            writer.writeUInt64(number.bitPattern)
        case .string(let text):
            writer.writeUInt8(JSONTag.string)
            writer.writeString(text)
        case .array(let items):
            writer.writeUInt8(JSONTag.array)
            writer.writeVarint(UInt64(items.count))
            for item in items { encodeValue(item, into: &writer) }
        case .object(let object):
            writer.writeUInt8(JSONTag.object)
            encodeObject(object, into: &writer)
        }
    }

    /// Reads a JSON object written by ``encodeObject(_:into:)``.
    /// - Throws: ``CodecError`` for a truncated or malformed value, or one nested deeper than stored JSON may be.
    public static func decodeObject(from reader: inout BinaryReader, depth: Int = 0) throws(CodecError) -> JSONObject {
        guard depth < maxStoredJSONDepth else {
            throw CodecError("stored JSON nests deeper than \(maxStoredJSONDepth)")
        }
        let count = try reader.readVarint()
        // Every member takes at least two bytes, so a count beyond that is corrupt, not a reason to allocate.
        guard count <= UInt64(reader.remaining / 2) else {
            throw CodecError("object member count \(count) exceeds record")
        }
        var members: [JSONObject.Member] = []
        members.reserveCapacity(Int(count))
        for _ in 0..<count {
            let key = try reader.readString()
            members.append(JSONObject.Member(key: key, value: try decodeValue(from: &reader, depth: depth + 1)))
        }
        return JSONObject(members)
    }

    static func decodeValue(from reader: inout BinaryReader, depth: Int) throws(CodecError) -> JSONValue {
        guard depth < maxStoredJSONDepth else {
            throw CodecError("stored JSON nests deeper than \(maxStoredJSONDepth)")
        }
        switch try reader.readUInt8() {
        case JSONTag.null: return .null
        case JSONTag.falseValue: return .bool(false)
        case JSONTag.trueValue: return .bool(true)
        case JSONTag.int: return .int(try reader.readInt64())
        case JSONTag.double: return .double(Double(bitPattern: try reader.readUInt64()))
        case JSONTag.string: return .string(try reader.readString())
        case JSONTag.array:
            let count = try reader.readVarint()
            guard count <= UInt64(reader.remaining) else { throw CodecError("array count \(count) exceeds record") }
            var items: [JSONValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count { items.append(try decodeValue(from: &reader, depth: depth + 1)) }
            return .array(items)
        case JSONTag.object:
            return .object(try decodeObject(from: &reader, depth: depth))
        case let tag:
            throw CodecError("unknown JSON tag \(tag) at byte \(reader.position - 1)")
        }
    }
}
