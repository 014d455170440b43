/// Byte-level mutations in the style of libFuzzer's mutator, driven by a seeded ``SplitMix64`` so every run is
/// reproducible: bit flips, byte changes, inserts, deletes, duplicated runs, splices, truncations and
/// boundary integers.
public struct FuzzMutator {
    /// Bytes worth inserting more often than chance would (grammar characters, UTF-8 lead and continuation
    /// bytes, controls).
    public var interesting: [UInt8]
    /// Other valid inputs to splice from.
    public var corpus: [[UInt8]]

    /// Creates a mutator.
    public init(
        interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xED, 0xF4, 0xFF], corpus: [[UInt8]] = []
    ) {
        self.interesting = interesting
        self.corpus = corpus
    }

    /// Integers at the edges of ranges, written little-endian over the input by ``mutate(_:_:)``.
    static let boundaries: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF,
        0x0400_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max,
    ]

    /// Applies between one and `maximum` random mutations to `input`.
    public func mutate(_ input: [UInt8], _ random: inout SplitMix64, maximum: Int = 4) -> [UInt8] {
        var data = input
        for _ in 0..<Int.random(in: 1...max(1, maximum), using: &random) {
            mutateOnce(&data, &random)
        }
        return data
    }

    private func mutateOnce(_ data: inout [UInt8], _ random: inout SplitMix64) {
        let position = data.isEmpty ? 0 : random.below(data.count)
        switch random.below(10) {
        case 0 where !data.isEmpty:
            data[position] ^= 1 << UInt8(random.below(8))
        case 1 where !data.isEmpty:
            data[position] = UInt8.random(in: 0...255, using: &random)
        case 2:
            data.insert(interesting.isEmpty ? 0 : random.pick(interesting), at: position)
        case 3 where !data.isEmpty:
            let length = Int.random(in: 1...min(16, data.count - position), using: &random)
            data.removeSubrange(position..<(position + length))
        case 4 where !data.isEmpty:
            let length = Int.random(in: 1...min(64, data.count - position), using: &random)
            data.insert(contentsOf: data[position..<(position + length)], at: random.below(data.count + 1))
        case 5 where !corpus.isEmpty:
            let other = random.pick(corpus)
            let from = other.isEmpty ? 0 : random.below(other.count)
            data = Array(data[..<position]) + other[from...]
        case 6:
            data.removeSubrange(position...)
        case 7 where !data.isEmpty:
            let width = random.pick([1, 2, 4, 8])
            var value = random.pick(Self.boundaries)
            if random.chance(1, in: 3) { value = value &- UInt64(random.below(3)) }
            for index in 0..<width where position + index < data.count {
                data[position + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
            }
        case 8 where !data.isEmpty:
            data[position] = interesting.isEmpty ? 0 : random.pick(interesting)
        default:
            let count = random.below(8) + 1
            data.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }, at: position)
        }
    }

    /// `count` random bytes; with probability one half drawn from ``interesting`` plus `alphabet` only.
    public func randomBytes(_ count: Int, alphabet: [UInt8] = [], _ random: inout SplitMix64) -> [UInt8] {
        let pool = interesting + alphabet
        let restricted = !pool.isEmpty && random.chance(1, in: 2)
        return (0..<count).map { _ in restricted ? random.pick(pool) : UInt8.random(in: 0...255, using: &random) }
    }
}
