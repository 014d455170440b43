// Reading one damaged segment: its header and salt, each frame checked, and the next valid frame after damage.

extension StoreSalvager {
    /// Copies the valid frames of one segment file (`bytes`, named `file`, whose name says it starts at
    /// `firstOffset`) into `output`, in order, and notes in `report` each region it cannot copy.
    func copy(
        _ bytes: [UInt8], file: String, firstOffset: UInt64, isLast: Bool, into output: SegmentStore,
        report: inout Report, walk: inout Walk
    ) throws(StorageError) {
        let size = Int64(bytes.count)
        // A damaged header need not cost the segment: if the salt it holds checks the frame after it, the salt
        // is sound (a wrong one matches a frame's CRC-32C about once in 2^32), and so are the frames. Then only
        // the header is listed; otherwise the whole file is, since none of its frames can be checked.
        func confirmedSalt(despite problem: String) -> UInt32? {
            guard let confirmed = Self.saltConfirmedByFrames(bytes) else {
                walk.lose(
                    &report,
                    Loss(
                        file: file, bytes: 0..<size, offsets: nil,
                        reason: "\(problem), so its frames cannot be checked",
                        isTornTail: false))
                return nil
            }
            walk.lose(
                &report,
                Loss(
                    file: file, bytes: 0..<Int64(SegmentFormat.headerSize), offsets: nil,
                    reason: "\(problem); its salt still checks its frames", isTornTail: false))
            return confirmed
        }
        let salt: UInt32
        let header: Result<SegmentFormat.Header, SegmentFormat.HeaderProblem>? =
            bytes.count >= SegmentFormat.headerSize
            ? bytes.withUnsafeBytes {
                SegmentFormat.decodeHeader(UnsafeRawBufferPointer(rebasing: $0[..<SegmentFormat.headerSize]))
            }
            : nil
        switch header {
        case .success(let decoded)? where decoded.firstOffset == firstOffset:
            salt = decoded.salt
        case .success(let decoded)?:
            guard
                let confirmed = confirmedSalt(
                    despite: "the header says offset \(decoded.firstOffset) but the name says \(firstOffset)")
            else { return }
            salt = confirmed
        case .failure(let problem)?:
            guard let confirmed = confirmedSalt(despite: "the segment header: \(problem.description)") else { return }
            salt = confirmed
        case nil:
            walk.lose(
                &report,
                Loss(
                    file: file, bytes: 0..<size, offsets: nil,
                    reason: "the segment header is truncated (\(size) bytes)", isTornTail: false))
            return
        }
        var position = SegmentFormat.headerSize
        var batches: [RecordBatch] = []
        bytes.withUnsafeBytes { raw in
            while position < bytes.count {
                guard let frame = Self.validFrame(raw, at: position, salt: salt) else {
                    // Each damaged region of the last segment is judged by the frames after it, as open judges
                    // the first (open refuses the whole log at any other).
                    if isLast, let torn = interruptedWrite(raw, at: position, salt: salt, walk: walk) {
                        // Open truncates it, whole frames of the same write included: none was acknowledged
                        // under durability `always` (under `interval` or `never`, answered batches may be).
                        walk.lose(
                            &report,
                            Loss(
                                file: file, bytes: Int64(position)..<size, offsets: nil, reason: torn,
                                isTornTail: true))
                        break
                    }
                    let next = Self.nextValidFrame(raw, after: position, salt: salt)
                    walk.lose(
                        &report,
                        Loss(
                            file: file, bytes: Int64(position)..<Int64(next ?? bytes.count), offsets: nil,
                            reason: Self.problem(raw, at: position, salt: salt), isTornTail: false))
                    guard let next else { break }
                    position = next
                    continue
                }
                let payload = UnsafeRawBufferPointer(
                    rebasing: raw[(position + SegmentFormat.frameHeaderSize)..<(position + frame.frameSize)])
                if frame.kind == .data {
                    let (end, overflows) = frame.firstOffset.addingReportingOverflow(UInt64(frame.count))
                    if overflows {
                        // No log reaches such offsets: the frame's header checks out but was not written by Tally.
                        report.losses.append(
                            Loss(
                                file: file, bytes: Int64(position)..<Int64(position + frame.frameSize),
                                offsets: frame.firstOffset..<UInt64.max,
                                reason: "a valid frame whose offsets run past the largest offset, skipped",
                                isTornTail: false))
                    } else if frame.firstOffset < walk.expected {
                        // Offsets already copied (or passed): keeping them would break the order of the log.
                        let range = frame.firstOffset..<end
                        report.losses.append(
                            Loss(
                                file: file, bytes: Int64(position)..<Int64(position + frame.frameSize), offsets: range,
                                reason: "a valid frame repeating or going back to earlier offsets, skipped",
                                isTornTail: false))
                    } else {
                        walk.resume(at: frame.firstOffset, &report, file: file, byte: Int64(position))
                        // Frames are merged up to `frameBytes`: each batch is synced before the next is
                        // written (see `copyAll`), and fewer, larger ones cost fewer syncs.
                        if batches.last.map({ $0.payload.count + payload.count > frameBytes }) ?? true {
                            batches.append(RecordBatch(reservingCapacity: min(payload.count, frameBytes)))
                        }
                        RecordFraming.forEachRecord(in: payload) { _, record in
                            batches[batches.count - 1].append(record)
                            return true
                        }
                        walk.expected = end
                        report.framesCopied += 1
                        report.recordsCopied += UInt64(frame.count)
                    }
                } else if walk.open != nil, frame.firstOffset >= walk.expected,
                    frame.firstOffset <= SegmentFormat.offsetLimit
                {
                    // A seal says where its segment's offsets end: damage before it lost the offsets up to there
                    // (and its frames were synced before it was written, so that damage is no torn tail).
                    walk.resume(at: frame.firstOffset, &report, file: file, byte: Int64(position))
                }
                position += frame.frameSize
            }
        }
        try Self.writingTheCopy(of: output) { () throws(StorageError) in
            for batch in batches { try output.append(batch) }
        }
    }

    /// Why the damage at `position` of the log's last segment is an interrupted write that open would
    /// truncate (see ``DamagedTail``), or `nil` when it is not one, or when a checkpoint covers the offsets it
    /// should hold (they were acknowledged).
    func interruptedWrite(_ bytes: UnsafeRawBufferPointer, at position: Int, salt: UInt32, walk: Walk)
        -> String?
    {
        guard walk.expected >= acknowledgedOffset else { return nil }
        let tail = DamagedTail(
            scanning: UnsafeRawBufferPointer(rebasing: bytes[position...]), from: Int64(position),
            expectedOffset: walk.expected, salt: salt)
        guard tail.isInterruptedWrite else { return nil }
        guard let whole = tail.firstValidFrame else { return Self.problem(bytes, at: position, salt: salt) }
        return
            "an interrupted group write: whole frames of the same unsynced write follow the torn one from byte \(whole), and are not copied, as open drops them too"
    }

    /// The salt a damaged header still holds, when the frame right after the header checks out with it.
    static func saltConfirmedByFrames(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count >= SegmentFormat.headerSize + SegmentFormat.frameHeaderSize else { return nil }
        return bytes.withUnsafeBytes { raw -> UInt32? in
            let salt = raw.loadUnaligned(fromByteOffset: SegmentFormat.saltByteOffset, as: UInt32.self).littleEndian
            return validFrame(raw, at: SegmentFormat.headerSize, salt: salt) != nil ? salt : nil
        }
    }

    /// The frame at `position` if its header, checksum and record framing all hold.
    static func validFrame(_ bytes: UnsafeRawBufferPointer, at position: Int, salt: UInt32) -> SegmentFormat
        .FrameHeader?
    {
        guard let header = SegmentFormat.checkedFrame(in: bytes, at: position, salt: salt) else { return nil }
        if header.kind == .data {
            let payload = UnsafeRawBufferPointer(
                rebasing: bytes[(position + SegmentFormat.frameHeaderSize)..<(position + header.frameSize)])
            guard header.count > 0, RecordFraming.countRecords(in: payload) == Int(header.count) else { return nil }
        }
        return header
    }

    /// The start of the next valid frame after `position`, if any.
    static func nextValidFrame(_ bytes: UnsafeRawBufferPointer, after position: Int, salt: UInt32) -> Int? {
        var candidate = position + 1
        while candidate + SegmentFormat.frameHeaderSize <= bytes.count {
            if validFrame(bytes, at: candidate, salt: salt) != nil { return candidate }
            candidate += 1
        }
        return nil
    }

    /// Why the frame at `position` is not valid.
    static func problem(_ bytes: UnsafeRawBufferPointer, at position: Int, salt: UInt32) -> String {
        guard bytes.count - position >= SegmentFormat.frameHeaderSize else {
            return "a truncated frame header (\(bytes.count - position) bytes)"
        }
        let header = SegmentFormat.decodeFrameHeader(UnsafeRawBufferPointer(rebasing: bytes[position...]))
        guard header.kind != nil else { return "an unknown frame kind \(header.rawKind)" }
        guard header.payloadLength <= SegmentFormat.maxFramePayload else { return "a frame length beyond the cap" }
        guard header.frameSize <= bytes.count - position else {
            return "a truncated frame (\(header.frameSize) bytes declared, \(bytes.count - position) left)"
        }
        let frame = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + header.frameSize)])
        guard SegmentFormat.frameChecksum(frame, salt: salt) == header.checksum else { return "a checksum mismatch" }
        return "a frame whose records are malformed"
    }
}
