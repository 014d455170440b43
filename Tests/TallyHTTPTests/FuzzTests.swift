import TallyHTTP
import TallyTestSupport
import Testing

@Suite("Mutation fuzzing")
struct FuzzTests {
    /// Seed inputs covering every parser state.
    static let corpus: [[UInt8]] = [
        SplitPointTests.stream,
        bytes("GET /a%20b?x=1&y=%E2%9C%93 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        bytes("POST / HTTP/1.1\nContent-Length: 4\n\nbodyGET / HTTP/1.1\n\n"),
        bytes("PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nT: v\r\n\r\n"),
        bytes("OPTIONS * HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
    ]

    /// Bytes that are significant to the grammar, favoured by the mutator.
    static let interesting: [UInt8] = Array("\r\n :;,%+?=&/0189aAfF\t".utf8) + [0, 0x7F, 0x80, 0xC3, 0xFF]

    /// Applies one to four random mutations to `input`.
    static func mutate(_ input: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var data = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = data.isEmpty ? 0 : Int.random(in: 0..<data.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !data.isEmpty:
                data[position] = UInt8.random(in: 0...255, using: &random)
            case 1:
                data.insert(interesting.randomElement(using: &random) ?? 0, at: position)
            case 2 where !data.isEmpty:
                let length = Int.random(in: 1...min(16, data.count - position), using: &random)
                data.removeSubrange(position..<(position + length))
            case 3 where !data.isEmpty:
                let length = Int.random(in: 1...min(32, data.count - position), using: &random)
                data.insert(contentsOf: data[position..<(position + length)], at: position)
            case 4 where !data.isEmpty:
                data[position] = interesting.randomElement(using: &random) ?? 0
            case 5:
                data = Array(data[..<position])
            default:
                data.insert(
                    contentsOf: bytes(
                        ["chunked", "Content-Length: 3\r\n", "\r\n\r\n", "FFFF"]
                            .randomElement(using: &random) ?? ""), at: position)
            }
        }
        return data
    }

    @Test("random mutations never crash or hang, and splitting never changes the outcome", arguments: [1, 2, 3, 4])
    func mutationFuzz(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let limits = HTTPLimits(maxHeaderBytes: 512, maxBodyBytes: 4096, maxHeaderCount: 16)
        var statuses: [Int: Int] = [:]
        var completed = 0
        for _ in 0..<1500 {
            let base = Self.corpus.randomElement(using: &random) ?? []
            let input = Self.mutate(base, &random)
            let whole = ParseOutcome.parse([input], limits: limits)
            if let error = whole.error {
                #expect([400, 411, 413, 414, 431, 501, 505].contains(error.status))
                #expect(!error.message.isEmpty)
                statuses[error.status, default: 0] += 1
            } else {
                completed += 1
            }
            let split = Int.random(in: 0...input.count, using: &random)
            let pieces = [Array(input[..<split]), Array(input[split...])]
            #expect(ParseOutcome.parse(pieces, limits: limits) == whole, "input \(input)")
        }
        // The fuzzer must exercise both outcomes, otherwise it is not testing much.
        #expect(completed > 100)
        #expect(statuses[400, default: 0] > 100)
    }

    @Test("random bytes never crash, and one-byte feeding matches whole feeding")
    func randomBytes() {
        var random = SplitMix64(seed: 0xDEC0DE)
        for _ in 0..<500 {
            let length = Int.random(in: 0..<200, using: &random)
            var input = (0..<length).map { _ in
                Self.interesting.randomElement(using: &random) ?? 0
            }
            if Bool.random(using: &random) {
                input = bytes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") + input
            }
            let whole = ParseOutcome.parse([input])
            #expect(ParseOutcome.parse(input.map { [$0] }) == whole)
        }
    }
}
