import TallyCore
import TallyHTTP

/// CloudEvents 1.0 structured mode: `id`, `type` (a Tally event type such as `api.call`), `time`, `data`,
/// and the tenant from the `tenantid` extension attribute or else `subject`. `specversion` must be "1.0" and
/// `source` a non-empty string, as the specification requires; `data` must be JSON (no `data_base64`, and a
/// `datacontenttype`, when given, must be a JSON type: `application/json`, `text/json` or one ending in `+json`).
/// A null attribute is as good as absent (the JSON format, §2.2). Other extension attributes are accepted and
/// ignored, as the specification lets a consumer do, except one a letter away from an attribute Tally knows
/// (`tenantd`, `tiem`): that is a typo that would otherwise drop the tenant or the time unseen.
enum CloudEvents {
    /// The context attributes of CloudEvents 1.0 and the `tenantid` extension: the names a typo is checked
    /// against.
    static let knownAttributes = [
        "tenantid", "subject", "time", "type", "source", "specversion", "datacontenttype", "dataschema", "data",
    ]

    /// The known attribute `name` is a letter away from (one letter added, dropped, changed, or two adjacent
    /// ones swapped), if it is not itself known, has four letters or more, and the event lacks the attribute
    /// it is near; `nil` else. Shorter names (`ip`, `ts`) are too close to `id` by chance to be called typos,
    /// and an extension beside the attribute it resembles (`date` beside `data`, `types` beside `type`) is no
    /// typo of it.
    static func likelyTypo(of name: String, in event: JSONObject) -> String? {
        // Checked before any copy: every member of every CloudEvent passes through here.
        guard name.utf8.count >= 4, !knownAttributes.contains(name) else { return nil }
        let letters = Array(name.utf8)
        return knownAttributes.first { event[$0] == nil && isOneEditAway(letters, Array($0.utf8)) }
    }

    /// Whether `a` becomes `b` by exactly one insertion, deletion, substitution or swap of adjacent letters.
    static func isOneEditAway(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a.count == b.count {
            let differences = a.indices.filter { a[$0] != b[$0] }
            if differences.count == 1 { return true }
            return differences.count == 2 && differences[1] == differences[0] + 1
                && a[differences[0]] == b[differences[1]] && a[differences[1]] == b[differences[0]]
        }
        let (short, long) = a.count < b.count ? (a, b) : (b, a)
        guard long.count == short.count + 1 else { return false }
        // The first difference is the inserted letter; the rest must then match shifted by one.
        let first = short.indices.first { short[$0] != long[$0] } ?? short.count
        return short[first...].elementsEqual(long[(first + 1)...])
    }

    /// Whether `text` is made of RFC 3986's characters (unreserved, reserved, and `%` with two hex digits):
    /// what a URI-reference may hold, its parts in any arrangement.
    static func isURIReference(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, HTTPGrammar.hexValue(bytes[index + 1]) != nil,
                    HTTPGrammar.hexValue(bytes[index + 2]) != nil
                else {
                    return false
                }
                index += 3
                continue
            }
            guard isLetterOrDigit(byte) || "-._~:/?#[]@!$&'()*+,;=".utf8.contains(byte) else { return false }
            index += 1
        }
        return true
    }

    /// Whether `text` is an absolute URI: a scheme (a letter, then letters, digits, `+`, `-` or `.`), a colon,
    /// and URI characters.
    static func isAbsoluteURI(_ text: String) -> Bool {
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")), isURIReference(text) else { return false }
        let scheme = text.utf8[..<colon]
        guard let first = scheme.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first | 0x20) else {
            return false
        }
        return scheme.allSatisfy {
            isLetterOrDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }

    /// Whether `text` is an HTTP token (RFC 9110 §5.6.2), as a media type's type and subtype are.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(HTTPGrammar.isTokenChar)
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Whether `name` is a valid attribute name: lowercase ASCII letters and digits (CloudEvents 1.0 §3.1.1).
    static func isAttributeName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            }
    }

    /// Whether a CloudEvents String may not hold `scalar`: a control character (U+0000-U+001F,
    /// U+007F-U+009F) or a noncharacter (U+FDD0-U+FDEF, and the last two code points of every plane).
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || (0xFDD0...0xFDEF).contains(value)
            || value & 0xFFFE == 0xFFFE
    }

    /// The attribute an event's tenant comes in: the `tenantid` extension, else `subject` (a null one is as
    /// good as absent); `nil` when neither is there.
    static func tenantAttribute(of object: JSONObject) -> String? {
        ["tenantid", "subject"].first { name in object[name].map { $0 != .null } ?? false }
    }

    static func event(_ value: JSONValue, receivedAt: Timestamp) -> Result<Event, EventValidationError> {
        guard case .object(let given) = value else {
            return .failure(EventValidationError(field: "event", rule: "must be a JSON object"))
        }
        // The JSON format (§2.2): a null attribute is treated as unset, whichever attribute it is.
        let object = given.contains { $0.value == .null } ? JSONObject(given.filter { $0.value != .null }) : given
        guard object["specversion"] == .string("1.0") else {
            let rule = object["specversion"] == nil ? "is required: \"1.0\"" : "must be \"1.0\""
            return .failure(EventValidationError(field: "specversion", rule: rule))
        }
        // CloudEvents 1.0 §3.1.1: attribute names are lowercase ASCII letters and digits, whatever their value
        // (`data_base64` is the structured mode's own member, refused below with its reason).
        for member in given where member.key != "data_base64" {
            if !isAttributeName(member.key) {
                return .failure(
                    EventValidationError(
                        field: member.key,
                        rule:
                            "unknown field: not a CloudEvents attribute name, which are lowercase letters and digits only (such as tenantid)"
                    ))
            }
            if let meant = likelyTypo(of: member.key, in: object) {
                return .failure(
                    EventValidationError(
                        field: member.key,
                        rule:
                            "unknown field, a letter away from \(meant): send \(meant) (other extension attributes are accepted and ignored)"
                    ))
            }
        }
        // CloudEvents 1.0's String type (§3.1.1) holds no control characters and no noncharacters, in any
        // attribute; `data` is the event's own JSON, not an attribute.
        for member in object where member.key != "data" {
            if case .string(let text) = member.value, let scalar = text.unicodeScalars.first(where: isForbidden) {
                let code = String(scalar.value, radix: 16, uppercase: true)
                return .failure(
                    EventValidationError(
                        field: member.key,
                        rule:
                            "must not hold U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code): a CloudEvents String holds no control characters or noncharacters"
                    ))
            }
        }
        let producer = "a non-empty URI-reference naming the producer (RFC 3986 characters only: percent-encode others)"
        guard let sourceValue = object["source"] else {
            return .failure(EventValidationError(field: "source", rule: "is required: \(producer)"))
        }
        guard case .string(let source) = sourceValue, !source.isEmpty, isURIReference(source) else {
            return .failure(EventValidationError(field: "source", rule: "must be \(producer)"))
        }
        if let schema = object["dataschema"] {
            guard case .string(let text) = schema, isAbsoluteURI(text) else {
                let kind = if case .string = schema { "an absolute URI" } else { "a string, an absolute URI" }
                return .failure(
                    EventValidationError(field: "dataschema", rule: "must be \(kind) (CloudEvents 1.0 §3.1.2)"))
            }
        }
        if let subject = object["subject"] {
            guard case .string(let text) = subject, !text.isEmpty else {
                return .failure(EventValidationError(field: "subject", rule: "must be a non-empty string"))
            }
        }
        // Extension attributes take the CloudEvents types a JSON value can carry: a string, a boolean or an
        // Integer (32 bits, CloudEvents 1.0 §3.1.1); the JSON format (§2.2) maps nothing else to them.
        for member in object
        where !knownAttributes.contains(member.key) && member.key != "id" && member.key != "data_base64" {
            switch member.value {
            case .string, .bool: continue
            case .int(let number) where Int32(exactly: number) != nil: continue
            default:
                return .failure(
                    EventValidationError(
                        field: member.key,
                        rule:
                            "must be a string, a boolean or an integer from -2147483648 to 2147483647: the types a CloudEvents extension attribute takes in JSON"
                    ))
            }
        }
        if object["data_base64"] != nil {
            return .failure(
                EventValidationError(
                    field: "data_base64", rule: "is not supported: send the event's data as JSON in data"))
        }
        if let declared = object["datacontenttype"] {
            guard case .string(let text) = declared else {
                return .failure(EventValidationError(field: "datacontenttype", rule: "must be a string"))
            }
            // `type/json` or `type/anything+json`: a type and a subtype, tokens both, one slash between them.
            let parts = HeaderValue.mediaType(text).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, isToken(parts[0]), isToken(parts[1]),
                parts[1] == "json" || parts[1].hasSuffix("+json")
            else {
                return .failure(
                    EventValidationError(
                        field: "datacontenttype",
                        rule: "must be a JSON type (application/json, text/json or a +json type): data is read as JSON")
                )
            }
        }
        var converted = JSONObject()
        for name in ["id", "type", "time", "data"] {
            if let field = object[name] { converted.set(name, field) }
        }
        // The extension attribute wins; a null one is as good as absent.
        guard let tenantAttribute = tenantAttribute(of: object), let tenant = object[tenantAttribute] else {
            return .failure(
                EventValidationError(
                    field: "tenantid",
                    rule:
                        "is required: the tenant's UUID as the tenantid extension attribute (CloudEvents attribute names are lowercase) or as subject"
                ))
        }
        converted.set("tenantId", tenant)
        // Context attributes that carry no metering meaning are accepted and dropped.
        return Result { () throws(EventValidationError) in
            try EventJSONDecoder().decode(.object(converted), receivedAt: receivedAt)
        }.mapError { error in
            // Named as the client sent it: the tenant came in an attribute the event decoder calls tenantId.
            error.field == "tenantId" ? EventValidationError(field: tenantAttribute, rule: error.rule) : error
        }
    }
}
