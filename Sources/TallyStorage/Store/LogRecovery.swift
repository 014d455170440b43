import TallyCore

/// Opens the segments of a store: checks them, truncates a torn tail, and refuses any other damage.
///
/// A torn tail is a damaged region that runs to the end of the last segment and reads as one interrupted
/// write (see ``DamagedTail``): no larger than the largest frame with no valid frame in it, or followed only
/// by whole frames of the same unsynced group write. Damage among the
/// records the newest checkpoint covers is never one (``StoreConfiguration/acknowledgedOffset``). Everything else (a bad frame
/// followed by good ones, a bad byte in a sealed segment, a gap in offsets, a missing segment) is an error
/// naming the file and byte, and nothing is skipped.
struct LogRecovery {
    let fileSystem: any FileSystem
    let segmentsDirectory: String
    let configuration: StoreConfiguration
    /// When `true`, nothing on disk is changed: a torn tail is left in place and simply not read.
    let readOnly: Bool

    /// What recovery found.
    struct Recovered {
        var segments: [SegmentEntry]
        var nextOffset: UInt64
        /// The unsealed last segment, positioned for appends (write mode only).
        var active: ActiveSegment?
        /// The ingest time of the last record of the last segment, read while that segment is scanned; `nil`
        /// when it holds none (a fresh log, or a segment just started after a roll).
        var lastIngestTime: Timestamp?
        /// The bytes cut off (or, read-only, left unread) at the log's end as a torn tail; 0 when none.
        var tornTailBytes: Int64 = 0
    }

    func recover() throws(StorageError) -> Recovered {
        let names = try segmentFileNames()
        var entries: [SegmentEntry] = []
        var nextOffset: UInt64 = 0
        var active: ActiveSegment?
        var lastIngestTime: Timestamp?
        var tornTailBytes: Int64 = 0
        for (index, item) in names.enumerated() {
            let isLast = index == names.count - 1
            let path = segmentsDirectory + "/" + item.name
            guard item.firstOffset == nextOffset else {
                let message =
                    index == 0
                    ? "segment \(item.name): the log starts at offset \(item.firstOffset), not 0: earlier segments are missing"
                    : "segment \(item.name): starts at offset \(item.firstOffset) but the previous segment ends at \(nextOffset): a segment is missing or overlaps"
                throw StorageError(
                    .corrupt, message + "; run `tally verify` for a full report", path: path, byteOffset: 0)
            }
            if !isLast, let entry = try trustedSealedSegment(name: item.name, path: path, firstOffset: item.firstOffset)
            {
                entries.append(entry)
                nextOffset = entry.nextOffset
                continue
            }
            let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
            let scan: SegmentScan
            do {
                scan = try scanner.scan(path: path, expectedFirstOffset: item.firstOffset) { frame in
                    // Only the last segment's last record matters; its header is read as the frames pass.
                    guard isLast else { return true }
                    var last: UnsafeRawBufferPointer?
                    RecordFraming.forEachRecord(in: frame.payload) { _, record in
                        last = record
                        return true
                    }
                    // A record that does not decode leaves it unknown (then the engine reads it, and fails loudly).
                    lastIngestTime = last.flatMap { try? EventCodec.decodeHeader($0).ingestTime }
                    return true
                }
            } catch let error as StorageError {
                throw error
            } catch {
                throw StorageError(.io, "segment \(item.name): \(error)", path: path)
            }
            if let damage = scan.damage {
                guard isLast else { throw corrupt(item.name, path, damage) }
                // Records a checkpoint covers were acknowledged: damage among them is never an interrupted write.
                guard damage.expectedOffset >= configuration.acknowledgedOffset else {
                    throw StorageError(
                        .corrupt,
                        "segment \(item.name): \(damage.reason) at byte \(damage.byteOffset), where offset \(damage.expectedOffset) should start; a checkpoint covers \(configuration.acknowledgedOffset) events, so acknowledged records are damaged (not an interrupted write); run `tally verify`, then `tally salvage --out DIR` to copy what is readable",
                        path: path, byteOffset: damage.byteOffset)
                }
                if scan.header == nil {
                    // A crash while creating the segment: its header never became durable.
                    guard scan.fileSize <= Int64(SegmentFormat.headerSize) else {
                        throw corrupt(item.name, path, damage)
                    }
                    if readOnly {
                        configuration.log(
                            "segment \(item.name): ignoring a segment whose header was never completed (\(scan.fileSize) bytes; read-only; the next writer removes it)"
                        )
                    } else {
                        configuration.log(
                            "segment \(item.name): removing a segment whose header was never completed (\(scan.fileSize) bytes)"
                        )
                        try fileSystem.remove(path)
                        try fileSystem.syncDirectory(segmentsDirectory)
                    }
                    continue
                }
                let tail = try checkTornTail(name: item.name, path: path, scan: scan, damage: damage)
                let dropped = scan.fileSize - damage.byteOffset
                tornTailBytes = dropped
                // Frames of the interrupted write that reached the disk whole, after a torn one.
                let group =
                    tail.firstValidFrame.map {
                        ", an interrupted group write: whole frames of the same unsynced write follow the torn one from byte \($0)"
                    } ?? ""
                if readOnly {
                    configuration.log(
                        "segment \(item.name): ignoring \(dropped) bytes of torn tail at byte \(damage.byteOffset)\(group) (read-only; the next writer truncates it)"
                    )
                } else {
                    let file = try fileSystem.open(path, mode: .readWrite)
                    defer { fileSystem.close(file) }
                    try fileSystem.truncate(file, to: damage.byteOffset)
                    try fileSystem.sync(file, dataOnly: false)
                    configuration.log(
                        "segment \(item.name): dropped \(dropped) bytes of torn tail at byte \(damage.byteOffset)\(group) (taken for an interrupted write: under `always` it holds no acknowledged batch unless the disk lost bytes it had confirmed as synced; under `interval` or `never`, batches answered since the last sync may have been in it)"
                    )
                }
            } else if !isLast, !scan.sealed {
                throw StorageError(
                    .corrupt,
                    "segment \(item.name): not sealed, yet followed by another segment; run `tally verify` for a full report",
                    path: path, byteOffset: scan.validEnd)
            }
            let entry = SegmentEntry(
                firstOffset: item.firstOffset, fileName: item.name, readableBytes: scan.validEnd,
                nextOffset: scan.nextOffset, sealed: scan.sealed)
            entries.append(entry)
            nextOffset = scan.nextOffset
            if isLast, !readOnly {
                // What the previous process wrote but never synced is still in the page cache: it scans as
                // valid and is about to be replayed, deduplicated against and checkpointed as if durable.
                // One sync now makes it so, before this process acknowledges anything on its strength.
                let file = try fileSystem.open(path, mode: .readWrite)
                do {
                    try fileSystem.sync(file, dataOnly: true)
                    try fileSystem.syncDirectory(segmentsDirectory)
                } catch {
                    fileSystem.close(file)
                    throw error
                }
                if !scan.sealed, let header = scan.header {
                    active = ActiveSegment(
                        file: file, fileName: item.name, firstOffset: item.firstOffset, salt: header.salt,
                        size: scan.validEnd, fileChecksum: scan.fileChecksum, writtenBack: scan.validEnd,
                        marksUnsyncedRecords: header.version >= 2)
                } else {
                    fileSystem.close(file)
                }
            }
        }
        guard nextOffset >= configuration.acknowledgedOffset else {
            if let active { fileSystem.close(active.file) }
            throw StorageError(
                .corrupt,
                "the log ends at offset \(nextOffset) but a checkpoint covers \(configuration.acknowledgedOffset) events: acknowledged log data is missing; run `tally verify`, then `tally salvage --out DIR` to copy what is left",
                path: segmentsDirectory)
        }
        return Recovered(
            segments: entries, nextOffset: nextOffset, active: active, lastIngestTime: lastIngestTime,
            tornTailBytes: tornTailBytes)
    }

    /// The segment files, sorted by first offset.
    func segmentFileNames() throws(StorageError) -> [(name: String, firstOffset: UInt64)] {
        guard fileSystem.exists(segmentsDirectory) else { return [] }
        var found: [(name: String, firstOffset: UInt64)] = []
        for name in try fileSystem.contentsOfDirectory(segmentsDirectory) {
            if let offset = SegmentFormat.firstOffset(fromFileName: name) {
                guard !fileSystem.isDanglingLink(segmentsDirectory + "/" + name) else {
                    throw .danglingLink("segments/\(name)", path: segmentsDirectory + "/" + name)
                }
                guard !fileSystem.isDirectory(segmentsDirectory + "/" + name) else {
                    throw StorageError(
                        .corrupt, "segments/\(name): a directory, not a segment file; move it out of segments/",
                        path: segmentsDirectory + "/" + name)
                }
                found.append((name, offset))
            } else if name.hasSuffix(".seg") {
                throw StorageError(
                    .corrupt, "segments/\(name): not a valid segment name (want 20 digits and .seg)",
                    path: segmentsDirectory + "/" + name)
            }
        }
        return found.sorted { $0.firstOffset < $1.firstOffset }
    }

    /// Checks a sealed segment by its header and seal frame only, when it lies wholly before
    /// ``StoreConfiguration/fullyVerifyFromOffset``. Returns `nil` when it must be scanned in full.
    private func trustedSealedSegment(name: String, path: String, firstOffset: UInt64) throws(StorageError)
        -> SegmentEntry?
    {
        guard configuration.fullyVerifyFromOffset > firstOffset else { return nil }
        let file = try fileSystem.open(path, mode: .readOnly)
        defer { fileSystem.close(file) }
        let size = try fileSystem.size(file)
        guard size >= Int64(SegmentFormat.headerSize + SegmentFormat.sealFrameSize) else { return nil }
        var header = [UInt8](repeating: 0, count: SegmentFormat.headerSize)
        var seal = [UInt8](repeating: 0, count: SegmentFormat.sealFrameSize)
        _ = try header.withMutableBytes { buffer throws(StorageError) in
            try fileSystem.readFully(file, into: buffer, at: 0)
        }
        _ = try seal.withMutableBytes { buffer throws(StorageError) in
            try fileSystem.readFully(file, into: buffer, at: size - Int64(SegmentFormat.sealFrameSize))
        }
        return header.withUnsafeBytes { headerBytes -> SegmentEntry? in
            guard case .success(let decoded) = SegmentFormat.decodeHeader(headerBytes),
                decoded.firstOffset == firstOffset
            else { return nil }
            return seal.withUnsafeBytes { sealBytes -> SegmentEntry? in
                let frame = SegmentFormat.decodeFrameHeader(sealBytes)
                guard frame.kind == .seal, Int(frame.payloadLength) == SegmentFormat.sealPayloadSize,
                    SegmentFormat.frameChecksum(sealBytes, salt: decoded.salt) == frame.checksum,
                    frame.firstOffset > firstOffset, frame.firstOffset <= SegmentFormat.offsetLimit,
                    frame.firstOffset <= configuration.fullyVerifyFromOffset
                else { return nil }
                return SegmentEntry(
                    firstOffset: firstOffset, fileName: name, readableBytes: size,
                    nextOffset: frame.firstOffset, sealed: true)
            }
        }
    }

    /// Throws unless the damage in the last segment is an interrupted write (see ``DamagedTail``).
    /// - Returns: What lies after the damage.
    private func checkTornTail(name: String, path: String, scan: SegmentScan, damage: SegmentDamage)
        throws(StorageError) -> DamagedTail
    {
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
        let tail = try scanner.damagedTail(
            path: path, damage: damage, before: scan.fileSize, salt: scan.header?.salt ?? 0)
        if var reason = tail.reasonNotInterrupted {
            if let header = scan.header, header.version < 2, let after = tail.firstFrameAfterSync {
                // A version 1 frame records no sync, so it cannot show when it was written.
                reason =
                    "followed by a valid frame at byte \(after) (a segment of format version \(header.version) does not record which frames one write held, so an interrupted group write cannot be told from damage to synced data; `tally salvage --out DIR` copies every valid frame)"
            }
            throw StorageError(
                .corrupt,
                "segment \(name): \(damage.reason) at byte \(damage.byteOffset), \(reason), so it is not an interrupted write; refusing to drop it; run `tally verify` for a full report",
                path: path, byteOffset: damage.byteOffset)
        }
        return tail
    }

    private func corrupt(_ name: String, _ path: String, _ damage: SegmentDamage) -> StorageError {
        StorageError(
            .corrupt,
            "segment \(name): \(damage.reason) at byte \(damage.byteOffset) (expected offset \(damage.expectedOffset) next); run `tally verify` for a full report",
            path: path, byteOffset: damage.byteOffset)
    }
}
