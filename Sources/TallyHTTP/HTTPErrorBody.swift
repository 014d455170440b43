import TallyCore

/// The JSON body of errors the server itself produces (before any route sees the request).
enum HTTPErrorBody {
    /// `{"success": false, "error": {"status", "message"}}`, written by the same JSON writer as every other
    /// answer (so the message is escaped as any string is).
    static func json(status: Int, message: String) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + message.utf8.count)
        writer.beginObject()
        writer.writeKey("success")
        writer.writeRaw("false")
        writer.writeKey("error")
        writer.beginObject()
        writer.writeKey("status")
        writer.writeInt(Int64(status))
        writer.writeKey("message")
        writer.writeString(message)
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}
