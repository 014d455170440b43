import TallyCore
import TallyTestSupport

/// Strict structural equality for tests: doubles compare by bit pattern (so `-0.0 != 0.0`) and strings by
/// Unicode scalars (so canonically equivalent but different strings differ). `JSONValue.==` is looser.
func identical(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null):
        return true
    case (.bool(let left), .bool(let right)):
        return left == right
    case (.int(let left), .int(let right)):
        return left == right
    case (.double(let left), .double(let right)):
        return left.bitPattern == right.bitPattern
    case (.string(let left), .string(let right)):
        return left.unicodeScalars.elementsEqual(right.unicodeScalars)
    case (.array(let left), .array(let right)):
        return left.count == right.count && zip(left, right).allSatisfy { identical($0, $1) }
    case (.object(let left), .object(let right)):
        return left.count == right.count
            && zip(left.members, right.members).allSatisfy { pair in
                pair.0.key.unicodeScalars.elementsEqual(pair.1.key.unicodeScalars)
                    && identical(pair.0.value, pair.1.value)
            }
    default:
        return false
    }
}

/// Builds an object value from key/value pairs, keeping their order.
func object(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
    .object(JSONObject(pairs.map { JSONObject.Member(key: $0.key, value: $0.value) }))
}

/// Parses with the default parser, returning the error instead of throwing.
func parseResult(_ bytes: [UInt8], limits: JSONParser.Limits = .init()) -> Result<JSONValue, JSONParseError> {
    do throws(JSONParseError) {
        return .success(try JSONParser(limits: limits).parse(bytes))
    } catch {
        return .failure(error)
    }
}

/// The error thrown for `bytes`, or `nil` if they parse.
func parseError(_ bytes: [UInt8], limits: JSONParser.Limits = .init()) -> JSONParseError? {
    if case .failure(let error) = parseResult(bytes, limits: limits) {
        return error
    }
    return nil
}

/// The error thrown for `text`, or `nil` if it parses.
func parseError(_ text: String, limits: JSONParser.Limits = .init()) -> JSONParseError? {
    parseError(Array(text.utf8), limits: limits)
}
