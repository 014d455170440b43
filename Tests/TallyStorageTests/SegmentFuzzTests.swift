import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

/// Seeded fuzzing of segment files: real segments written by a store, mutated, and opened both ways (see
/// ``SegmentFuzzTarget``). Without repaired checksums a store must read a prefix of what was written; with
/// them, mutations reach record framing and the codec, and opening must still end in events or a
/// ``StorageError``.
@Suite("Segment fuzzing")
struct SegmentFuzzTests {
    static let events = EventFixtures.everyType()

    @Test func seedStoreReadsBackWhole() throws {
        let segments = try SegmentFuzzTarget.seedStore()
        #expect(segments.count >= 3)
        let outcome = SegmentFuzzTarget().run(segments)
        #expect(outcome.verdict == .accepted)
        #expect(outcome.events == Self.events)
    }

    @Test(arguments: [1, 2] as [UInt64])
    func mutatedSegmentsOpenWithAPrefixOrFail(seed: UInt64) throws {
        let original = try SegmentFuzzTarget.seedStore()
        let target = SegmentFuzzTarget(readChunkSize: 64)
        var random = SplitMix64(seed: seed)
        let mutator = FuzzMutator(corpus: original.map(\.bytes))
        var tally = FuzzTally()
        var partial = 0
        for _ in 0..<250 {
            var segments = original
            let victim = random.below(segments.count)
            segments[victim].bytes = mutator.mutate(segments[victim].bytes, &random, maximum: 2)
            let outcome = target.run(segments)
            tally.record(outcome.verdict, input: segments[victim].bytes)
            if let events = outcome.events {
                #expect(
                    Self.events.starts(with: events),
                    "segment \(victim) read \(events.count) events that are not a prefix")
                if events.count < Self.events.count { partial += 1 }
            }
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.rejections("open") > 50)
        #expect(partial > 5)
    }

    @Test(arguments: [1, 2] as [UInt64])
    func mutationsBehindRepairedChecksumsGiveEventsOrStorageErrors(seed: UInt64) throws {
        let original = try SegmentFuzzTarget.seedStore()
        let target = SegmentFuzzTarget(readChunkSize: 64)
        var random = SplitMix64(seed: seed)
        let mutator = FuzzMutator(corpus: original.map(\.bytes))
        var tally = FuzzTally()
        for _ in 0..<250 {
            var segments = original
            let victim = random.below(segments.count)
            // Mostly mutate after the header, so that the file stays a segment of the right offset.
            let bytes = segments[victim].bytes
            var mutated: [UInt8]
            if random.chance(1, in: 4) {
                mutated = mutator.mutate(bytes, &random, maximum: 2)
            } else {
                mutated =
                    Array(bytes.prefix(SegmentFormat.headerSize))
                    + mutator.mutate(Array(bytes.dropFirst(SegmentFormat.headerSize)), &random, maximum: 2)
            }
            SegmentFuzzTarget.repairChecksums(&mutated)
            segments[victim].bytes = mutated
            tally.record(target.run(segments).verdict, input: mutated)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 10)
        #expect(tally.rejections("open") > 50)
        // Records altered behind a valid checksum are refused when decoded.
        #expect(tally.rejections("read") > 5)
    }

    @Test func libFuzzerInputsAreHandled() {
        let target = SegmentFuzzTarget()
        var random = SplitMix64(seed: 0x5E6)
        let mutator = FuzzMutator(corpus: SegmentFuzzTarget.seeds())
        var tally = FuzzTally()
        for seed in SegmentFuzzTarget.seeds() {
            #expect(target.check(seed) == .accepted)
        }
        for _ in 0..<100 {
            let input = mutator.mutate(random.pick(SegmentFuzzTarget.seeds()), &random)
            tally.record(target.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
    }
}
