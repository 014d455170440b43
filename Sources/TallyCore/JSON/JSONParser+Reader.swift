extension JSONParser {
    /// The parsing state for one document: a cursor over the input plus reusable scratch storage.
    ///
    /// Every read of `input[index]` is preceded by an `index < count` check. Line and column are not tracked;
    /// they are recomputed from the offset only when an error is thrown.
    struct Reader: ~Copyable {
        private let input: UnsafeRawBufferPointer
        private let count: Int
        private let maxDepth: Int
        private let rejectDuplicateKeys: Bool
        private let wholeNumbersAsIntegers: Bool
        private var index = 0
        private var depth = 0
        /// Decoded bytes of the string being unescaped.
        private var scratch: [UInt8] = []
        /// Elements of the arrays being parsed, innermost last; each finished array takes its tail.
        private var valueStack: ScratchStack<JSONValue>
        /// Members of the objects being parsed, innermost last; each finished object takes its tail.
        private var memberStack: ScratchStack<JSONObject.Member>

        /// Objects with more members than this find repeated keys with a hash set instead of a linear scan.
        private static let linearDuplicateScanLimit = 16

        /// Creates a reader; the two buffers are initial scratch storage that must outlive the reader.
        init(
            input: UnsafeRawBufferPointer,
            limits: Limits,
            valueStorage: UnsafeMutableBufferPointer<JSONValue>,
            memberStorage: UnsafeMutableBufferPointer<JSONObject.Member>
        ) {
            self.input = input
            self.valueStack = ScratchStack(initialStorage: valueStorage)
            self.memberStack = ScratchStack(initialStorage: memberStorage)
            self.count = input.count
            self.maxDepth = max(0, limits.maxDepth)
            self.rejectDuplicateKeys = limits.rejectDuplicateKeys
            self.wholeNumbersAsIntegers = limits.wholeNumbersAsIntegers
        }

        // MARK: - Document and values

        /// Parses the whole input as one document, returning the value or the first error.
        mutating func parseDocumentResult() -> Result<JSONValue, JSONParseError> {
            do throws(JSONParseError) {
                return .success(try parseDocument())
            } catch {
                return .failure(error)
            }
        }

        /// Parses the value at `offset` of a document whose enclosing containers are `depth` deep, returning
        /// it with the offset just after it, or the first error.
        mutating func parseEmbeddedValueResult(at offset: Int, depth: Int) -> Result<
            (value: JSONValue, end: Int), JSONParseError
        > {
            index = offset
            self.depth = depth
            do throws(JSONParseError) {
                let value = try parseValue()
                return .success((value, index))
            } catch {
                return .failure(error)
            }
        }

        private mutating func parseDocument() throws(JSONParseError) -> JSONValue {
            skipWhitespace()
            guard index < count else {
                throw error(.emptyInput, at: 0, "expected a JSON value")
            }
            let value = try parseValue()
            skipWhitespace()
            guard index == count else {
                throw error(.trailingData, at: index, "expected the end of input")
            }
            return value
        }

        /// Parses the value starting at `index`, which must not be whitespace.
        private mutating func parseValue() throws(JSONParseError) -> JSONValue {
            guard index < count else {
                throw error(.unexpectedEnd, at: index, "expected a JSON value")
            }
            switch input[index] {
            case UInt8(ascii: "\""):
                return .string(try parseString())
            case UInt8(ascii: "{"):
                return try parseObject()
            case UInt8(ascii: "["):
                return try parseArray()
            case UInt8(ascii: "t"):
                try parseLiteral("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try parseLiteral("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try parseLiteral("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try parseNumber()
            default:
                throw error(.unexpectedByte, at: index, "expected a JSON value")
            }
        }

        private mutating func parseLiteral(_ literal: StaticString) throws(JSONParseError) {
            let length = literal.utf8CodeUnitCount
            let expected = literal.utf8Start
            for position in 0..<length {
                guard index < count else {
                    throw error(.unexpectedEnd, at: index, "expected '\(literal)'")
                }
                guard input[index] == expected[position] else {
                    throw error(.unexpectedByte, at: index, "expected '\(literal)'")
                }
                index &+= 1
            }
        }

        @inline(__always)
        private mutating func skipWhitespace() {
            while index < count {
                let byte = input[index]
                guard byte <= 0x20,
                    byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
                else { return }
                index &+= 1
            }
        }

        // MARK: - Containers

        private mutating func enterContainer() throws(JSONParseError) {
            depth &+= 1
            if depth > maxDepth {
                throw error(.tooDeep, at: index, "more than \(maxDepth) nested arrays and objects")
            }
        }

        private mutating func parseArray() throws(JSONParseError) -> JSONValue {
            try enterContainer()
            index &+= 1
            skipWhitespace()
            if index < count && input[index] == UInt8(ascii: "]") {
                index &+= 1
                depth &-= 1
                return .array([])
            }
            let base = valueStack.count
            while true {
                let element = try parseValue()
                valueStack.push(element)
                if try !moreElements(closedBy: UInt8(ascii: "]"), "expected ',' or ']'") { break }
            }
            let elements = valueStack.popArray(from: base)
            depth &-= 1
            return .array(elements)
        }

        /// After an element: consumes `,` (another element follows: `true`) or the closing byte (`false`).
        private mutating func moreElements(closedBy close: UInt8, _ expectation: String) throws(JSONParseError) -> Bool
        {
            skipWhitespace()
            guard index < count else { throw error(.unexpectedEnd, at: index, expectation) }
            let byte = input[index]
            index &+= 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                return true
            }
            if byte == close { return false }
            throw error(.unexpectedByte, at: index &- 1, expectation)
        }

        private mutating func parseObject() throws(JSONParseError) -> JSONValue {
            try enterContainer()
            index &+= 1
            skipWhitespace()
            if index < count && input[index] == UInt8(ascii: "}") {
                index &+= 1
                depth &-= 1
                return .object(JSONObject())
            }
            let base = memberStack.count
            var seenKeys: Set<JSONObject.KeyBytes>? = nil
            while true {
                guard index < count else {
                    throw error(.unexpectedEnd, at: index, "expected a string key")
                }
                guard input[index] == UInt8(ascii: "\"") else {
                    throw error(.unexpectedByte, at: index, "expected a string key")
                }
                let keyOffset = index
                let key = try parseString()
                if rejectDuplicateKeys {
                    try checkNewKey(key, at: keyOffset, membersFrom: base, seenKeys: &seenKeys)
                }
                skipWhitespace()
                guard index < count else {
                    throw error(.unexpectedEnd, at: index, "expected ':'")
                }
                guard input[index] == UInt8(ascii: ":") else {
                    throw error(.unexpectedByte, at: index, "expected ':'")
                }
                index &+= 1
                skipWhitespace()
                // Strings are the most common member value; parse them without the general dispatch.
                let value: JSONValue
                if index < count && input[index] == UInt8(ascii: "\"") {
                    value = .string(try parseString())
                } else {
                    value = try parseValue()
                }
                memberStack.push(JSONObject.Member(key: key, value: value))
                if try !moreElements(closedBy: UInt8(ascii: "}"), "expected ',' or '}'") { break }
            }
            let members = memberStack.popArray(from: base)
            depth &-= 1
            return .object(JSONObject(members))
        }

        /// Throws `.duplicateKey` if `key` repeats a key of the object whose members start at `base`.
        @inline(__always)
        private mutating func checkNewKey(
            _ key: String,
            at offset: Int,
            membersFrom base: Int,
            seenKeys: inout Set<JSONObject.KeyBytes>?
        ) throws(JSONParseError) {
            let repeated: Bool
            if memberStack.count &- base < Reader.linearDuplicateScanLimit {
                var found = false
                for position in base..<memberStack.count where !found {
                    found = memberStack.withElement(at: position) { JSONObject.keysEqual($0.key, key) } == true
                }
                repeated = found
            } else {
                repeated = isRepeatedInLargeObject(key, membersFrom: base, seenKeys: &seenKeys)
            }
            if repeated {
                throw duplicateKeyError(key, at: offset)
            }
        }

        /// The hashed variant of the duplicate check, building the key set on first use.
        @inline(never)
        private func isRepeatedInLargeObject(
            _ key: String,
            membersFrom base: Int,
            seenKeys: inout Set<JSONObject.KeyBytes>?
        ) -> Bool {
            if seenKeys == nil {
                var keys = Set<JSONObject.KeyBytes>(minimumCapacity: (memberStack.count &- base) * 2)
                for position in base..<memberStack.count {
                    if let existingKey = memberStack.withElement(at: position, { $0.key }) {
                        keys.insert(JSONObject.KeyBytes(key: existingKey))
                    }
                }
                seenKeys = keys
            }
            return seenKeys?.insert(JSONObject.KeyBytes(key: key)).inserted == false
        }

        @inline(never)
        private func duplicateKeyError(_ key: String, at offset: Int) -> JSONParseError {
            let shown = key.count > 64 ? String(key.prefix(64)) + "..." : key
            return error(.duplicateKey, at: offset, "key \"\(shown)\" appears more than once")
        }

        // MARK: - Strings

        /// Parses the string whose opening quote is at `index`, leaving `index` after the closing quote.
        private mutating func parseString() throws(JSONParseError) -> String {
            index &+= 1
            let start = index
            while true {
                skipPlainASCII()
                guard index < count else {
                    throw error(.unexpectedEnd, at: index, "expected '\"' to close the string")
                }
                let byte = input[index]
                if byte == UInt8(ascii: "\"") {
                    let string = makeString(from: start, to: index)
                    index &+= 1
                    return string
                } else if byte == UInt8(ascii: "\\") {
                    return try parseEscapedString(from: start)
                } else if byte < 0x20 {
                    throw error(.controlCharacterInString, at: index, "control characters must be escaped")
                } else if byte < 0x80 {
                    index &+= 1
                } else {
                    try skipMultiByteScalar()
                }
            }
        }

        /// Continues a string that contains escapes: `start` is its first content byte, `index` is at a backslash.
        private mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
            scratch.removeAll(keepingCapacity: true)
            var runStart = start
            while true {
                skipPlainASCII()
                guard index < count else {
                    throw error(.unexpectedEnd, at: index, "expected '\"' to close the string")
                }
                let byte = input[index]
                if byte == UInt8(ascii: "\"") {
                    appendToScratch(from: runStart, to: index)
                    index &+= 1
                    return String(decoding: scratch, as: UTF8.self)
                } else if byte == UInt8(ascii: "\\") {
                    appendToScratch(from: runStart, to: index)
                    try decodeEscape()
                    runStart = index
                } else if byte < 0x20 {
                    throw error(.controlCharacterInString, at: index, "control characters must be escaped")
                } else if byte < 0x80 {
                    index &+= 1
                } else {
                    try skipMultiByteScalar()
                }
            }
        }

        @inline(__always)
        private func makeString(from start: Int, to end: Int) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: input[start..<end]), as: UTF8.self)
        }

        @inline(__always)
        private mutating func appendToScratch(from start: Int, to end: Int) {
            if start < end {
                scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
            }
        }

        /// Moves `index` to the first byte at or after it that needs attention inside a string: `"`, `\`, a
        /// control below `0x20`, a non-ASCII byte, or the end of input. Works eight bytes at a time where possible.
        @inline(__always)
        private mutating func skipPlainASCII() {
            var position = index
            let end = count
            while position &+ 8 <= end {
                let word = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                let mask = Reader.attentionMask(word)
                if mask != 0 {
                    index = position &+ mask.trailingZeroBitCount &>> 3
                    return
                }
                position &+= 8
            }
            while position < end {
                let byte = input[position]
                if byte < 0x20 || byte >= 0x80 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    break
                }
                position &+= 1
            }
            index = position
        }

        /// The high bit of each byte of `word` (first byte in the low bits) that is `"`, `\`, below `0x20` or at
        /// least `0x80`. Borrows can flag extra bytes, but only above a truly flagged one, so the lowest set bit
        /// is always exact.
        @inline(__always)
        static func attentionMask(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            let belowSpace = word &- ones &* 0x20
            let quoteHits = (quotes &- ones) & ~quotes
            let backslashHits = (backslashes &- ones) & ~backslashes
            return (word | belowSpace | quoteHits | backslashHits) & highBits
        }

        /// Validates the multi-byte UTF-8 sequence starting at `index` (a byte >= 0x80) and moves past it.
        private mutating func skipMultiByteScalar() throws(JSONParseError) {
            let lead = input[index]
            let length: Int
            var secondLow: UInt8 = 0x80
            var secondHigh: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF:
                length = 2
            case 0xE0:
                length = 3
                secondLow = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF:
                length = 3
            case 0xED:
                length = 3
                secondHigh = 0x9F
            case 0xF0:
                length = 4
                secondLow = 0x90
            case 0xF1...0xF3:
                length = 4
            case 0xF4:
                length = 4
                secondHigh = 0x8F
            default:
                throw error(.invalidUTF8, at: index, "byte cannot start a UTF-8 sequence")
            }
            for position in 1..<length {
                guard index &+ position < count else {
                    throw error(.unexpectedEnd, at: count, "input ends inside a UTF-8 sequence")
                }
                let byte = input[index &+ position]
                let low = position == 1 ? secondLow : 0x80
                let high = position == 1 ? secondHigh : 0xBF
                guard byte >= low && byte <= high else {
                    throw error(.invalidUTF8, at: index, "ill-formed UTF-8 sequence")
                }
            }
            index &+= length
        }

        /// Decodes the escape whose backslash is at `index` into `scratch` and moves past it.
        private mutating func decodeEscape() throws(JSONParseError) {
            let escapeStart = index
            guard index &+ 1 < count else {
                throw error(.unexpectedEnd, at: count, "input ends inside an escape sequence")
            }
            let decoded: UInt8
            switch input[index &+ 1] {
            case UInt8(ascii: "\""): decoded = 0x22
            case UInt8(ascii: "\\"): decoded = 0x5C
            case UInt8(ascii: "/"): decoded = 0x2F
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                try decodeUnicodeEscape()
                return
            default:
                throw error(.invalidEscape, at: escapeStart, "expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u")
            }
            scratch.append(decoded)
            index &+= 2
        }

        /// Decodes `\uXXXX` (combining a surrogate pair with the following `\uXXXX`) at `index` into `scratch`.
        private mutating func decodeUnicodeEscape() throws(JSONParseError) {
            let escapeStart = index
            let first = try readUnicodeEscapeUnit()
            var scalarValue = UInt32(first)
            if first >= 0xDC00 && first <= 0xDFFF {
                throw error(.invalidUnicodeEscape, at: escapeStart, "lone low surrogate")
            }
            if first >= 0xD800 && first <= 0xDBFF {
                // Expect `\u` next; running out of input first is a truncation, anything else a lone surrogate.
                for (position, expected) in [(0, UInt8(ascii: "\\")), (1, UInt8(ascii: "u"))] {
                    guard index &+ position < count else {
                        throw error(.unexpectedEnd, at: count, "expected a low surrogate escape")
                    }
                    guard input[index &+ position] == expected else {
                        throw error(.invalidUnicodeEscape, at: escapeStart, "high surrogate without a low surrogate")
                    }
                }
                let second = try readUnicodeEscapeUnit()
                guard second >= 0xDC00 && second <= 0xDFFF else {
                    throw error(.invalidUnicodeEscape, at: escapeStart, "high surrogate without a low surrogate")
                }
                scalarValue = 0x10000 &+ ((UInt32(first) &- 0xD800) << 10) &+ (UInt32(second) &- 0xDC00)
            }
            appendUTF8(scalarValue)
        }

        /// Reads the four hex digits of the `\u` escape whose backslash is at `index`, moving past them.
        private mutating func readUnicodeEscapeUnit() throws(JSONParseError) -> UInt16 {
            let escapeStart = index
            var unit: UInt16 = 0
            for position in 2..<6 {
                guard index &+ position < count else {
                    throw error(.unexpectedEnd, at: count, "input ends inside a \\u escape")
                }
                let byte = input[index &+ position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
                default:
                    throw error(.invalidUnicodeEscape, at: escapeStart, "expected four hex digits after \\u")
                }
                unit = unit << 4 | UInt16(digit)
            }
            index &+= 6
            return unit
        }

        private mutating func appendUTF8(_ scalar: UInt32) {
            switch scalar {
            case 0..<0x80:
                scratch.append(UInt8(truncatingIfNeeded: scalar))
            case 0x80..<0x800:
                scratch.append(0xC0 | UInt8(truncatingIfNeeded: scalar >> 6))
                scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
            case 0x800..<0x10000:
                scratch.append(0xE0 | UInt8(truncatingIfNeeded: scalar >> 12))
                scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
                scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
            default:
                scratch.append(0xF0 | UInt8(truncatingIfNeeded: scalar >> 18))
                scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 12) & 0x3F))
                scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
                scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
            }
        }

        // MARK: - Numbers

        /// Parses the number starting at `index` (a `-` or a digit).
        private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
            let start = index
            let negative = input[index] == UInt8(ascii: "-")
            if negative {
                index &+= 1
            }
            // Every digit (integer and fraction part) accumulates into `significand` while it fits.
            var significand: UInt64 = 0
            var significandOverflowed = false
            var fractionDigits = 0

            guard index < count else {
                throw error(.unexpectedEnd, at: index, "expected a digit")
            }
            let firstDigit = input[index]
            if firstDigit == UInt8(ascii: "0") {
                index &+= 1
                if index < count && Reader.isDigit(input[index]) {
                    throw error(.invalidNumber, at: index, "leading zeros are not allowed")
                }
            } else if Reader.isDigit(firstDigit) {
                accumulateDigits(into: &significand, overflowed: &significandOverflowed)
            } else {
                throw error(.invalidNumber, at: index, "expected a digit")
            }

            var isIntegral = true
            if index < count && input[index] == UInt8(ascii: ".") {
                isIntegral = false
                index &+= 1
                try requireDigit()
                let fractionStart = index
                accumulateDigits(into: &significand, overflowed: &significandOverflowed)
                fractionDigits = index &- fractionStart
            }

            var exponent = 0
            if index < count && (input[index] | 0x20) == UInt8(ascii: "e") {
                isIntegral = false
                index &+= 1
                var exponentNegative = false
                if index < count && (input[index] == UInt8(ascii: "+") || input[index] == UInt8(ascii: "-")) {
                    exponentNegative = input[index] == UInt8(ascii: "-")
                    index &+= 1
                }
                try requireDigit()
                while index < count && Reader.isDigit(input[index]) {
                    // Saturate: anything this large is far outside Double's range either way.
                    if exponent < 1_000_000 {
                        exponent = exponent &* 10 &+ Int(input[index] &- UInt8(ascii: "0"))
                    }
                    index &+= 1
                }
                if exponentNegative {
                    exponent = -exponent
                }
            }

            if isIntegral && !significandOverflowed {
                if !negative && significand <= UInt64(Int64.max) {
                    return .int(Int64(significand))
                }
                if negative && significand <= Int64.min.magnitude {
                    return .int(Int64(truncatingIfNeeded: 0 &- significand))
                }
            }
            // A whole number written with a fraction or exponent (`5000.0`, `5e3`, `-0.0`) is an integer, read
            // exactly from its digits: through a Double, `9007199254740993.0` would lose its last unit and
            // `0.99999999999999999` would round to a whole 1.
            if wholeNumbersAsIntegers, let whole = wholeNumber(from: start, to: index) {
                return .int(whole)
            }
            let value: Double
            if let fast = Reader.exactDouble(
                significand, overflowed: significandOverflowed,
                exponent: exponent &- fractionDigits)
            {
                value = negative ? -fast : fast
            } else {
                value = slowDouble(from: start, to: index)
            }
            guard value.isFinite else {
                throw error(.numberOutOfRange, at: start, "magnitude too large for a Double")
            }
            return .double(value)
        }

        @inline(__always)
        private static func isDigit(_ byte: UInt8) -> Bool {
            byte &- UInt8(ascii: "0") < 10
        }

        private mutating func requireDigit() throws(JSONParseError) {
            guard index < count else {
                throw error(.unexpectedEnd, at: index, "expected a digit")
            }
            guard Reader.isDigit(input[index]) else {
                throw error(.invalidNumber, at: index, "expected a digit")
            }
        }

        @inline(__always)
        private mutating func accumulateDigits(into significand: inout UInt64, overflowed: inout Bool) {
            while index < count {
                let digit = input[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return }
                if !overflowed {
                    let (times10, overflow1) = significand.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
                    significand = sum
                    overflowed = overflow1 || overflow2
                }
                index &+= 1
            }
        }

        /// The value of the number literal in `start..<end` (already validated) when it is a whole number
        /// within `Int64`, whatever its form; otherwise `nil`.
        @inline(never)
        private func wholeNumber(from start: Int, to end: Int) -> Int64? {
            var position = start
            let negative = input[position] == UInt8(ascii: "-")
            if negative { position &+= 1 }
            // First pass: where the significant digits run (from the first non-zero digit), how many there
            // are, the zeros they end with, and how many digits follow the point.
            var firstSignificant: Int?
            var significantDigits = 0
            var trailingZeros = 0
            var fractionDigits = 0
            var inFraction = false
            while position < end {
                let byte = input[position]
                if byte == UInt8(ascii: ".") {
                    inFraction = true
                } else if Reader.isDigit(byte) {
                    if inFraction { fractionDigits &+= 1 }
                    if firstSignificant == nil && byte != UInt8(ascii: "0") { firstSignificant = position }
                    if firstSignificant != nil {
                        significantDigits &+= 1
                        trailingZeros = byte == UInt8(ascii: "0") ? trailingZeros &+ 1 : 0
                    }
                } else {
                    break
                }
                position &+= 1
            }
            var exponent = 0
            var exponentTooLarge = false
            if position < end {
                // `e` or `E`, an optional sign, digits.
                position &+= 1
                var exponentNegative = false
                if input[position] == UInt8(ascii: "-") || input[position] == UInt8(ascii: "+") {
                    exponentNegative = input[position] == UInt8(ascii: "-")
                    position &+= 1
                }
                while position < end {
                    exponent = exponent &* 10 &+ Int(input[position] &- UInt8(ascii: "0"))
                    // An exponent this large is far from any Int64 unless as many digits offset it, and a
                    // saturated one would no longer tell which: such a literal (unless zero) is left to the
                    // Double path.
                    if exponent >= 100_000_000 {
                        exponentTooLarge = true
                        break
                    }
                    position &+= 1
                }
                if exponentNegative { exponent = -exponent }
            }
            guard let first = firstSignificant else { return 0 }
            guard !exponentTooLarge else { return nil }
            // value = (significant digits without their trailing zeros) × 10^scale
            let digits = significantDigits - trailingZeros
            let scale = exponent - fractionDigits + trailingZeros
            guard scale >= 0, digits + scale <= 19 else { return nil }
            var magnitude: UInt64 = 0
            var taken = 0
            position = first
            while taken < digits {
                let byte = input[position]
                position &+= 1
                guard byte != UInt8(ascii: ".") else { continue }
                magnitude = magnitude &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                taken &+= 1
            }
            for _ in 0..<scale {
                let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                magnitude = product
            }
            if negative {
                return magnitude <= Int64.min.magnitude ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
            }
            return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
        }

        /// Powers of ten that are exact in a `Double`.
        private static let exactPowersOfTen: [Double] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ]

        /// `significand × 10^exponent` when both factors are exact doubles, so one IEEE operation rounds correctly.
        @inline(__always)
        static func exactDouble(_ significand: UInt64, overflowed: Bool, exponent: Int) -> Double? {
            guard !overflowed, significand <= 1 << 53, exponent >= -22, exponent <= 22 else {
                return nil
            }
            let mantissa = Double(significand)
            if exponent >= 0 {
                return mantissa * exactPowersOfTen[exponent]
            }
            return mantissa / exactPowersOfTen[-exponent]
        }

        /// Correctly rounded conversion of the already validated literal in `start..<end`.
        @inline(never)
        private func slowDouble(from start: Int, to end: Int) -> Double {
            // The literal matches the JSON grammar, which is a subset of what `Double(_:)` accepts, so the
            // conversion cannot fail; `nan` is an unreachable fallback that the caller would reject.
            Double(makeString(from: start, to: end)) ?? .nan
        }

        // MARK: - Errors

        @inline(never)
        private func error(_ kind: JSONParseError.Kind, at offset: Int, _ detail: String) -> JSONParseError {
            JSONParseError(kind: kind, offset: offset, in: input, detail: detail)
        }
    }
}
