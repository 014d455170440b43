import TallyCore

/// Indented JSON for people reading a terminal.
enum PrettyJSON {
    static func format(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + format($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let object):
            guard object.count > 0 else { return "{}" }
            return "{\n"
                + object.members.map { member in
                    inner + JSONValue.string(member.key).jsonString + ": " + format(member.value, indent: inner)
                }.joined(separator: ",\n") + "\n\(indent)}"
        default:
            return value.jsonString
        }
    }
}
