/// The JSON body of errors the server itself produces (before any route sees the request).
enum HTTPErrorBody {
    /// `{"success": false, "error": {"status", "message"}}`, with the message escaped (control characters
    /// become spaces).
    static func json(status: Int, message: String) -> [UInt8] {
        var escaped = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20: escaped += " "
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return Array(#"{"success":false,"error":{"status":\#(status),"message":"\#(escaped)"}}"#.utf8)
    }
}
