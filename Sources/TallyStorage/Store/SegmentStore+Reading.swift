import TallyCore

extension SegmentStore {
    /// Calls `body` with every acknowledged record in `[start, end)`, in offset order, across segments.
    ///
    /// Reads are large and sequential, every frame's checksum is checked, and the set of records is the
    /// acknowledged log at the moment of the call (appends that land during the iteration are not seen).
    /// - Parameters:
    ///   - start: The first offset to visit.
    ///   - end: One past the last offset to visit; `nil` for the end of the log.
    ///   - body: Receives each record's offset and bytes (valid only during the call); return `false` to stop.
    /// - Throws: ``StorageError/Code/corrupt`` if stored bytes changed since they were checked, or what
    ///   `body` throws.
    public func forEachRecord(
        from start: UInt64 = 0, to end: UInt64? = nil,
        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        let snapshot = state
        let stop = min(end ?? snapshot.nextOffset, snapshot.nextOffset)
        guard start < stop else { return }
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
        for segment in snapshot.segments where segment.nextOffset > start && segment.firstOffset < stop {
            var finished = false
            let path = segmentsDirectory + "/" + segment.fileName
            let scan = try scanner.scan(
                path: path, expectedFirstOffset: segment.firstOffset,
                limit: segment.readableBytes, verifySeal: false
            ) { frame in
                let frameEnd = frame.firstOffset + UInt64(frame.count)
                if frameEnd <= start { return true }
                let keepGoing = try RecordFraming.forEachRecord(in: frame.payload) { index, record in
                    let offset = frame.firstOffset + UInt64(index)
                    if offset < start { return true }
                    if offset >= stop { return false }
                    return try body(offset, record)
                }
                if !keepGoing || frameEnd >= stop {
                    finished = true
                    return false
                }
                return true
            }
            if finished { return }
            if let damage = scan.damage, scan.validEnd < segment.readableBytes {
                throw StorageError(
                    .corrupt,
                    "segment \(segment.fileName): \(damage.reason) at byte \(damage.byteOffset) while reading; run `tally verify` for a full report",
                    path: path, byteOffset: damage.byteOffset)
            }
        }
    }

    /// The salt of the segment holding `offset` (segment salts are random, so it tells one log from
    /// another), or `nil` when no segment holds it or its header cannot be read.
    package func salt(ofSegmentHolding offset: UInt64) -> UInt32? {
        guard let segment = state.segments.last(where: { $0.firstOffset <= offset }), offset < segment.nextOffset,
            let file = try? fileSystem.open(segmentsDirectory + "/" + segment.fileName, mode: .readOnly)
        else { return nil }
        defer { fileSystem.close(file) }
        var header = [UInt8](repeating: 0, count: SegmentFormat.headerSize)
        let read = header.withUnsafeMutableBytes { (try? fileSystem.readFully(file, into: $0, at: 0)) ?? 0 }
        guard read == SegmentFormat.headerSize,
            case .success(let decoded) = header.withUnsafeBytes({ SegmentFormat.decodeHeader($0) })
        else { return nil }
        return decoded.salt
    }

    /// Bytes between the frame boundaries ``event(at:)`` remembers: a lookup reads at most about this much
    /// before the frame it wants, once its segment has been looked into.
    static let frameIndexSpacing: Int64 = 256 << 10

    /// The acknowledged event at `offset`, or `nil` when the log holds none there.
    ///
    /// The first lookup into a segment reads it from its start up to the event's frame, checking every
    /// checksum on the way, and remembers a frame boundary every 256 KiB; later lookups start at the nearest
    /// boundary before their offset. (A void's target is found this way.)
    /// - Throws: ``StorageError/Code/corrupt`` when the bytes on the way are damaged, or the record does not
    ///   decode.
    public func event(at offset: UInt64) throws -> StoredEvent? {
        let snapshot = state
        guard offset < snapshot.nextOffset,
            let segment = snapshot.segments.last(where: { $0.firstOffset <= offset }), offset < segment.nextOffset
        else { return nil }
        let resume = frameIndex.withLock { $0[segment.fileName]?.last { $0.nextOffset <= offset } }
        let path = segmentsDirectory + "/" + segment.fileName
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
        var found: StoredEvent?
        var decodeFailure: CodecError?
        var seen: [SegmentScanner.Resume] = []
        var lastRemembered = resume?.position ?? 0
        var frames = 0
        let scan = try scanner.scan(
            path: path, expectedFirstOffset: segment.firstOffset, limit: segment.readableBytes,
            verifySeal: false, resume: resume
        ) { frame in
            frames += 1
            if frame.position - lastRemembered >= SegmentStore.frameIndexSpacing {
                seen.append(SegmentScanner.Resume(position: frame.position, nextOffset: frame.firstOffset))
                lastRemembered = frame.position
            }
            guard offset < frame.firstOffset + UInt64(frame.count) else { return true }
            let wanted = Int(offset - frame.firstOffset)
            RecordFraming.forEachRecord(in: frame.payload) { index, record in
                guard index == wanted else { return true }
                do throws(CodecError) {
                    found = try EventCodec.decodeStored(record, offset: offset)
                } catch {
                    decodeFailure = error
                }
                return false
            }
            return false
        }
        framesReadByLookups.wrappingAdd(frames, ordering: .relaxed)
        if !seen.isEmpty {
            frameIndex.withLock { index in
                var entries = index[segment.fileName, default: []] + seen
                entries.sort { $0.position < $1.position }
                var unique: [SegmentScanner.Resume] = []
                for entry in entries where unique.last?.position != entry.position { unique.append(entry) }
                index[segment.fileName] = unique
            }
        }
        if let decodeFailure { throw StorageError.undecodable(at: offset, decodeFailure.reason) }
        if found == nil, let damage = scan.damage {
            throw StorageError(
                .corrupt,
                "segment \(segment.fileName): \(damage.reason) at byte \(damage.byteOffset) while reading; run `tally verify` for a full report",
                path: path, byteOffset: damage.byteOffset)
        }
        return found
    }

    /// Calls `body` with every acknowledged event in `[start, end)`, decoded, in offset order.
    /// - Parameters:
    ///   - start: The first offset to visit.
    ///   - end: One past the last offset to visit; `nil` for the end of the log.
    ///   - body: Receives each stored event; return `false` to stop.
    /// - Throws: ``StorageError`` as ``forEachRecord(from:to:_:)`` does, ``StorageError/undecodable(at:_:)``
    ///   (code `corrupt`) for a record that does not decode, or what `body` throws.
    public func forEachEvent(
        from start: UInt64 = 0, to end: UInt64? = nil,
        _ body: (StoredEvent) throws -> Bool
    ) throws {
        try forEachRecord(from: start, to: end) { offset, record in
            let decoded: StoredEvent
            do throws(CodecError) {
                decoded = try EventCodec.decodeStored(record, offset: offset)
            } catch {
                throw StorageError.undecodable(at: offset, error.reason)
            }
            return try body(decoded)
        }
    }
}
