/// Appends compact JSON text to a byte buffer.
///
/// ``write(_:)`` serialises whole values; the other methods let callers stream JSON by hand without building a
/// ``JSONValue`` tree first (the hot response paths do): ``beginObject()``, ``writeKey(_:)`` (which puts the
/// comma between members), a value, ``endObject()``; arrays likewise with ``writeElementSeparator()``.
public struct JSONWriter: Sendable {
    /// The UTF-8 bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer.
    ///
    /// - Parameter reservingCapacity: The number of bytes to reserve up front.
    public init(reservingCapacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(max(0, reservingCapacity))
    }

    /// The bytes written so far, as a string.
    public var string: String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Appends a value as compact JSON: no whitespace, object members in order.
    ///
    /// - Parameter value: The value to write. Non-finite doubles become `null`.
    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null:
            writeRaw("null")
        case .bool(let flag):
            writeRaw(flag ? "true" : "false")
        case .int(let number):
            writeInt(number)
        case .double(let number):
            writeDouble(number)
        case .string(let text):
            writeString(text)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first {
                    bytes.append(UInt8(ascii: ","))
                }
                first = false
                write(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for member in object.members {
                if !first {
                    bytes.append(UInt8(ascii: ","))
                }
                first = false
                writeString(member.key)
                bytes.append(UInt8(ascii: ":"))
                write(member.value)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Opens an object: `{`.
    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
    }

    /// Closes an object: `}`.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
    }

    /// Opens an array: `[`.
    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
    }

    /// Closes an array: `]`.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
    }

    /// Starts an object member: a comma unless this is the object's first member, then `"name":`.
    ///
    /// - Parameter name: The member's name: a literal that needs no escaping, such as `"tenantId"`.
    public mutating func writeKey(_ name: StaticString) {
        let comma = bytes.last.map { $0 != UInt8(ascii: "{") } ?? false
        // Gathered on the stack and appended at once: responses write dozens of keys.
        name.withUTF8Buffer { utf8 in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: utf8.count + 4) { buffer in
                var end = 0
                if comma {
                    buffer[0] = UInt8(ascii: ",")
                    end = 1
                }
                buffer[end] = UInt8(ascii: "\"")
                end += 1
                if let target = buffer.baseAddress, let source = utf8.baseAddress {
                    (target + end).update(from: source, count: utf8.count)
                }
                end += utf8.count
                buffer[end] = UInt8(ascii: "\"")
                buffer[end + 1] = UInt8(ascii: ":")
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<end + 2]))
            }
        }
    }

    /// Writes a whole member with an integer value: `"name":123`, with its comma.
    ///
    /// - Parameters:
    ///   - name: The member's name, a literal that needs no escaping.
    ///   - value: The number.
    public mutating func writeMember(_ name: StaticString, _ value: Int64) {
        writeKey(name)
        writeInt(value)
    }

    /// Writes a whole member with an integer value: `"name":123`, with its comma.
    ///
    /// - Parameters:
    ///   - name: The member's name, a literal that needs no escaping.
    ///   - value: The number.
    public mutating func writeMember(_ name: StaticString, _ value: Int) {
        writeMember(name, Int64(value))
    }

    /// Puts a comma before an array element unless it is the array's first.
    public mutating func writeElementSeparator() {
        writeElementSeparator(opening: UInt8(ascii: "["))
    }

    private mutating func writeElementSeparator(opening: UInt8) {
        if let last = bytes.last, last != opening {
            bytes.append(UInt8(ascii: ","))
        }
    }

    /// Appends a string, or `null` when there is none.
    ///
    /// - Parameter s: The string to write, if any.
    public mutating func writeString(orNull s: String?) {
        if let s {
            writeString(s)
        } else {
            writeRaw("null")
        }
    }

    /// Appends a timestamp as a quoted RFC 3339 string in UTC, or `null` when there is none.
    ///
    /// - Parameters:
    ///   - timestamp: The instant, if any.
    ///   - fractionDigits: Digits after the decimal point: 0, 3 or 6.
    public mutating func writeTimestamp(_ timestamp: Timestamp?, fractionDigits: Int = 3) {
        guard let timestamp else {
            writeRaw("null")
            return
        }
        bytes.append(UInt8(ascii: "\""))
        timestamp.appendRFC3339(to: &bytes, fractionDigits: fractionDigits)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends a tenant id as a quoted canonical UUID.
    ///
    /// - Parameter id: The tenant id.
    public mutating func writeTenantID(_ id: TenantID) {
        bytes.append(UInt8(ascii: "\""))
        id.appendCanonical(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends a quoted, escaped JSON string.
    ///
    /// `"` and `\` are escaped, as are controls below `0x20` (`\b \f \n \r \t` where they exist, `\u00XX`
    /// otherwise) and U+2028/U+2029 (so the output is also safe inside JavaScript). All other characters,
    /// including non-ASCII, pass through as UTF-8.
    ///
    /// - Parameter s: The string to write.
    public mutating func writeString(_ s: String) {
        var text = s
        bytes.append(UInt8(ascii: "\""))
        text.withUTF8 { source in
            var runStart = 0
            var position = 0
            let count = source.count
            while position < count {
                let byte = source[position]
                let escape: StaticString
                var length = 1
                switch byte {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case 0x08: escape = "\\b"
                case 0x0C: escape = "\\f"
                case 0x0A: escape = "\\n"
                case 0x0D: escape = "\\r"
                case 0x09: escape = "\\t"
                case 0x00..<0x20: escape = ""
                case 0xE2
                where position + 2 < count && source[position + 1] == 0x80
                    && (source[position + 2] == 0xA8 || source[position + 2] == 0xA9):
                    escape = source[position + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                    length = 3
                default:
                    position += 1
                    continue
                }
                if runStart < position {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<position]))
                }
                if escape.utf8CodeUnitCount == 0 {
                    appendControlEscape(byte)
                } else {
                    writeRaw(escape)
                }
                position += length
                runStart = position
            }
            if runStart < count {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<count]))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends ASCII text verbatim, such as punctuation or a literal.
    ///
    /// - Parameter ascii: The text to append, for example `"{"`, `","`, `":"` or `"null"`.
    public mutating func writeRaw(_ ascii: StaticString) {
        ascii.withUTF8Buffer { buffer in
            bytes.append(contentsOf: buffer)
        }
    }

    /// Appends bytes verbatim; the caller guarantees they are valid JSON in context.
    ///
    /// - Parameter bytes: The bytes to append.
    public mutating func writeRaw(_ bytes: some Sequence<UInt8>) {
        self.bytes.append(contentsOf: bytes)
    }

    /// Appends a signed integer in decimal.
    ///
    /// - Parameter v: The integer to write.
    public mutating func writeInt(_ v: Int64) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        writeUInt(v.magnitude)
    }

    /// Appends an unsigned integer in decimal.
    ///
    /// - Parameter v: The integer to write.
    public mutating func writeUInt(_ v: UInt64) {
        // Digits from the last, into a buffer on the stack, then one append.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var position = 20
            var value = v
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10)
                value /= 10
            } while value > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[position..<20]))
        }
    }

    /// Appends a double as the shortest text that reads back as the same value.
    ///
    /// The text is always valid JSON: integral values keep a fraction (`2.0`), large and tiny values use an
    /// exponent (`1e+16`, `5e-324`), negative zero is `-0.0`, and non-finite values are written as `null`.
    ///
    /// - Parameter v: The number to write.
    public mutating func writeDouble(_ v: Double) {
        guard v.isFinite else {
            writeRaw("null")
            return
        }
        // Swift's description is the shortest round-trip form and always matches the JSON number grammar
        // for finite values.
        bytes.append(contentsOf: v.description.utf8)
    }

    private mutating func appendControlEscape(_ byte: UInt8) {
        let hexDigits: StaticString = "0123456789abcdef"
        writeRaw("\\u00")
        hexDigits.withUTF8Buffer { digits in
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
    }
}
