/// Reads list-valued request headers (`Content-Type`, `Content-Encoding`) byte by byte: items split at a
/// separator, optional whitespace trimmed, ASCII letters lowercased (media types and codings are
/// case-insensitive, RFC 9110 §8.3.1 and §8.4.1).
enum HeaderValue {
    /// The items of `value` between `separator` bytes, trimmed and lowercased; empty items are kept.
    /// - Parameters:
    ///   - value: The header's value.
    ///   - separator: The byte between items, such as `,` or `;`.
    static func items(_ value: String, separator: UInt8) -> [String] {
        var items: [String] = []
        var current: [UInt8] = []
        for byte in value.utf8 {
            if byte == separator {
                items.append(trimmed(current))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            }
        }
        items.append(trimmed(current))
        return items
    }

    /// The media type of a `Content-Type` value: what comes before its parameters, trimmed and lowercased
    /// (`Application/JSON; charset=utf-8` is `application/json`).
    static func mediaType(_ value: String) -> String {
        items(value, separator: UInt8(ascii: ";"))[0]
    }

    /// How an answer names a media type it refuses: `Content-Type text/plain`, or `An empty Content-Type`
    /// for a header sent with no value.
    static func naming(mediaType type: String) -> String {
        type.isEmpty ? "An empty Content-Type" : "Content-Type \(quoted(type))"
    }

    /// The most bytes of a refused value an answer repeats: a media type or a coding is far shorter, and a
    /// longer value may be a credential sent in the wrong header (lowercased, which no redaction recognises).
    static let maxQuotedBytes = 64

    /// `value` as an answer repeats it: whole when at most ``maxQuotedBytes`` bytes, else its first 32 bytes
    /// (whole characters) and how long it was (`application/vnd.example.a-very…(120 bytes)`).
    static func quoted(_ value: String) -> String {
        guard value.utf8.count > maxQuotedBytes else { return value }
        var kept = ""
        var bytes = 0
        for character in value {
            bytes += character.utf8.count
            guard bytes <= 32 else { break }
            kept.append(character)
        }
        return kept + "…(\(value.utf8.count) bytes)"
    }

    private static func trimmed(_ bytes: [UInt8]) -> String {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
