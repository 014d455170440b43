/// A two-level lookup table for one canonical Huffman code, indexed by the next input bits (least significant
/// bit first, as DEFLATE packs them).
///
/// The root level resolves every code of up to ``rootBits`` bits with one load; longer codes go through a
/// pointer entry to a subtable sized for the longest code sharing that root prefix. The memory is allocated
/// once for the largest table the alphabet can produce and reused for every block.
final class HuffmanTable {
    /// The packed entries (see ``HuffmanEntry``).
    let entries: UnsafeMutablePointer<UInt32>
    /// Bits resolved by the root level.
    let rootBits: Int
    private let capacity: Int
    /// Scratch for ``build(lengths:symbols:allowsSingleCode:)``, allocated once with the table: a dynamic block
    /// rebuilds three tables, and a stream of empty blocks does little else, so a build allocates nothing.
    /// Codes of each length (16), then the next canonical code of each length (16).
    private let counts: UnsafeMutablePointer<Int>
    /// Each symbol's code, bit-reversed.
    private let reversed: UnsafeMutablePointer<UInt16>
    /// The symbols that have a code, in order.
    private let used: UnsafeMutablePointer<UInt16>
    /// For each root prefix, the bits of the subtable it leads to (0: none).
    private let subtableBits: UnsafeMutablePointer<UInt8>
    private let maxSymbols: Int

    /// - Parameters:
    ///   - rootBits: Bits resolved by the root level.
    ///   - maxSymbols: The alphabet size, which bounds the subtable space.
    ///   - maxCodeLength: The longest code the alphabet allows (15, or 7 for code-length codes).
    init(rootBits: Int, maxSymbols: Int, maxCodeLength: Int) {
        self.rootBits = rootBits
        self.maxSymbols = maxSymbols
        // Each symbol longer than the root can force at most one subtable of 2^(maxCodeLength - rootBits).
        capacity = (1 << rootBits) + (maxCodeLength > rootBits ? maxSymbols << (maxCodeLength - rootBits) : 0)
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: HuffmanEntry.invalid, count: capacity)
        counts = .allocate(capacity: 32)
        counts.initialize(repeating: 0, count: 32)
        reversed = .allocate(capacity: maxSymbols)
        reversed.initialize(repeating: 0, count: maxSymbols)
        used = .allocate(capacity: maxSymbols)
        used.initialize(repeating: 0, count: maxSymbols)
        subtableBits = .allocate(capacity: 1 << rootBits)
        subtableBits.initialize(repeating: 0, count: 1 << rootBits)
    }

    deinit {
        entries.deallocate()
        counts.deallocate()
        reversed.deallocate()
        used.deallocate()
        subtableBits.deallocate()
    }

    /// Rebuilds the table for a set of code lengths.
    ///
    /// - Parameters:
    ///   - lengths: The code length of each symbol (0 = unused), at most 15; at most `maxSymbols` of them.
    ///   - symbols: Each symbol's entry template (kind, extra bits, value).
    ///   - allowsSingleCode: Whether an incomplete code consisting of one code of length 1 is accepted (true for
    ///     literal/length and distance codes, as zlib does; false for the code-length code).
    /// - Throws: ``HuffmanCodeDefect`` when the lengths do not form an acceptable prefix code.
    func build(
        lengths: UnsafeBufferPointer<UInt8>, symbols: [UInt32], allowsSingleCode: Bool
    ) throws(HuffmanCodeDefect) {
        precondition(lengths.count <= maxSymbols, "more code lengths than the alphabet has symbols")
        let nextCode = counts + 16
        counts.update(repeating: 0, count: 16)
        // One pass counts the lengths and lists the symbols that have a code, so the later passes skip the
        // rest (a header of empty blocks has one code among 257 symbols). Zero lengths are skipped, not
        // counted: 200 increments of one counter would each wait for the last.
        let used = self.used
        var usedCount = 0
        for symbol in 0..<lengths.count where lengths[symbol] != 0 {
            counts[Int(lengths[symbol])] &+= 1
            used[usedCount] = UInt16(truncatingIfNeeded: symbol)
            usedCount &+= 1
        }
        var longest = 0
        var left = 1
        for length in 1...15 {
            left <<= 1
            left -= counts[length]
            if left < 0 { throw .oversubscribed }
            if counts[length] > 0 { longest = length }
        }
        let rootSize = 1 << rootBits
        if longest == 0 {
            // No codes at all: every lookup is invalid (a distance code may be empty when only literals follow).
            entries.update(repeating: HuffmanEntry.invalid, count: rootSize)
            return
        }
        if left > 0 && !(allowsSingleCode && longest == 1) { throw .incomplete }

        // Canonical codes (RFC 1951 §3.2.2), bit-reversed because DEFLATE sends codes most significant bit first
        // into a least-significant-bit-first stream.
        var code = 0
        for length in 1...15 {
            code = (code + counts[length - 1]) << 1
            nextCode[length] = code
        }
        let hasSubtables = longest > rootBits
        if hasSubtables { subtableBits.update(repeating: 0, count: rootSize) }
        let rootMask = rootSize - 1
        for slot in 0..<usedCount {
            let symbol = Int(used[slot])
            let length = Int(lengths[symbol])
            var value = nextCode[length]
            nextCode[length] &+= 1
            var reverse = 0
            for _ in 0..<length {
                reverse = reverse << 1 | value & 1
                value >>= 1
            }
            reversed[symbol] = UInt16(truncatingIfNeeded: reverse)
            if length > rootBits {
                let prefix = reverse & rootMask
                subtableBits[prefix] = max(subtableBits[prefix], UInt8(length - rootBits))
            }
        }
        // Without subtables, a root entry depends only on its index's low `longest` bits: the first
        // 2^longest entries are filled, then copied over the rest.
        let filled = hasSubtables ? rootSize : 1 << longest
        entries.update(repeating: HuffmanEntry.invalid, count: filled)
        if hasSubtables {
            var next = rootSize
            for prefix in 0..<rootSize where subtableBits[prefix] > 0 {
                let bits = Int(subtableBits[prefix])
                entries[prefix] =
                    HuffmanEntry.make(kind: HuffmanEntry.subtable, extraBits: bits, value: next)
                    | UInt32(rootBits)
                entries.advanced(by: next).update(repeating: HuffmanEntry.invalid, count: 1 << bits)
                next += 1 << bits
            }
            precondition(next <= capacity, "Huffman subtables exceed their bound")
        }
        for slot in 0..<usedCount {
            let symbol = Int(used[slot])
            let length = Int(lengths[symbol])
            let reverse = Int(reversed[symbol])
            if length <= rootBits {
                let entry = symbols[symbol] | UInt32(length)
                var index = reverse
                while index < filled {
                    entries[index] = entry
                    index &+= 1 << length
                }
            } else {
                let pointer = entries[reverse & rootMask]
                let start = HuffmanEntry.value(pointer)
                let size = 1 << HuffmanEntry.extraBits(pointer)
                let remaining = length - rootBits
                let entry = symbols[symbol] | UInt32(remaining)
                var index = reverse >> rootBits
                while index < size {
                    entries[start + index] = entry
                    index &+= 1 << remaining
                }
            }
        }
        var copied = filled
        while copied < rootSize {
            entries.advanced(by: copied).update(from: entries, count: copied)
            copied <<= 1
        }
    }
}

/// Why a set of code lengths does not form a usable prefix code.
enum HuffmanCodeDefect: Error {
    /// More codes than the lengths allow (the Kraft sum exceeds 1).
    case oversubscribed
    /// Unassigned codes left where the format requires a complete code.
    case incomplete

    var code: InflateError.Code { self == .oversubscribed ? .oversubscribedCode : .incompleteCode }
    var adjective: String { self == .oversubscribed ? "over-subscribed" : "incomplete" }
}
