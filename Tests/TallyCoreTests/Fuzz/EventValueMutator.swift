import TallyCore
import TallyTestSupport

/// Structure-aware mutations of a JSON event: a field's value swapped for one of another type, a huge or
/// boundary number, deep nesting, a removed or unknown field, or a string holding invalid UTF-8.
///
/// Values that ``JSONValue`` cannot hold (numbers beyond `Double`, invalid UTF-8) are written as a placeholder
/// string and replaced by their raw bytes after serialization.
struct EventValueMutator {
    /// Raw fragments substituted for placeholders: numbers at and past every limit, invalid UTF-8, nesting.
    static let rawFragments: [[UInt8]] =
        [
            "1e400", "-1e400", "1e-400", "123456789012345678901234567890", "-9223372036854775809",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808", "9.2e18", "-9.2e18", "9.3e18",
            "1.0000000000000002", "599.0000000000001", "99.99999999999999", "1E2", "-0", "-0.0", "0e0", "4.9e-324",
            "1.7976931348623157e308", "00", "01", "1.", ".5", "+1", "NaN", "Infinity", "0x10",
            String(repeating: "[", count: 63) + String(repeating: "]", count: 63),
            String(repeating: "[", count: 64) + String(repeating: "]", count: 64),
            String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
            String(repeating: #"{"a":"#, count: 70) + "1" + String(repeating: "}", count: 70),
            String(repeating: "[", count: 5000),
        ].map { Array($0.utf8) } + [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0x61, 0x80, 0x22], [0x22, 0x00, 0x22],
            Array(#""\ud800""#.utf8), Array(#""\udc00\ud800""#.utf8), Array(#""\u00zz""#.utf8),
        ]

    private static let placeholderPrefix = "\u{1}fuzz-raw-"

    /// Strings that probe identifier, name and timestamp rules.
    static let strings: [String] = [
        "", " ", "\t", "a", String(repeating: "x", count: 128), String(repeating: "x", count: 129),
        String(repeating: "é", count: 257), "\u{7F}", "key\u{0}", "😀", "e\u{301}", "api.call", "tenant.created",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6", "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
        "3fa85f64-5717-4562-b3fc-2c963f66afa", "3fa85f6457174562b3fc2c963f66afa6",
        "{3fa85f64-5717-4562-b3fc-2c963f66afa6}",
        "2025-07-10T14:30:00Z", "2025-07-10T14:30:00.123456789+14:00", "2025-02-29T00:00:00Z", "2024-02-29T24:00:00Z",
        "0000-01-01T00:00:00Z", "9999-12-31T23:59:60Z", "2025-07-10t14:30:00z", "2025-07-10 14:30:00Z",
        "2025-07-10T14:30:00-23:59", "2025-07-10T14:30:00+24:00", "member", "admin", "ADMIN", "active", "deleted",
    ]

    /// Names the decoder knows, used as unknown-field probes in the wrong place.
    static let keys = [
        "id", "type", "tenantId", "time", "data", "offset", "ingestTime", "keyId", "status", "bytes",
        "durationMs", "oauthClientId", "name", "expiresAt", "userId", "role", "credentialId", "clientId",
        "deltaBytes", "usedBytes", "partnerId", "settings", "eventId", "reason", "storage_quota_mb",
        "mfa_required", "specversion", "Id", "data.keyId", "",
    ]

    /// A mutated copy of `event`, serialized.
    static func mutate(_ event: JSONValue, _ random: inout SplitMix64) -> [UInt8] {
        var raw: [[UInt8]] = []
        var value = event
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            mutateSomewhere(&value, &random, &raw, depth: 0)
        }
        var writer = JSONWriter()
        writer.write(value)
        return substitute(writer.bytes, raw)
    }

    private static func mutateSomewhere(
        _ value: inout JSONValue, _ random: inout SplitMix64, _ raw: inout [[UInt8]],
        depth: Int
    ) {
        switch value {
        case .object(var object) where !object.members.isEmpty && random.chance(3, in: 4):
            let index = random.below(object.members.count)
            switch random.below(8) {
            case 0: object.members.remove(at: index)
            case 1: object.members.append(.init(key: random.pick(keys), value: replacement(&random, &raw)))
            case 2: object.members[index].key = random.pick(keys)
            default: mutateSomewhere(&object.members[index].value, &random, &raw, depth: depth + 1)
            }
            value = .object(object)
        case .array(var items) where !items.isEmpty && random.chance(3, in: 4):
            mutateSomewhere(&items[random.below(items.count)], &random, &raw, depth: depth + 1)
            value = .array(items)
        default:
            value = replacement(&random, &raw)
        }
    }

    /// A value unlike the usual one: another type, a boundary number, a probing string, nesting, or raw bytes.
    private static func replacement(_ random: inout SplitMix64, _ raw: inout [[UInt8]]) -> JSONValue {
        switch random.below(9) {
        case 0: return .null
        case 1: return .bool(random.chance(1, in: 2))
        case 2: return .int(random.pick([0, 1, -1, 99, 100, 599, 600, Int64.max, Int64.min, 1 << 53, -(1 << 53)]))
        case 3:
            return .double(random.pick([0.5, -0.0, 1e300, -1e300, 1e-300, 200.0, 9.2e18, -9.2e18, 9.3e18, .ulpOfOne]))
        case 4, 5: return .string(random.pick(strings))
        case 6: return .array((0..<random.below(3)).map { _ in .string(random.pick(strings)) })
        case 7: return .object(JSONObject([.init(key: random.pick(keys), value: .int(1))]))
        default:
            raw.append(random.pick(rawFragments))
            return .string(placeholderPrefix + String(raw.count - 1))
        }
    }

    /// Replaces each serialized placeholder string (quotes included) by its raw fragment.
    private static func substitute(_ bytes: [UInt8], _ raw: [[UInt8]]) -> [UInt8] {
        guard !raw.isEmpty else { return bytes }
        var output = bytes
        for (index, fragment) in raw.enumerated().reversed() {
            var written = JSONWriter()
            written.writeString(placeholderPrefix + String(index))
            let needle = written.bytes
            guard let start = firstRange(of: needle, in: output) else { continue }
            output.replaceSubrange(start..<(start + needle.count), with: fragment)
        }
        return output
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}
