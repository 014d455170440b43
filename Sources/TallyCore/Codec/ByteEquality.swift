/// Equality of short byte runs (key ids, tokens), compared eight bytes at a time in place: for the lengths
/// these have, a call to `memcmp` costs more than the comparison.
public enum ByteEquality {
    /// Whether `left` and `right` hold the same bytes.
    @inlinable
    public static func equal(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        let count = left.count
        guard count == right.count else { return false }
        var index = 0
        while count - index >= 8 {
            guard
                left.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    == right.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            else { return false }
            index += 8
        }
        while index < count {
            guard left[index] == right[index] else { return false }
            index += 1
        }
        return true
    }
}
