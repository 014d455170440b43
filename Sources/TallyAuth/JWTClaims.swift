/// The claims of a verified token that this library understands.
///
/// Other claims in the payload are ignored. When signing, only the claims that are set (non-`nil`, or non-empty for
/// ``roles``) are written.
public struct JWTClaims: Sendable, Equatable {
    /// The `sub` claim: the principal the token is about.
    public var subject: String?

    /// Roles granted to the subject, merged from the `roles` claim (an array of strings) and Keycloak's
    /// `realm_access.roles`, in that order, without duplicates.
    public var roles: [String]

    /// The `tenant_id` claim.
    public var tenantId: String?

    /// The `exp` claim: expiration time in seconds since the Unix epoch (fractions are floored).
    public var expiresAt: Int64?

    /// The `nbf` claim: the time before which the token must not be accepted, in seconds since the Unix epoch.
    public var notBefore: Int64?

    /// The `iat` claim: the time the token was issued, in seconds since the Unix epoch.
    public var issuedAt: Int64?

    /// Creates a set of claims.
    ///
    /// - Parameters:
    ///   - subject: The `sub` claim.
    ///   - roles: The roles to grant.
    ///   - tenantId: The `tenant_id` claim.
    ///   - expiresAt: The `exp` claim, in seconds since the Unix epoch.
    ///   - notBefore: The `nbf` claim, in seconds since the Unix epoch.
    ///   - issuedAt: The `iat` claim, in seconds since the Unix epoch.
    public init(
        subject: String? = nil,
        roles: [String] = [],
        tenantId: String? = nil,
        expiresAt: Int64? = nil,
        notBefore: Int64? = nil,
        issuedAt: Int64? = nil
    ) {
        self.subject = subject
        self.roles = roles
        self.tenantId = tenantId
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.issuedAt = issuedAt
    }
}

extension JWTClaims {
    /// Reads the understood claims from a decoded payload object.
    ///
    /// - Parameters:
    ///   - payload: The members of the payload object.
    /// - Throws: ``JWTError`` with code ``JWTError/Code/invalidClaims`` if a claim has the wrong JSON type.
    init(payload: JWTJSON.Object) throws(JWTError) {
        self.init()
        subject = try Self.string(payload["sub"], name: "sub")
        tenantId = try Self.string(payload["tenant_id"], name: "tenant_id")
        expiresAt = try Self.numericDate(payload["exp"], name: "exp")
        // Rounded up: a token is never taken as valid before its `nbf` (and its `exp`, rounded down, never
        // after): times are compared in whole seconds.
        notBefore = try Self.numericDate(payload["nbf"], name: "nbf", roundingUp: true)
        issuedAt = try Self.numericDate(payload["iat"], name: "iat")

        var candidates = try Self.stringArray(payload["roles"], name: "roles")
        if let realmAccess = payload["realm_access"] {
            guard case .object(let members) = realmAccess else {
                throw JWTError(code: .invalidClaims, message: "claim 'realm_access' must be an object")
            }
            candidates += try Self.stringArray(members["roles"], name: "realm_access.roles")
        }
        roles = Self.removingDuplicates(candidates)
    }

    /// Encodes the set claims as a compact JSON object in the order sub, roles, tenant_id, exp, nbf, iat.
    ///
    /// - Returns: The UTF-8 bytes of the payload object.
    func payloadJSON() -> [UInt8] {
        var output: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func appendName(_ name: String) {
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            JWTJSON.appendStringLiteral(name, to: &output)
            output.append(UInt8(ascii: ":"))
        }
        if let subject {
            appendName("sub")
            JWTJSON.appendStringLiteral(subject, to: &output)
        }
        if !roles.isEmpty {
            appendName("roles")
            output.append(UInt8(ascii: "["))
            for (position, role) in roles.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                JWTJSON.appendStringLiteral(role, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        }
        if let tenantId {
            appendName("tenant_id")
            JWTJSON.appendStringLiteral(tenantId, to: &output)
        }
        for (name, value) in [("exp", expiresAt), ("nbf", notBefore), ("iat", issuedAt)] {
            if let value {
                appendName(name)
                output.append(contentsOf: String(value).utf8)
            }
        }
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// Removes repeated strings, keeping the first occurrence of each in order.
    ///
    /// - Parameters:
    ///   - strings: The strings, possibly with repeats.
    /// - Returns: The strings without repeats.
    private static func removingDuplicates(_ strings: [String]) -> [String] {
        var unique: [String] = []
        unique.reserveCapacity(strings.count)
        if strings.count <= 16 {
            for string in strings where !unique.contains(string) {
                unique.append(string)
            }
        } else {
            var seen: Set<String> = []
            for string in strings where seen.insert(string).inserted {
                unique.append(string)
            }
        }
        return unique
    }

    /// Reads an optional string claim.
    ///
    /// - Parameters:
    ///   - value: The claim value, if present.
    ///   - name: The claim name, used in the error message.
    /// - Returns: The string, or `nil` if the claim is absent.
    /// - Throws: ``JWTError/Code/invalidClaims`` if present but not a string.
    private static func string(_ value: JWTJSON?, name: String) throws(JWTError) -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value else {
            throw JWTError(code: .invalidClaims, message: "claim '\(name)' must be a string")
        }
        return text
    }

    /// Reads an optional array-of-strings claim.
    ///
    /// - Parameters:
    ///   - value: The claim value, if present.
    ///   - name: The claim name, used in the error message.
    /// - Returns: The strings, or an empty array if the claim is absent.
    /// - Throws: ``JWTError/Code/invalidClaims`` if present but not an array of strings.
    private static func stringArray(_ value: JWTJSON?, name: String) throws(JWTError) -> [String] {
        guard let value else { return [] }
        let failure = JWTError(code: .invalidClaims, message: "claim '\(name)' must be an array of strings")
        guard case .array(let elements) = value else { throw failure }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { throw failure }
            strings.append(text)
        }
        return strings
    }

    /// Reads an optional NumericDate claim (RFC 7519, section 2): seconds since the epoch, fractions floored
    /// (or, with `roundingUp`, raised to the next second).
    ///
    /// - Parameters:
    ///   - value: The claim value, if present.
    ///   - name: The claim name, used in the error message.
    ///   - roundingUp: Whether a fraction rounds up rather than down.
    /// - Returns: The whole seconds, or `nil` if the claim is absent.
    /// - Throws: ``JWTError/Code/invalidClaims`` if present but not a number representable as `Int64` seconds.
    private static func numericDate(_ value: JWTJSON?, name: String, roundingUp: Bool = false) throws(JWTError)
        -> Int64?
    {
        guard let value else { return nil }
        switch value {
        case .integer(let seconds):
            return seconds
        case .number(let seconds):
            // Floor without libm: truncate toward zero, then step down for negative fractions. The range check
            // keeps the conversion from trapping (2^63 itself is not representable as Int64).
            // -2^63 itself arrives as a double only from a literal beyond Int64 (`-9223372036854775809`).
            guard seconds > -0x1p63, seconds < 0x1p63 else {
                throw JWTError(code: .invalidClaims, message: "claim '\(name)' is out of range")
            }
            let truncated = Int64(seconds)
            if roundingUp { return Double(truncated) < seconds ? truncated + 1 : truncated }
            return Double(truncated) > seconds ? truncated - 1 : truncated
        default:
            throw JWTError(code: .invalidClaims, message: "claim '\(name)' must be a number")
        }
    }
}
