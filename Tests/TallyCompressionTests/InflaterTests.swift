import TallyCompression
import TallyTestSupport
import Testing

/// Hand-built streams: valid edge cases, and one stream for every kind of malformed DEFLATE data.
@Suite struct InflaterTests {
    static let inflater = Inflater(maxOutputBytes: 1 << 20)

    func expectFailure(_ code: InflateError.Code, _ stream: [UInt8], sourceLocation: SourceLocation = #_sourceLocation)
    {
        let error = #expect(throws: InflateError.self, sourceLocation: sourceLocation) {
            try InflaterTests.inflater.inflate(stream)
        }
        #expect(error?.code == code, "\(error?.description ?? "no error")", sourceLocation: sourceLocation)
    }

    @Test func aMatchExactly32KiBBackIsDecoded() throws {
        let prefix = FixtureInputs.randomBytes(32768, seed: 7)
        let stream = CraftedStreams.fixed { writer in
            for byte in prefix { writer.writeFixedLiteralLength(Int(byte)) }
            writer.writeFixedMatch(length: 258, distance: 32768)
            writer.writeFixedMatch(length: 3, distance: 1)
            writer.writeFixedLiteralLength(256)
        }
        let decoded = try InflaterTests.inflater.inflate(stream)
        let copied = Array(prefix.prefix(258))
        #expect(decoded == prefix + copied + [UInt8](repeating: copied[257], count: 3))
    }

    @Test func overlappingMatchesRepeatTheirSource() throws {
        // Distances 1–9 with lengths that are not multiples of the distance: the copy must read bytes it wrote.
        for distance in 1...9 {
            let seed = Array("abcdefghi".utf8.prefix(distance))
            let stream = CraftedStreams.fixed { writer in
                for byte in seed { writer.writeFixedLiteralLength(Int(byte)) }
                writer.writeFixedMatch(length: 100, distance: distance)
                writer.writeFixedLiteralLength(256)
            }
            let expected = (0..<(distance + 100)).map { seed[$0 % distance] }
            #expect(try InflaterTests.inflater.inflate(stream) == expected, "distance \(distance)")
        }
    }

    @Test func aDynamicBlockWithASingleDistanceCodeIsAccepted() throws {
        let stream = CraftedStreams.dynamicLiterals(
            Array("dynamic".utf8), literalLengths: CraftedStreams.completeLiteralLengths)
        #expect(try InflaterTests.inflater.inflate(stream) == Array("dynamic".utf8))
    }

    @Test func aDistanceOneByteTooFarBackIsRejected() {
        expectFailure(
            .distanceTooFarBack,
            CraftedStreams.fixed { writer in
                writer.writeFixedMatch(length: 3, distance: 1)
                writer.writeFixedLiteralLength(256)
            })
        expectFailure(
            .distanceTooFarBack,
            CraftedStreams.fixed { writer in
                for _ in 0..<32767 { writer.writeFixedLiteralLength(0x61) }
                writer.writeFixedMatch(length: 3, distance: 32768)
                writer.writeFixedLiteralLength(256)
            })
    }

    @Test func theReservedBlockTypeIsRejected() {
        var writer = DeflateBitWriter()
        writer.write(1, bits: 1)
        writer.write(3, bits: 2)
        expectFailure(.invalidBlockType, writer.finished() + [0, 0, 0])
    }

    @Test func aStoredBlockWithABadComplementIsRejected() throws {
        expectFailure(.storedLengthMismatch, [0x01, 0x03, 0x00, 0xFC, 0xFE, 0x61, 0x62, 0x63])
        #expect(
            try InflaterTests.inflater.inflate([0x01, 0x03, 0x00, 0xFC, 0xFF, 0x61, 0x62, 0x63]) == Array("abc".utf8))
    }

    @Test func symbolsOutsideTheAlphabetsAreRejected() {
        for symbol in [286, 287] {
            expectFailure(
                .invalidSymbol,
                CraftedStreams.fixed { writer in
                    writer.writeFixedLiteralLength(0x61)
                    writer.writeFixedLiteralLength(symbol)
                    writer.write(0, bits: 16)
                })
        }
        for symbol in [30, 31] {
            expectFailure(
                .invalidSymbol,
                CraftedStreams.fixed { writer in
                    writer.writeFixedLiteralLength(0x61)
                    writer.writeFixedLiteralLength(257)
                    writer.writeCode(symbol, length: 5)
                    writer.write(0, bits: 16)
                })
        }
    }

    @Test func tooManyCodesAreRejected() {
        var writer = DeflateBitWriter()
        writer.write(1, bits: 1)
        writer.write(2, bits: 2)
        writer.write(30, bits: 5)  // 287 literal/length codes
        writer.write(0, bits: 5)
        writer.write(0, bits: 4)
        expectFailure(.tooManyCodes, writer.finished() + [0, 0, 0, 0])
        writer = DeflateBitWriter()
        writer.write(1, bits: 1)
        writer.write(2, bits: 2)
        writer.write(0, bits: 5)
        writer.write(30, bits: 5)  // 31 distance codes
        writer.write(0, bits: 4)
        expectFailure(.tooManyCodes, writer.finished() + [0, 0, 0, 0])
    }

    func codeLengthHeader(_ codeLengthLengths: [Int]) -> [UInt8] {
        var writer = DeflateBitWriter()
        writer.write(1, bits: 1)
        writer.write(2, bits: 2)
        writer.write(0, bits: 5)
        writer.write(0, bits: 5)
        writer.write(codeLengthLengths.count - 4, bits: 4)
        for length in codeLengthLengths { writer.write(length, bits: 3) }
        return writer.finished() + [UInt8](repeating: 0, count: 64)
    }

    @Test func badCodeLengthCodesAreRejected() {
        // Three codes of length 1: over-subscribed. One code of length 2: incomplete (never allowed here).
        expectFailure(.oversubscribedCode, codeLengthHeader([1, 1, 1, 0]))
        expectFailure(.incompleteCode, codeLengthHeader([0, 0, 0, 2]))
        expectFailure(.incompleteCode, codeLengthHeader([0, 0, 0, 1]))
    }

    @Test func badLiteralAndDistanceCodesAreRejected() {
        var over = CraftedStreams.completeLiteralLengths
        over[0] = 7
        expectFailure(.oversubscribedCode, CraftedStreams.dynamicLiterals([1], literalLengths: over))
        var incomplete = CraftedStreams.completeLiteralLengths
        incomplete[0] = 9
        expectFailure(.incompleteCode, CraftedStreams.dynamicLiterals([1], literalLengths: incomplete))
        expectFailure(
            .oversubscribedCode,
            CraftedStreams.dynamicLiterals(
                [1], literalLengths: CraftedStreams.completeLiteralLengths, distanceLengths: [1, 1, 1]))
        expectFailure(
            .incompleteCode,
            CraftedStreams.dynamicLiterals(
                [1], literalLengths: CraftedStreams.completeLiteralLengths, distanceLengths: [2, 2, 2]))
        var noEnd = CraftedStreams.completeLiteralLengths
        noEnd[256] = 0
        noEnd[255] = 8
        expectFailure(
            .missingEndOfBlock, CraftedStreams.dynamicLiterals([1], literalLengths: Array(noEnd.prefix(256)) + [0]))
    }

    @Test func badCodeLengthRepeatsAreRejected() {
        // Code-length code: symbols 16, 17, 18 and 1 with 2 bits each (codes 00=1, 01=16, 10=17, 11=18).
        func stream(_ body: (inout DeflateBitWriter) -> Void) -> [UInt8] {
            var writer = DeflateBitWriter()
            writer.write(1, bits: 1)
            writer.write(2, bits: 2)
            writer.write(0, bits: 5)
            writer.write(0, bits: 5)
            writer.write(19 - 4, bits: 4)
            for symbol in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15] {
                writer.write([16, 17, 18, 1].contains(symbol) ? 2 : 0, bits: 3)
            }
            body(&writer)
            return writer.finished() + [UInt8](repeating: 0, count: 64)
        }
        expectFailure(
            .invalidCodeLengthRepeat,
            stream { writer in
                writer.writeCode(1, length: 2)  // 16 first: nothing to repeat
                writer.write(0, bits: 2)
            })
        expectFailure(
            .invalidCodeLengthRepeat,
            stream { writer in
                writer.writeCode(3, length: 2)  // 18: 138 zeros of 258 codes
                writer.write(127, bits: 7)
                writer.writeCode(3, length: 2)  // 18: another 138 — past the end
                writer.write(127, bits: 7)
            })
    }

    @Test func bytesAfterTheStreamAreRejected() throws {
        let stream = DeflateTestEncoder.deflate(Array("hello".utf8))
        #expect(try InflaterTests.inflater.inflate(stream) == Array("hello".utf8))
        expectFailure(.trailingData, stream + [0])
        expectFailure(.truncated, [])
    }

    /// The test encoder is a second, independent implementation of the format: seeded inputs of several shapes
    /// must survive every encoding mode.
    @Test(arguments: DeflateTestEncoder.Mode.allCases)
    func roundTripsThroughTheTestEncoder(_ mode: DeflateTestEncoder.Mode) throws {
        var generator = SplitMix64(seed: 0xDEF1A7E)
        for round in 0..<40 {
            let count = [0, 1, 2, 3, 100, 4096, 70_000][round % 7]
            let alphabet = [2, 4, 26, 256][round % 4]
            var data: [UInt8] = []
            while data.count < count {
                if generator.chance(1, in: 8), !data.isEmpty {
                    let back = 1 + generator.below(min(data.count, 40_000))
                    for _ in 0..<(1 + generator.below(300)) where data.count < count {
                        data.append(data[data.count - back])
                    }
                } else {
                    data.append(UInt8(generator.below(alphabet)))
                }
            }
            let compressed = DeflateTestEncoder.deflate(data, mode: mode)
            #expect(try Inflater(maxOutputBytes: count).inflate(compressed) == data, "round \(round)")
            #expect(try GzipDecoder(maxOutputBytes: count).decode(DeflateTestEncoder.gzip(data, mode: mode)) == data)
        }
    }
}
