import TallyCompression

/// Writes DEFLATE bits least significant bit first, as RFC 1951 packs them; Huffman codes are reversed here.
public struct DeflateBitWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var count = 0

    public init() {}

    /// Appends the low `width` bits of `value`, least significant first (header fields and extra bits).
    public mutating func write(_ value: Int, bits width: Int) {
        buffer |= UInt64(value & ((1 << width) - 1)) << UInt64(count)
        count += width
        while count >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: buffer))
            buffer >>= 8
            count -= 8
        }
    }

    /// Appends a Huffman code of `length` bits, most significant bit first.
    public mutating func writeCode(_ code: Int, length: Int) {
        var reversed = 0
        for bit in 0..<length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
        write(reversed, bits: length)
    }

    /// Pads to a byte boundary with zero bits.
    public mutating func alignToByte() {
        if count > 0 { write(0, bits: 8 - count) }
    }

    /// Appends whole bytes (call ``alignToByte()`` first).
    public mutating func append(_ more: [UInt8]) {
        precondition(count == 0, "append needs a byte boundary")
        bytes += more
    }

    /// The bytes written, with a partial last byte padded by zero bits.
    public func finished() -> [UInt8] {
        var copy = self
        copy.alignToByte()
        return copy.bytes
    }

    // MARK: Fixed Huffman code (RFC 1951 §3.2.6)

    /// Writes literal/length symbol `symbol` (0–287) with the fixed code.
    public mutating func writeFixedLiteralLength(_ symbol: Int) {
        switch symbol {
        case 0...143: writeCode(0x30 + symbol, length: 8)
        case 144...255: writeCode(0x190 + symbol - 144, length: 9)
        case 256...279: writeCode(symbol - 256, length: 7)
        default: writeCode(0xC0 + symbol - 280, length: 8)
        }
    }

    static let lengthBases = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBases = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
        1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ]

    /// Writes a match (length 3–258, distance 1–32768) with the fixed code.
    public mutating func writeFixedMatch(length: Int, distance: Int) {
        let lengthSymbol = DeflateBitWriter.lengthBases.lastIndex { $0 <= length } ?? 0
        writeFixedLiteralLength(257 + lengthSymbol)
        write(length - DeflateBitWriter.lengthBases[lengthSymbol], bits: DeflateBitWriter.lengthExtra[lengthSymbol])
        let distanceSymbol = DeflateBitWriter.distanceBases.lastIndex { $0 <= distance } ?? 0
        writeCode(distanceSymbol, length: 5)
        write(distance - DeflateBitWriter.distanceBases[distanceSymbol], bits: max(0, distanceSymbol / 2 - 1))
    }
}

/// A small DEFLATE and gzip encoder for tests: stored blocks, or fixed-Huffman blocks with greedy LZ77 matching.
/// Independent of the decoder under test, so round trips through it check the decoder against a second
/// implementation of the format.
public enum DeflateTestEncoder {
    public enum Mode: Sendable, CaseIterable {
        /// Stored blocks of at most `65535` bytes.
        case stored
        /// One fixed-Huffman block of literals only.
        case fixedLiterals
        /// Fixed-Huffman blocks with greedy matches found through a 3-byte hash (window 32 KiB).
        case fixedMatches
    }

    /// A raw DEFLATE stream of `data`.
    public static func deflate(_ data: [UInt8], mode: Mode = .fixedMatches) -> [UInt8] {
        var writer = DeflateBitWriter()
        switch mode {
        case .stored:
            var start = 0
            repeat {
                let end = min(data.count, start + 65535)
                writer.write(end == data.count ? 1 : 0, bits: 1)
                writer.write(0, bits: 2)
                writer.alignToByte()
                let length = end - start
                writer.append([
                    UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF),
                ])
                writer.append(Array(data[start..<end]))
                start = end
            } while start < data.count
        case .fixedLiterals:
            writer.write(1, bits: 1)
            writer.write(1, bits: 2)
            for byte in data { writer.writeFixedLiteralLength(Int(byte)) }
            writer.writeFixedLiteralLength(256)
        case .fixedMatches:
            writer.write(1, bits: 1)
            writer.write(1, bits: 2)
            var heads = [Int](repeating: -1, count: 1 << 15)
            var index = 0
            func hash(_ at: Int) -> Int {
                (Int(data[at]) << 10 ^ Int(data[at + 1]) << 5 ^ Int(data[at + 2])) & 0x7FFF
            }
            while index < data.count {
                if index + 3 <= data.count {
                    let key = hash(index)
                    let candidate = heads[key]
                    heads[key] = index
                    if candidate >= 0, index - candidate <= 32768 {
                        var length = 0
                        while length < 258, index + length < data.count,
                            data[candidate + length] == data[index + length]
                        {
                            length += 1
                        }
                        if length >= 3 {
                            writer.writeFixedMatch(length: length, distance: index - candidate)
                            for skipped in (index + 1)..<(index + length) where skipped + 3 <= data.count {
                                heads[hash(skipped)] = skipped
                            }
                            index += length
                            continue
                        }
                    }
                }
                writer.writeFixedLiteralLength(Int(data[index]))
                index += 1
            }
            writer.writeFixedLiteralLength(256)
        }
        return writer.finished()
    }

    /// A gzip member (minimal header, no optional fields) holding `data`.
    public static func gzip(_ data: [UInt8], mode: Mode = .fixedMatches) -> [UInt8] {
        wrapGzip(deflate(data, mode: mode), crc: CRC32.checksum(data), length: data.count)
    }

    /// Wraps a raw DEFLATE stream in a minimal gzip header and the given trailer values.
    public static func wrapGzip(_ deflate: [UInt8], crc: UInt32, length: Int) -> [UInt8] {
        let size = UInt32(truncatingIfNeeded: length)
        return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3] + deflate
            + [UInt8(crc & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8((crc >> 16) & 0xFF), UInt8(crc >> 24)]
            + [UInt8(size & 0xFF), UInt8((size >> 8) & 0xFF), UInt8((size >> 16) & 0xFF), UInt8(size >> 24)]
    }

    /// `count` empty dynamic-Huffman blocks, then an empty final fixed block: the most table building a
    /// stream can ask for per byte (11.6 bytes a block). Each header's code-length code gives symbols 0, 1
    /// and 18 lengths 1, 2 and 2; the literal/length code holds end-of-block alone (one bit) and the
    /// distance code nothing.
    public static func emptyDynamicBlocks(_ count: Int) -> [UInt8] {
        var writer = DeflateBitWriter()
        for _ in 0..<count {
            writer.write(0, bits: 1)  // not final
            writer.write(2, bits: 2)  // dynamic
            writer.write(0, bits: 5)  // 257 literal/length codes
            writer.write(0, bits: 5)  // 1 distance code
            writer.write(18 - 4, bits: 4)  // 18 code-length code lengths, through symbol 1's
            // In the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1.
            for length in [0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] { writer.write(length, bits: 3) }
            // Codes: 0 is `0`, 1 is `10`, 18 is `11`. 256 zero lengths as 138 + 118, then end-of-block's 1,
            // then the distance code's one 0.
            writer.writeCode(0b11, length: 2)
            writer.write(138 - 11, bits: 7)
            writer.writeCode(0b11, length: 2)
            writer.write(118 - 11, bits: 7)
            writer.writeCode(0b10, length: 2)
            writer.writeCode(0b0, length: 1)
            writer.writeCode(0b0, length: 1)  // end of block
        }
        writer.write(1, bits: 1)
        writer.write(1, bits: 2)
        writer.write(0, bits: 7)
        return writer.finished()
    }
}
