/// A parsed JSON value.
///
/// Integral literals that fit `Int64` (no `.`, `e` or `E`) become ``int(_:)``; every other number becomes
/// ``double(_:)``. Equality is structural: arrays and object members compare in order, and strings (member
/// names too) compare by their UTF-8 bytes, as object keys do, not by Swift's canonical equivalence: a
/// settings value or name re-sent as `"e\u0301"` over a stored `"\u00e9"` is a change.
public enum JSONValue: Sendable, Equatable {
    /// The JSON literal `null`.
    case null
    /// The JSON literals `true` and `false`.
    case bool(Bool)
    /// An integral number literal that fits `Int64`.
    case int(Int64)
    /// Any other number: a literal with a fraction or exponent, or an integral literal outside `Int64`.
    case double(Double)
    /// A string, with escapes decoded.
    case string(String)
    /// An array of values in document order.
    case array([JSONValue])
    /// An object whose members keep document order.
    case object(JSONObject)

    /// Whether both are the same value: strings by UTF-8 bytes, numbers of the same case by value, arrays and
    /// objects member by member in order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let left), .bool(let right)): left == right
        case (.int(let left), .int(let right)): left == right
        case (.double(let left), .double(let right)): left == right
        case (.string(let left), .string(let right)): left.hasSameUTF8(as: right)
        case (.array(let left), .array(let right)): left == right
        case (.object(let left), .object(let right)): left == right
        default: false
        }
    }
}
