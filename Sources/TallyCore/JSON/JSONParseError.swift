/// Why and where a JSON text was rejected.
///
/// The location is computed only when an error is thrown: ``offset`` is a 0-based byte offset, ``line`` counts
/// line feeds (`0x0A`) before the offset plus one, and ``column`` is the 1-based byte distance from the start of
/// that line.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The category of a parse failure.
    public enum Kind: Sendable, Equatable {
        /// The input ended inside a value.
        case unexpectedEnd
        /// A byte that cannot start or continue the value at this point.
        case unexpectedByte
        /// A number that breaks the JSON number grammar (leading zero, missing digits, ...).
        case invalidNumber
        /// A number whose magnitude overflows `Double` to infinity.
        case numberOutOfRange
        /// A backslash followed by a byte that is not a JSON escape.
        case invalidEscape
        /// A malformed `\uXXXX` escape, or a lone or mismatched UTF-16 surrogate.
        case invalidUnicodeEscape
        /// Ill-formed UTF-8 inside a string; the offset is the first byte of the bad sequence.
        case invalidUTF8
        /// A raw byte below `0x20` inside a string.
        case controlCharacterInString
        /// An object repeats a key (only when ``JSONParser/Limits/rejectDuplicateKeys`` is set).
        case duplicateKey
        /// Arrays and objects nest deeper than ``JSONParser/Limits/maxDepth``.
        case tooDeep
        /// Something other than whitespace follows the top-level value.
        case trailingData
        /// The input is empty or only whitespace.
        case emptyInput
    }

    /// The category of the failure.
    public var kind: Kind
    /// The 0-based byte offset into the input where the problem is.
    public var offset: Int
    /// The 1-based line of ``offset``.
    public var line: Int
    /// The 1-based column of ``offset``, counted in bytes.
    public var column: Int
    /// A human-readable explanation including the location.
    public var message: String

    /// The human-readable ``message``.
    public var description: String {
        message
    }

    /// The message for a document that is one line of a larger input (an NDJSON line, named by its number
    /// beside it): the position is its column alone, since "line 1" would read as the input's first line.
    public var messageWithinLine: String {
        line == 1 ? String(message.replacing("at line 1, column ", with: "at column ", maxReplacements: 1)) : message
    }

    /// Creates an error from its parts.
    ///
    /// - Parameters:
    ///   - kind: The category of the failure.
    ///   - offset: The 0-based byte offset of the problem.
    ///   - line: The 1-based line of the problem.
    ///   - column: The 1-based byte column of the problem.
    ///   - message: A human-readable explanation.
    public init(kind: Kind, offset: Int, line: Int, column: Int, message: String) {
        self.kind = kind
        self.offset = offset
        self.line = line
        self.column = column
        self.message = message
    }

    /// Creates an error located in `input`, computing line, column and message.
    init(kind: Kind, offset: Int, in input: UnsafeRawBufferPointer, detail: String?) {
        let clamped = min(max(offset, 0), input.count)
        var line = 1
        var lineStart = 0
        for position in 0..<clamped where input[position] == 0x0A {
            line += 1
            lineStart = position + 1
        }
        let column = clamped - lineStart + 1
        let location = "at line \(line), column \(column) (byte \(offset))"
        let summary: String
        switch kind {
        case .unexpectedEnd:
            summary = "unexpected end of input"
        case .unexpectedByte:
            let byte = clamped < input.count ? JSONParseError.describe(input[clamped]) : "?"
            summary = "unexpected byte \(byte)"
        case .invalidNumber:
            summary = "invalid number"
        case .numberOutOfRange:
            summary = "number out of range"
        case .invalidEscape:
            summary = "invalid escape sequence"
        case .invalidUnicodeEscape:
            summary = "invalid \\u escape"
        case .invalidUTF8:
            summary = "invalid UTF-8"
        case .controlCharacterInString:
            let byte = clamped < input.count ? JSONParseError.describe(input[clamped]) : "?"
            summary = "unescaped control character \(byte) in string"
        case .duplicateKey:
            summary = "duplicate key"
        case .tooDeep:
            summary = "nesting too deep"
        case .trailingData:
            summary = "unexpected data after the value"
        case .emptyInput:
            summary = "empty input"
        }
        let message = detail.map { "\(summary) \(location): \($0)" } ?? "\(summary) \(location)"
        self.init(kind: kind, offset: offset, line: line, column: column, message: message)
    }

    /// Printable ASCII as `'c'`, anything else as `0xHH`.
    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte <= 0x7E {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        let digits = Array("0123456789ABCDEF".utf8)
        let text = [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
        return "0x" + String(decoding: text, as: UTF8.self)
    }
}
