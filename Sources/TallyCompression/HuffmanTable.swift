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

    /// - Parameters:
    ///   - rootBits: Bits resolved by the root level.
    ///   - maxSymbols: The alphabet size, which bounds the subtable space.
    ///   - maxCodeLength: The longest code the alphabet allows (15, or 7 for code-length codes).
    init(rootBits: Int, maxSymbols: Int, maxCodeLength: Int) {
        self.rootBits = rootBits
        // Each symbol longer than the root can force at most one subtable of 2^(maxCodeLength - rootBits).
        capacity = (1 << rootBits) + (maxCodeLength > rootBits ? maxSymbols << (maxCodeLength - rootBits) : 0)
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: HuffmanEntry.invalid, count: capacity)
    }

    deinit {
        entries.deallocate()
    }

    /// Rebuilds the table for a set of code lengths.
    ///
    /// - Parameters:
    ///   - lengths: The code length of each symbol (0 = unused), at most 15.
    ///   - symbols: Each symbol's entry template (kind, extra bits, value).
    ///   - allowsSingleCode: Whether an incomplete code consisting of one code of length 1 is accepted (true for
    ///     literal/length and distance codes, as zlib does; false for the code-length code).
    /// - Throws: ``HuffmanCodeDefect`` when the lengths do not form an acceptable prefix code.
    func build(lengths: ArraySlice<UInt8>, symbols: [UInt32], allowsSingleCode: Bool) throws(HuffmanCodeDefect) {
        var counts = [Int](repeating: 0, count: 16)
        for length in lengths { counts[Int(length)] += 1 }
        counts[0] = 0
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
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1...15 {
            code = (code + counts[length - 1]) << 1
            nextCode[length] = code
        }
        var reversed = [UInt16](repeating: 0, count: lengths.count)
        var subtableBits = [UInt8](repeating: 0, count: rootSize)
        let rootMask = rootSize - 1
        for (symbol, length) in zip(0..., lengths) where length > 0 {
            let length = Int(length)
            var value = nextCode[length]
            nextCode[length] += 1
            var reverse = 0
            for _ in 0..<length {
                reverse = reverse << 1 | value & 1
                value >>= 1
            }
            reversed[symbol] = UInt16(reverse)
            if length > rootBits {
                let prefix = reverse & rootMask
                subtableBits[prefix] = max(subtableBits[prefix], UInt8(length - rootBits))
            }
        }
        entries.update(repeating: HuffmanEntry.invalid, count: rootSize)
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
        for (symbol, length) in zip(0..., lengths) where length > 0 {
            let length = Int(length)
            let reverse = Int(reversed[symbol])
            if length <= rootBits {
                let entry = symbols[symbol] | UInt32(length)
                var index = reverse
                while index < rootSize {
                    entries[index] = entry
                    index += 1 << length
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
                    index += 1 << remaining
                }
            }
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
