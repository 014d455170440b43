import Foundation
import TallyCore
import TallyTestSupport
import Testing

/// Seeded fuzzing of the JSON event decoder: random bytes, byte-level mutations of real events, and
/// structure-aware mutations. Every input must be malformed JSON, a typed validation error, or an event that
/// round-trips (see ``EventJSONFuzzTarget``).
@Suite("Event JSON fuzzing")
struct EventJSONFuzzTests {
    /// The fixture events and every 40th line of the sample file: real events of every type.
    static let corpus: [[UInt8]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/sample-events.ndjson")
        let lines = ((try? Data(contentsOf: url)).map { [UInt8]($0) } ?? []).split(separator: 0x0A)
        return EventJSONFuzzTarget.seeds() + stride(from: 0, to: lines.count, by: 40).map { Array(lines[$0]) }
    }()

    static let grammar = Array(#"{}[]":,\ 0123456789-+.eEtrufalsn"#.utf8)

    @Test func corpusHoldsValidEventsOfEveryType() throws {
        #expect(Self.corpus.count > 100)
        var types: Set<EventType> = []
        for input in Self.corpus {
            #expect(EventJSONFuzzTarget.check(input) == .accepted, "\(String(decoding: input, as: UTF8.self))")
            types.insert(try EventJSONDecoder().decode(try JSONParser().parse(input), receivedAt: .min).type)
        }
        #expect(types == Set(EventType.allCases))
    }

    @Test func randomBytesAreRejectedWithTypedErrors() {
        var random = SplitMix64(seed: 0xE7E7)
        let mutator = FuzzMutator()
        var tally = FuzzTally()
        for _ in 0..<3000 {
            let input = mutator.randomBytes(random.below(96), alphabet: Self.grammar, &random)
            tally.record(EventJSONFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.rejections("json") > 2000)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func mutatedEventsGiveAnErrorOrAnEventThatRoundTrips(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let mutator = FuzzMutator(interesting: FuzzMutator().interesting + Self.grammar, corpus: Self.corpus)
        var tally = FuzzTally()
        for _ in 0..<1500 {
            let input = mutator.mutate(random.pick(Self.corpus), &random)
            tally.record(EventJSONFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 10)
        #expect(tally.rejections("json") > 300)
        #expect(tally.rejections("validation") > 100)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func structurallyMutatedEventsGiveAnErrorOrAnEventThatRoundTrips(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let values = try Self.corpus.map { try JSONParser().parse($0) }
        var tally = FuzzTally()
        for _ in 0..<1500 {
            let input = EventValueMutator.mutate(random.pick(values), &random)
            tally.record(EventJSONFuzzTarget.check(input), input: input)
        }
        #expect(tally.violations.isEmpty, "\(tally.violations)")
        #expect(tally.accepted > 50)
        #expect(tally.rejections("json") > 50)
        #expect(tally.rejections("validation") > 500)
    }
}
