/// A parsed JSON value.
///
/// Integral literals that fit `Int64` (no `.`, `e` or `E`) become ``int(_:)``; every other number becomes
/// ``double(_:)``. Equality is structural: arrays and object members compare in order, strings compare with
/// Swift `String` equality.
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
}
