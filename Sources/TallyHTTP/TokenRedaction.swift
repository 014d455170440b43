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

    /// The byte ranges of JSON Web Tokens in `bytes`, each to the end of the run that holds it.
    ///
    /// A run is a stretch of base64 characters (base64url's, and standard base64's `+`, `/` and `=`), dots and
    /// `%` (a percent-escape as sent), read across whitespace and control characters, so a token split by a
    /// space, a tab or a line break (`%20`, `%0A` as sent) is one run. A run holds a token when a part of it
    /// (between dots) of at least 8 base64url characters, or the end of one (a token glued to other
    /// characters: `x.<token>`, `ab<token>`), decodes to a JSON object's start and first member name: `{`,
    /// then `"`, JSON whitespace allowed before each (`eyJ` for `{"`, `ewog` for a header `jq` pretty-printed).
    /// Such a part followed by a dot and more is a header or payload: the run is redacted from it on; one that
    /// ends the run after a dot is a payload behind its signature (`signature.payload`, the header being the
    /// same in every token): the run is redacted from the part before it on (after its last `/`). Everything
    /// after it in the run goes too, so no grouping of its parts, no splitting and no re-encoding of the
    /// signature can leave it behind. File names such as `report.v1.txt` or `index.min.js` are no tokens: no
    /// part of them decodes to `{"`.
    static func ranges(in bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        // Every request's path passes through here: a text without a dot holds no token this finds.
        guard bytes.contains(UInt8(ascii: ".")) else { return [] }
        // The positions of the bytes that are not whitespace or controls, which runs are read across.
        let kept = bytes.indices.filter { bytes[$0] > 0x20 && bytes[$0] != 0x7F }
        var found: [Range<Int>] = []
        var index = 0
        while index < kept.count {
            guard isRunByte(bytes[kept[index]]) else {
                index += 1
                continue
            }
            var end = index
            var dots = 0
            while end < kept.count, isRunByte(bytes[kept[end]]) {
                if bytes[kept[end]] == UInt8(ascii: ".") { dots += 1 }
                end += 1
            }
            if dots >= 1, let start = tokenStart(in: bytes, kept: kept, index..<end) {
                found.append(kept[start]..<(kept[end - 1] + 1))
            }
            index = end
        }
        return found
    }

    /// Where the first token in one run starts (see ``ranges(in:)``), as an index into `kept`.
    private static func tokenStart(in bytes: UnsafeBufferPointer<UInt8>, kept: [Int], _ run: Range<Int>) -> Int? {
        var parts: [Range<Int>] = []
        var partStart = run.lowerBound
        for position in run where bytes[kept[position]] == UInt8(ascii: ".") {
            parts.append(partStart..<position)
            partStart = position + 1
        }
        parts.append(partStart..<run.upperBound)
        for part in parts.indices {
            guard let opening = jsonOpening(in: bytes, kept: kept, parts[part]) else { continue }
            if part + 1 < parts.count, !parts[part + 1].isEmpty { return opening }
            if part > 0, !parts[part - 1].isEmpty {
                let before = parts[part - 1]
                let slash = before.last { bytes[kept[$0]] == UInt8(ascii: "/") }
                return slash.map { $0 + 1 } ?? before.lowerBound
            }
        }
        return nil
    }

    /// The first position in `part` from which the rest of it is at least ``minimumHeader`` base64url
    /// characters that open a JSON object, or `nil`.
    private static func jsonOpening(in bytes: UnsafeBufferPointer<UInt8>, kept: [Int], _ part: Range<Int>) -> Int? {
        guard part.count >= minimumHeader else { return nil }
        // Only base64url characters from the start to the part's end: a header is nothing else.
        var start = part.upperBound
        while start > part.lowerBound, base64URLValue(bytes[kept[start - 1]]) != nil { start -= 1 }
        guard part.upperBound - start >= minimumHeader else { return nil }
        return (start...(part.upperBound - minimumHeader)).first {
            opensJSONObject(bytes, kept: kept, $0..<part.upperBound)
        }
    }

    /// Whether `byte` may stand in a run: a base64 or base64url character, a dot, or `%`.
    private static func isRunByte(_ byte: UInt8) -> Bool {
        base64URLValue(byte) != nil || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "%")
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
    private static func opensJSONObject(_ bytes: UnsafeBufferPointer<UInt8>, kept: [Int], _ range: Range<Int>)
        -> Bool
    {
        var bits: UInt32 = 0
        var bitCount = 0
        var opened = false
        for position in range.prefix(16) {
            guard let value = base64URLValue(bytes[kept[position]]) else { return false }
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
