import Foundation
import TallyTestSupport
import Testing

/// The plaintexts behind the committed fixtures: Swift mirrors of the generators in `make_fixtures.py`, so the
/// tests compare decoded bytes with the original, not only with the trailer's checksum.
enum FixtureInputs {
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            let word = generator.next()
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return Array(bytes.prefix(count))
    }

    static let repetitive = Array(
        String(repeating: "the quick brown fox jumps over the lazy dog 0123456789\n", count: 600).utf8)

    static let longDistance: [UInt8] = {
        let block = randomBytes(1024, seed: 2)
        let filler = (0..<1823).map { String(format: "filler line %06d\n", $0) }.joined()
        return block + Array(filler.utf8.prefix(31_000)) + block
    }()

    /// The repository's sample event stream.
    static let sampleEvents: [UInt8] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../data/sample-events.ndjson")
        return (try? Array(Data(contentsOf: url))) ?? []
    }()

    /// The first 200 lines of the sample events, each ending in a newline.
    static let ndjson: [UInt8] = {
        let lines = sampleEvents.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(200)
        return Array(lines.joined(separator: [0x0A])) + [0x0A]
    }()

    /// The plaintext named in the manifest.
    static func named(_ name: String) -> [UInt8]? {
        switch name {
        case "empty": []
        case "one-byte": Array("x".utf8)
        case "repetitive": repetitive
        case "random": randomBytes(4096, seed: 1)
        case "ndjson": ndjson
        case "long-distance": longDistance
        case "ndjson+repetitive": ndjson + repetitive
        case "zeros-10MB": [UInt8](repeating: 0, count: 10_000_000)
        default: nil
        }
    }
}

/// One line of `Fixtures/manifest.txt`.
struct Fixture: CustomTestStringConvertible, Sendable {
    var file: String
    var input: String
    var length: Int
    var crc: UInt32

    var testDescription: String { file }

    static let directory = (Bundle.module.resourceURL ?? Bundle.module.bundleURL).appendingPathComponent("Fixtures")

    static let all: [Fixture] = {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("manifest.txt"), encoding: .utf8)
        else {
            return []
        }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 4, let length = Int(fields[2]), let crc = UInt32(fields[3], radix: 16) else {
                return nil
            }
            return Fixture(file: String(fields[0]), input: String(fields[1]), length: length, crc: crc)
        }
    }()

    static func bytes(_ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(file)))
    }
}
