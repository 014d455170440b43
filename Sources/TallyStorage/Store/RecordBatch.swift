/// A batch of records to append as one frame: each record's bytes behind a 4-byte length.
///
/// Build it on the caller's thread (encoding is the expensive part); the store's writer only wraps it in a
/// frame header and checksum.
public struct RecordBatch: Sendable {
    /// The frame payload: every record, length-prefixed.
    public private(set) var payload: [UInt8]
    /// How many records the batch holds.
    public private(set) var count: Int

    /// Creates an empty batch.
    /// - Parameter capacity: Bytes to reserve for the payload.
    public init(reservingCapacity capacity: Int = 0) {
        payload = []
        payload.reserveCapacity(capacity)
        count = 0
    }

    /// Whether the batch has no records.
    public var isEmpty: Bool { count == 0 }

    /// Appends one record.
    public mutating func append(_ record: some Collection<UInt8>) {
        appendRecord { bytes in bytes.append(contentsOf: record) }
    }

    /// Appends one record written in place by `write`, which must only append to the buffer it is given.
    public mutating func appendRecord(_ write: (inout [UInt8]) -> Void) {
        let start = payload.count
        payload.append(contentsOf: [0, 0, 0, 0])
        write(&payload)
        let length = UInt32(payload.count - start - SegmentFormat.recordLengthSize)
        withUnsafeBytes(of: length.littleEndian) { raw in
            for index in 0..<4 { payload[start + index] = raw[index] }
        }
        count += 1
    }
}
