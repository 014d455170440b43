extension JSONObject {
    /// A key hashed and compared by its UTF-8 bytes, used to find repeated keys in large objects.
    struct KeyBytes: Hashable {
        var key: String

        static func == (lhs: KeyBytes, rhs: KeyBytes) -> Bool {
            JSONObject.keysEqual(lhs.key, rhs.key)
        }

        func hash(into hasher: inout Hasher) {
            var contiguous = key
            contiguous.withUTF8 { bytes in
                hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
                hasher.combine(bytes.count)
            }
        }
    }
}
