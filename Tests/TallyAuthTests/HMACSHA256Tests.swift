import TallyAuth
import TallyTestSupport
import Testing

@Suite("HMAC-SHA256")
struct HMACSHA256Tests {
    /// RFC 4231 test cases 1–7 (key, data, expected HMAC-SHA-256, truncated where the RFC truncates).
    static let rfc4231: [(name: String, key: [UInt8], data: [UInt8], mac: String)] = [
        (
            "case 1", [UInt8](repeating: 0x0b, count: 20), utf8("Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            "case 2", utf8("Jefe"), utf8("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            "case 3", [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            "case 4", Array(1...25), [UInt8](repeating: 0xcd, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            "case 5 (truncated to 128 bits)", [UInt8](repeating: 0x0c, count: 20), utf8("Test With Truncation"),
            "a3b6167473100ee06e0c796c2955552b"
        ),
        (
            "case 6", [UInt8](repeating: 0xaa, count: 131),
            utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            "case 7", [UInt8](repeating: 0xaa, count: 131),
            utf8(
                "This is a test using a larger than block-size key and a larger than block-size data."
                    + " The key needs to be hashed before being used by the HMAC algorithm."
            ),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ]

    @Test("produces the exact RFC 4231 authentication codes", arguments: rfc4231)
    func matchesRFC4231(name: String, key: [UInt8], data: [UInt8], mac: String) {
        let code = HMACSHA256.authenticationCode(key: key, message: data)
        #expect(code.count == 32, "\(name)")
        let expected = [UInt8](hex: mac)
        #expect(Array(code.prefix(expected.count)) == expected, "\(name)")
    }

    @Test("matches python hmac for random keys and messages of many lengths")
    func matchesPython() throws {
        var generator = SplitMix64(seed: 7)
        let lengths = [(0, 0), (1, 1), (32, 55), (63, 64), (64, 119), (65, 120), (100, 200), (200, 1000)]
        var arguments: [String] = []
        var cases: [(key: [UInt8], message: [UInt8])] = []
        for (keyLength, messageLength) in lengths {
            let key = generator.bytes(keyLength)
            let message = generator.bytes(messageLength)
            cases.append((key, message))
            arguments += [key.hex.isEmpty ? "-" : key.hex, message.hex.isEmpty ? "-" : message.hex]
        }
        let script = """
            import hmac, hashlib, sys
            a = [b"" if s == "-" else bytes.fromhex(s) for s in sys.argv[1:]]
            for i in range(0, len(a), 2):
                print(hmac.new(a[i], a[i + 1], hashlib.sha256).hexdigest())
            """
        let expected = try ReferenceTool.python(script, arguments: arguments).split(separator: "\n").map(String.init)
        try #require(expected.count == cases.count)
        for (index, testCase) in cases.enumerated() {
            let code = HMACSHA256.authenticationCode(key: testCase.key, message: testCase.message)
            #expect(code.hex == expected[index], "key \(testCase.key.count) B, message \(testCase.message.count) B")
        }
    }

    @Test("changes when a single key or message bit changes")
    func isSensitiveToEveryInput() {
        let key = utf8("key")
        let message = utf8("The quick brown fox jumps over the lazy dog")
        let base = HMACSHA256.authenticationCode(key: key, message: message)
        #expect(base.hex == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
        var flippedMessage = message
        flippedMessage[0] ^= 1
        #expect(HMACSHA256.authenticationCode(key: key, message: flippedMessage) != base)
        #expect(HMACSHA256.authenticationCode(key: utf8("kez"), message: message) != base)
    }
}
