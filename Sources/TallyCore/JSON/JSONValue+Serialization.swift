extension JSONValue {
    /// The compact JSON text of this value.
    ///
    /// Non-finite doubles are written as `null`; see ``JSONWriter/writeDouble(_:)``.
    public var jsonString: String {
        var writer = JSONWriter()
        writer.write(self)
        return writer.string
    }

    /// The compact JSON text of this value, as UTF-8 bytes.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }
}
