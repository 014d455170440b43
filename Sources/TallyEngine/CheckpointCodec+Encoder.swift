import TallyCore

// Writing a checkpoint: the projections and the dedup index encoded a part at a time.

extension CheckpointCodec {
    /// The whole checkpoint of `state` and `dedup`, built in memory (``CheckpointStore/write(_:dedup:dedupWindowMicroseconds:logSalt:keep:)``;
    /// a checkpoint beside ingest is streamed through ``Encoder`` instead).
    static func encode(
        _ state: ProjectionState, dedup: DedupIndex,
        dedupWindowMicroseconds: Int64 = EngineConfiguration().backdateLimitMicroseconds,
        logSalt: UInt32 = 0
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize)
        func keep(_ part: UnsafeRawBufferPointer) { bytes.append(contentsOf: part.assumingMemoryBound(to: UInt8.self)) }
        var encoder = Encoder(
            nextOffset: state.nextOffset, tenantCount: state.tenants.count,
            dedupWindowMicroseconds: dedupWindowMicroseconds, logSalt: logSalt)
        for (tenant, projection) in state.tenants {
            encoder.append(tenant, projection)
            if encoder.wantsFlush { encoder.flush(to: keep) }
        }
        encoder.beginDedup()
        // Read as a checkpoint beside ingest reads the live index, a part at a time (a pin writes no slot,
        // so this copy shares the tables).
        var pinned = dedup
        pinned.pin()
        var cursor = DedupIndex.PinCursor()
        var more = true
        while more {
            let slots = min(Encoder.entriesPerPart, pinned.pinnedSlotsLeft(after: cursor))
            encoder.appendEntries(upTo: slots) { add in more = pinned.readPinned(&cursor, limit: slots, add) }
            if encoder.wantsFlush { encoder.flush(to: keep) }
        }
        let header = encoder.finish(to: keep)
        bytes.withUnsafeMutableBytes { buffer in
            header.withUnsafeBytes { buffer.baseAddress?.copyMemory(from: $0.baseAddress!, byteCount: headerSize) }
        }
        return bytes
    }

    /// Encodes a checkpoint a part at a time: the tenants (exactly the count given), then the dedup entries,
    /// then ``finish(to:)``, which returns the header. The payload is handed on in order, through
    /// ``flush(to:)`` whenever ``wantsFlush`` and at the end, so a checkpoint beside ingest is written to
    /// its file as it is encoded, from state read under short holds of the engine's locks: neither the
    /// state nor the file's bytes are ever held whole.
    struct Encoder {
        /// Payload bytes not yet handed on.
        var pending = BinaryWriter()
        let nextOffset: UInt64
        let tenantCount: Int
        let dedupWindowMicroseconds: Int64
        let logSalt: UInt32
        var tenantsWritten = 0
        var inDedup = false
        var dedupCount: UInt64 = 0
        var payloadLength: UInt64 = 0
        var payloadChecksum: UInt32 = 0

        /// Entries a caller should pass to ``appendEntries(upTo:_:)`` at most at once (688 KB).
        static let entriesPerPart = 32_768
        /// Bytes gathered before ``wantsFlush``.
        static let flushThreshold = 1 << 20

        /// - Parameter logSalt: The salt of the segment holding the last event covered (0 for none).
        init(nextOffset: UInt64, tenantCount: Int, dedupWindowMicroseconds: Int64, logSalt: UInt32) {
            self.nextOffset = nextOffset
            self.tenantCount = tenantCount
            self.dedupWindowMicroseconds = dedupWindowMicroseconds
            self.logSalt = logSalt
            pending.bytes.reserveCapacity(Encoder.flushThreshold + Encoder.entriesPerPart * dedupEntrySize)
            pending.writeVarint(UInt64(tenantCount))
        }

        mutating func append(_ tenant: TenantID, _ projection: TenantProjection) {
            precondition(tenantsWritten < tenantCount && !inDedup, "tenants out of order in a checkpoint")
            pending.writeUInt64(tenant.high)
            pending.writeUInt64(tenant.low)
            CheckpointCodec.encode(projection, into: &pending)
            tenantsWritten += 1
        }

        /// Ends the tenants and starts the dedup entries.
        mutating func beginDedup() {
            precondition(
                tenantsWritten == tenantCount && !inDedup, "a checkpoint needs every tenant before the dedup entries")
            inDedup = true
        }

        /// Appends the entries `fill` passes to the function it is given, at most `maximum` of them: built
        /// in a scratch buffer and appended in one copy (millions of entries: five appends each would cost
        /// more than the checkpoint's write). Never hands bytes on, so it may run under a lock.
        mutating func appendEntries(upTo maximum: Int, _ fill: ((IdentityHash, DedupIndex.Entry) -> Void) -> Void) {
            precondition(inDedup, "dedup entries before beginDedup()")
            var written = 0
            withUnsafeTemporaryAllocation(byteCount: max(1, maximum * dedupEntrySize), alignment: 8) { buffer in
                var position = 0
                fill { key, entry in
                    precondition(written < maximum, "more dedup entries than announced")
                    buffer.storeBytes(of: key.value.littleEndian, toByteOffset: position, as: UInt64.self)
                    buffer.storeBytes(of: entry.offset.littleEndian, toByteOffset: position + 8, as: UInt64.self)
                    buffer.storeBytes(of: entry.hour.littleEndian, toByteOffset: position + 16, as: UInt32.self)
                    buffer[position + 20] = entry.flags
                    position += dedupEntrySize
                    written += 1
                }
                // Typed, so the append is one copy rather than a byte-by-byte loop.
                pending.bytes.append(
                    contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<position]).assumingMemoryBound(
                        to: UInt8.self))
            }
            dedupCount += UInt64(written)
        }

        /// Whether enough payload is gathered to hand it on.
        var wantsFlush: Bool { pending.bytes.count >= Encoder.flushThreshold }

        /// Hands the gathered payload to `sink` (which gets the payload's parts in order) and forgets it.
        mutating func flush<Failure: Error>(to sink: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
            guard !pending.bytes.isEmpty else { return }
            payloadLength += UInt64(pending.bytes.count)
            payloadChecksum = pending.bytes.withUnsafeBytes { CRC32C.checksum($0, seed: payloadChecksum) }
            // (`withUnsafeBytes` rethrows untyped errors: the result carries the typed one out.)
            let result = pending.bytes.withUnsafeBytes { part -> Result<Void, Failure> in
                do throws(Failure) { try sink(part) } catch { return .failure(error) }
                return .success(())
            }
            try result.get()
            pending.bytes.removeAll(keepingCapacity: true)
        }

        /// Ends the payload (the dedup count goes last), hands the rest of it to `sink`, and returns the
        /// header, which goes in front of the payload.
        mutating func finish<Failure: Error>(to sink: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure)
            -> [UInt8]
        {
            if !inDedup { beginDedup() }
            pending.writeUInt64(dedupCount)
            try flush(to: sink)
            var header = BinaryWriter()
            header.bytes.append(contentsOf: magic)
            header.writeUInt32(projectionVersion)
            header.writeUInt64(nextOffset)
            header.writeUInt64(payloadLength)
            header.writeUInt32(payloadChecksum)
            header.writeInt64(dedupWindowMicroseconds)
            header.writeUInt32(logSalt)
            header.writeUInt32(CRC32C.checksum(header.bytes))
            return header.bytes
        }
    }
}
