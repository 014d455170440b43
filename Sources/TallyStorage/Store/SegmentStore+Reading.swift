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
        try events(at: [offset])[offset]
    }

    /// The acknowledged events at `offsets` (in any order, repeats allowed), by offset; an offset the log
    /// holds no event at is left out.
    ///
    /// Each segment is read once in offset order, as ``event(at:)`` reads for one: from the nearest
    /// remembered boundary before the first wanted offset, then on through the frames, every wanted record
    /// in a frame decoded as it passes. A remembered boundary more than 256 KiB ahead of the frame just read
    /// is jumped to. So the targets of a batch of voids cost one pass over the stretch of log they fall in,
    /// however many there are, rather than up to 256 KiB each. Should a segment's pass fail (damage between
    /// two wanted records, say), that segment's wanted records are read one by one, so the call fails only
    /// where ``event(at:)`` would.
    /// - Parameter offsets: The offsets wanted.
    /// - Returns: The events found, by offset.
    /// - Throws: ``StorageError/Code/corrupt`` when the bytes before a wanted record are damaged, or it does
    ///   not decode.
    public func events(at offsets: [UInt64]) throws -> [UInt64: StoredEvent] {
        let snapshot = state
        var wanted = offsets.filter { $0 < snapshot.nextOffset }
        wanted.sort()
        var found: [UInt64: StoredEvent] = [:]
        var next = 0
        while next < wanted.count {
            guard let segment = snapshot.segments.last(where: { $0.firstOffset <= wanted[next] }) else {
                next += 1
                continue
            }
            var end = next
            while end < wanted.count && wanted[end] < segment.nextOffset { end += 1 }
            if end == next {
                next += 1
                continue
            }
            let group = Array(wanted[next..<end])
            do {
                try read(group, in: segment, into: &found)
            } catch {
                for offset in group where found[offset] == nil { try read([offset], in: segment, into: &found) }
            }
            next = end
        }
        return found
    }

    /// Reads the records at `wanted` (sorted, all within `segment`) into `found`.
    private func read(_ wanted: [UInt64], in segment: SegmentEntry, into found: inout [UInt64: StoredEvent]) throws {
        let path = segmentsDirectory + "/" + segment.fileName
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
        var next = 0
        while next < wanted.count {
            let remembered = frameIndex.withLock { $0[segment.fileName] ?? [] }
            let target = wanted[next]
            let resume = remembered.last { $0.nextOffset <= target }
            var decodeFailure: (offset: UInt64, error: CodecError)?
            var seen: [SegmentScanner.Resume] = []
            var lastRemembered = resume?.position ?? 0
            var frames = 0
            // Set when the scan stops to start again at a remembered boundary further on.
            var jumps = false
            let scan = try scanner.scan(
                path: path, expectedFirstOffset: segment.firstOffset, limit: segment.readableBytes,
                verifySeal: false, resume: resume
            ) { frame in
                frames += 1
                if frame.position - lastRemembered >= SegmentStore.frameIndexSpacing {
                    seen.append(SegmentScanner.Resume(position: frame.position, nextOffset: frame.firstOffset))
                    lastRemembered = frame.position
                }
                let frameEnd = frame.firstOffset + UInt64(frame.count)
                guard wanted[next] < frameEnd else { return true }
                RecordFraming.forEachRecord(in: frame.payload) { index, record in
                    let offset = frame.firstOffset + UInt64(index)
                    guard offset == wanted[next] else { return true }
                    do throws(CodecError) {
                        found[offset] = try EventCodec.decodeStored(record, offset: offset)
                    } catch {
                        decodeFailure = (offset, error)
                        return false
                    }
                    // Repeated offsets were all answered by this record.
                    while next < wanted.count && wanted[next] == offset { next += 1 }
                    return next < wanted.count && wanted[next] < frameEnd
                }
                guard decodeFailure == nil, next < wanted.count else { return false }
                // A remembered boundary well ahead, before the next wanted offset, is quicker to start at.
                if let ahead = remembered.last(where: { $0.nextOffset <= wanted[next] }),
                    ahead.position - frame.position > SegmentStore.frameIndexSpacing
                {
                    jumps = true
                    return false
                }
                return true
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
            if let decodeFailure {
                throw StorageError.undecodable(at: decodeFailure.offset, decodeFailure.error.reason)
            }
            if jumps { continue }
            guard next < wanted.count else { return }
            if let damage = scan.damage {
                throw StorageError(
                    .corrupt,
                    "segment \(segment.fileName): \(damage.reason) at byte \(damage.byteOffset) while reading; run `tally verify` for a full report",
                    path: path, byteOffset: damage.byteOffset)
            }
            // The segment ended before the rest: the log holds no events there.
            return
        }
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
