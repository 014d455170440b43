extension JSONParser {
    /// The parsing state for one document: a cursor over the input plus reusable scratch storage.
    ///
    /// Every read of `input[index]` is preceded by an `index < count` check. Line and column are not tracked;
    /// they are recomputed from the offset only when an error is thrown.
    struct Reader: ~Copyable {
        let input: UnsafeRawBufferPointer
        let count: Int
        let maxDepth: Int
        let rejectDuplicateKeys: Bool
        let wholeNumbersAsIntegers: Bool
        var index = 0
        var depth = 0
        /// Decoded bytes of the string being unescaped.
        var scratch: [UInt8] = []
        /// Elements of the arrays being parsed, innermost last; each finished array takes its tail.
        var valueStack: ScratchStack<JSONValue>
        /// Members of the objects being parsed, innermost last; each finished object takes its tail.
        var memberStack: ScratchStack<JSONObject.Member>

        /// Objects with more members than this find repeated keys with a hash set instead of a linear scan.
        static let linearDuplicateScanLimit = 16

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

        mutating func parseDocument() throws(JSONParseError) -> JSONValue {
            skipWhitespace()
            guard index < count else {
                throw error(.emptyInput, at: index, "expected a JSON value")
            }
            let value = try parseValue()
            skipWhitespace()
            guard index == count else {
                throw error(.trailingData, at: index, "expected the end of input")
            }
            return value
        }

        /// Parses the value starting at `index`, which must not be whitespace.
        mutating func parseValue() throws(JSONParseError) -> JSONValue {
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

        mutating func parseLiteral(_ literal: StaticString) throws(JSONParseError) {
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
        mutating func skipWhitespace() {
            while index < count {
                let byte = input[index]
                guard byte <= 0x20,
                    byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
                else { return }
                index &+= 1
            }
        }

        // MARK: - Containers

        mutating func enterContainer() throws(JSONParseError) {
            depth &+= 1
            if depth > maxDepth {
                throw error(.tooDeep, at: index, "more than \(maxDepth) nested arrays and objects")
            }
        }

        mutating func parseArray() throws(JSONParseError) -> JSONValue {
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
        mutating func moreElements(closedBy close: UInt8, _ expectation: String) throws(JSONParseError) -> Bool {
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

        mutating func parseObject() throws(JSONParseError) -> JSONValue {
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
        mutating func checkNewKey(
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
        func isRepeatedInLargeObject(
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
        func duplicateKeyError(_ key: String, at offset: Int) -> JSONParseError {
            let shown = key.count > 64 ? String(key.prefix(64)) + "..." : key
            return error(.duplicateKey, at: offset, "key \"\(shown)\" appears more than once")
        }

        // MARK: - Errors

        @inline(never)
        func error(_ kind: JSONParseError.Kind, at offset: Int, _ detail: String) -> JSONParseError {
            JSONParseError(kind: kind, offset: offset, in: input, detail: detail)
        }
    }
}
