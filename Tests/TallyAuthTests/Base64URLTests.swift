import Foundation
import TallyAuth
import TallyTestSupport
import Testing

@Suite("Base64URL")
struct Base64URLTests {
    /// RFC 4648 section 10 vectors without padding, plus vectors that exercise the url-safe characters `-` and `_`.
    static let vectors: [(bytes: [UInt8], text: String)] = [
        (utf8(""), ""),
        (utf8("f"), "Zg"),
        (utf8("fo"), "Zm8"),
        (utf8("foo"), "Zm9v"),
        (utf8("foob"), "Zm9vYg"),
        (utf8("fooba"), "Zm9vYmE"),
        (utf8("foobar"), "Zm9vYmFy"),
        ([0xfb, 0xff], "-_8"),
        ([0xfb, 0xef, 0xbe], "----"),
        ([0xff, 0xff, 0xff], "____"),
        ([0x00], "AA"),
        ([0x00, 0x00, 0x00], "AAAA"),
    ]

    @Test("encodes the RFC 4648 vectors in the url alphabet without padding", arguments: vectors)
    func encodesVectors(bytes: [UInt8], text: String) {
        #expect(Base64URL.encode(bytes) == text)
    }

    @Test("decodes the RFC 4648 vectors in the url alphabet without padding", arguments: vectors)
    func decodesVectors(bytes: [UInt8], text: String) {
        #expect(Base64URL.decode(text[...]) == bytes)
    }

    @Test("round-trips random bytes of every length 0...100")
    func roundTripsEveryLength() {
        var generator = SplitMix64(seed: 99)
        for length in 0...100 {
            let bytes = generator.bytes(length)
            let text = Base64URL.encode(bytes)
            #expect(text.utf8.count == (length * 4 + 2) / 3, "length \(length)")
            #expect(Base64URL.decode(text[...]) == bytes, "length \(length)")
        }
    }

    @Test("agrees with Foundation's base64 after alphabet translation")
    func agreesWithFoundation() {
        var generator = SplitMix64(seed: 5)
        for length in 0...64 {
            let bytes = generator.bytes(length)
            let reference = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == reference, "length \(length)")
        }
    }

    /// Inputs that strict unpadded base64url decoding must reject.
    static let rejected: [(reason: String, text: String)] = [
        ("padding", "Zg=="),
        ("single padding", "Zm8="),
        ("padding inside", "Zg==Zm9v"),
        ("standard alphabet plus", "+_8"),
        ("standard alphabet slash", "-/8"),
        ("trailing newline", "Zm9v\n"),
        ("leading space", " Zm9v"),
        ("inner space", "Zm 9v"),
        ("tab", "Zm9v\tYg"),
        ("carriage return", "Zm9v\r"),
        ("length 1", "Z"),
        ("length 5", "Zm9vY"),
        ("length 9", "Zm9vYmFyZ"),
        ("non-canonical 2-char tail", "Zh"),
        ("non-canonical 3-char tail", "Zm9"),
        ("non-canonical 2-char tail, last bit", "AB"),
        ("non-canonical 3-char tail, last bit", "AAB"),
        ("dot", "Zm.9"),
        ("non-ASCII", "Zm9vé"),
        ("NUL", "Zm9v\u{0}AAA"),
        ("percent-encoded", "Zm9v%3D"),
    ]

    @Test("rejects non-canonical or foreign text", arguments: rejected)
    func rejects(reason: String, text: String) {
        #expect(Base64URL.decode(text[...]) == nil, "\(reason)")
    }

    @Test("decodes a substring that is a slice of a larger string")
    func decodesSlices() {
        let text = "xx.Zm9vYmFy.yy"
        let parts = text.split(separator: ".")
        #expect(Base64URL.decode(parts[1]) == utf8("foobar"))
    }

    @Test("decodes bridged, non-native strings")
    func decodesBridgedStrings() {
        let bridged = NSString(string: "Zm9vYmFy") as String
        #expect(Base64URL.decode(bridged[...]) == utf8("foobar"))
    }
}
