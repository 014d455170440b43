import TallyCore

/// The binary form of a checkpoint: every projection and the dedup index, as of one log offset.
///
/// File layout: magic `TALLYCKP` | projection version `u32` | next offset `u64` | payload length `u64` |
/// payload CRC32C `u32` | dedup window `i64` (microseconds: the backdate limit the index was kept for) |
/// log salt `u32` (the salt of the segment holding the last event covered, which ties the checkpoint to its
/// log: segment salts are random) | header CRC32C `u32` | payload: tenant count (varint), each tenant's id and
/// projection, the dedup entries (21 bytes each), dedup entry count `u64` (last, so that a checkpoint can be
/// written as it is encoded, its header last of all). A checkpoint whose checksums fail, or whose version
/// differs from ``projectionVersion``, is ignored (with a warning) in favour of an older one or a full replay.
enum CheckpointCodec {
    static let magic: [UInt8] = Array("TALLYCKP".utf8)
    /// Bump whenever the projection rules or this encoding change: older checkpoints are then rebuilt.
    static let projectionVersion: UInt32 = 13
    static let headerSize = 8 + 4 + 8 + 8 + 4 + 8 + 4 + 4

    /// A decoded checkpoint.
    struct Decoded {
        var state: ProjectionState
        var dedup: DedupIndex
        /// The dedup window (backdate limit) the index was kept for: it remembers no id older than that.
        var dedupWindowMicroseconds: Int64
        /// The salt of the segment holding the last event covered (0 when it covers none).
        var logSalt: UInt32
    }

    /// The fields of a checkpoint's header.
    struct Header {
        var nextOffset: UInt64
        var payloadLength: UInt64
        var payloadChecksum: UInt32
        var dedupWindowMicroseconds: Int64
        var logSalt: UInt32
    }

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
        private var pending = BinaryWriter()
        private let nextOffset: UInt64
        private let tenantCount: Int
        private let dedupWindowMicroseconds: Int64
        private let logSalt: UInt32
        private var tenantsWritten = 0
        private var inDedup = false
        private var dedupCount: UInt64 = 0
        private var payloadLength: UInt64 = 0
        private var payloadChecksum: UInt32 = 0

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

    /// Bytes per remembered id: the hash, the offset, the hour and the flags.
    static let dedupEntrySize = 8 + 8 + 4 + 1

    /// Why a checkpoint cannot be used.
    struct Problem: Error, CustomStringConvertible {
        var description: String
        /// Written by another projection version: not damage, just not usable by this build.
        var isOutdated = false
    }

    static func decode(_ bytes: [UInt8]) throws(Problem) -> Decoded {
        let result = bytes.withUnsafeBytes { buffer -> Result<Decoded, Problem> in
            do throws(Problem) { return .success(try decode(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Reads and checks a header: the magic, the header's checksum and the projection version.
    ///
    /// Each earlier version's header is checked with its own layout (version 9's was 4 bytes shorter, without
    /// the log salt; earlier ones 12 bytes shorter, without the dedup window too), so an upgraded store's
    /// checkpoints read as outdated, not damaged, while a damaged version field fails the checksum like any
    /// other damaged byte. A later version's layout is unknown: its header is outdated when this layout's
    /// checksum holds, and otherwise reported as a mismatch that names the version.
    /// - Parameter buffer: At least the header's bytes (the payload is not read).
    static func header(_ buffer: UnsafeRawBufferPointer) throws(Problem) -> Header {
        let (version, header) = try checkedHeader(buffer)
        guard version == projectionVersion else {
            throw Problem(
                description: "written by projection version \(version); this build uses \(projectionVersion)",
                isOutdated: true)
        }
        return header
    }

    /// The header fields a checkpoint vouches for with its header checksum, whatever its version, or `nil`.
    /// Across an upgrade, an outdated checkpoint's offset still bounds the events acknowledged, and its
    /// window the ids the server kept (before version 9 none was recorded: the default backdate limit is
    /// given, as for a store without checkpoints).
    static func vouchedHeader(_ buffer: UnsafeRawBufferPointer) -> Header? {
        do throws(Problem) { return try checkedHeader(buffer).header } catch { return nil }
    }

    /// Bytes of a version 9 header: this layout without the log salt.
    private static let version9HeaderSize = headerSize - 4
    /// Bytes of a header before version 9: no dedup window and no log salt either.
    private static let version8HeaderSize = headerSize - 12

    /// The version and fields of a header whose checksum holds for its version's layout.
    private static func checkedHeader(_ buffer: UnsafeRawBufferPointer) throws(Problem) -> (
        version: UInt32, header: Header
    ) {
        guard buffer.count >= version8HeaderSize, buffer.prefix(8).elementsEqual(magic) else {
            throw Problem(description: "not a checkpoint (bad magic or truncated header)")
        }
        let version = buffer.loadUnaligned(fromByteOffset: magic.count, as: UInt32.self).littleEndian
        let size = version < 9 ? version8HeaderSize : version == 9 ? version9HeaderSize : headerSize
        guard buffer.count >= size else { throw Problem(description: "not a checkpoint (truncated header)") }
        var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[(magic.count + 4)..<size]))
        do {
            let header = Header(
                nextOffset: try reader.readUInt64(), payloadLength: try reader.readUInt64(),
                payloadChecksum: try reader.readUInt32(),
                // Before version 9 no window was recorded: it was the default backdate limit unless the
                // server was started with another.
                dedupWindowMicroseconds: version < 9
                    ? EngineConfiguration().backdateLimitMicroseconds : try reader.readInt64(),
                logSalt: version <= 9 ? 0 : try reader.readUInt32())
            let headerChecksum = try reader.readUInt32()
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<(size - 4)])) == headerChecksum else {
                throw Problem(
                    description: version > projectionVersion
                        ? "header checksum mismatch for projection version \(version) (damaged, or written by a later build with another layout)"
                        : "header checksum mismatch")
            }
            return (version, header)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "undecodable header: \(error)")
        }
    }

    private static func decode(_ buffer: UnsafeRawBufferPointer) throws(Problem) -> Decoded {
        let header = try header(buffer)
        var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[headerSize...]))
        do {
            guard header.payloadLength == UInt64(reader.remaining) else {
                throw Problem(description: "payload is \(reader.remaining) bytes, header says \(header.payloadLength)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: buffer[headerSize...])
            guard CRC32C.checksum(payload) == header.payloadChecksum else {
                throw Problem(description: "payload checksum mismatch")
            }
            var state = ProjectionState()
            state.nextOffset = header.nextOffset
            let tenantCount = try reader.readVarint()
            guard tenantCount <= UInt64(reader.remaining / 16) else {
                throw Problem(description: "tenant count exceeds file")
            }
            state.tenants.reserveCapacity(Int(tenantCount))
            for _ in 0..<tenantCount {
                let tenant = TenantID(high: try reader.readUInt64(), low: try reader.readUInt64())
                state.tenants.set(try decodeProjection(&reader), for: tenant)
            }
            // The count is the payload's last 8 bytes; the entries fill the rest exactly.
            guard reader.remaining >= 8 else { throw Problem(description: "no dedup count") }
            let dedupCount = UInt64(
                littleEndian: buffer.loadUnaligned(fromByteOffset: buffer.count - 8, as: UInt64.self))
            guard dedupCount <= UInt64((reader.remaining - 8) / dedupEntrySize),
                Int(dedupCount) * dedupEntrySize == reader.remaining - 8
            else {
                throw Problem(
                    description: "\(reader.remaining - 8) bytes of dedup entries for a count of \(dedupCount)")
            }
            var dedup = DedupIndex(minimumCapacity: Int(dedupCount))
            // Stored in runs, so the table's cache misses overlap.
            var run: [(key: IdentityHash, entry: DedupIndex.Entry)] = []
            run.reserveCapacity(Int(min(dedupCount, 1024)))
            var left = dedupCount
            while left > 0 {
                for _ in 0..<min(left, 1024) {
                    let key = IdentityHash(try reader.readUInt64())
                    let entry = DedupIndex.Entry(
                        offset: try reader.readUInt64(), hour: try reader.readUInt32(), flags: try reader.readUInt8())
                    // An id is remembered for an event the checkpoint covers, never beyond it (nor beyond what a
                    // packed entry holds).
                    guard entry.offset < min(header.nextOffset, 1 << DedupIndex.offsetBits) else {
                        throw Problem(
                            description:
                                "a dedup entry names offset \(entry.offset), beyond the \(header.nextOffset) events covered"
                        )
                    }
                    run.append((key, entry))
                }
                left -= UInt64(run.count)
                run.withUnsafeBufferPointer { dedup.store(contentsOf: $0) }
                run.removeAll(keepingCapacity: true)
            }
            _ = try reader.readUInt64()
            guard reader.remaining == 0 else { throw Problem(description: "\(reader.remaining) bytes left over") }
            return Decoded(
                state: state, dedup: dedup, dedupWindowMicroseconds: header.dedupWindowMicroseconds,
                logSalt: header.logSalt)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "undecodable: \(error)")
        }
    }

    // MARK: - One tenant

    private static func writeTime(_ time: Timestamp?, _ writer: inout BinaryWriter) {
        writer.writeUInt8(time == nil ? 0 : 1)
        if let time { writer.writeInt64(time.microseconds) }
    }

    private static func readTime(_ reader: inout BinaryReader) throws -> Timestamp? {
        try reader.readUInt8() == 0 ? nil : Timestamp(microseconds: try reader.readInt64())
    }

    private static func writeText(_ text: String?, _ writer: inout BinaryWriter) {
        writer.writeUInt8(text == nil ? 0 : 1)
        if let text { writer.writeString(text) }
    }

    private static func readText(_ reader: inout BinaryReader) throws -> String? {
        try reader.readUInt8() == 0 ? nil : try reader.readString()
    }

    private static func writeCount(_ value: Int, _ writer: inout BinaryWriter) {
        writer.writeInt64(Int64(value))
    }

    private static func readCount(_ reader: inout BinaryReader) throws -> Int {
        Int(try reader.readInt64())
    }

    private static func encode(_ projection: TenantProjection, into writer: inout BinaryWriter) {
        writeText(projection.name, &writer)
        writer.writeUInt8(UInt8(TenantStatus.allCases.firstIndex(of: projection.status) ?? 0))
        writeText(projection.partnerId, &writer)
        EventCodec.encodeObject(projection.settings, into: &writer)
        writer.writeUInt8(projection.isRegistered ? 1 : 0)
        writeTime(projection.createdAt, &writer)
        writeTime(projection.updatedAt, &writer)
        writeTime(projection.deletedAt, &writer)
        writeTime(projection.lastActivity, &writer)
        writer.writeVarint(UInt64(projection.users.count))
        for (id, user) in projection.users {
            writer.writeString(id)
            writer.writeUInt8((user.role == .admin ? 1 : 0) | (user.isActive ? 2 : 0))
        }
        writeCount(projection.activeUsers, &writer)
        writeCount(projection.adminUsers, &writer)
        writer.writeVarint(UInt64(projection.credentials.count))
        for (id, credential) in projection.credentials {
            writer.writeString(id)
            writer.writeUInt8(credential.state.rawValue)
            writeTime(credential.expiresAt, &writer)
        }
        writeCount(projection.activeCredentials, &writer)
        writeCount(projection.expiredCredentials, &writer)
        writeExpiries(projection.credentialExpiries, &writer)
        writer.writeVarint(UInt64(projection.keys.count))
        for (id, key) in projection.keys {
            writer.writeString(id)
            writer.writeUInt8(key.state.rawValue)
            writeText(key.name, &writer)
            writeTime(key.expiresAt, &writer)
            writeTime(key.createdAt, &writer)
            writer.writeInt64(key.requests)
            writer.writeInt64(key.rateLimitHits)
            writer.writeInt64(key.errors)
            writeTime(key.lastUsed, &writer)
        }
        writeCount(projection.registeredKeys, &writer)
        writeCount(projection.activeKeys, &writer)
        writeCount(projection.revokedKeys, &writer)
        writeExpiries(projection.keyExpiries, &writer)
        writer.writeVarint(UInt64(projection.recentKeys.count))
        for recent in projection.recentKeys { writer.writeString(projection.keys.id(at: recent.keyPosition)) }
        writer.writeVarint(UInt64(projection.oauthClients.count))
        for (id, active) in projection.oauthClients {
            writer.writeString(id)
            writer.writeUInt8(active ? 1 : 0)
        }
        writeCount(projection.activeOAuthClients, &writer)
        writer.writeVarint(UInt64(projection.apiCallsByMonth.count))
        for (month, calls) in projection.apiCallsByMonth {
            writer.writeInt64(Int64(month))
            writer.writeInt64(calls)
        }
        writer.writeInt64(projection.totalRequests)
        writer.writeInt64(projection.totalRateLimitHits)
        writer.writeInt64(projection.totalErrors)
        writer.writeInt64(projection.storageBytes)
        writeTime(projection.storage.measuredTime, &writer)
        writeTime(projection.storage.coveredBefore, &writer)
        writer.writeVarint(UInt64(projection.storage.buckets.count))
        for bucket in projection.storage.buckets {
            writer.writeInt64(bucket.first.microseconds)
            writer.writeInt64(bucket.last.microseconds)
            writer.writeInt64(bucket.sum)
        }
        let months = projection.recentMonths
        for (month, calls) in [
            (months.months.0, months.calls.0), (months.months.1, months.calls.1),
            (months.months.2, months.calls.2),
        ] {
            writer.writeInt64(Int64(month))
            writer.writeInt64(calls)
        }
    }

    private static func writeExpiries(_ index: ExpiryIndex, _ writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(index.times.count))
        for time in index.times { writer.writeInt64(time) }
    }

    private static func readExpiries(_ reader: inout BinaryReader) throws -> ExpiryIndex {
        var index = ExpiryIndex()
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 8)) {
            index.insert(Timestamp(microseconds: try reader.readInt64()))
        }
        return index
    }

    private static func boundedCount(_ reader: inout BinaryReader, minimumBytes: Int) throws -> Int {
        let count = try reader.readVarint()
        guard count <= UInt64(reader.remaining / minimumBytes) else {
            throw Problem(description: "count \(count) exceeds file")
        }
        return Int(count)
    }

    private static func decodeProjection(_ reader: inout BinaryReader) throws -> TenantProjection {
        var projection = TenantProjection()
        projection.name = try readText(&reader)
        let status = Int(try reader.readUInt8())
        guard status < TenantStatus.allCases.count else { throw Problem(description: "bad tenant status") }
        projection.status = TenantStatus.allCases[status]
        projection.partnerId = try readText(&reader)
        projection.settings = try EventCodec.decodeObject(from: &reader)
        projection.isRegistered = try reader.readUInt8() == 1
        projection.createdAt = try readTime(&reader)
        projection.updatedAt = try readTime(&reader)
        projection.deletedAt = try readTime(&reader)
        projection.lastActivity = try readTime(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 2)) {
            let id = try reader.readString()
            let flags = try reader.readUInt8()
            projection.users[id] = UserEntry(role: flags & 1 != 0 ? .admin : .member, isActive: flags & 2 != 0)
        }
        projection.activeUsers = try readCount(&reader)
        projection.adminUsers = try readCount(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 3)) {
            let id = try reader.readString()
            guard let state = CredentialState(rawValue: try reader.readUInt8()) else {
                throw Problem(description: "bad credential state")
            }
            projection.credentials[id] = CredentialEntry(state: state, expiresAt: try readTime(&reader))
        }
        projection.activeCredentials = try readCount(&reader)
        projection.expiredCredentials = try readCount(&reader)
        projection.credentialExpiries = try readExpiries(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 30)) {
            let id = try reader.readString()
            var key = KeyEntry()
            guard let state = KeyState(rawValue: try reader.readUInt8()) else {
                throw Problem(description: "bad key state")
            }
            key.state = state
            key.name = try readText(&reader)
            key.expiresAt = try readTime(&reader)
            key.createdAt = try readTime(&reader)
            key.requests = try reader.readInt64()
            key.rateLimitHits = try reader.readInt64()
            key.errors = try reader.readInt64()
            key.lastUsed = try readTime(&reader)
            projection.keys.set(key, for: id)
        }
        projection.registeredKeys = try readCount(&reader)
        projection.activeKeys = try readCount(&reader)
        projection.revokedKeys = try readCount(&reader)
        projection.keyExpiries = try readExpiries(&reader)
        var recentIds: [String] = []
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 1)) { recentIds.append(try reader.readString()) }
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 2)) {
            let id = try reader.readString()
            projection.oauthClients[id] = try reader.readUInt8() == 1
        }
        projection.activeOAuthClients = try readCount(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 16)) {
            let month = Int(try reader.readInt64())
            projection.apiCallsByMonth[month] = try reader.readInt64()
        }
        projection.totalRequests = try reader.readInt64()
        projection.totalRateLimitHits = try reader.readInt64()
        projection.totalErrors = try reader.readInt64()
        projection.storageBytes = try reader.readInt64()
        let measuredTime = try readTime(&reader)
        let coveredBefore = try readTime(&reader)
        var buckets: [StorageHistory.Bucket] = []
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 24)) {
            let first = Timestamp(microseconds: try reader.readInt64())
            let last = Timestamp(microseconds: try reader.readInt64())
            // Buckets are kept in time order with disjoint spans, and never more than the limit.
            guard first <= last, buckets.last.map({ $0.last < first }) ?? true,
                buckets.count < StorageHistory.bucketLimit
            else { throw Problem(description: "storage buckets out of order or too many") }
            buckets.append(StorageHistory.Bucket(first: first, last: last, sum: try reader.readInt64()))
        }
        // A measurement covers changes from its own time or the start of the bucket it fell inside.
        guard (measuredTime == nil) == (coveredBefore == nil),
            measuredTime.map({ measured in coveredBefore.map { $0 <= measured } ?? false }) ?? true,
            coveredBefore.map({ covered in buckets.first.map { $0.first >= covered } ?? true }) ?? true
        else { throw Problem(description: "storage buckets disagree with the latest measurement") }
        projection.storage = StorageHistory(
            buckets: buckets, measuredTime: measuredTime, coveredBefore: coveredBefore)
        var months = RecentMonths()
        months.months.0 = Int(try reader.readInt64())
        months.calls.0 = try reader.readInt64()
        months.months.1 = Int(try reader.readInt64())
        months.calls.1 = try reader.readInt64()
        months.months.2 = Int(try reader.readInt64())
        months.calls.2 = try reader.readInt64()
        projection.recentMonths = months
        // Derived values are recomputed rather than stored.
        projection.recentKeys = try recentIds.map { id in
            guard let position = projection.keys.position(of: id) else {
                throw Problem(description: "recently used key \"\(id)\" is not among the tenant's keys")
            }
            return RecentKey(keyPosition: position, lastUsed: projection.keys[position: position].lastUsed ?? .min)
        }
        projection.userCount = projection.users.count
        projection.oauthClientCount = projection.oauthClients.count
        projection.storageQuotaMB = TenantSettings.storageQuotaMB(projection.settings)
        return projection
    }
}
