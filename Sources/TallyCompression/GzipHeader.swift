/// The fixed and optional fields of a gzip member header (RFC 1952 §2.3).
struct GzipHeader {
    static let textFlag: UInt8 = 0x01
    static let headerCRCFlag: UInt8 = 0x02
    static let extraFlag: UInt8 = 0x04
    static let nameFlag: UInt8 = 0x08
    static let commentFlag: UInt8 = 0x10
    static let reservedFlags: UInt8 = 0xE0

    /// Checks the header at `start` and skips its optional fields.
    ///
    /// - Parameters:
    ///   - input: The whole compressed input.
    ///   - start: The offset of the member's first byte.
    /// - Returns: The offset of the first byte of the member's DEFLATE data.
    /// - Throws: ``InflateError`` for a wrong magic or method, reserved flags, a truncated header or a header
    ///   CRC mismatch.
    static func skip(_ input: UnsafeBufferPointer<UInt8>, at start: Int) throws(InflateError) -> Int {
        let truncated = InflateError(.truncated, "the gzip header is cut short", offset: input.count)
        guard start + 10 <= input.count else {
            if start < input.count && input[start] != 0x1F { throw notGzip(at: start) }
            throw truncated
        }
        guard input[start] == 0x1F, input[start + 1] == 0x8B else { throw notGzip(at: start) }
        guard input[start + 2] == 8 else {
            throw InflateError(
                .unsupportedMethod,
                "gzip compression method \(input[start + 2]) is not supported (only 8, deflate)",
                offset: start + 2)
        }
        let flags = input[start + 3]
        guard flags & reservedFlags == 0 else {
            throw InflateError(
                .reservedFlags, "the gzip header sets reserved flag bits (0x\(String(flags, radix: 16)))",
                offset: start + 3)
        }
        var position = start + 10
        if flags & extraFlag != 0 {
            guard position + 2 <= input.count else { throw truncated }
            let length = Int(input[position]) | Int(input[position + 1]) << 8
            position += 2 + length
            guard position <= input.count else { throw truncated }
        }
        for flag in [nameFlag, commentFlag] where flags & flag != 0 {
            // A zero-terminated string (file name or comment).
            while true {
                guard position < input.count else { throw truncated }
                position += 1
                if input[position - 1] == 0 { break }
            }
        }
        if flags & headerCRCFlag != 0 {
            guard position + 2 <= input.count else { throw truncated }
            var crc = CRC32()
            crc.update(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[start..<position])))
            let stored = UInt16(input[position]) | UInt16(input[position + 1]) << 8
            guard stored == UInt16(truncatingIfNeeded: crc.value) else {
                throw InflateError(
                    .headerChecksumMismatch,
                    "the gzip header's CRC-16 field holds 0x\(String(stored, radix: 16)), but the header's bytes give"
                        + " 0x\(String(UInt16(truncatingIfNeeded: crc.value), radix: 16))",
                    offset: position)
            }
            position += 2
        }
        return position
    }

    private static func notGzip(at offset: Int) -> InflateError {
        InflateError(
            .notGzip, "the data does not start with the gzip magic bytes 1f 8b; is it really gzip?",
            offset: offset)
    }
}
