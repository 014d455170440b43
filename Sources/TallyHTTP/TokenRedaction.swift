/// Finds JSON Web Tokens in text a client sent (a path, a method) so that logs and error messages never
/// hold a credential: a client that put its token in the wrong place must not have it written down.
package enum TokenRedaction {
    /// `text` with every token in it replaced by `<token>`.
    package static func redacted(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let found = bytes.withUnsafeBufferPointer { ranges(in: $0) }
        guard !found.isEmpty else { return text }
        var redacted: [UInt8] = []
        var next = 0
        for range in found {
            redacted += bytes[next..<range.lowerBound]
            redacted += "<token>".utf8
            next = range.upperBound
        }
        redacted += bytes[next...]
        return String(decoding: redacted, as: UTF8.self)
    }

    /// The byte ranges of JSON Web Tokens in `bytes`, each to the end of the run of base64url characters and
    /// dots that holds it: a run is redacted from the first token's header on when two more dot-separated
    /// parts follow that header, the first of them not empty (payload, signature). A header is a part, or
    /// the end of one (a token glued to other characters: `x.<token>`, `ab<token>`), of at least 8
    /// characters that decodes to a JSON object's start and first member name: `{`, then `"`, JSON
    /// whitespace allowed before each (`eyJ` for `{"`, `ewog` for a header `jq` pretty-printed). Everything
    /// after it in the run goes too, so no grouping of its parts can leave the payload and signature behind.
    /// File names such as `report.v1.txt` or `index.min.js` are no tokens: no end of a part decodes to `{"`.
    static func ranges(in bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var index = 0
        while index < bytes.count {
            guard base64URLValue(bytes[index]) != nil || bytes[index] == UInt8(ascii: ".") else {
                index += 1
                continue
            }
            // Counted first, looked into only for a run with two dots: every request's path passes through here.
            var end = index
            var dots = 0
            while end < bytes.count, base64URLValue(bytes[end]) != nil || bytes[end] == UInt8(ascii: ".") {
                if bytes[end] == UInt8(ascii: ".") { dots += 1 }
                end += 1
            }
            if dots >= 2, let start = tokenStart(in: bytes, index..<end) { found.append(start..<end) }
            index = end
        }
        return found
    }

    /// Where the first token in one run of base64url characters and dots starts (see ``ranges(in:)``).
    private static func tokenStart(in bytes: UnsafeBufferPointer<UInt8>, _ run: Range<Int>) -> Int? {
        var parts: [Range<Int>] = []
        var partStart = run.lowerBound
        for position in run where bytes[position] == UInt8(ascii: ".") {
            parts.append(partStart..<position)
            partStart = position + 1
        }
        parts.append(partStart..<run.upperBound)
        for part in parts.indices.dropLast(2) where !parts[part + 1].isEmpty {
            let header = parts[part]
            guard header.count >= minimumHeader else { continue }
            let starts = header.lowerBound...(header.upperBound - minimumHeader)
            if let start = starts.first(where: { opensJSONObject(bytes, $0..<header.upperBound) }) { return start }
        }
        return nil
    }

    /// The fewest base64url characters a header takes (`{"alg":"none"}` takes 19).
    private static let minimumHeader = 8

    /// The value of a base64url digit, or `nil`.
    private static func base64URLValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    /// Whether the base64url text in `range` decodes to `{` and `"`, with only JSON whitespace before each
    /// (looking at the first twelve decoded bytes).
    private static func opensJSONObject(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var bits: UInt32 = 0
        var bitCount = 0
        var opened = false
        for position in range.prefix(16) {
            guard let value = base64URLValue(bytes[position]) else { return false }
            bits = bits << 6 | UInt32(value)
            bitCount += 6
            guard bitCount >= 8 else { continue }
            bitCount -= 8
            let byte = UInt8(truncatingIfNeeded: bits >> UInt32(bitCount))
            bits &= (1 << UInt32(bitCount)) - 1
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: "{") where !opened: opened = true
            case UInt8(ascii: "\"") where opened: return true
            default: return false
            }
        }
        return false
    }
}
