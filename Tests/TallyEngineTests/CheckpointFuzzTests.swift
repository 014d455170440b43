import TallyCore
import TallyTestSupport
import Testing

@testable import TallyEngine

/// Seeded fuzzing of the checkpoint decoder (see ``CheckpointFuzzTarget``): a damaged checkpoint is always
/// refused, and one altered behind repaired checksums is refused or decodes to a state that re-encodes.
@Suite("Checkpoint fuzzing")
struct CheckpointFuzzTests {
    static let original = CheckpointFuzzTarget.seedCheckpoint()

    @Test func seedCheckpointDecodes() {
        #expect(CheckpointFuzzTarget.check(checkpoint: Self.original) == .accepted)
        for seed in CheckpointFuzzTarget.seeds() {
            #expect(CheckpointFuzzTarget.check(seed) == .accepted)
        }
    }

    @Test(arguments: [1, 2] as [UInt64])
    func anyDamageIsRefused(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let mutator = FuzzMutator()
        var tally = FuzzTally()
        for _ in 0..<1000 {
            let mutated = mutator.mutate(Self.original, &random, maximum: 3)
            let verdict = CheckpointFuzzTarget.check(checkpoint: mutated)
            tally.record(verdict, input: mutated)
            if mutated != Self.original {
                #expect(verdict != .accepted, "a damaged checkpoint decoded")
            }
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.rejections("checksum") > 150)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func mutationsBehindRepairedChecksumsAreRefusedOrReEncode(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let mutator = FuzzMutator()
        var tally = FuzzTally()
        for _ in 0..<1000 {
            // Mutate the payload only: header mutations would mostly change the version.
            var mutated =
                Array(Self.original.prefix(CheckpointCodec.headerSize))
                + mutator.mutate(Array(Self.original.dropFirst(CheckpointCodec.headerSize)), &random, maximum: 2)
            CheckpointFuzzTarget.repairChecksums(&mutated)
            tally.record(CheckpointFuzzTarget.check(checkpoint: mutated), input: mutated)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 50)
        #expect(tally.rejections("decode") > 200)
        #expect(tally.rejections("checksum") == 0)
    }
}
