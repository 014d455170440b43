/// Bounds-checked little-endian reads from a byte buffer. Every read throws rather than trapping.
public struct BinaryReader {
    @usableFromInline let buffer: UnsafeRawBufferPointer
    /// The next byte to read.
    public private(set) var position: Int

    /// Creates a reader over `buffer`; the buffer must outlive the reader.
    public init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
        self.position = 0
    }

    /// Bytes left to read.
    public var remaining: Int { buffer.count - position }

    @inline(__always)
    mutating func need(_ count: Int) throws(CodecError) {
        guard count <= buffer.count - position else { throw truncated(count) }
    }

    /// The error for a read past the end, built out of line so the reads stay small enough to inline.
    @inline(never)
    func truncated(_ count: Int) -> CodecError {
        CodecError("truncated: needed \(count) bytes at byte \(position), \(buffer.count - position) left")
    }

    /// Reads one byte; throws ``CodecError`` when none is left, leaving ``position`` unchanged.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    @inline(__always)
    public mutating func readUInt8() throws(CodecError) -> UInt8 {
        try need(1)
        defer { position += 1 }
        return buffer[position]
    }

    /// Reads a little-endian `UInt32` (4 bytes); throws ``CodecError`` when fewer are left.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    public mutating func readUInt32() throws(CodecError) -> UInt32 {
        try need(4)
        defer { position += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    /// Reads a little-endian `UInt64` (8 bytes); throws ``CodecError`` when fewer are left.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    @inline(__always)
    public mutating func readUInt64() throws(CodecError) -> UInt64 {
        try need(8)
        defer { position += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// Reads a little-endian two's-complement `Int64` (8 bytes); throws ``CodecError`` when fewer are left.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    @inline(__always)
    public mutating func readInt64() throws(CodecError) -> Int64 {
        Int64(bitPattern: try readUInt64())
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes, in its shortest form only: a varint padded with
    /// trailing zero groups is refused, so each value has one encoding and a record re-encodes to its own bytes.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    @inline(__always)
    public mutating func readVarint() throws(CodecError) -> UInt64 {
        // One byte (values below 128: lengths of ids, flags) is by far the most common form.
        if position < buffer.count, buffer[position] < 0x80 {
            position += 1
            return UInt64(buffer[position - 1])
        }
        return try readLongVarint()
    }

    @inline(never)
    private mutating func readLongVarint() throws(CodecError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readUInt8()
            if shift == 63, byte > 1 { throw CodecError("varint overflows 64 bits at byte \(position - 1)") }
            if shift > 0, byte == 0 { throw CodecError("varint is not in its shortest form at byte \(position - 1)") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Reads a varint-length-prefixed UTF-8 string, rejecting invalid UTF-8.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    public mutating func readString() throws(CodecError) -> String {
        let (bytes, ascii) = try readStringBytes()
        // Ids and names are nearly always ASCII: that needs no validation and no generic decoding path.
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CodecError("string at byte \(position - bytes.count) is not valid UTF-8")
        }
        return text
    }

    /// Reads a varint-length-prefixed string's bytes without building a `String`, rejecting invalid
    /// UTF-8 exactly as ``readString()`` does.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    @inline(__always)
    public mutating func readUTF8() throws(CodecError) -> UnsafeRawBufferPointer {
        let (bytes, ascii) = try readStringBytes()
        guard ascii || String(validating: bytes, as: UTF8.self) != nil else {
            throw CodecError("string at byte \(position - bytes.count) is not valid UTF-8")
        }
        return bytes
    }

    @inline(__always)
    private mutating func readStringBytes() throws(CodecError) -> (bytes: UnsafeRawBufferPointer, ascii: Bool) {
        let length = try readVarint()
        guard length <= UInt64(remaining) else {
            throw CodecError("truncated: string of \(length) bytes at byte \(position), \(remaining) left")
        }
        let count = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: buffer[position..<position + count])
        position += count
        var ascii = true
        for byte in slice where byte >= 0x80 {
            ascii = false
            break
        }
        return (slice, ascii)
    }

    /// Reads `count` raw bytes.
    /// - Throws: ``CodecError`` when the bytes end before the value, or do not hold a valid one.
    public mutating func readBytes(_ count: Int) throws(CodecError) -> UnsafeRawBufferPointer {
        try need(count)
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: buffer[position..<position + count])
    }
}
