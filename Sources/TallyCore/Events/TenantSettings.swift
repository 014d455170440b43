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
        for member in settings {
            let path = "\(field).\(member.key)"
            if case .null = member.value {
                guard allowNull else { throw EventValidationError(field: path, rule: "must not be null") }
                continue
            }
            switch member.key {
            case "mfa_required":
                guard case .bool = member.value else { throw EventValidationError(field: path, rule: "must be a boolean") }
            case "mfa_methods":
                guard case .array(let items) = member.value else {
                    throw EventValidationError(field: path, rule: "must be an array of totp, sms, email, webauthn")
                }
                var seen: Set<String> = []
                for item in items {
                    guard case .string(let method) = item, mfaMethods.contains(method) else {
                        throw EventValidationError(field: path, rule: "may only contain totp, sms, email, webauthn")
                    }
                    guard seen.insert(method).inserted else {
                        throw EventValidationError(field: path, rule: "lists \(method) twice")
                    }
                }
            case "password_policy":
                guard case .object = member.value else { throw EventValidationError(field: path, rule: "must be an object") }
            case "session_timeout":
                guard case .int(let minutes) = member.value, minutes > 0 else {
                    throw EventValidationError(field: path, rule: "must be a whole number of minutes greater than 0")
                }
            case "storage_quota_mb":
                guard case .int(let megabytes) = member.value, megabytes > 0 else {
                    throw EventValidationError(field: path, rule: "must be an integer number of megabytes greater than 0")
                }
            default:
                break
            }
        }
    }

    /// The storage quota a settings object sets, or the default.
    public static func storageQuotaMB(_ settings: JSONObject) -> Int64 {
        if case .int(let megabytes)? = settings["storage_quota_mb"], megabytes > 0 { return megabytes }
        return defaultStorageQuotaMB
    }

    /// Applies an update's settings to existing ones: each member replaces the setting of that name, `null`
    /// removes it.
    public static func merge(_ changes: JSONObject, into settings: inout JSONObject) {
        for member in changes {
            if case .null = member.value {
                settings.remove(member.key)
            } else {
                settings.set(member.key, member.value)
            }
        }
    }
}
