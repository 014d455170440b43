import TallyCore
import TallyTestSupport
import Testing

/// Seeded fuzzing of the binary record decoder: every input is a ``CodecError`` or an event that re-encodes to
/// exactly the input bytes (see ``EventRecordFuzzTarget``).
@Suite("Event record fuzzing")
struct EventRecordFuzzTests {
    static let corpus =
        EventRecordFuzzTarget.seeds()
        + EventFixtures.apiCalls(count: 20).map {
            EventCodec.encode($0, ingestTime: EventFixtures.time)
        }

    @Test func corpusRecordsAreAccepted() {
        for record in Self.corpus {
            #expect(EventRecordFuzzTarget.check(record) == .accepted)
        }
    }

    /// Found by the fuzzer: status 124 written as the two-byte varint `FC 00` decoded, so two different
    /// records read as the same event. Padded varints are now refused.
    @Test func paddedVarintIsRefused() throws {
        let padded: [UInt8] = [
            1, 1, 64, 76, 68, 7, 148, 57, 6, 0, 128, 107, 68, 7, 148, 57, 6, 0, 2, 16, 0, 0, 0, 0, 8, 0,
            2, 0, 0, 0, 0, 0, 0, 0, 6, 99, 97, 108, 108, 45, 56, 5, 107, 101, 0, 0, 0, 252, 0, 0,
        ]
        #expect(throws: CodecError("varint is not in its shortest form at byte 48")) { try EventCodec.decode(padded) }
        var canonical = padded
        canonical.replaceSubrange(47...48, with: [124])
        #expect(EventRecordFuzzTarget.check(canonical) == .accepted)
        func varint(_ bytes: [UInt8]) -> Result<UInt64, CodecError> {
            bytes.withUnsafeBytes { buffer in
                var reader = BinaryReader(buffer)
                return Result { () throws(CodecError) in try reader.readVarint() }
            }
        }
        #expect(throws: CodecError.self) { try varint([0x80, 0x80, 0x00]).get() }
        #expect(throws: CodecError.self) {
            try varint([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).get()
        }
        #expect(try varint([0x00]).get() == 0)
        #expect(try varint([0x80, 0x01]).get() == 128)
        #expect(try varint([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).get() == UInt64.max)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func mutatedRecordsGiveAnErrorOrReEncodeIdentically(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let mutator = FuzzMutator(corpus: Self.corpus)
        var tally = FuzzTally()
        for _ in 0..<4000 {
            let input = mutator.mutate(random.pick(Self.corpus), &random, maximum: 3)
            tally.record(EventRecordFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 100)
        #expect(tally.rejections("codec") > 1000)
    }

    @Test func randomRecordsBehindAValidHeaderAreHandled() {
        var random = SplitMix64(seed: 0xC0DEC)
        let mutator = FuzzMutator()
        var tally = FuzzTally()
        for _ in 0..<4000 {
            // A valid version and type code and two times an event can carry, so the bytes reach the
            // payload decoders.
            var header = [EventCodec.formatVersion, UInt8(random.below(EventType.allCases.count + 1))]
            for _ in 0..<2 {
                let time = Timestamp.min.microseconds + Int64(random.below(Int(Timestamp.max.microseconds)))
                withUnsafeBytes(of: time.littleEndian) { header += $0 }
            }
            let input = header + mutator.randomBytes(random.below(80), &random)
            tally.record(EventRecordFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 0)
    }
}
