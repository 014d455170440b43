/// The packed 32-bit entries of a ``HuffmanTable``, laid out so the hot loop needs one load per symbol:
///
/// - bits 0–7: how many input bits the entry consumes (the code length; for a subtable pointer, the root bits;
///   for an entry inside a subtable, the bits beyond the root);
/// - bits 8–11: the number of extra bits that follow a length or distance symbol, or the index bits of a
///   subtable;
/// - bits 12–15: the kind (literal, base-plus-extra, end of block, subtable pointer, invalid);
/// - bits 16–31: the literal byte, the length or distance base, or the subtable's first index.
enum HuffmanEntry {
    static let literal: UInt32 = 0 << 12
    static let base: UInt32 = 1 << 12
    static let endOfBlock: UInt32 = 2 << 12
    static let subtable: UInt32 = 3 << 12
    static let invalid: UInt32 = 4 << 12
    static let kindMask: UInt32 = 0xF << 12

    /// An entry without its length: kind, extra bits and value.
    @inline(__always)
    static func make(kind: UInt32, extraBits: Int = 0, value: Int) -> UInt32 {
        kind | UInt32(extraBits) << 8 | UInt32(value) << 16
    }

    @inline(__always) static func consumed(_ entry: UInt32) -> Int { Int(entry & 0xFF) }
    @inline(__always) static func extraBits(_ entry: UInt32) -> Int { Int((entry >> 8) & 0xF) }
    @inline(__always) static func value(_ entry: UInt32) -> Int { Int(entry >> 16) }
}
