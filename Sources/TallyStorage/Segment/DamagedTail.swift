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
    /// The verdict being gathered as a scan finds the valid frames after the damage, in file order.
    struct Scan {
        private var tail: DamagedTail
        private let expectedOffset: UInt64
        private var gapStart: Int64
        private var longestGap: Int64 = 0

        /// A scan of the `length` bytes from byte `start` of the file, where damage was found at a frame
        /// that should have started at `expectedOffset`.
        init(start: Int64, length: Int64, expectedOffset: UInt64) {
            tail = DamagedTail(length: length, firstValidFrame: nil, firstFrameAfterSync: nil, longestGap: length)
            self.expectedOffset = expectedOffset
            gapStart = start
        }

        /// Whether a valid frame written after a sync has been found: nothing after it changes the verdict.
        var isSettled: Bool { tail.firstFrameAfterSync != nil }

        /// Whether `header`, at a candidate position, could be a frame Tally wrote: worth its checksum. Most
        /// positions of random bytes fail here, so a large damaged tail is not checksummed a frame at a time.
        static func isPlausible(_ header: SegmentFormat.FrameHeader) -> Bool {
            guard header.payloadLength <= SegmentFormat.maxFramePayload else { return false }
            switch header.kind {
            // Every record takes its length prefix at least.
            case .data?:
                return header.count > 0
                    && header.count <= header.payloadLength / UInt32(SegmentFormat.recordLengthSize)
            case .seal?: return header.count == 0 && header.payloadLength == UInt32(SegmentFormat.sealPayloadSize)
            case nil: return false
            }
        }

        /// Notes a valid frame at byte `position` of the file.
        mutating func found(_ frame: SegmentFormat.FrameHeader, at position: Int64) {
            if tail.firstValidFrame == nil { tail.firstValidFrame = position }
            // The write of a data frame began when offset `firstOffset - unsynced` was the last known
            // durable one: at or before the damaged frame, the damaged bytes were not synced yet.
            let began = frame.firstOffset.subtractingReportingOverflow(UInt64(frame.unsyncedRecordsBefore))
            let writtenAfterSync =
                frame.kind != .data || frame.firstOffset < expectedOffset || began.overflow
                || began.partialValue > expectedOffset
            if writtenAfterSync, tail.firstFrameAfterSync == nil { tail.firstFrameAfterSync = position }
            // The damaged frame itself is the first gap's start: its first byte holds no valid frame.
            longestGap = max(longestGap, position - gapStart)
            gapStart = position + Int64(frame.frameSize)
        }

        /// The verdict, once the scan has reached `end` (or settled).
        func finished(at end: Int64) -> DamagedTail {
            var result = tail
            if result.firstValidFrame != nil { result.longestGap = max(longestGap, end - min(gapStart, end)) }
            return result
        }
    }

    /// Finds every valid frame (checksum and all) in `window`, the bytes from the damage to the end of the file.
    /// - Parameters:
    ///   - window: The bytes from the damaged frame on.
    ///   - start: The byte of the file the window starts at.
    ///   - expectedOffset: The offset the damaged frame should have started at.
    ///   - salt: The segment's salt.
    init(scanning window: UnsafeRawBufferPointer, from start: Int64, expectedOffset: UInt64, salt: UInt32) {
        var scan = Scan(start: start, length: Int64(window.count), expectedOffset: expectedOffset)
        var candidate = 1
        while candidate + SegmentFormat.frameHeaderSize <= window.count, !scan.isSettled {
            let header = SegmentFormat.decodeFrameHeader(UnsafeRawBufferPointer(rebasing: window[candidate...]))
            guard Scan.isPlausible(header),
                let frame = SegmentFormat.checkedFrame(in: window, at: candidate, salt: salt)
            else {
                candidate += 1
                continue
            }
            scan.found(frame, at: start + Int64(candidate))
            candidate += frame.frameSize
        }
        self = scan.finished(at: start + Int64(window.count))
    }
}

extension SegmentScanner {
    /// Reads the file from `damage` to `end` and finds every valid frame in it (checksum and all),
    /// ``chunkSize`` bytes at a time (or a frame's size, for a larger frame): a damaged tail can be gigabytes
    /// (a bad copy, a file extended by mistake), and open must refuse it, not run out of memory reading it.
    /// Stops at the first frame written after a sync.
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
        let fileEnd = max(start, min(end, try fileSystem.size(file)))
        var scan = DamagedTail.Scan(start: start, length: fileEnd - start, expectedOffset: damage.expectedOffset)
        let headerSize = Int64(SegmentFormat.frameHeaderSize)
        // The window holds bytes `windowStart ..< windowStart + windowBytes` of the file.
        var window = [UInt8]()
        var windowStart = start
        var windowBytes = 0
        func load(at position: Int64, atLeast wanted: Int) throws(StorageError) {
            let size = Int(min(Int64(max(wanted, chunkSize, SegmentFormat.frameHeaderSize)), fileEnd - position))
            if window.count < size { window = [UInt8](repeating: 0, count: size) }
            windowBytes = try window.withMutableBytes { buffer throws(StorageError) in
                try fileSystem.readFully(
                    file, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<size]), at: position)
            }
            windowStart = position
        }
        var candidate = start + 1
        while candidate + headerSize <= fileEnd, !scan.isSettled {
            if candidate + headerSize > windowStart + Int64(windowBytes) {
                try load(at: candidate, atLeast: SegmentFormat.frameHeaderSize)
                // The file ended early (it shrank while read): what is left holds no frame.
                if windowBytes < SegmentFormat.frameHeaderSize { break }
            }
            let header = window.withUnsafeBytes {
                SegmentFormat.decodeFrameHeader(UnsafeRawBufferPointer(rebasing: $0[Int(candidate - windowStart)...]))
            }
            guard DamagedTail.Scan.isPlausible(header), candidate + Int64(header.frameSize) <= fileEnd else {
                candidate += 1
                continue
            }
            if candidate + Int64(header.frameSize) > windowStart + Int64(windowBytes) {
                try load(at: candidate, atLeast: header.frameSize)
            }
            let frame = window.withUnsafeBytes { all in
                SegmentFormat.checkedFrame(
                    in: UnsafeRawBufferPointer(rebasing: all[..<windowBytes]), at: Int(candidate - windowStart),
                    salt: salt)
            }
            guard let frame else {
                candidate += 1
                continue
            }
            scan.found(frame, at: candidate)
            candidate += Int64(frame.frameSize)
        }
        return scan.finished(at: fileEnd)
    }
}
