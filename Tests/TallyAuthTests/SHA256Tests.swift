import Foundation
import TallyTestSupport
import Testing

@testable import TallyAuth

@Suite("SHA-256")
struct SHA256Tests {
    /// NIST FIPS 180-4 / CSRC example vectors.
    static let nistVectors: [(message: String, digest: String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ]

    /// The fixed byte pattern used for the length sweep.
    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test("hashes the NIST example messages to their published digests", arguments: nistVectors)
    func hashesNISTVectors(message: String, digest: String) {
        #expect(SHA256.hash(utf8(message)).hex == digest)
    }

    @Test("hashes one million 'a' characters to the NIST digest")
    func hashesOneMillionA() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hash(message).hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("always returns 32 bytes")
    func returnsThirtyTwoBytes() {
        #expect(SHA256.hash([UInt8]()).count == 32)
        #expect(SHA256.hash(Self.pattern(1000)).count == 32)
    }

    @Test("matches python hashlib for every length 0...200 of a fixed pattern")
    func matchesPythonForEveryLength() throws {
        let script = """
            import hashlib
            for n in range(201):
                print(hashlib.sha256(bytes((i * 31 + 7) & 0xFF for i in range(n))).hexdigest())
            """
        let expected = try ReferenceTool.python(script).split(separator: "\n").map(String.init)
        try #require(expected.count == 201)
        for length in 0...200 {
            #expect(SHA256.hash(Self.pattern(length)).hex == expected[length], "length \(length)")
        }
    }

    @Test(
        "matches sha256sum for random inputs around block boundaries",
        arguments: [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 4097]
    )
    func matchesSha256sum(length: Int) throws {
        var generator = SplitMix64(seed: UInt64(length) &+ 42)
        let input = generator.bytes(length)
        #expect(SHA256.hash(input).hex == (try ReferenceTool.sha256sum(input)))
    }

    @Test("gives the same digest for contiguous and non-contiguous collections")
    func acceptsAnyCollection() {
        let bytes = Self.pattern(150)
        let expected = SHA256.hash(bytes)
        #expect(SHA256.hash(bytes[10...]) == SHA256.hash(Array(bytes[10...])))
        #expect(SHA256.hash(bytes.lazy.map { $0 }) == expected)
        #expect(SHA256.hash(Data(bytes)) == expected)
        #expect(SHA256.hash("abc".utf8).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
