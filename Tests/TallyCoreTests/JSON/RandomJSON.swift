import TallyCore
import TallyTestSupport

/// Seeded generators of random JSON values, JSON texts written in varied styles, and corrupted texts.
struct RandomJSON {
    var rng: SplitMix64

    init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
    }

    // MARK: - Values

    /// A random value nested at most `depth` containers deep.
    mutating func value(depth: Int = 4) -> JSONValue {
        let kind = rng.below(depth > 0 ? 9 : 6)
        switch kind {
        case 0: return .null
        case 1: return .bool(rng.chance(1, in: 2))
        case 2: return .int(integer())
        case 3: return .double(finiteDouble())
        case 4, 5: return .string(string())
        case 6: return .array((0..<rng.below(6)).map { _ in value(depth: depth - 1) })
        default:
            var members: [JSONObject.Member] = []
            var usedKeys = Set<[Unicode.Scalar]>()
            for _ in 0..<rng.below(6) {
                let key = string(maxLength: 8)
                // Keys must be distinct by scalars for the default (duplicate-rejecting) parser.
                if usedKeys.insert(Array(key.unicodeScalars)).inserted {
                    members.append(JSONObject.Member(key: key, value: value(depth: depth - 1)))
                }
            }
            return .object(JSONObject(members))
        }
    }

    mutating func integer() -> Int64 {
        switch rng.below(5) {
        case 0: return Int64(rng.below(10))
        case 1: return Int64(rng.below(2_000_001)) - 1_000_000
        case 2: return rng.pick([Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, 0, -1])
        default: return Int64(bitPattern: rng.next())
        }
    }

    mutating func finiteDouble() -> Double {
        switch rng.below(4) {
        case 0:
            // Short decimals such as 12.5 or -0.003.
            let mantissa = Double(rng.below(200_001) - 100_000)
            return mantissa / rng.pick([1, 10, 100, 1000, 1e6])
        case 1:
            return rng.pick([
                0.0, -0.0, 0.1, 2.0, 1e22, 1e23, 5e-324, 2.2250738585072014e-308,
                1.7976931348623157e308, -1.5, 9_007_199_254_740_993, 123456789.125,
            ])
        default:
            // Any finite bit pattern: exercises shortest round-trip printing at every magnitude.
            while true {
                let candidate = Double(bitPattern: rng.next())
                if candidate.isFinite {
                    return candidate
                }
            }
        }
    }

    /// Scalars chosen to hit every escape class and UTF-8 length.
    static let interestingScalars: [Unicode.Scalar] = [
        "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}", "\"", "\\", "/", "\u{7F}",
        "\u{80}", "é", "\u{301}", "\u{7FF}", "\u{800}", "€", "中", "\u{D7FF}", "\u{E000}", "\u{FEFF}",
        "\u{FFFD}", "\u{FFFF}", "\u{2028}", "\u{2029}", "\u{10000}", "😀", "👩", "\u{200D}", "\u{10FFFF}",
    ]

    mutating func string(maxLength: Int = 24) -> String {
        var scalars = String.UnicodeScalarView()
        let length = rng.below(maxLength + 1)
        for _ in 0..<length {
            switch rng.below(6) {
            case 0, 1, 2:
                scalars.append(Unicode.Scalar(UInt8(0x20 + rng.below(0x5F))))
            case 3:
                scalars.append(rng.pick(RandomJSON.interestingScalars))
            default:
                scalars.append(anyScalar())
            }
        }
        return String(scalars)
    }

    mutating func anyScalar() -> Unicode.Scalar {
        while true {
            let limit: UInt32 = rng.chance(1, in: 2) ? 0x800 : 0x11_0000
            if let scalar = Unicode.Scalar(UInt32(rng.below(Int(limit)))) {
                return scalar
            }
        }
    }

    // MARK: - Texts

    /// JSON text for `value` in a randomly chosen but valid style: varied whitespace, optional `\u` and `\/`
    /// escapes, and equivalent number spellings. Parsing it must give back exactly `value`.
    mutating func text(for value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        whitespace(into: &out)
        render(value, into: &out)
        whitespace(into: &out)
        return out
    }

    private mutating func whitespace(into out: inout [UInt8]) {
        guard rng.chance(1, in: 3) else { return }
        for _ in 0..<(1 + rng.below(3)) {
            out.append(rng.pick([0x20, 0x09, 0x0A, 0x0D]))
        }
    }

    private mutating func render(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null:
            out += Array("null".utf8)
        case .bool(let flag):
            out += Array((flag ? "true" : "false").utf8)
        case .int(let number):
            out += Array(String(number).utf8)
        case .double(let number):
            out += Array(doubleText(number).utf8)
        case .string(let text):
            renderString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            whitespace(into: &out)
            for (position, element) in elements.enumerated() {
                if position > 0 {
                    whitespace(into: &out)
                    out.append(UInt8(ascii: ","))
                    whitespace(into: &out)
                }
                render(element, into: &out)
            }
            whitespace(into: &out)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            whitespace(into: &out)
            for (position, member) in object.members.enumerated() {
                if position > 0 {
                    whitespace(into: &out)
                    out.append(UInt8(ascii: ","))
                    whitespace(into: &out)
                }
                renderString(member.key, into: &out)
                whitespace(into: &out)
                out.append(UInt8(ascii: ":"))
                whitespace(into: &out)
                render(member.value, into: &out)
            }
            whitespace(into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A literal denoting exactly the same decimal value as Swift's shortest form (so it reads back to the
    /// same double), optionally with an upper-case or signed exponent or the point shifted into the exponent.
    private mutating func doubleText(_ number: Double) -> String {
        let shortest = number.description
        guard rng.chance(1, in: 2) else { return shortest }
        let negative = shortest.hasPrefix("-")
        let unsigned = negative ? String(shortest.dropFirst()) : shortest
        let parts = unsigned.split(separator: "e", maxSplits: 1)
        let significand = parts[0]
        var exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let pieces = significand.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integerPart = String(pieces[0])
        let fractionPart = pieces.count > 1 ? String(pieces[1]) : ""
        // digits × 10^(exponent - fraction length) keeps the exact value; strip leading zeros (JSON forbids them).
        var digits = integerPart + fractionPart
        exponent -= fractionPart.count
        while digits.count > 1 && digits.hasPrefix("0") {
            digits.removeFirst()
        }
        let marker = rng.chance(1, in: 2) ? "e" : "E"
        let sign = exponent >= 0 ? (rng.chance(1, in: 2) ? "+" : "") : "-"
        return (negative ? "-" : "") + digits + marker + sign + String(exponent.magnitude)
    }

    private mutating func renderString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let mustEscape = value < 0x20 || scalar == "\"" || scalar == "\\"
            if mustEscape || rng.chance(1, in: 8) {
                escape(scalar, into: &out)
            } else {
                out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ scalar: Unicode.Scalar, into out: inout [UInt8]) {
        let short: [Unicode.Scalar: String] = [
            "\"": "\\\"", "\\": "\\\\", "/": "\\/", "\u{8}": "\\b", "\u{C}": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t",
        ]
        if let form = short[scalar], rng.chance(3, in: 4) {
            out += Array(form.utf8)
            return
        }
        for unit in String(scalar).utf16 {
            var hex = String(unit, radix: 16, uppercase: rng.chance(1, in: 2))
            while hex.count < 4 {
                hex = "0" + hex
            }
            out += Array(("\\u" + hex).utf8)
        }
    }

    // MARK: - Corruption

    /// Bytes likely to change the meaning of a JSON text.
    private static let mutationBytes: [UInt8] =
        Array("{}[]:,\"\\ 0123456789-+.eEtfnu/\t\n".utf8)
        + [0x00, 0x01, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]

    /// `bytes` with one to three random byte-level edits: bit flips, insertions, deletions, replacements.
    mutating func mutate(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        for _ in 0..<(1 + rng.below(3)) {
            let position = rng.below(result.count + 1)
            switch rng.below(4) {
            case 0 where position < result.count:
                result[position] ^= UInt8(1) << UInt8(rng.below(8))
            case 1:
                result.insert(rng.pick(RandomJSON.mutationBytes), at: position)
            case 2 where position < result.count:
                result.remove(at: position)
            default:
                if position < result.count {
                    result[position] = rng.pick(RandomJSON.mutationBytes)
                }
            }
        }
        return result
    }
}
