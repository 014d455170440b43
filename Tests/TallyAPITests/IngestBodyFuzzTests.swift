import TallyCore
import TallyTestSupport
import Testing

@testable import TallyAPI

/// Seeded fuzzing of the ingest body reader under every content type (see ``IngestBodyFuzzTarget``).
@Suite("Ingest body fuzzing")
struct IngestBodyFuzzTests {
    static let seeds = IngestBodyFuzzTarget.seeds()

    @Test func seedBodiesAreAccepted() {
        for seed in Self.seeds {
            #expect(IngestBodyFuzzTarget.check(seed) == .accepted)
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func mutatedBodiesGiveResultsOrTypedErrors(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let bodies = Self.seeds.map { Array($0.dropFirst()) }
        let mutator = FuzzMutator(
            interesting: FuzzMutator().interesting + Array("{}[]\":,\r\n\t ".utf8), corpus: bodies)
        var tally = FuzzTally()
        for _ in 0..<600 {
            let seedInput = random.pick(Self.seeds)
            // Usually keep the body's own content type; sometimes try it under another one.
            let selector =
                random.chance(3, in: 4) ? seedInput[0] : UInt8(random.below(IngestBodyFuzzTarget.contentTypes.count))
            let input = [selector] + mutator.mutate(Array(seedInput.dropFirst()), &random, maximum: 3)
            tally.record(IngestBodyFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 100)
        #expect(tally.rejections("body") > 50)
        #expect(tally.rejections("events") > 20)
    }

    @Test func randomBodiesUnderEveryContentTypeAreHandled() {
        var random = SplitMix64(seed: 0xB0D1)
        let mutator = FuzzMutator(interesting: Array("{}[]\":,\r\n\t 0".utf8))
        var tally = FuzzTally()
        for round in 0..<2000 {
            let input =
                [UInt8(round % IngestBodyFuzzTarget.contentTypes.count)]
                + mutator.randomBytes(random.below(40), &random)
            tally.record(IngestBodyFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.rejections("body") > 500)
    }
}
