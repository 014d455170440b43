/// A strict RFC 8259 JSON parser working directly on UTF-8 bytes.
///
/// The parser accepts exactly one value surrounded by optional whitespace (space, tab, line feed, carriage
/// return). It rejects ill-formed UTF-8, lone surrogate escapes, leading zeros, and every other extension;
/// a byte-order mark is rejected too.
public struct JSONParser: Sendable {
    /// Resource and strictness limits applied while parsing.
    public struct Limits: Sendable {
        /// The deepest allowed nesting; each array and object counts one level. Deeper input throws
        /// ``JSONParseError/Kind/tooDeep``. The parser recurses once per level, so keep this moderate
        /// (thousands at most); the default is 64. Negative values behave like 0.
        public var maxDepth: Int
        /// Whether an object repeating a key throws ``JSONParseError/Kind/duplicateKey``. When `false`,
        /// every member is kept in ``JSONObject/members``.
        public var rejectDuplicateKeys: Bool
        /// Whether a whole number written with a fraction or exponent (`5000.0`, `5e3`, `-0.0`) within
        /// `Int64` is read as ``JSONValue/int(_:)``, exactly from its digits, rather than as a Double (which
        /// would turn `9007199254740993.0` into `…992` and `0.99999999999999999` into a whole 1). For
        /// documents whose numbers are counts; off by default, so a Double written `1.0` stays one.
        public var wholeNumbersAsIntegers: Bool

        /// Creates limits.
        ///
        /// - Parameters:
        ///   - maxDepth: The deepest allowed nesting of arrays and objects.
        ///   - rejectDuplicateKeys: Whether a repeated object key is an error.
        ///   - wholeNumbersAsIntegers: Whether whole numbers written with a fraction or exponent are integers.
        public init(maxDepth: Int = 64, rejectDuplicateKeys: Bool = true, wholeNumbersAsIntegers: Bool = false) {
            self.maxDepth = maxDepth
            self.rejectDuplicateKeys = rejectDuplicateKeys
            self.wholeNumbersAsIntegers = wholeNumbersAsIntegers
        }
    }

    /// The limits this parser applies.
    public var limits: Limits

    /// Creates a parser.
    ///
    /// - Parameter limits: The limits to apply; the defaults allow 64 levels and reject duplicate keys.
    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// Parses exactly one JSON value from UTF-8 bytes.
    ///
    /// - Parameter bytes: The UTF-8 JSON text. Surrounding whitespace is allowed.
    /// - Returns: The parsed value.
    /// - Throws: ``JSONParseError`` describing the first problem; anything but whitespace after the value is
    ///   ``JSONParseError/Kind/trailingData``.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        try parseResult(bytes).get()
    }

    /// Parses exactly one JSON value from UTF-8 bytes.
    ///
    /// - Parameter bytes: The UTF-8 JSON text. Surrounding whitespace is allowed.
    /// - Returns: The parsed value.
    /// - Throws: ``JSONParseError`` describing the first problem.
    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            parseResult(buffer)
        }
        return try result.get()
    }

    /// Parses exactly one JSON value from a string's UTF-8 form.
    ///
    /// - Parameter text: The JSON text. Surrounding whitespace is allowed.
    /// - Returns: The parsed value.
    /// - Throws: ``JSONParseError`` describing the first problem; offsets count UTF-8 bytes.
    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            parseResult(UnsafeRawBufferPointer(buffer))
        }
        return try result.get()
    }

    /// Parses the one value that starts at `offset` inside a larger document, as the whole-document parse
    /// would read it there: errors carry the same offsets and messages, and nesting counts from `depth`.
    ///
    /// Used by decoders that read most of a document themselves and hand the parts they do not handle back.
    /// - Parameters:
    ///   - bytes: The whole document.
    ///   - offset: Where the value starts (not whitespace).
    ///   - depth: How many arrays and objects enclose the value.
    /// - Returns: The value and the offset just after it, or the first problem.
    func parseValue(in bytes: UnsafeRawBufferPointer, at offset: Int, depth: Int) -> Result<
        (value: JSONValue, end: Int), JSONParseError
    > {
        withReader(bytes) { reader in reader.parseEmbeddedValueResult(at: offset, depth: depth) }
    }

    private func parseResult(_ bytes: UnsafeRawBufferPointer) -> Result<JSONValue, JSONParseError> {
        withReader(bytes) { reader in reader.parseDocumentResult() }
    }

    private func withReader<Parsed>(
        _ bytes: UnsafeRawBufferPointer,
        _ body: (inout Reader) -> Result<Parsed, JSONParseError>
    ) -> Result<Parsed, JSONParseError> {
        // Small scratch stacks live on the call stack; larger documents spill to the heap.
        withUnsafeTemporaryAllocation(of: JSONValue.self, capacity: 16) { values in
            withUnsafeTemporaryAllocation(of: JSONObject.Member.self, capacity: 16) { members in
                var reader = Reader(input: bytes, limits: limits, valueStorage: values, memberStorage: members)
                return body(&reader)
            }
        }
    }
}
