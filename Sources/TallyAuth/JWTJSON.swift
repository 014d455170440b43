/// A minimal JSON value used to read JWT headers and payloads (RFC 8259 subset).
///
/// This is an internal, self-contained representation so the module has no dependencies; a host project may swap it
/// for its own JSON parser. Integers that fit `Int64` are kept exact; other numbers become finite `Double`s.
enum JWTJSON: Sendable, Equatable {
    /// The JSON literal `null`.
    case null
    /// The JSON literals `true` and `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int64`.
    case integer(Int64)
    /// Any other number (with fraction or exponent, or too large for `Int64`), always finite.
    case number(Double)
    /// A string, with escapes resolved.
    case string(String)
    /// An array.
    case array([JWTJSON])
    /// An object, with members in document order. Duplicate member names are rejected while parsing.
    case object(Object)

    /// The maximum nesting depth of arrays and objects accepted by ``parse(_:)``.
    static let maximumDepth = 16

    /// Parses a complete JSON document.
    ///
    /// The parser is strict: no comments, trailing commas, leading zeros, unescaped control characters, lone
    /// surrogate escapes, invalid UTF-8, duplicate object member names, or content after the value, and at most
    /// ``maximumDepth`` nested containers.
    ///
    /// - Parameters:
    ///   - bytes: The UTF-8 encoded document.
    /// - Returns: The parsed value, or `nil` if the document is not valid under these rules.
    static func parse(_ bytes: [UInt8]) -> JWTJSON? {
        parseExplained(bytes).value
    }

    /// Parses a complete JSON document as ``parse(_:)`` does, saying why a refused one that may be valid
    /// JSON was refused: it repeats a member, or nests too deep.
    /// - Parameter bytes: The UTF-8 encoded document.
    /// - Returns: The value, or `nil` and the reason when one is known.
    static func parseExplained(_ bytes: [UInt8]) -> (value: JWTJSON?, problem: String?) {
        var parser = JWTJSONParser(bytes: bytes, maximumDepth: maximumDepth)
        let value = parser.parseDocument()
        return (value, value == nil ? parser.problem : nil)
    }

    /// The members of a JSON object in document order.
    ///
    /// JWT headers and payloads have a handful of members, so an ordered pair of arrays with linear lookup is faster
    /// than a hashed dictionary and keeps equality order-sensitive and deterministic.
    struct Object: Sendable, Equatable, ExpressibleByDictionaryLiteral {
        /// The member names, unique, in document order.
        private(set) var names: [String] = []
        /// The member values, parallel to ``names``.
        private(set) var values: [JWTJSON] = []

        /// Creates an empty object.
        init() {}

        /// Creates an object from a literal; later duplicates replace earlier members.
        ///
        /// - Parameters:
        ///   - elements: The members in order.
        init(dictionaryLiteral elements: (String, JWTJSON)...) {
            for (name, value) in elements {
                if let index = names.firstIndex(of: name) {
                    values[index] = value
                } else {
                    append(name: name, value: value)
                }
            }
        }

        /// The number of members.
        var count: Int { names.count }

        /// Looks up a member by exact name.
        ///
        /// - Parameters:
        ///   - name: The member name.
        /// - Returns: The member's value, or `nil` if there is no such member.
        subscript(name: String) -> JWTJSON? {
            guard let index = names.firstIndex(of: name) else { return nil }
            return values[index]
        }

        /// Appends a member without checking for duplicates (the parser checks).
        ///
        /// - Parameters:
        ///   - name: The member name.
        ///   - value: The member value.
        mutating func append(name: String, value: JWTJSON) {
            names.append(name)
            values.append(value)
        }
    }

    /// Appends a JSON string literal (with surrounding quotes) for `string` to `output`.
    ///
    /// Quotation mark, reverse solidus and all control characters below U+0020 are escaped; everything else is
    /// written as raw UTF-8.
    ///
    /// - Parameters:
    ///   - string: The string to write.
    ///   - output: The UTF-8 buffer that receives the literal.
    static func appendStringLiteral(_ string: String, to output: inout [UInt8]) {
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""):
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"):
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
