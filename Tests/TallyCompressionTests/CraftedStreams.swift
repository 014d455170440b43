import TallyTestSupport

/// Hand-built DEFLATE streams for what zlib never emits: every kind of malformed header and code, and edge
/// cases such as a match exactly 32,768 bytes back.
enum CraftedStreams {
    /// A fixed-Huffman final block.
    static func fixed(_ body: (inout DeflateBitWriter) -> Void) -> [UInt8] {
        var writer = DeflateBitWriter()
        writer.write(1, bits: 1)
        writer.write(1, bits: 2)
        body(&writer)
        return writer.finished()
    }

    /// A dynamic block header whose code-length code gives symbols 0–15 four bits each (a complete code) and
    /// 16–18 none, so every literal/length and distance code length is written as one plain 4-bit code.
    static func dynamicHeader(
        _ writer: inout DeflateBitWriter, literalLengths: [Int], distanceLengths: [Int],
        final: Bool = true
    ) {
        writer.write(final ? 1 : 0, bits: 1)
        writer.write(2, bits: 2)
        writer.write(literalLengths.count - 257, bits: 5)
        writer.write(distanceLengths.count - 1, bits: 5)
        writer.write(19 - 4, bits: 4)
        for symbol in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15] {
            writer.write(symbol < 16 ? 4 : 0, bits: 3)
        }
        for length in literalLengths + distanceLengths { writer.writeCode(length, length: 4) }
    }

    /// The canonical codes for a set of lengths (RFC 1951 §3.2.2).
    static func canonicalCodes(_ lengths: [Int]) -> [Int] {
        var counts = [Int](repeating: 0, count: 16)
        for length in lengths where length > 0 { counts[length] += 1 }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1..<16 {
            code = (code + counts[length - 1]) << 1
            next[length] = code
        }
        return lengths.map { length in
            guard length > 0 else { return 0 }
            defer { next[length] += 1 }
            return next[length]
        }
    }

    /// A dynamic block holding `data` as literals, with a literal/length code of the given lengths (which must
    /// give every byte of `data` and symbol 256 a code) and the given distance code lengths.
    static func dynamicLiterals(_ data: [UInt8], literalLengths: [Int], distanceLengths: [Int] = [1]) -> [UInt8] {
        var writer = DeflateBitWriter()
        dynamicHeader(&writer, literalLengths: literalLengths, distanceLengths: distanceLengths)
        let codes = canonicalCodes(literalLengths)
        for byte in data { writer.writeCode(codes[Int(byte)], length: literalLengths[Int(byte)]) }
        writer.writeCode(codes[256], length: literalLengths[256])
        return writer.finished()
    }

    /// A complete literal/length code over symbols 0–256: 0–254 get 8 bits, 255 and end-of-block 9 bits
    /// (255 × 2⁻⁸ + 2 × 2⁻⁹ = 1).
    static let completeLiteralLengths: [Int] = [Int](repeating: 8, count: 255) + [9, 9]
}
