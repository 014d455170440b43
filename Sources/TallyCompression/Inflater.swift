/// Decompresses raw DEFLATE data (RFC 1951): stored, fixed-Huffman and dynamic-Huffman blocks.
///
/// ```swift
/// let bytes = try Inflater(maxOutputBytes: 16 << 20).inflate(compressed)
/// ```
///
/// Decoding stops with ``InflateError/Code/outputLimitExceeded`` as soon as the output would pass
/// ``maxOutputBytes``, before anything beyond the limit is written, so a small "zip bomb" costs at most the
/// limit in memory and time. So that it costs at most about that in time too, the data may hold one
/// dynamic-Huffman block per 32 bytes of the limit (at least 1,024; ``InflateError/Code/tooManyBlocks``
/// beyond). Every malformed or truncated input ends in an ``InflateError``.
public struct Inflater: Sendable {
    /// The most decompressed bytes a call may produce.
    public var maxOutputBytes: Int

    /// Creates an inflater.
    /// - Parameter maxOutputBytes: The most decompressed bytes a call may produce.
    public init(maxOutputBytes: Int) {
        self.maxOutputBytes = maxOutputBytes
    }

    /// Decompresses one raw DEFLATE stream that must fill the whole input.
    ///
    /// - Parameter input: The compressed bytes.
    /// - Returns: The decompressed bytes.
    /// - Throws: ``InflateError`` when the stream is malformed or truncated, is followed by other bytes
    ///   (``InflateError/Code/trailingData``), or decompresses to more than ``maxOutputBytes``.
    public func inflate(_ input: [UInt8]) throws(InflateError) -> [UInt8] {
        let limit = maxOutputBytes
        let result = input.withUnsafeBufferPointer { buffer in
            Result { () throws(InflateError) -> [UInt8] in
                let output = OutputBuffer(
                    limit: limit, expected: buffer.count.multipliedReportingOverflow(by: 4).partialValue)
                let end = try DeflateDecoder(input: buffer, start: 0, output: output).decodeStream()
                guard end == buffer.count else {
                    throw InflateError(
                        .trailingData, "\(buffer.count - end) bytes follow the end of the DEFLATE stream",
                        offset: end)
                }
                return output.bytes()
            }
        }
        return try result.get()
    }
}
