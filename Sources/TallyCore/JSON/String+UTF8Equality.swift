import Glibc

extension String {
    /// Whether this string has exactly `other`'s UTF-8 bytes.
    ///
    /// Swift's `==` compares by Unicode canonical equivalence, under which `"\u{E9}"` equals `"e\u{301}"`; JSON
    /// keys and values, tenant names and settings are told apart by their bytes, as a client that sent them sees
    /// them (and as Python, which seed 002's API runs on, compares them).
    ///
    /// - Parameter other: The string to compare with.
    /// - Returns: `true` when both have the same UTF-8 bytes.
    @inline(__always)
    package func hasSameUTF8(as other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        // Native and small strings lend their bytes: compare them as buffers, not through the UTF-8 view's
        // iterator (the decoder compares a key per field of every event it reads).
        let compared = utf8.withContiguousStorageIfAvailable { left in
            other.utf8.withContiguousStorageIfAvailable { right in
                guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return true }
                return memcmp(leftBase, rightBase, left.count) == 0
            }
        }
        return (compared ?? nil) ?? utf8.elementsEqual(other.utf8)
    }
}
