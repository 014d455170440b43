/// Little-endian primitives appended to a byte array: the building blocks of the record format.
public struct BinaryWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// Creates a writer over an existing buffer (its bytes are kept and appended to).
    /// - Parameter bytes: The buffer to append to.
    public init(bytes: [UInt8] = []) {
        self.bytes = bytes
    }

    /// Appends one byte.
    @inlinable
    public mutating func writeUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    /// Appends the value's 4 bytes, little-endian.
    @inlinable
    public mutating func writeUInt32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) {
            $0.withMemoryRebound(to: UInt8.self) { bytes.append(contentsOf: $0) }
        }
    }

    /// Appends the value's 8 bytes. (Through a typed buffer: appending a raw buffer takes the generic,
    /// element-by-element path.)
    @inlinable
    public mutating func writeUInt64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) {
            $0.withMemoryRebound(to: UInt8.self) { bytes.append(contentsOf: $0) }
        }
    }

    /// Appends the value's 8 bytes, little-endian two's complement.
    @inlinable
    public mutating func writeInt64(_ value: Int64) {
        writeUInt64(UInt64(bitPattern: value))
    }

    /// Writes an unsigned LEB128 varint.
    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    /// Writes a varint length followed by the string's UTF-8 bytes.
    @inlinable
    public mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
}
