import TallyCore

/// The result of walking one segment file from its header to its end (or first damage).
struct SegmentScan: Sendable {
    /// The header, when it is valid.
    var header: SegmentFormat.Header?
    /// One past the last record offset of the valid frames.
    var nextOffset: UInt64
    /// The byte after the last valid frame (including a seal frame).
    var validEnd: Int64
    /// CRC32C of bytes `[0, validEnd)` excluding a seal frame: what a seal would record.
    var fileChecksum: UInt32
    /// Whether the segment ends with a valid seal frame.
    var sealed: Bool
    /// The file's size.
    var fileSize: Int64
    /// The first damage found, or `nil` when every byte is accounted for.
    var damage: SegmentDamage?
}

/// Walks segment files frame by frame, checking every header, checksum, record framing and offset.
struct SegmentScanner {
    let fileSystem: any FileSystem
    let chunkSize: Int

    /// A valid data frame handed to the scan's visitor.
    struct Frame {
        var firstOffset: UInt64
        var count: Int
        /// The records, each a `u32` length and its bytes; valid only during the visit.
        var payload: UnsafeRawBufferPointer
        /// Where the frame starts in the file.
        var position: Int64
    }

    /// A place to resume a scan: a frame boundary already seen valid, and the offset of that frame.
    struct Resume {
        var position: Int64
        var nextOffset: UInt64
    }

    /// Scans `path` from its header.
    /// - Parameters:
    ///   - path: The segment file.
    ///   - expectedFirstOffset: The offset the file name (and the previous segment) say it starts at.
    ///   - limit: Bytes of the file to consider (readers pass the committed size), or `nil` for all.
    ///   - verifySeal: Keep the whole-file checksum and check it against a seal frame. Readers that only
    ///     want records skip this second checksum pass.
    ///   - resume: Start at this frame boundary instead of the first frame (the header is still read, for its
    ///     salt); only with `verifySeal` false, since the whole-file checksum then cannot be kept.
    ///   - visit: Called with each valid data frame in order; return `false` to stop early.
    func scan(
        path: String, expectedFirstOffset: UInt64, limit: Int64? = nil, verifySeal: Bool = true,
        resume: Resume? = nil, visit: (Frame) throws -> Bool = { _ in true }
    ) throws -> SegmentScan {
        let file = try fileSystem.open(path, mode: .readOnly)
        defer { fileSystem.close(file) }
        let fileSize = try limit ?? fileSystem.size(file)
        var reader = SegmentFileReader(fileSystem: fileSystem, file: file, limit: fileSize, chunkSize: chunkSize)
        var scan = SegmentScan(
            header: nil, nextOffset: expectedFirstOffset, validEnd: 0, fileChecksum: 0,
            sealed: false, fileSize: fileSize, damage: nil)
        func damage(_ at: Int64, _ reason: String) -> SegmentScan {
            scan.damage = SegmentDamage(byteOffset: at, reason: reason, expectedOffset: scan.nextOffset)
            return scan
        }
        // The header, decoded, and its checksum. A resumed scan reads the header's bytes alone: a chunk from
        // byte 0 would double what it reads.
        func readHeader(_ bytes: UnsafeRawBufferPointer) -> (
            Result<SegmentFormat.Header, SegmentFormat.HeaderProblem>, UInt32
        ) {
            (SegmentFormat.decodeHeader(bytes), CRC32C.checksum(bytes))
        }
        let headerRead: (Result<SegmentFormat.Header, SegmentFormat.HeaderProblem>, UInt32)?
        if resume == nil || verifySeal {
            headerRead = try reader.window(at: 0, count: SegmentFormat.headerSize).map(readHeader)
        } else {
            var bytes = [UInt8](repeating: 0, count: SegmentFormat.headerSize)
            let got = try bytes.withUnsafeMutableBytes { buffer throws(StorageError) in
                try fileSystem.readFully(file, into: buffer, at: 0)
            }
            headerRead =
                got == SegmentFormat.headerSize && fileSize >= Int64(got) ? bytes.withUnsafeBytes(readHeader) : nil
        }
        guard let (decodedHeader, headerChecksum) = headerRead else {
            return damage(0, "segment header is truncated (\(fileSize) of \(SegmentFormat.headerSize) bytes)")
        }
        let header: SegmentFormat.Header
        switch decodedHeader {
        case .success(let decoded): header = decoded
        case .failure(let problem): return damage(0, problem.description)
        }
        guard header.firstOffset == expectedFirstOffset else {
            return damage(
                0, "header says the segment starts at offset \(header.firstOffset), expected \(expectedFirstOffset)")
        }
        scan.header = header
        scan.fileChecksum = headerChecksum
        scan.validEnd = Int64(SegmentFormat.headerSize)
        if let resume, !verifySeal, resume.position > scan.validEnd, resume.position <= fileSize {
            scan.validEnd = resume.position
            scan.nextOffset = resume.nextOffset
        }
        var position = scan.validEnd
        while position < fileSize {
            guard let headerWindow = try reader.window(at: position, count: SegmentFormat.frameHeaderSize) else {
                return damage(position, "truncated frame header (\(fileSize - position) bytes left)")
            }
            let frame = SegmentFormat.decodeFrameHeader(headerWindow)
            guard let kind = frame.kind else { return damage(position, "unknown frame kind \(frame.rawKind)") }
            guard frame.payloadLength <= SegmentFormat.maxFramePayload else {
                return damage(
                    position,
                    "frame length \(frame.payloadLength) exceeds the \(SegmentFormat.maxFramePayload)-byte cap")
            }
            guard let frameBytes = try reader.window(at: position, count: frame.frameSize) else {
                return damage(
                    position, "truncated frame: \(frame.frameSize) bytes declared, \(fileSize - position) left")
            }
            guard SegmentFormat.frameChecksum(frameBytes, salt: header.salt) == frame.checksum else {
                // A seal holds no records: its header's offset is the next segment's first, not one of this one's.
                return damage(
                    position,
                    kind == .seal
                        ? "checksum mismatch in the seal frame (the segment's records end before offset \(scan.nextOffset))"
                        : "checksum mismatch in frame for offsets \(describe(frame))")
            }
            let payload = UnsafeRawBufferPointer(rebasing: frameBytes[SegmentFormat.frameHeaderSize...])
            switch kind {
            case .seal:
                guard frame.firstOffset == scan.nextOffset, frame.count == 0, frame.unsyncedRecordsBefore == 0,
                    Int(frame.payloadLength) == SegmentFormat.sealPayloadSize
                else {
                    return damage(position, "malformed seal frame")
                }
                let lastOffset = payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
                let checksum = payload.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
                guard scan.nextOffset > header.firstOffset, lastOffset == scan.nextOffset - 1 else {
                    return damage(
                        position,
                        "seal names last offset \(lastOffset) but the frames end at \(Int64(scan.nextOffset) - 1)")
                }
                guard !verifySeal || checksum == scan.fileChecksum else {
                    return damage(position, "whole-segment checksum mismatch recorded in the seal")
                }
                guard position + Int64(frame.frameSize) == fileSize else {
                    return damage(
                        position + Int64(frame.frameSize),
                        "\(fileSize - position - Int64(frame.frameSize)) bytes after the seal frame")
                }
                scan.sealed = true
                scan.validEnd = fileSize
                return scan
            case .data:
                guard frame.firstOffset == scan.nextOffset else {
                    return damage(position, "frame starts at offset \(frame.firstOffset), expected \(scan.nextOffset)")
                }
                guard frame.firstOffset + UInt64(frame.count) <= SegmentFormat.offsetLimit else {
                    return damage(
                        position,
                        "frame for offsets \(describe(frame)) runs past the largest offset a log reaches (\(SegmentFormat.offsetLimit - 1))"
                    )
                }
                guard frame.count > 0, RecordFraming.countRecords(in: payload) == Int(frame.count) else {
                    return damage(
                        position,
                        "frame for offsets \(describe(frame)) does not hold \(frame.count) well-formed records")
                }
                if verifySeal { scan.fileChecksum = CRC32C.checksum(frameBytes, seed: scan.fileChecksum) }
                let start = position
                position += Int64(frame.frameSize)
                scan.validEnd = position
                scan.nextOffset += UInt64(frame.count)
                let keepGoing = try visit(
                    Frame(
                        firstOffset: frame.firstOffset, count: Int(frame.count), payload: payload,
                        position: start))
                if !keepGoing { return scan }
            }
        }
        return scan
    }

    private func describe(_ frame: SegmentFormat.FrameHeader) -> String {
        // A damaged header may declare any offset and count: the last offset is worked out without trapping.
        frame.count == 0
            ? "\(frame.firstOffset)" : "\(frame.firstOffset)-\(frame.firstOffset &+ (UInt64(frame.count) &- 1))"
    }
}
