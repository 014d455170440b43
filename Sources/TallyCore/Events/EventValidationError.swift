/// Why an event was rejected: the field at fault and the rule it broke.
///
/// ``description`` reads like `data.status: must be an integer from 100 to 599`.
public struct EventValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field's path, such as `tenantId` or `data.status`; `event` for the event as a whole.
    public var field: String
    /// The rule the value broke.
    public var rule: String

    /// Creates a validation error.
    public init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }

    public var description: String { "\(field): \(rule)" }
}
