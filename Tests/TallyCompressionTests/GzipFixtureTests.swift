import TallyCompression
import TallyTestSupport
import Testing

/// Streams made by CPython's zlib (see `make_fixtures.py`): levels 0, 1, 6, 9 and the Huffman-only, RLE and
/// fixed strategies, over empty, one-byte, repetitive, random, NDJSON and long-distance inputs.
@Suite struct GzipFixtureTests {
    @Test func theManifestListsEveryFixture() throws {
        #expect(Fixture.all.count == 38)
        #expect(!FixtureInputs.sampleEvents.isEmpty)
        for fixture in Fixture.all {
            let plain = try #require(FixtureInputs.named(fixture.input), "unknown input \(fixture.input)")
            // The Swift generators reproduce the Python ones byte for byte.
            #expect(plain.count == fixture.length && CRC32.checksum(plain) == fixture.crc, "\(fixture.input)")
        }
    }

    @Test(arguments: Fixture.all.filter { $0.file.hasSuffix(".gz") })
    func decodesZlibOutput(_ fixture: Fixture) throws {
        let compressed = try Fixture.bytes(fixture.file)
        let decoded = try GzipDecoder(maxOutputBytes: 16 << 20).decode(compressed)
        #expect(decoded.count == fixture.length)
        #expect(CRC32.checksum(decoded) == fixture.crc)
        #expect(decoded == FixtureInputs.named(fixture.input))
    }

    @Test func decodesRawDeflateWithTheInflater() throws {
        let compressed = try Fixture.bytes("ndjson-level6.deflate")
        #expect(try Inflater(maxOutputBytes: 1 << 20).inflate(compressed) == FixtureInputs.ndjson)
    }

    @Test func theLimitIsInclusive() throws {
        let compressed = try Fixture.bytes("ndjson-level9.gz")
        let size = FixtureInputs.ndjson.count
        #expect(try GzipDecoder(maxOutputBytes: size).decode(compressed).count == size)
        let error = #expect(throws: InflateError.self) { try GzipDecoder(maxOutputBytes: size - 1).decode(compressed) }
        #expect(error?.code == .outputLimitExceeded)
        let raw = try Fixture.bytes("ndjson-level6.deflate")
        #expect(try Inflater(maxOutputBytes: size).inflate(raw).count == size)
        #expect(throws: InflateError.self) { try Inflater(maxOutputBytes: size - 1).inflate(raw) }
    }

    /// 10 MB of zeros in 9.7 KB: a 1 MiB limit stops decoding in the first tenth of the input.
    @Test func theLimitStopsAZipBombEarly() throws {
        let bomb = try Fixture.bytes("zeros-10MB.gz")
        let error = #expect(throws: InflateError.self) { try GzipDecoder(maxOutputBytes: 1 << 20).decode(bomb) }
        #expect(error?.code == .outputLimitExceeded)
        #expect((error?.offset ?? .max) < bomb.count / 5)
        #expect(error?.message.contains("\(1 << 20)") == true)
        #expect(try GzipDecoder(maxOutputBytes: 10_000_000).decode(bomb).count == 10_000_000)
    }

    @Test func theLimitCoversAllMembersTogether() throws {
        let members = try Fixture.bytes("two-members.gz")
        let total = FixtureInputs.ndjson.count + FixtureInputs.repetitive.count
        #expect(try GzipDecoder(maxOutputBytes: total).decode(members).count == total)
        #expect(throws: InflateError.self) { try GzipDecoder(maxOutputBytes: total - 1).decode(members) }
        // Each member alone fits; the first member is decoded in full before the second overflows.
        #expect(throws: InflateError.self) {
            try GzipDecoder(maxOutputBytes: FixtureInputs.ndjson.count).decode(members)
        }
    }

    /// Members of every kind (stored, fixed, dynamic, with header fields) one after another decode as each
    /// does alone: the decoder that goes from member to member keeps no state but its tables.
    @Test func membersOfEveryKindDecodeAsTheyDoAlone() throws {
        let names = [
            "ndjson-fixed.gz", "random-level0.gz", "repetitive-level9.gz", "empty-fixed.gz", "ndjson-fixed.gz",
            "all-header-fields.gz", "one-byte-huffman.gz", "long-distance-level6.gz", "empty-level0.gz",
            "ndjson-rle.gz", "one-byte-fixed.gz",
        ]
        var joined: [UInt8] = []
        var expected: [UInt8] = []
        for name in names {
            let member = try Fixture.bytes(name)
            joined += member
            expected += try GzipDecoder(maxOutputBytes: 1 << 26).decode(member)
        }
        #expect(try GzipDecoder(maxOutputBytes: 1 << 26).decode(joined) == expected)
    }

    /// Each member is a stream of its own: a match may not reach back into the member before it.
    @Test func aMatchMayNotReachIntoThePreviousMember() throws {
        func member(_ deflate: [UInt8], output: [UInt8]) -> [UInt8] {
            var crc = CRC32()
            output.withUnsafeBytes { crc.update($0) }
            var bytes: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255] + deflate
            withUnsafeBytes(of: crc.value.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: UInt32(output.count).littleEndian) { bytes += $0 }
            return bytes
        }
        let first = member(
            CraftedStreams.fixed { writer in
                for byte in "abc".utf8 { writer.writeFixedLiteralLength(Int(byte)) }
                writer.writeFixedLiteralLength(256)
            }, output: Array("abc".utf8))
        let reaching = member(
            CraftedStreams.fixed { writer in
                writer.writeFixedMatch(length: 3, distance: 3)
                writer.writeFixedLiteralLength(256)
            }, output: Array("abc".utf8))
        #expect(try GzipDecoder(maxOutputBytes: 100).decode(first + first) == Array("abcabc".utf8))
        let error = #expect(throws: InflateError.self) { try GzipDecoder(maxOutputBytes: 100).decode(first + reaching) }
        #expect(error?.code == .distanceTooFarBack)
    }
}
