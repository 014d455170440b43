/// Decodes one raw DEFLATE stream (RFC 1951) from a byte buffer into an ``OutputBuffer``.
///
/// Owned by one call of ``Inflater`` or ``GzipDecoder`` and never shared. Input bits are read least significant
/// bit first through a 64-bit bit buffer; `bitCount` says how many of its low bits are valid. Bits above
/// `bitCount` are either zero or a copy of the input bytes that follow, so refilling may OR whole words in.
final class DeflateDecoder {
    let input: UnsafeBufferPointer<UInt8>
    /// The next input byte not yet in the bit buffer.
    var position: Int
    var bitBuffer: UInt64 = 0
    var bitCount = 0
    let output: OutputBuffer
    /// The output index where this stream began: matches may not reach before it.
    private(set) var windowStart: Int

    let literalLengthTable = HuffmanTable(rootBits: 10, maxSymbols: 288, maxCodeLength: 15)
    let distanceTable = HuffmanTable(rootBits: 8, maxSymbols: 32, maxCodeLength: 15)
    private let codeLengthTable = HuffmanTable(rootBits: 7, maxSymbols: 19, maxCodeLength: 7)
    /// The most dynamic-Huffman blocks this decoder takes, over every stream it decodes.
    let dynamicBlockLimit: Int
    /// The dynamic-Huffman blocks begun so far, over every stream.
    private var dynamicBlocks = 0
    /// Whether the tables hold the fixed code, so consecutive fixed blocks skip the rebuild.
    private var tablesAreFixed = false
    /// A dynamic block header's code lengths: 19 for the code-length code, then up to 286 + 30 for the
    /// literal/length and distance codes. Allocated once, as the tables are.
    private let headerLengths: UnsafeMutablePointer<UInt8> = {
        let count = 19 + 286 + 30
        let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        lengths.initialize(repeating: 0, count: count)
        return lengths
    }()

    /// - Parameters:
    ///   - input: The whole compressed input.
    ///   - start: Where the DEFLATE stream begins in `input`.
    ///   - output: Receives the decompressed bytes (appended after what it holds).
    init(input: UnsafeBufferPointer<UInt8>, start: Int, output: OutputBuffer) {
        self.input = input
        self.position = start
        self.output = output
        self.windowStart = output.count
        dynamicBlockLimit = Self.dynamicBlockLimit(outputLimit: output.limit)
    }

    /// The most dynamic-Huffman blocks data decoding to at most `outputLimit` bytes may hold: one per 32
    /// bytes of the limit, and at least 1,024.
    ///
    /// Each such block builds three tables from its header, most of a microsecond of work for 11.6 bytes of
    /// input, so 16 MiB of empty blocks would hold a thread for a second and more (against some 20 ms for
    /// 16 MiB of real data). Compressors write far larger blocks: zlib ends one every 16,383 symbols by
    /// default and every 127 at its smallest setting (`memLevel` 1); a client that flushes after each event
    /// ends one per event, some 100 bytes or more.
    static func dynamicBlockLimit(outputLimit: Int) -> Int {
        max(1024, outputLimit / 32)
    }

    deinit {
        headerLengths.deallocate()
    }

    /// Makes the decoder ready for another stream at `start` in the same input (the next gzip member),
    /// writing after what the output holds now. The tables are kept: a body of many small members, each
    /// with fixed codes, builds them once rather than once a member.
    func restart(at start: Int) {
        position = start
        bitBuffer = 0
        bitCount = 0
        windowStart = output.count
    }

    /// Decodes blocks up to and including the final one.
    /// - Returns: The offset of the first input byte after the stream (the stream ends on a byte boundary).
    /// - Throws: ``InflateError`` for malformed or truncated data, or output beyond the limit.
    func decodeStream() throws(InflateError) -> Int {
        var isFinal = false
        while !isFinal {
            isFinal = try take(1) == 1
            switch try take(2) {
            case 0: try copyStoredBlock()
            case 1:
                if !tablesAreFixed {
                    try DeflateAlphabet.fixedLiteralLengths.withUnsafeBufferPointer {
                        (literalLengths) throws(InflateError) in
                        try DeflateAlphabet.fixedDistanceLengths.withUnsafeBufferPointer {
                            (distances) throws(InflateError) in
                            try buildTables(literalLengths: literalLengths, distances: distances)
                        }
                    }
                    tablesAreFixed = true
                }
                try decodeHuffmanBlock()
            case 2:
                dynamicBlocks += 1
                guard dynamicBlocks <= dynamicBlockLimit else {
                    throw failure(
                        .tooManyBlocks,
                        "the data holds more than \(dynamicBlockLimit) dynamic Huffman blocks (one per 32 bytes of"
                            + " its \(output.limit)-byte limit, and at least 1,024): no compressor writes blocks that"
                            + " small, so it is refused as a decompression bomb")
                }
                tablesAreFixed = false
                try readDynamicTables()
                try decodeHuffmanBlock()
            default:
                throw failure(.invalidBlockType, "block type 3 is reserved; the data is not DEFLATE or is corrupt")
            }
        }
        // Give back the whole bytes still in the bit buffer; the partial byte is padding.
        bitBuffer = 0
        position -= bitCount >> 3
        bitCount = 0
        return position
    }

    /// The byte offset of the next unread bit, for error reports.
    var bitOffset: Int { max(0, position - (bitCount + 7) / 8) }

    func failure(_ code: InflateError.Code, _ message: String) -> InflateError {
        InflateError(code, message, offset: bitOffset)
    }

    func truncated() -> InflateError {
        InflateError(
            .truncated, "the compressed data ends in the middle of a DEFLATE block; was the upload cut short?",
            offset: input.count)
    }

    /// Tops the bit buffer up to at least 57 bits, or to the end of the input.
    @inline(__always)
    func refill() {
        while bitCount <= 56 && position < input.count {
            bitBuffer |= UInt64(input[position]) &<< UInt64(bitCount)
            position += 1
            bitCount += 8
        }
    }

    /// Consumes `count` (at most 32) bits as an unsigned value.
    @inline(__always)
    func take(_ count: Int) throws(InflateError) -> Int {
        if bitCount < count {
            refill()
            if bitCount < count { throw truncated() }
        }
        let value = Int(truncatingIfNeeded: bitBuffer & ((1 &<< UInt64(count)) &- 1))
        bitBuffer &>>= UInt64(count)
        bitCount -= count
        return value
    }

    /// A stored block: byte-aligned LEN, NLEN, then LEN bytes copied as they are.
    private func copyStoredBlock() throws(InflateError) {
        _ = try take(bitCount & 7)
        position -= bitCount >> 3
        bitBuffer = 0
        bitCount = 0
        guard position + 4 <= input.count else { throw truncated() }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
        guard length == complement ^ 0xFFFF else {
            throw InflateError(
                .storedLengthMismatch,
                "stored block length \(length) does not match its complement \(complement)",
                offset: position)
        }
        position += 4
        guard position + length <= input.count else { throw truncated() }
        if output.count + length > output.capacity {
            try output.grow(toHold: length, after: output.count, inputOffset: position)
        }
        if length > 0, let source = input.baseAddress {
            (output.base + output.count).update(from: source + position, count: length)
        }
        output.count += length
        position += length
    }

    private func buildTables(
        literalLengths: UnsafeBufferPointer<UInt8>, distances: UnsafeBufferPointer<UInt8>
    ) throws(InflateError) {
        do throws(HuffmanCodeDefect) {
            try literalLengthTable.build(
                lengths: literalLengths, symbols: DeflateAlphabet.literalLength,
                allowsSingleCode: true)
        } catch {
            throw failure(error.code, "the literal/length Huffman code is \(error.adjective)")
        }
        do throws(HuffmanCodeDefect) {
            try distanceTable.build(lengths: distances, symbols: DeflateAlphabet.distance, allowsSingleCode: true)
        } catch {
            throw failure(error.code, "the distance Huffman code is \(error.adjective)")
        }
    }

    /// A dynamic block header (RFC 1951 §3.2.7): the code-length code, then the literal/length and distance code
    /// lengths it encodes.
    private func readDynamicTables() throws(InflateError) {
        let literalCount = try take(5) + 257
        let distanceCount = try take(5) + 1
        let codeLengthCount = try take(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw failure(
                .tooManyCodes,
                "a dynamic block declares \(literalCount) literal/length and \(distanceCount) distance codes"
                    + " (at most 286 and 30)"
            )
        }
        let codeLengthLengths = headerLengths
        codeLengthLengths.update(repeating: 0, count: 19)
        for index in 0..<codeLengthCount {
            codeLengthLengths[DeflateAlphabet.codeLengthOrder[index]] = UInt8(try take(3))
        }
        do throws(HuffmanCodeDefect) {
            try codeLengthTable.build(
                lengths: UnsafeBufferPointer(start: codeLengthLengths, count: 19), symbols: DeflateAlphabet.codeLength,
                allowsSingleCode: false)
        } catch {
            throw failure(error.code, "the code-length Huffman code is \(error.adjective)")
        }
        let total = literalCount + distanceCount
        // Every one of the `total` lengths is written below before it is read.
        let lengths = headerLengths + 19
        var index = 0
        while index < total {
            refill()
            let entry = codeLengthTable.entries[Int(bitBuffer & 0x7F)]
            let consumed = HuffmanEntry.consumed(entry)
            if entry & HuffmanEntry.kindMask == HuffmanEntry.invalid {
                if bitCount < 7 { throw truncated() }
                throw failure(.invalidSymbol, "a code-length code that the code-length Huffman code does not define")
            }
            if consumed > bitCount { throw truncated() }
            bitBuffer &>>= UInt64(consumed)
            bitCount -= consumed
            let symbol = HuffmanEntry.value(entry)
            var repeated: UInt8 = 0
            let times: Int
            switch symbol {
            case 0...15:
                lengths[index] = UInt8(symbol)
                index += 1
                continue
            case 16:
                guard index > 0 else {
                    throw failure(
                        .invalidCodeLengthRepeat, "code-length symbol 16 repeats a previous length, but there is none")
                }
                repeated = lengths[index - 1]
                times = 3 + (try take(2))
            case 17: times = 3 + (try take(3))
            default: times = 11 + (try take(7))
            }
            guard index + times <= total else {
                throw failure(.invalidCodeLengthRepeat, "a code-length repeat runs past the \(total) declared codes")
            }
            for offset in index..<(index + times) { lengths[offset] = repeated }
            index += times
        }
        guard lengths[256] != 0 else {
            throw failure(.missingEndOfBlock, "the literal/length code has no end-of-block symbol")
        }
        try buildTables(
            literalLengths: UnsafeBufferPointer(start: lengths, count: literalCount),
            distances: UnsafeBufferPointer(start: lengths + literalCount, count: distanceCount))
    }
}
