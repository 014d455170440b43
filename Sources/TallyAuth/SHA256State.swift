/// The eight 32-bit chaining words of a SHA-256 computation (FIPS 180-4, section 6.2).
///
/// This is the low-level engine behind ``SHA256`` and ``HMACSHA256``. It absorbs whole 64-byte blocks and can
/// finish a message given the trailing partial block and the total message length. Keeping the chaining value as a
/// small value type lets HMAC precompute the state after its padded key block once and reuse it for every message.
struct SHA256State: Sendable, Equatable {
    /// The size of one SHA-256 message block in bytes.
    static let blockByteCount = 64

    /// The size of a SHA-256 digest in bytes.
    static let digestByteCount = 32

    private var h0: UInt32 = 0x6a09_e667
    private var h1: UInt32 = 0xbb67_ae85
    private var h2: UInt32 = 0x3c6e_f372
    private var h3: UInt32 = 0xa54f_f53a
    private var h4: UInt32 = 0x510e_527f
    private var h5: UInt32 = 0x9b05_688c
    private var h6: UInt32 = 0x1f83_d9ab
    private var h7: UInt32 = 0x5be0_cd19

    /// Creates the state holding the SHA-256 initial hash value H(0).
    init() {}

    /// The SHA-256 round constants K(0)...K(63).
    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// Absorbs every complete 64-byte block at the start of `bytes`.
    ///
    /// Trailing bytes that do not fill a whole block are ignored; callers pass them to
    /// ``finalize(tail:totalByteCount:into:)``.
    ///
    /// - Parameters:
    ///   - bytes: The message bytes. Only the first `bytes.count / 64 * 64` bytes are read.
    /// - Returns: The number of bytes consumed (a multiple of 64).
    @discardableResult
    mutating func absorbBlocks(_ bytes: UnsafeRawBufferPointer) -> Int {
        let blockCount = bytes.count / Self.blockByteCount
        guard blockCount > 0, let start = bytes.baseAddress else { return 0 }
        let initial = self
        self = Self.roundConstants.withUnsafeBufferPointer { constants in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
                guard let constants = constants.baseAddress, let schedule = schedule.baseAddress else { return initial }
                var state = initial
                for blockIndex in 0..<blockCount {
                    state.compress(
                        block: start + blockIndex &* Self.blockByteCount,
                        constants: constants,
                        schedule: schedule
                    )
                }
                return state
            }
        }
        return blockCount &* Self.blockByteCount
    }

    /// Applies the SHA-256 compression function to one 64-byte block.
    ///
    /// - Parameters:
    ///   - block: The start of 64 readable bytes.
    ///   - constants: The 64 round constants.
    ///   - schedule: Scratch space for the 64-word message schedule.
    @inline(__always)
    private mutating func compress(
        block: UnsafeRawPointer,
        constants: UnsafePointer<UInt32>,
        schedule: UnsafeMutablePointer<UInt32>
    ) {
        for t in 0..<16 {
            schedule[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self))
        }
        for t in 16..<64 {
            let w15 = schedule[t &- 15]
            let w2 = schedule[t &- 2]
            let sigma0 = Self.rotateRight(w15, 7) ^ Self.rotateRight(w15, 18) ^ (w15 &>> 3)
            let sigma1 = Self.rotateRight(w2, 17) ^ Self.rotateRight(w2, 19) ^ (w2 &>> 10)
            schedule[t] = schedule[t &- 16] &+ sigma0 &+ schedule[t &- 7] &+ sigma1
        }
        var a = h0
        var b = h1
        var c = h2
        var d = h3
        var e = h4
        var f = h5
        var g = h6
        var h = h7
        for t in 0..<64 {
            let bigSigma1 = Self.rotateRight(e, 6) ^ Self.rotateRight(e, 11) ^ Self.rotateRight(e, 25)
            let choose = (e & f) ^ (~e & g)
            let temp1 = h &+ bigSigma1 &+ choose &+ constants[t] &+ schedule[t]
            let bigSigma0 = Self.rotateRight(a, 2) ^ Self.rotateRight(a, 13) ^ Self.rotateRight(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let temp2 = bigSigma0 &+ majority
            h = g
            g = f
            f = e
            e = d &+ temp1
            d = c
            c = b
            b = a
            a = temp1 &+ temp2
        }
        h0 &+= a
        h1 &+= b
        h2 &+= c
        h3 &+= d
        h4 &+= e
        h5 &+= f
        h6 &+= g
        h7 &+= h
    }

    /// Pads and absorbs the final partial block, then writes the 32-byte digest.
    ///
    /// - Parameters:
    ///   - tail: The message bytes after the last complete block; must be shorter than 64 bytes.
    ///   - totalByteCount: The length of the whole message in bytes, including everything absorbed before.
    ///   - output: A buffer of at least 32 bytes that receives the big-endian digest.
    func finalize(tail: UnsafeRawBufferPointer, totalByteCount: UInt64, into output: UnsafeMutableRawBufferPointer) {
        assert(tail.count < Self.blockByteCount && output.count >= Self.digestByteCount)
        var state = self
        withUnsafeTemporaryAllocation(byteCount: 2 * Self.blockByteCount, alignment: 8) { padded in
            padded.initializeMemory(as: UInt8.self, repeating: 0)
            let tailCount = min(tail.count, Self.blockByteCount - 1)
            for index in 0..<tailCount {
                padded[index] = tail[index]
            }
            padded[tailCount] = 0x80
            let paddedCount = tailCount < Self.blockByteCount - 8 ? Self.blockByteCount : 2 * Self.blockByteCount
            let bitCount = totalByteCount &<< 3
            for index in 0..<8 {
                padded[paddedCount &- 1 &- index] = UInt8(truncatingIfNeeded: bitCount &>> UInt64(index &* 8))
            }
            state.absorbBlocks(UnsafeRawBufferPointer(rebasing: padded[0..<paddedCount]))
        }
        Self.store(state.h0, at: 0, in: output)
        Self.store(state.h1, at: 4, in: output)
        Self.store(state.h2, at: 8, in: output)
        Self.store(state.h3, at: 12, in: output)
        Self.store(state.h4, at: 16, in: output)
        Self.store(state.h5, at: 20, in: output)
        Self.store(state.h6, at: 24, in: output)
        Self.store(state.h7, at: 28, in: output)
    }

    /// Absorbs a whole message after whatever this state has already absorbed and returns the digest.
    ///
    /// - Parameters:
    ///   - message: The remaining message bytes.
    ///   - precedingByteCount: How many bytes (a multiple of 64) this state absorbed before `message`.
    ///   - output: A buffer of at least 32 bytes that receives the digest.
    func digest(
        of message: UnsafeRawBufferPointer,
        precedingByteCount: Int = 0,
        into output: UnsafeMutableRawBufferPointer
    ) {
        var state = self
        let consumed = state.absorbBlocks(message)
        let tail = UnsafeRawBufferPointer(rebasing: message[consumed...])
        state.finalize(tail: tail, totalByteCount: UInt64(precedingByteCount + message.count), into: output)
    }

    /// Writes a 32-bit word big-endian at `offset`.
    @inline(__always)
    private static func store(_ word: UInt32, at offset: Int, in output: UnsafeMutableRawBufferPointer) {
        output[offset] = UInt8(truncatingIfNeeded: word &>> 24)
        output[offset &+ 1] = UInt8(truncatingIfNeeded: word &>> 16)
        output[offset &+ 2] = UInt8(truncatingIfNeeded: word &>> 8)
        output[offset &+ 3] = UInt8(truncatingIfNeeded: word)
    }

    /// Rotates a 32-bit word right by a fixed amount in 1...31.
    @inline(__always)
    private static func rotateRight(_ value: UInt32, _ amount: UInt32) -> UInt32 {
        (value &>> amount) | (value &<< (32 &- amount))
    }
}
