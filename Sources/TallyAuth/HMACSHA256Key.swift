/// An HMAC-SHA256 key prepared for repeated use (RFC 2104).
///
/// Instead of the raw key, it stores the SHA-256 chaining states reached after absorbing the inner (`key ⊕ ipad`) and
/// outer (`key ⊕ opad`) blocks, so each authentication code costs only the message blocks plus two final blocks.
struct HMACSHA256Key: Sendable {
    private let innerState: SHA256State
    private let outerState: SHA256State

    /// Prepares a key of any length. Keys longer than 64 bytes are first hashed, as RFC 2104 requires.
    ///
    /// - Parameters:
    ///   - key: The secret key bytes.
    init(_ key: some Collection<UInt8>) {
        let blockSize = SHA256State.blockByteCount
        var block = key.count > blockSize ? SHA256.hash(key) : Array(key)
        block.append(contentsOf: repeatElement(0, count: blockSize - block.count))
        var inner = SHA256State()
        var outer = SHA256State()
        var padded = block.map { $0 ^ 0x36 }
        padded.withUnsafeBytes { _ = inner.absorbBlocks($0) }
        for index in padded.indices {
            padded[index] = block[index] ^ 0x5c
        }
        padded.withUnsafeBytes { _ = outer.absorbBlocks($0) }
        for index in padded.indices {
            padded[index] = 0
            block[index] = 0
        }
        innerState = inner
        outerState = outer
    }

    /// Computes the authentication code of a message.
    ///
    /// - Parameters:
    ///   - message: The message bytes.
    /// - Returns: The 32-byte authentication code.
    func authenticationCode(for message: some Collection<UInt8>) -> [UInt8] {
        let code = message.withContiguousStorageIfAvailable { authenticationCode(for: UnsafeRawBufferPointer($0)) }
        if let code {
            return code
        }
        return Array(message).withUnsafeBytes { authenticationCode(for: $0) }
    }

    /// Computes the authentication code of a message held in raw memory.
    ///
    /// - Parameters:
    ///   - message: The message bytes.
    /// - Returns: The 32-byte authentication code.
    func authenticationCode(for message: UnsafeRawBufferPointer) -> [UInt8] {
        let digestSize = SHA256State.digestByteCount
        let blockSize = SHA256State.blockByteCount
        return [UInt8](unsafeUninitializedCapacity: digestSize) { output, initializedCount in
            withUnsafeTemporaryAllocation(byteCount: digestSize, alignment: 8) { innerDigest in
                innerState.digest(of: message, precedingByteCount: blockSize, into: innerDigest)
                outerState.digest(
                    of: UnsafeRawBufferPointer(innerDigest),
                    precedingByteCount: blockSize,
                    into: UnsafeMutableRawBufferPointer(output)
                )
            }
            initializedCount = digestSize
        }
    }
}
