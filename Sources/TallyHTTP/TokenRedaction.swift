/// Finds JSON Web Tokens in text a client sent (a path, a method) so that logs and error messages never
/// hold a credential: a client that put its token in the wrong place must not have it written down.
public enum TokenRedaction {
    /// `text` with every token in it replaced by `<token>`.
    public static func redacted(_ text: String) -> String {
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

    /// The byte ranges of JSON Web Tokens in `bytes`: in a run of base64url characters and dots, three
    /// dot-separated parts (header, payload, signature; the signature may be empty) whose header, or the end
    /// of it, decodes to a JSON object's start (`{`, after any JSON whitespace: `eyJ` for `{"`, `ewog` for a
    /// header `jq` pretty-printed). A token glued to other characters (`x.<token>`, `ab<token>cd`,
    /// `<token>.`) is found all the same, what follows its signature in the run redacted with it. A file
    /// name such as `report.v1.txt` is no token: no end of its first part decodes to `{`.
    static func ranges(in bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var index = 0
        while index < bytes.count {
            guard base64URLValue(bytes[index]) != nil || bytes[index] == UInt8(ascii: ".") else {
                index += 1
                continue
            }
            // Counted first, collected only for a run with two dots: every request's path passes through here.
            var end = index
            var dots = 0
            while end < bytes.count, base64URLValue(bytes[end]) != nil || bytes[end] == UInt8(ascii: ".") {
                if bytes[end] == UInt8(ascii: ".") { dots += 1 }
                end += 1
            }
            if dots >= 2 { found += ranges(inRun: bytes, index..<end) }
            index = end
        }
        return found
    }

    /// The tokens in one run of base64url characters and dots (see ``ranges(in:)``).
    private static func ranges(inRun bytes: UnsafeBufferPointer<UInt8>, _ run: Range<Int>) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var partStart = run.lowerBound
        for position in run where bytes[position] == UInt8(ascii: ".") {
            parts.append(partStart..<position)
            partStart = position + 1
        }
        parts.append(partStart..<run.upperBound)
        var ranges: [Range<Int>] = []
        var part = 0
        while part + 2 < parts.count {
            let header = parts[part]
            guard !parts[part + 1].isEmpty,
                let start = header.first(where: { opensJSONObject(bytes, $0..<header.upperBound) })
            else {
                part += 1
                continue
            }
            // Characters glued to the signature (`<token>cd`) are in its part, and go with it.
            ranges.append(start..<parts[part + 2].upperBound)
            part += 3
        }
        return ranges
    }

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

    /// Whether the base64url text in `range` decodes to bytes whose first one other than JSON whitespace
    /// is `{` (looking at the first six decoded bytes).
    private static func opensJSONObject(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var bits: UInt32 = 0
        var bitCount = 0
        for position in range.prefix(8) {
            guard let value = base64URLValue(bytes[position]) else { return false }
            bits = bits << 6 | UInt32(value)
            bitCount += 6
            guard bitCount >= 8 else { continue }
            bitCount -= 8
            let byte = UInt8(truncatingIfNeeded: bits >> UInt32(bitCount))
            bits &= (1 << UInt32(bitCount)) - 1
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: "{"): return true
            default: return false
            }
        }
        return false
    }
}
