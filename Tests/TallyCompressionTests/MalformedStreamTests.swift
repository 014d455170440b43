import TallyCompression
import TallyTestSupport
import Testing

/// Damaged gzip data: every truncation, bad headers and trailers, trailing bytes, and a seeded fuzz of
/// mutations. Every case must end in an `InflateError` (typed throws make any other error impossible; a trap
/// or a hang fails the run).
@Suite struct MalformedStreamTests {
    static let decoder = GzipDecoder(maxOutputBytes: 1 << 20)

    func expectFailure(_ code: InflateError.Code, _ stream: [UInt8], sourceLocation: SourceLocation = #_sourceLocation)
    {
        let error = #expect(throws: InflateError.self, sourceLocation: sourceLocation) {
            try MalformedStreamTests.decoder.decode(stream)
        }
        #expect(error?.code == code, "\(error?.description ?? "no error")", sourceLocation: sourceLocation)
    }

    /// Every proper prefix of these streams is rejected as truncated (a prefix that ends exactly between two
    /// members is a complete stream, so only the first member of `two-members.gz` is cut everywhere).
    @Test(arguments: [
        "empty-level6.gz", "one-byte-level0.gz", "one-byte-fixed.gz", "ndjson-level6.gz",
        "ndjson-fixed.gz", "random-huffman.gz", "all-header-fields.gz", "long-distance-level9.gz",
    ])
    func everyTruncationIsRejected(_ file: String) throws {
        let stream = try Fixture.bytes(file)
        for end in 0..<stream.count {
            let error = #expect(throws: InflateError.self) {
                _ = try MalformedStreamTests.decoder.decode(Array(stream[..<end]))
            }
            #expect(error?.code == .truncated, "\(file) cut at \(end): \(error?.description ?? "decoded")")
        }
    }

    /// A cut inside the second member is rejected; a cut exactly between the members leaves a complete stream.
    @Test func everyTruncationOfTheSecondMemberIsRejected() throws {
        let first = try Fixture.bytes("one-byte-level6.gz")
        let stream = first + (try Fixture.bytes("repetitive-level9.gz"))
        for end in (first.count + 1)..<stream.count {
            let error = #expect(throws: InflateError.self) {
                _ = try MalformedStreamTests.decoder.decode(Array(stream[..<end]))
            }
            #expect(error?.code == .truncated, "cut at \(end)")
        }
        #expect(try MalformedStreamTests.decoder.decode(first) == Array("x".utf8))
        #expect(try MalformedStreamTests.decoder.decode(stream) == Array("x".utf8) + FixtureInputs.repetitive)
    }

    @Test func everyTruncationOfTheRawStreamIsRejected() throws {
        let stream = try Fixture.bytes("ndjson-level6.deflate")
        for end in 0..<stream.count {
            let error = #expect(throws: InflateError.self) {
                _ = try Inflater(maxOutputBytes: 1 << 20).inflate(Array(stream[..<end]))
            }
            #expect(error?.code == .truncated, "cut at \(end)")
        }
    }

    @Test func badHeadersAreRejected() throws {
        let good = try Fixture.bytes("one-byte-level6.gz")
        var stream = good
        stream[1] = 0x8C
        expectFailure(.notGzip, stream)
        expectFailure(.notGzip, Array("{\"id\":1}".utf8))
        stream = good
        stream[2] = 7
        expectFailure(.unsupportedMethod, stream)
        for bit in 5...7 {
            stream = good
            stream[3] |= 1 << bit
            expectFailure(.reservedFlags, stream)
        }
        stream = try Fixture.bytes("all-header-fields.gz")
        let crcOffset = 10 + 2 + 6 + "events.ndjson".utf8.count + 1 + "a comment".utf8.count + 1
        stream[crcOffset] ^= 1
        expectFailure(.headerChecksumMismatch, stream)
    }

    @Test func badTrailersAreRejected() throws {
        let good = try Fixture.bytes("ndjson-level6.gz")
        for offset in 0..<4 {
            var stream = good
            stream[stream.count - 8 + offset] ^= 0x40
            expectFailure(.checksumMismatch, stream)
            stream = good
            stream[stream.count - 4 + offset] ^= 0x40
            expectFailure(.lengthMismatch, stream)
        }
    }

    /// Bytes after the last member must begin another, except zeros, which pad the data (a tape's blocks) and
    /// are skipped as gzip and Python's gzip module skip them; a member after the padding is not read.
    @Test func bytesAfterTheLastMemberAreRejectedUnlessTheyAreZeros() throws {
        let good = try Fixture.bytes("one-byte-level6.gz")
        #expect(try MalformedStreamTests.decoder.decode(good + [0]) == Array("x".utf8))
        #expect(try MalformedStreamTests.decoder.decode(good + good + [0, 0, 0]) == Array("xx".utf8))
        #expect(try MalformedStreamTests.decoder.decode(good + Array(repeating: 0, count: 512)) == Array("x".utf8))
        expectFailure(.trailingData, good + [0, 0, 1])
        expectFailure(.trailingData, good + [0] + good)
        expectFailure(.trailingData, good + Array("garbage".utf8))
        do {
            _ = try MalformedStreamTests.decoder.decode(good + [7])
            Issue.record("a trailing byte was accepted")
        } catch {
            #expect(
                error.message == "1 byte after the last gzip member is not another member (only zeros may pad the data)"
            )
        }
        expectFailure(.truncated, good + [0x1F])
        expectFailure(.truncated, good + [0x1F, 0x8B, 8, 0])
        #expect(try MalformedStreamTests.decoder.decode(good + good) == Array("xx".utf8))
    }

    /// Seeded mutations of valid streams (bit flips, byte changes, insertions, deletions, cuts, splices): none
    /// traps or hangs, none passes the limit, and any gzip stream that still decodes (its CRC-32 and length
    /// checked) decodes to the original.
    @Test(arguments: [
        "ndjson-level6.gz", "ndjson-fixed.gz", "repetitive-level1.gz", "random-level6.gz",
        "long-distance-level1.gz", "all-header-fields.gz", "two-members.gz", "zeros-10MB.gz",
    ])
    func mutatedStreamsNeverCrash(_ file: String) throws {
        let original = try Fixture.bytes(file)
        let fixture = try #require(Fixture.all.first { $0.file == file })
        let plain = try #require(FixtureInputs.named(fixture.input))
        let limit = 64 << 10
        var generator = SplitMix64(seed: UInt64(file.utf8.count) &* 0x9E37)
        var failures = 0
        for _ in 0..<400 {
            var stream = original
            for _ in 0..<(1 + generator.below(4)) {
                let at = generator.below(stream.count)
                switch generator.below(6) {
                case 0: stream[at] ^= UInt8(1 << generator.below(8))
                case 1: stream[at] = UInt8(generator.below(256))
                case 2: stream.insert(UInt8(generator.below(256)), at: at)
                case 3: if stream.count > 1 { stream.remove(at: at) }
                case 4: stream.removeLast(generator.below(min(stream.count, 16)))
                default:
                    let from = generator.below(stream.count)
                    let length = min(generator.below(32), stream.count - max(at, from))
                    stream.replaceSubrange(at..<(at + length), with: stream[from..<(from + length)])
                }
                if stream.isEmpty { stream = [0] }
            }
            do {
                let decoded = try GzipDecoder(maxOutputBytes: limit).decode(stream)
                #expect(decoded.count <= limit)
                #expect(plain.count > limit || decoded == plain)
            } catch {
                failures += 1
            }
            do {
                // The same bytes as raw DEFLATE, where no checksum catches a mutation: only the limit holds.
                let decoded = try Inflater(maxOutputBytes: limit).inflate(Array(stream.dropFirst(10)))
                #expect(decoded.count <= limit)
            } catch {}
        }
        #expect(failures > 0)
    }
}
