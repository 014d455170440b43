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
    public func forEachRecord(from start: UInt64 = 0, to end: UInt64? = nil,
                              _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool) throws {
        let snapshot = state
        let stop = min(end ?? snapshot.nextOffset, snapshot.nextOffset)
        guard start < stop else { return }
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
        for segment in snapshot.segments where segment.nextOffset > start && segment.firstOffset < stop {
            var finished = false
            let path = segmentsDirectory + "/" + segment.fileName
            let scan = try scanner.scan(path: path, expectedFirstOffset: segment.firstOffset,
                                        limit: segment.readableBytes, verifySeal: false) { frame in
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
                throw StorageError(.corrupt,
                    "segment \(segment.fileName): \(damage.reason) at byte \(damage.byteOffset) while reading; run `tally verify` for a full report",
                    path: path, byteOffset: damage.byteOffset)
            }
        }
    }

    /// Calls `body` with every acknowledged event in `[start, end)`, decoded, in offset order.
    /// - Parameters:
    ///   - start: The first offset to visit.
    ///   - end: One past the last offset to visit; `nil` for the end of the log.
    ///   - body: Receives each stored event; return `false` to stop.
    /// - Throws: ``StorageError`` as ``forEachRecord(from:to:_:)`` does, ``StorageError/undecodable(at:_:)``
    ///   (code `corrupt`) for a record that does not decode, or what `body` throws.
    public func forEachEvent(from start: UInt64 = 0, to end: UInt64? = nil,
                             _ body: (StoredEvent) throws -> Bool) throws {
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
