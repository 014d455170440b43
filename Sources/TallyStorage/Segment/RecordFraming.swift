import TallyCore

/// Splits a data frame's payload into its length-prefixed records.
public enum RecordFraming {
    /// Counts the records in a payload.
    /// - Returns: The count, or `nil` when the lengths do not tile the payload exactly.
    public static func countRecords(in payload: UnsafeRawBufferPointer) -> Int? {
        var position = 0
        var count = 0
        while position < payload.count {
            guard payload.count - position >= SegmentFormat.recordLengthSize else { return nil }
            let length = Int(payload.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian)
            position += SegmentFormat.recordLengthSize
            guard length <= payload.count - position else { return nil }
            position += length
            count += 1
        }
        return count
    }

    /// Calls `body` with each record of a payload already checked by ``countRecords(in:)``.
    /// - Parameters:
    ///   - payload: The frame payload.
    ///   - body: Receives each record's index in the frame and its bytes; return `false` to stop.
    /// - Returns: `false` if `body` stopped early.
    @discardableResult
    public static func forEachRecord(
        in payload: UnsafeRawBufferPointer,
        _ body: (Int, UnsafeRawBufferPointer) throws -> Bool
    ) rethrows -> Bool {
        var position = 0
        var index = 0
        while position + SegmentFormat.recordLengthSize <= payload.count {
            let length = Int(payload.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian)
            position += SegmentFormat.recordLengthSize
            let end = min(position + length, payload.count)
            if try !body(index, UnsafeRawBufferPointer(rebasing: payload[position..<end])) { return false }
            position = end
            index += 1
        }
        return true
    }
}
