/// The three DEFLATE alphabets (RFC 1951 §3.2.5–3.2.7) as entry templates, and the fixed code lengths.
enum DeflateAlphabet {
    /// Literal/length symbols 0–287: literals, end of block, lengths 3–258 with their extra bits; 286 and 287
    /// take part in the fixed code but never occur in valid data.
    static let literalLength: [UInt32] = {
        let bases = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
            131, 163, 195, 227, 258,
        ]
        let extra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        var symbols = (0..<256).map { HuffmanEntry.make(kind: HuffmanEntry.literal, value: $0) }
        symbols.append(HuffmanEntry.make(kind: HuffmanEntry.endOfBlock, value: 0))
        for index in bases.indices {
            symbols.append(HuffmanEntry.make(kind: HuffmanEntry.base, extraBits: extra[index], value: bases[index]))
        }
        symbols += [HuffmanEntry.invalid, HuffmanEntry.invalid]
        return symbols
    }()

    /// Distance symbols 0–31: distances 1–32768 with their extra bits; 30 and 31 never occur in valid data.
    static let distance: [UInt32] = {
        let bases = [
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
            2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
        ]
        var symbols = bases.indices.map { index in
            HuffmanEntry.make(kind: HuffmanEntry.base, extraBits: max(0, index / 2 - 1), value: bases[index])
        }
        symbols += [HuffmanEntry.invalid, HuffmanEntry.invalid]
        return symbols
    }()

    /// Code-length symbols 0–18, decoded as plain values.
    static let codeLength: [UInt32] = (0..<19).map { HuffmanEntry.make(kind: HuffmanEntry.literal, value: $0) }

    /// The order in which a dynamic block header lists the code-length code lengths.
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// The fixed literal/length code lengths (RFC 1951 §3.2.6).
    static let fixedLiteralLengths: [UInt8] =
        [UInt8](repeating: 8, count: 144) + [UInt8](repeating: 9, count: 112) + [UInt8](repeating: 7, count: 24)
        + [UInt8](repeating: 8, count: 8)

    /// The fixed distance code lengths: all 32 symbols, five bits each.
    static let fixedDistanceLengths = [UInt8](repeating: 5, count: 32)
}
