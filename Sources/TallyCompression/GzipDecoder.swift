/// Decompresses gzip data (RFC 1952): one or more concatenated members, each a header, a DEFLATE stream and a
/// trailer whose CRC-32 and length are checked.
///
/// ```swift
/// let body = try GzipDecoder(maxOutputBytes: 16 << 20).decode(request.body)
/// ```
///
/// The header's optional fields (FEXTRA, FNAME, FCOMMENT) are skipped and FHCRC is verified. The size limit
/// covers all members together and stops decoding before anything beyond it is written; so does the bound on
/// dynamic-Huffman blocks, one per 32 bytes of the limit (at least 1,024), which keeps the time a small body
/// costs in proportion to the limit too.
public struct GzipDecoder: Sendable {
    /// The most decompressed bytes a call may produce, over all members.
    public var maxOutputBytes: Int

    /// Creates a decoder.
    /// - Parameter maxOutputBytes: The most decompressed bytes a call may produce, over all members.
    public init(maxOutputBytes: Int) {
        self.maxOutputBytes = maxOutputBytes
    }

    /// Decompresses gzip data made of one or more members, with nothing after the last.
    ///
    /// - Parameter input: The compressed bytes.
    /// - Returns: The decompressed bytes of all members, in order.
    /// - Throws: ``InflateError`` for anything that is not well-formed gzip: a bad header, malformed or
    ///   truncated DEFLATE data, a CRC-32 or length mismatch, trailing bytes that are not another member, or
    ///   output beyond ``maxOutputBytes``.
    public func decode(_ input: [UInt8]) throws(InflateError) -> [UInt8] {
        let limit = maxOutputBytes
        let result = input.withUnsafeBufferPointer { buffer in
            Result { () throws(InflateError) -> [UInt8] in
                guard buffer.count > 0 else {
                    throw InflateError(
                        .truncated, "the gzip data is empty (an empty gzip file is still 20 bytes)",
                        offset: 0)
                }
                let output = OutputBuffer(limit: limit, expected: GzipDecoder.sizeHint(buffer))
                // One decoder for every member: building its tables for each of 800,000 empty members held
                // an event loop for five seconds.
                var decoder: DeflateDecoder?
                var position = 0
                repeat {
                    position = try decodeMember(buffer, at: position, into: output, decoder: &decoder)
                    // Zeros after a member are padding (a tape's or a block device's), which gzip and zlib's
                    // gzip readers skip; any other byte must begin another member.
                } while position < buffer.count && buffer[position...].contains(where: { $0 != 0 })
                return output.bytes()
            }
        }
        return try result.get()
    }

    /// Decodes the member at `start` and checks its trailer.
    /// - Returns: The offset just past the member.
    private func decodeMember(
        _ input: UnsafeBufferPointer<UInt8>, at start: Int,
        into output: OutputBuffer, decoder: inout DeflateDecoder?
    ) throws(InflateError) -> Int {
        let dataStart: Int
        do throws(InflateError) {
            dataStart = try GzipHeader.skip(input, at: start)
        } catch  where start > 0 && error.code == .notGzip {
            throw InflateError(
                .trailingData,
                "\(input.count - start) \(input.count - start == 1 ? "byte" : "bytes") after the last gzip member "
                    + "\(input.count - start == 1 ? "is" : "are") not another member (only zeros may pad the data)",
                offset: start)
        }
        let outputStart = output.count
        let deflate: DeflateDecoder
        if let decoder {
            decoder.restart(at: dataStart)
            deflate = decoder
        } else {
            deflate = DeflateDecoder(input: input, start: dataStart, output: output)
            decoder = deflate
        }
        let end = try deflate.decodeStream()
        guard end + 8 <= input.count else {
            throw InflateError(.truncated, "the gzip trailer (CRC-32 and length) is cut short", offset: input.count)
        }
        let storedCRC = GzipDecoder.littleEndian32(input, at: end)
        let storedLength = GzipDecoder.littleEndian32(input, at: end + 4)
        var crc = CRC32()
        crc.update(UnsafeRawBufferPointer(start: output.base + outputStart, count: output.count - outputStart))
        guard crc.value == storedCRC else {
            throw InflateError(
                .checksumMismatch,
                "CRC-32 mismatch: the trailer says 0x\(String(storedCRC, radix: 16)) but the data gives"
                    + " 0x\(String(crc.value, radix: 16)); the data is corrupt",
                offset: end)
        }
        let length = UInt32(truncatingIfNeeded: output.count - outputStart)
        guard length == storedLength else {
            throw InflateError(
                .lengthMismatch,
                "length mismatch: the trailer says \(storedLength) bytes but the data has \(length)",
                offset: end + 4)
        }
        return end + 8
    }

    static func littleEndian32(_ input: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(input[offset]) | UInt32(input[offset + 1]) << 8 | UInt32(input[offset + 2]) << 16
            | UInt32(input[offset + 3]) << 24
    }

    /// The last member's ISIZE, which for the usual single member is the output size: a hint for the first
    /// allocation only, since it is untrusted (the buffer grows or the limit stops it either way). It is
    /// capped at what the input could hold, 1,032 bytes of output per byte of DEFLATE at most (a 258-byte
    /// match in under two bits), so a 20-byte body that claims 16 MiB is not given 16 MiB at once.
    static func sizeHint(_ input: UnsafeBufferPointer<UInt8>) -> Int {
        guard input.count >= 18 else { return 0 }
        return min(Int(littleEndian32(input, at: input.count - 4)), input.count * 1032)
    }
}
