/// A strict recursive-descent JSON parser producing ``JWTJSON`` values.
///
/// Recursion is bounded by the depth limit, so hostile input cannot exhaust the stack. All failures yield `nil`;
/// the two that valid JSON can meet, a repeated member and nesting past the limit, are named in ``problem``
/// (anything else is not JSON).
struct JWTJSONParser {
    private let bytes: [UInt8]
    private let maximumDepth: Int
    private var index = 0
    /// Why a document that may be valid JSON was refused, once parsing failed for that reason.
    private(set) var problem: String?

    /// Objects with up to this many members detect duplicate names by linear scan.
    private static let linearDuplicateCheckLimit = 16

    /// Creates a parser over a UTF-8 document.
    ///
    /// - Parameters:
    ///   - bytes: The document bytes.
    ///   - maximumDepth: The maximum number of nested arrays and objects.
    init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// Parses the whole document: one value surrounded by optional whitespace and nothing else.
    ///
    /// - Returns: The value, or `nil` if the document is invalid.
    mutating func parseDocument() -> JWTJSON? {
        skipWhitespace()
        guard let value = parseValue(depth: 0) else { return nil }
        skipWhitespace()
        return index == bytes.count ? value : nil
    }

    /// The byte at the cursor, or `nil` at the end of input.
    private var current: UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    /// Advances past JSON whitespace (space, tab, line feed, carriage return).
    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            index += 1
        }
    }

    /// Consumes `byte` if it is at the cursor.
    ///
    /// - Parameters:
    ///   - byte: The expected byte.
    /// - Returns: Whether the byte was present and consumed.
    private mutating func consume(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        index += 1
        return true
    }

    /// Parses any value at the cursor.
    ///
    /// - Parameters:
    ///   - depth: The number of containers enclosing this value.
    /// - Returns: The value, or `nil` if invalid.
    private mutating func parseValue(depth: Int) -> JWTJSON? {
        guard let byte = current else { return nil }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < maximumDepth else {
                problem = "nests objects and arrays deeper than \(maximumDepth) levels"
                return nil
            }
            return byte == UInt8(ascii: "{") ? parseObject(depth: depth) : parseArray(depth: depth)
        case UInt8(ascii: "\""):
            return parseString().map(JWTJSON.string)
        case UInt8(ascii: "t"):
            return parseLiteral("true", value: .bool(true))
        case UInt8(ascii: "f"):
            return parseLiteral("false", value: .bool(false))
        case UInt8(ascii: "n"):
            return parseLiteral("null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return parseNumber()
        default:
            return nil
        }
    }

    /// Parses one of the literal names `true`, `false`, `null`.
    ///
    /// - Parameters:
    ///   - literal: The exact spelling expected at the cursor.
    ///   - value: The value to return on a match.
    /// - Returns: `value`, or `nil` if the spelling does not match.
    private mutating func parseLiteral(_ literal: StaticString, value: JWTJSON) -> JWTJSON? {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return nil }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { return nil }
        index += count
        return value
    }

    /// Parses an object starting at `{`.
    ///
    /// - Parameters:
    ///   - depth: The number of containers enclosing this object.
    /// - Returns: The object, or `nil` if invalid or if a member name repeats.
    private mutating func parseObject(depth: Int) -> JWTJSON? {
        index += 1
        var members = JWTJSON.Object()
        // Small objects check duplicates by linear scan; large (hostile) ones switch to a hashed set.
        var seenNames: Set<String>?
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return .object(members) }
        while true {
            guard current == UInt8(ascii: "\""), let name = parseString() else { return nil }
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            guard let value = parseValue(depth: depth + 1) else { return nil }
            if seenNames == nil, members.count >= Self.linearDuplicateCheckLimit {
                seenNames = Set(members.names)
            }
            let repeated =
                seenNames != nil ? seenNames?.insert(name).inserted != true : members.names.contains(name)
            guard !repeated else {
                // Named as JSON would spell it, and cut short: the message goes back to the client.
                let shown = name.unicodeScalars.prefix(64).map { $0.escaped(asASCII: true) }.joined()
                problem = "repeats the member \"\(shown)\"\(name.unicodeScalars.count > 64 ? "..." : "")"
                return nil
            }
            members.append(name: name, value: value)
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { return .object(members) }
            guard consume(UInt8(ascii: ",")) else { return nil }
            skipWhitespace()
        }
    }

    /// Parses an array starting at `[`.
    ///
    /// - Parameters:
    ///   - depth: The number of containers enclosing this array.
    /// - Returns: The array, or `nil` if invalid.
    private mutating func parseArray(depth: Int) -> JWTJSON? {
        index += 1
        var elements: [JWTJSON] = []
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return .array(elements) }
        while true {
            guard let value = parseValue(depth: depth + 1) else { return nil }
            elements.append(value)
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return .array(elements) }
            guard consume(UInt8(ascii: ",")) else { return nil }
            skipWhitespace()
        }
    }

    /// Parses a number: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    ///
    /// - Returns: An `.integer` when the number has no fraction or exponent and fits `Int64`, otherwise a finite
    ///   `.number`; `nil` if the syntax is invalid or the value overflows `Double`.
    private mutating func parseNumber() -> JWTJSON? {
        let start = index
        let negative = consume(UInt8(ascii: "-"))
        guard let first = current, Self.isDigit(first) else { return nil }
        index += 1
        if first != UInt8(ascii: "0") {
            while let byte = current, Self.isDigit(byte) { index += 1 }
        }
        let integerEnd = index
        var isInteger = true
        if consume(UInt8(ascii: ".")) {
            isInteger = false
            guard consumeDigits() else { return nil }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            guard consumeDigits() else { return nil }
        }
        if isInteger, let value = exactInteger(from: negative ? start + 1 : start, to: integerEnd, negative: negative) {
            return .integer(value)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { return nil }
        return .number(value)
    }

    /// Consumes one or more decimal digits.
    ///
    /// - Returns: Whether at least one digit was consumed.
    private mutating func consumeDigits() -> Bool {
        let start = index
        while let byte = current, Self.isDigit(byte) { index += 1 }
        return index > start
    }

    /// Converts a run of decimal digits to `Int64`.
    ///
    /// - Parameters:
    ///   - start: The index of the first digit.
    ///   - end: The index after the last digit.
    ///   - negative: Whether a minus sign preceded the digits.
    /// - Returns: The value, or `nil` if it does not fit `Int64`.
    private func exactInteger(from start: Int, to end: Int, negative: Bool) -> Int64? {
        // Accumulate toward the sign so that Int64.min is representable.
        var value: Int64 = 0
        for position in start..<end {
            let digit = Int64(bytes[position] &- UInt8(ascii: "0"))
            let (scaled, scaleOverflow) = value.multipliedReportingOverflow(by: 10)
            let (next, addOverflow) =
                negative
                ? scaled.subtractingReportingOverflow(digit)
                : scaled.addingReportingOverflow(digit)
            guard !scaleOverflow, !addOverflow else { return nil }
            value = next
        }
        return value
    }

    /// Parses a string starting at `"` and resolves its escapes.
    ///
    /// - Returns: The string, or `nil` on an unescaped control character, invalid escape, lone surrogate, invalid
    ///   UTF-8 or missing closing quote.
    private mutating func parseString() -> String? {
        index += 1
        let start = index
        // Fast path: no escapes, so the content is a slice of the input.
        while let byte = current {
            if byte == UInt8(ascii: "\"") {
                let value = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return value
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20, let length = validUTF8SequenceLength() else { return nil }
            index += length
        }
        guard current != nil else { return nil }
        var buffer = Array(bytes[start..<index])
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard appendEscape(to: &buffer) else { return nil }
            default:
                guard byte >= 0x20, let length = validUTF8SequenceLength() else { return nil }
                buffer.append(contentsOf: bytes[index..<index + length])
                index += length
            }
        }
        return nil
    }

    /// Resolves the escape whose backslash was just consumed and appends its UTF-8 bytes.
    ///
    /// - Parameters:
    ///   - buffer: The string content collected so far.
    /// - Returns: Whether the escape was valid.
    private mutating func appendEscape(to buffer: inout [UInt8]) -> Bool {
        guard let byte = current else { return false }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
            buffer.append(byte)
        case UInt8(ascii: "b"):
            buffer.append(0x08)
        case UInt8(ascii: "f"):
            buffer.append(0x0C)
        case UInt8(ascii: "n"):
            buffer.append(0x0A)
        case UInt8(ascii: "r"):
            buffer.append(0x0D)
        case UInt8(ascii: "t"):
            buffer.append(0x09)
        case UInt8(ascii: "u"):
            guard let first = parseHexQuad() else { return false }
            var scalarValue = first
            if (0xD800...0xDBFF).contains(first) {
                guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")), let second = parseHexQuad(),
                    (0xDC00...0xDFFF).contains(second)
                else { return false }
                scalarValue = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(first) {
                return false
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { return false }
            UTF8.encode(scalar) { buffer.append($0) }
        default:
            return false
        }
        return true
    }

    /// Parses exactly four hexadecimal digits.
    ///
    /// - Returns: Their value, or `nil` if fewer than four hex digits follow.
    private mutating func parseHexQuad() -> UInt32? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Validates the UTF-8 sequence starting at the cursor (RFC 3629: no overlongs, surrogates or values above
    /// U+10FFFF).
    ///
    /// - Returns: The length of the sequence in bytes, or `nil` if it is not well-formed.
    private func validUTF8SequenceLength() -> Int? {
        let lead = bytes[index]
        let continuationCount: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: continuationCount = 1
        case 0xE0:
            continuationCount = 2
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: continuationCount = 2
        case 0xED:
            continuationCount = 2
            secondRange = 0x80...0x9F
        case 0xF0:
            continuationCount = 3
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: continuationCount = 3
        case 0xF4:
            continuationCount = 3
            secondRange = 0x80...0x8F
        default: return nil
        }
        guard bytes.count - index > continuationCount else { return nil }
        guard secondRange.contains(bytes[index + 1]) else { return nil }
        for offset in stride(from: 2, through: continuationCount, by: 1)
        where !(0x80...0xBF).contains(bytes[index + offset]) {
            return nil
        }
        return continuationCount + 1
    }

    /// Whether a byte is an ASCII decimal digit.
    ///
    /// - Parameters:
    ///   - byte: The byte to test.
    /// - Returns: `true` for `0`...`9`.
    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
