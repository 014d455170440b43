import TallyCore

/// The subset of JSON Schema (2020-12) that Tally's OpenAPI document uses, to check real answers against
/// it: `$ref` into `#/components/schemas/`, `type` (one or a list), `enum`, `required`, `properties`,
/// `additionalProperties` (a boolean or a schema), `propertyNames`, `items`, `minItems`, `maxItems`,
/// `uniqueItems`, `minimum`, `maximum`, `minLength`, `maxLength` (in Unicode scalars, as JSON Schema counts
/// code points), `pattern` (searched, not anchored), `anyOf`, `oneOf`, `not` and the formats `uuid` and
/// `date-time`; `default` and `description` are
/// annotations. A keyword it does not know is reported, so the document cannot outgrow the check unseen.
struct SchemaValidator {
    /// The document's `components.schemas`.
    let schemas: JSONObject
    /// Whether an object member that no `properties` names is a mismatch (unless `additionalProperties` is
    /// true): the document must then name every field the server sends, not merely allow it.
    var strict = false

    static let knownKeywords: Set<String> = [
        "$ref", "type", "enum", "required", "properties", "additionalProperties", "items", "maxItems", "anyOf",
        "oneOf", "format", "description", "default", "minimum", "maximum", "minLength", "maxLength", "pattern",
        "uniqueItems", "minItems", "propertyNames", "not",
    ]

    /// Every way `value` fails `schema`, each as `path: problem`; empty when it conforms.
    func mismatches(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        guard case .object(let rules) = schema else { return ["\(path): the schema is not an object"] }
        var found: [String] = []
        for member in rules where !Self.knownKeywords.contains(member.key) {
            found.append("\(path): unknown keyword \(member.key)")
        }
        if case .string(let target)? = rules["$ref"] {
            let prefix = "#/components/schemas/"
            guard target.hasPrefix(prefix), let resolved = schemas[String(target.dropFirst(prefix.count))] else {
                return found + ["\(path): unresolved $ref \(target)"]
            }
            found += mismatches(value, resolved, at: path)
        }
        if let types = rules["type"] {
            let allowed: [String]
            switch types {
            case .string(let type): allowed = [type]
            case .array(let list): allowed = list.compactMap { if case .string(let type) = $0 { type } else { nil } }
            default: allowed = []
            }
            if !allowed.contains(where: { Self.value(value, hasType: $0) }) {
                found.append("\(path): \(Self.typeName(value)) where the schema allows \(allowed)")
            }
        }
        if case .array(let allowed)? = rules["enum"], !allowed.contains(value) {
            found.append("\(path): \(value) is not one of \(allowed)")
        }
        if case .string(let format)? = rules["format"], case .string(let text) = value {
            let fits =
                switch format {
                case "uuid": TenantID(text) != nil
                case "date-time": (try? Timestamp(rfc3339: text)) != nil
                default: true
                }
            if !fits { found.append("\(path): \"\(text)\" is not a \(format)") }
        }
        if Self.number(value) != nil {
            if let minimum = rules["minimum"], Self.compare(value, minimum) ?? 0 < 0 {
                found.append("\(path): \(value) is below the minimum \(minimum)")
            }
            if let maximum = rules["maximum"], Self.compare(value, maximum) ?? 0 > 0 {
                found.append("\(path): \(value) is above the maximum \(maximum)")
            }
        }
        if case .string(let text) = value {
            let length = text.unicodeScalars.count
            if case .int(let least)? = rules["minLength"], length < least {
                found.append("\(path): \(length) characters, at least \(least) needed")
            }
            if case .int(let most)? = rules["maxLength"], length > most {
                found.append("\(path): \(length) characters, at most \(most) allowed")
            }
            if case .string(let pattern)? = rules["pattern"] {
                // Class escapes whose sets differ between ECMA-262 (JSON Schema's dialect) and Swift's regexes
                // (`\s` adds U+FEFF there and leaves out U+0085) would let this check agree with the server
                // while a client's validator does not: the document lists its sets instead.
                for escape in ["\\s", "\\S", "\\w", "\\W", "\\d", "\\D", "\\b", "\\B"] where pattern.contains(escape) {
                    found.append("\(path): the pattern \(pattern) uses \(escape), which ECMA-262 reads differently")
                }
                // Scalar by scalar, as ECMA-262 matches, not by Swift's characters.
                if let regex = try? Regex(pattern).matchingSemantics(.unicodeScalar) {
                    if text.firstMatch(of: regex) == nil {
                        found.append("\(path): \"\(text)\" does not match \(pattern)")
                    }
                } else {
                    found.append("\(path): the pattern \(pattern) is not a regular expression")
                }
            }
        }
        if case .object(let members) = value {
            if case .array(let required)? = rules["required"] {
                for case .string(let name) in required where members[name] == nil {
                    found.append("\(path): the required \(name) is missing")
                }
            }
            let properties: JSONObject
            if case .object(let named)? = rules["properties"] { properties = named } else { properties = JSONObject() }
            for member in members {
                if let names = rules["propertyNames"] {
                    found += mismatches(.string(member.key), names, at: "\(path) member name \(member.key)")
                }
                if let rule = properties[member.key] {
                    found += mismatches(member.value, rule, at: "\(path).\(member.key)")
                } else if case .object? = rules["additionalProperties"], let rule = rules["additionalProperties"] {
                    found += mismatches(member.value, rule, at: "\(path).\(member.key)")
                } else if rules["additionalProperties"] == .bool(false)
                    || (strict && rules["additionalProperties"] != .bool(true) && rules["properties"] != nil)
                {
                    found.append("\(path): \(member.key) is not in the schema")
                }
            }
        }
        if case .array(let elements) = value {
            if let item = rules["items"] {
                for (index, element) in elements.enumerated() {
                    found += mismatches(element, item, at: "\(path)[\(index)]")
                }
            }
            if case .int(let least)? = rules["minItems"], elements.count < least {
                found.append("\(path): \(elements.count) items, at least \(least) needed")
            }
            if case .int(let most)? = rules["maxItems"], elements.count > most {
                found.append("\(path): \(elements.count) items, at most \(most) allowed")
            }
            if rules["uniqueItems"] == .bool(true), Set(elements.map { "\($0)" }).count != elements.count {
                found.append("\(path): items repeat, and they must be unique")
            }
        }
        if case .array(let branches)? = rules["anyOf"],
            !branches.contains(where: { mismatches(value, $0, at: path).isEmpty })
        {
            found.append("\(path): matches none of anyOf's \(branches.count) schemas")
        }
        if let excluded = rules["not"], mismatches(value, excluded, at: path).isEmpty {
            found.append("\(path): matches the schema it must not")
        }
        if case .array(let branches)? = rules["oneOf"] {
            // oneOf is judged as any validator judges it: extra members are allowed within each branch.
            let loose = SchemaValidator(schemas: schemas, strict: false)
            let matching = branches.filter { loose.mismatches(value, $0, at: path).isEmpty }.count
            if matching != 1 { found.append("\(path): matches \(matching) of oneOf's schemas, not exactly one") }
        }
        return found
    }

    static func value(_ value: JSONValue, hasType type: String) -> Bool {
        switch (value, type) {
        case (.null, "null"), (.bool, "boolean"), (.int, "integer"), (.int, "number"), (.double, "number"),
            (.string, "string"), (.array, "array"), (.object, "object"):
            true
        case (.double(let number), "integer"): number.rounded() == number
        default: false
        }
    }

    /// How two numbers compare (negative, zero or positive): exactly when both are integers (2^60 + 1 is
    /// above 2^60, though not as Doubles), else as Doubles; `nil` when either is not a number.
    static func compare(_ lhs: JSONValue, _ rhs: JSONValue) -> Int? {
        if case .int(let left) = lhs, case .int(let right) = rhs { return left < right ? -1 : left > right ? 1 : 0 }
        // Exactly, not through a double: 2^63 (a double) is above Int64.max, which a double rounds up to it.
        if case .int(let left) = lhs, case .double(let right) = rhs { return compare(left, right) }
        if case .double(let left) = lhs, case .int(let right) = rhs { return -compare(right, left) }
        guard let left = number(lhs), let right = number(rhs) else { return nil }
        return left < right ? -1 : left > right ? 1 : 0
    }

    /// -1, 0 or 1 as `integer` is below, equal to or above `double`, exactly.
    static func compare(_ integer: Int64, _ double: Double) -> Int {
        if double >= 0x1p63 { return -1 }
        if double < -0x1p63 { return 1 }
        let floor = Int64(double.rounded(.down))
        if integer != floor { return integer < floor ? -1 : 1 }
        return Double(floor) == double ? 0 : -1
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let number): Double(number)
        case .double(let number): number
        default: nil
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
