/// Why a DEFLATE or gzip stream was rejected, and where.
///
/// Every malformed, truncated or oversized input ends in one of these; the decoders never trap or loop on
/// input. ``offset`` is the byte offset into the compressed input at which the problem was noticed (for
/// bit-level problems, the byte holding the offending bit), so a report can point at the damage.
public struct InflateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The category of a failure.
    public enum Code: String, Sendable, Equatable {
        /// The input ended before the stream was complete.
        case truncated
        /// A block header names the reserved block type 3.
        case invalidBlockType
        /// A stored block's length does not match its one's complement copy.
        case storedLengthMismatch
        /// A dynamic block header declares more than 286 literal/length or 30 distance codes.
        case tooManyCodes
        /// A set of Huffman code lengths assigns more codes than the lengths allow.
        case oversubscribedCode
        /// A set of Huffman code lengths leaves codes unassigned where the format requires a complete code.
        case incompleteCode
        /// A code-length repeat instruction repeats nothing or runs past the declared code count.
        case invalidCodeLengthRepeat
        /// The literal/length code gives the end-of-block symbol no code.
        case missingEndOfBlock
        /// A literal/length symbol 286 or 287, or a distance symbol 30 or 31, or a code the tables do not hold.
        case invalidSymbol
        /// A match refers back further than the bytes produced so far.
        case distanceTooFarBack
        /// The decompressed output would exceed the caller's limit.
        case outputLimitExceeded
        /// More dynamic-Huffman blocks than the output limit allows (one per 32 bytes of it, at least 1,024):
        /// blocks far smaller than any compressor writes, each costing a table rebuild.
        case tooManyBlocks
        /// The gzip header's magic bytes are not `1f 8b`.
        case notGzip
        /// The gzip header names a compression method other than 8 (deflate).
        case unsupportedMethod
        /// The gzip header sets reserved flag bits.
        case reservedFlags
        /// The gzip header's CRC-16 (FHCRC) does not match the header bytes.
        case headerChecksumMismatch
        /// A gzip member's CRC-32 does not match the decompressed bytes.
        case checksumMismatch
        /// A gzip member's ISIZE does not match the decompressed length modulo 2^32.
        case lengthMismatch
        /// Bytes after the last member (or after a raw stream) that do not form a stream.
        case trailingData
    }

    /// The category of the failure.
    public var code: Code
    /// A sentence saying what went wrong and, where useful, what to do about it.
    public var message: String
    /// The byte offset into the compressed input where the problem was noticed.
    public var offset: Int

    /// Creates an error.
    /// - Parameters:
    ///   - code: The category.
    ///   - message: What went wrong.
    ///   - offset: The byte offset into the compressed input.
    public init(_ code: Code, _ message: String, offset: Int) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    /// The message with the compressed byte it refers to.
    public var description: String { "\(message) (at compressed byte \(offset))" }
}
