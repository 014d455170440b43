/// What lies between damage in a segment and the segment's end: the evidence that tells an interrupted write
/// (truncated on open) from damage to data that was synced (refused).
///
/// A crash can cut one write: a lone frame (nothing valid follows the damage), or a group commit of several
/// frames whose pages reached the disk out of order (later frames of the same write whole, an earlier one
/// torn). Every data frame records how many records were written after the last completed sync and before it
/// (``SegmentFormat/FrameHeader/unsyncedRecordsBefore``), so a valid frame after the damage shows whether the
/// damaged bytes were still unsynced when it was written. A seal after the damage always shows they were
/// synced: a segment's frames are synced before its seal is written.
struct DamagedTail: Sendable, Equatable {
    /// Bytes from the damage to the end of the file (as far as it was measured).
    var length: Int64
    /// The first valid frame after the damage, if any.
    var firstValidFrame: Int64?
    /// The first valid frame after the damage that was written once the damaged bytes had been synced (or
    /// that holds offsets before the damage), if any: its presence proves the damage hit synced data.
    var firstFrameAfterSync: Int64?
    /// The longest run of bytes after the damage that holds no valid frame.
    var longestGap: Int64

    /// The most bytes one interrupted frame can take: a frame header and the largest payload.
    static let largestFrame = Int64(SegmentFormat.frameHeaderSize) + Int64(SegmentFormat.maxFramePayload)

    /// Whether the damage reads as one interrupted write: no valid frame follows it and it is no longer than
    /// a frame, or every valid frame after it belongs to the same unsynced write and no gap between them is
    /// longer than a frame. (A disk that lost bytes it had confirmed as synced at the very end of the log
    /// reads the same way; no log can tell the two apart.)
    var isInterruptedWrite: Bool {
        guard firstValidFrame != nil else { return length <= Self.largestFrame }
        return firstFrameAfterSync == nil && longestGap <= Self.largestFrame
    }

    /// Why the damage is not an interrupted write, for an error message; `nil` when it is one.
    var reasonNotInterrupted: String? {
        guard !isInterruptedWrite else { return nil }
        if let after = firstFrameAfterSync {
            return "followed by a valid frame at byte \(after) written after the damaged bytes were synced"
        }
        if let valid = firstValidFrame {
            return
                "followed by a valid frame at byte \(valid) of the same write, but \(longestGap) bytes without one (more than any frame)"
        }
        return "the damaged region (\(length) bytes) is larger than any frame"
    }
}

extension DamagedTail {
    /// Finds every valid frame (checksum and all) in `window`, the bytes from the damage to the end of the file.
    /// - Parameters:
    ///   - window: The bytes from the damaged frame on.
    ///   - start: The byte of the file the window starts at.
    ///   - expectedOffset: The offset the damaged frame should have started at.
    ///   - salt: The segment's salt.
    init(scanning window: UnsafeRawBufferPointer, from start: Int64, expectedOffset: UInt64, salt: UInt32) {
        let length = window.count
        self.init(length: Int64(length), firstValidFrame: nil, firstFrameAfterSync: nil, longestGap: Int64(length))
        guard length > SegmentFormat.frameHeaderSize else { return }
        var longestGap = 0
        var gapStart = 0
        var candidate = 1
        while candidate + SegmentFormat.frameHeaderSize <= length {
            guard let frame = SegmentFormat.checkedFrame(in: window, at: candidate, salt: salt) else {
                candidate += 1
                continue
            }
            let position = start + Int64(candidate)
            if firstValidFrame == nil { firstValidFrame = position }
            // The write of a data frame began when offset `firstOffset - unsynced` was the last known
            // durable one: at or before the damaged frame, the damaged bytes were not synced yet.
            let began = frame.firstOffset.subtractingReportingOverflow(UInt64(frame.unsyncedRecordsBefore))
            let writtenAfterSync =
                frame.kind != .data || frame.firstOffset < expectedOffset || began.overflow
                || began.partialValue > expectedOffset
            if writtenAfterSync, firstFrameAfterSync == nil { firstFrameAfterSync = position }
            longestGap = max(longestGap, candidate - gapStart)
            candidate += frame.frameSize
            gapStart = candidate
        }
        longestGap = max(longestGap, length - min(gapStart, length))
        self.longestGap = Int64(longestGap)
    }
}

extension SegmentScanner {
    /// Reads the file from `damage` to `end` and finds every valid frame in it (checksum and all).
    /// - Parameters:
    ///   - damage: Where the scan found damage, and the offset the damaged frame should have started at.
    ///   - end: The file's size as the scan measured it. A writer may append meanwhile: the frame it was
    ///     writing at the damage is then whole by now, and must not pass for good data after damage.
    ///   - salt: The segment's salt.
    func damagedTail(path: String, damage: SegmentDamage, before end: Int64, salt: UInt32)
        throws(StorageError) -> DamagedTail
    {
        let file = try fileSystem.open(path, mode: .readOnly)
        defer { fileSystem.close(file) }
        let start = damage.byteOffset
        let fileSize = min(end, try fileSystem.size(file))
        let length = Int(max(0, fileSize - start))
        var bytes = [UInt8](repeating: 0, count: length)
        let got = try bytes.withMutableBytes { buffer throws(StorageError) in
            try fileSystem.readFully(file, into: buffer, at: start)
        }
        var tail = bytes.withUnsafeBytes { all in
            DamagedTail(
                scanning: UnsafeRawBufferPointer(rebasing: all[..<got]), from: start,
                expectedOffset: damage.expectedOffset, salt: salt)
        }
        // Bytes the file lost while being read still count to the damage's length.
        tail.length = Int64(length)
        return tail
    }
}
