/// Rules for the tenant `settings` object, shared by `tenant.*` events and the tenants API.
///
/// Known settings are type-checked; other keys are kept as given so platforms can store their own.
public enum TenantSettings {
    /// The quota used when a tenant's settings name none, in megabytes.
    public static let defaultStorageQuotaMB: Int64 = 10_000

    /// The MFA methods `mfa_methods` may list.
    public static let mfaMethods: Set<String> = ["totp", "sms", "email", "webauthn"]

    /// Checks a settings object.
    /// - Parameters:
    ///   - settings: The object to check.
    ///   - field: Its path, for messages (`data.settings`).
    ///   - allowNull: Whether `null` values (removal, in an update) are allowed.
    /// - Throws: ``EventValidationError`` naming the first invalid setting.
    public static func validate(_ settings: JSONObject, field: String, allowNull: Bool) throws(EventValidationError) {
        if let first = problems(settings, field: field, allowNull: allowNull).first { throw first }
    }

    /// Every invalid setting of a settings object, in the object's order (the tenants API reports them all).
    /// - Parameters:
    ///   - settings: The object to check.
    ///   - field: Its path, for messages (`settings`).
    ///   - allowNull: Whether `null` values (removal, in an update) are allowed.
    public static func problems(_ settings: JSONObject, field: String, allowNull: Bool) -> [EventValidationError] {
        invalidSettings(settings, allowNull: allowNull).map {
            EventValidationError(field: "\(field).\($0.key)", rule: $0.rule)
        }
    }

    /// Every invalid setting of a settings object by its key, whole (a key may hold dots, or be empty), in
    /// the object's order.
    /// - Parameters:
    ///   - settings: The object to check.
    ///   - allowNull: Whether `null` values (removal, in an update) are allowed.
    /// - Returns: Each invalid setting's key, the rule its value breaks, and whether the value is of the wrong
    ///   JSON type (a string where a boolean belongs) rather than a value the rule refuses (an unknown MFA
    ///   method, a quota of 0); empty when all are valid.
    package static func invalidSettings(
        _ settings: JSONObject, allowNull: Bool
    ) -> [(key: String, rule: String, wrongType: Bool)] {
        settings.compactMap { member in
            problem(member.key, member.value, allowNull: allowNull).map { (member.key, $0.rule, $0.wrongType) }
        }
    }

    /// What is wrong with one setting, and whether its value is of the wrong JSON type; `nil` when nothing is.
    private static func problem(_ key: String, _ value: JSONValue, allowNull: Bool) -> (rule: String, wrongType: Bool)?
    {
        if case .null = value { return allowNull ? nil : ("must not be null", true) }
        switch key {
        case "mfa_required":
            guard case .bool = value else { return ("must be a boolean", true) }
        case "mfa_methods":
            guard case .array(let items) = value else {
                return ("must be an array of totp, sms, email, webauthn", true)
            }
            var seen: Set<String> = []
            for item in items {
                guard case .string(let method) = item, mfaMethods.contains(method) else {
                    return ("may only contain totp, sms, email, webauthn", !isString(item))
                }
                guard seen.insert(method).inserted else { return ("lists \(method) twice", false) }
            }
        case "password_policy":
            guard case .object = value else { return ("must be an object", true) }
        case "session_timeout":
            guard case .int(let minutes) = value, minutes > 0 else {
                return (wholeNumberProblem(value, of: "minutes"), !isNumber(value))
            }
        case "storage_quota_mb":
            guard case .int(let megabytes) = value, megabytes > 0 else {
                return (wholeNumberProblem(value, of: "megabytes"), !isNumber(value))
            }
        default:
            break
        }
        return nil
    }

    private static func isString(_ value: JSONValue) -> Bool {
        if case .string = value { return true }
        return false
    }

    private static func isNumber(_ value: JSONValue) -> Bool {
        switch value {
        case .int, .double: true
        default: false
        }
    }

    /// What is wrong with a whole-number setting that is not an `Int64` above 0: a whole number too large
    /// for one (read as a double, `1e19`) is told the limit, anything else the rule.
    private static func wholeNumberProblem(_ value: JSONValue, of unit: String) -> String {
        if case .double(let number) = value, number >= 0x1p63, number.rounded(.towardZero) == number {
            return "must be at most \(Int64.max) \(unit)"
        }
        return "must be a whole number of \(unit) from 1 to \(Int64.max)"
    }

    /// The storage quota a settings object sets, or the default.
    public static func storageQuotaMB(_ settings: JSONObject) -> Int64 {
        if case .int(let megabytes)? = settings["storage_quota_mb"], megabytes > 0 { return megabytes }
        return defaultStorageQuotaMB
    }

    /// Applies an update's settings to existing ones: each member replaces the setting of that name, `null`
    /// removes it, in the update's order.
    ///
    /// A few changes to a few settings (the usual update) are applied in place, each a scan of the settings.
    /// Beyond that the settings are indexed by their keys' bytes once, so a large update costs time in
    /// proportion to both sizes, not to their product: it runs under the projections' lock, where 100,000
    /// keys merged one scan at a time held every reader back for a minute.
    public static func merge(_ changes: JSONObject, into settings: inout JSONObject) {
        // Each change scans the settings as they grow by the changes before it.
        if changes.count * (settings.count + changes.count) <= 4_096 || !mergeIndexed(changes, into: &settings) {
            for member in changes {
                if case .null = member.value {
                    settings.remove(member.key)
                } else {
                    settings.set(member.key, member.value)
                }
            }
        }
    }

    /// ``merge(_:into:)`` through an index of the settings' keys; `false`, with nothing changed, when the
    /// settings repeat a key (no validated settings do), whose copies only the in-place merge treats alike.
    static func mergeIndexed(_ changes: JSONObject, into settings: inout JSONObject) -> Bool {
        // Each live key's position in `merged`; a removed member is left as `nil` until the end.
        var position: [[UInt8]: Int] = [:]
        position.reserveCapacity(settings.count + changes.count)
        for (index, member) in settings.members.enumerated() {
            guard position.updateValue(index, forKey: Array(member.key.utf8)) == nil else { return false }
        }
        var merged: [JSONObject.Member?] = settings.members
        var kept = merged.count
        for member in changes {
            let key = Array(member.key.utf8)
            if case .null = member.value {
                if let index = position.removeValue(forKey: key) {
                    merged[index] = nil
                    kept -= 1
                }
            } else if let index = position[key] {
                merged[index]?.value = member.value
            } else {
                position[key] = merged.count
                merged.append(member)
                kept += 1
            }
        }
        var members: [JSONObject.Member] = []
        members.reserveCapacity(kept)
        for member in merged { if let member { members.append(member) } }
        settings = JSONObject(members)
        return true
    }
}
