import TallyCompression
import TallyTestSupport
import Testing

/// Data may hold one dynamic-Huffman block per 32 bytes of its output limit (at least 1,024): each block
/// rebuilds three tables, so a body of empty blocks would otherwise cost a second and more per 16 MiB.
@Suite struct BlockLimitTests {
    static func emptyDynamicBlocks(_ count: Int) -> [UInt8] {
        DeflateTestEncoder.emptyDynamicBlocks(count)
    }

    /// A gzip member of `count` empty dynamic blocks.
    static func emptyMember(_ count: Int) -> [UInt8] {
        DeflateTestEncoder.wrapGzip(emptyDynamicBlocks(count), crc: 0, length: 0)
    }

    @Test func atLeast1024BlocksAreTakenWhateverTheLimit() throws {
        #expect(try Inflater(maxOutputBytes: 0).inflate(Self.emptyDynamicBlocks(1024)).isEmpty)
        #expect(try GzipDecoder(maxOutputBytes: 100).decode(Self.emptyMember(1024)).isEmpty)
        let error = #expect(throws: InflateError.self) {
            try Inflater(maxOutputBytes: 0).inflate(Self.emptyDynamicBlocks(1025))
        }
        #expect(error?.code == .tooManyBlocks)
        #expect(
            error?.message.contains(
                "more than 1024 dynamic Huffman blocks (one per 32 bytes of its 0-byte limit, and at least 1,024)")
                == true, "\(String(describing: error))")
    }

    @Test func theLimitGrowsWithTheOutputLimit() throws {
        let limit = 32 * 2048
        #expect(try Inflater(maxOutputBytes: limit).inflate(Self.emptyDynamicBlocks(2048)).isEmpty)
        let error = #expect(throws: InflateError.self) {
            try Inflater(maxOutputBytes: limit).inflate(Self.emptyDynamicBlocks(2049))
        }
        #expect(error?.code == .tooManyBlocks)
        // Refused where the block begins, not after decoding the rest.
        #expect((error?.offset ?? .max) < Self.emptyDynamicBlocks(2049).count - 2)
    }

    /// The count runs over every member of one body: splitting the blocks among members gains nothing.
    @Test func blocksAreCountedOverEveryMember() throws {
        let two = Self.emptyMember(600) + Self.emptyMember(424)
        #expect(try GzipDecoder(maxOutputBytes: 100).decode(two).isEmpty)
        let error = #expect(throws: InflateError.self) {
            try GzipDecoder(maxOutputBytes: 100).decode(Self.emptyMember(600) + Self.emptyMember(425))
        }
        #expect(error?.code == .tooManyBlocks)
    }

    /// Blocks as small as a compressor writes them still decode at a limit equal to the output: here a
    /// dynamic block for every 33 literals, the sort of body a client flushing after each short line sends.
    @Test func smallRealBlocksPassAtATightLimit() throws {
        let line = Array("0123456789abcdefghijklmnopqrstuvw".utf8)
        // A complete code: the 33 characters and 30 more literals, with end-of-block, 6 bits each.
        let coded = Set(line).union((0..<30).map { UInt8($0) })
        let padded = (0..<256).map { coded.contains(UInt8($0)) ? 6 : 0 } + [6]
        var writer = DeflateBitWriter()
        let codes = CraftedStreams.canonicalCodes(padded)
        let blocks = 1500
        for index in 0..<blocks {
            CraftedStreams.dynamicHeader(
                &writer, literalLengths: padded, distanceLengths: [0], final: index == blocks - 1)
            for byte in line { writer.writeCode(codes[Int(byte)], length: 6) }
            writer.writeCode(codes[256], length: 6)
        }
        let output = try Inflater(maxOutputBytes: blocks * line.count).inflate(writer.finished())
        #expect(output.count == blocks * line.count && Array(output.prefix(33)) == line)
    }
}
