import Glibc
import TallyCore

/// The segment being appended to.
struct ActiveSegment {
    var file: FileHandle
    var fileName: String
    var firstOffset: UInt64
    var salt: UInt32
    /// Bytes written and kept (everything before this is valid frames).
    var size: Int64
    /// CRC32C of bytes `[0, size)`: what the seal will record.
    var fileChecksum: UInt32
    /// Bytes before this were synced or handed to the kernel's writeback (see
    /// ``StoreConfiguration/writebackBytes``).
    var writtenBack: Int64
    /// Whether its frames carry their `unsynced` count: a segment of format version 2 or later. A version 1
    /// segment found open is never appended to: the first append retires it (see
    /// ``SegmentWriter/commit(_:)``) and writes a segment of this build's format.
    var marksUnsyncedRecords: Bool
}

/// Writes frames, seals and rolls segments. Owned by the store's single writer thread.
///
/// After any failed write or sync the writer records the failure and refuses all further work: a file whose
/// write or fsync failed is never written again (its page-cache state is unknown).
struct SegmentWriter {
    let fileSystem: any FileSystem
    let segmentsDirectory: String
    let configuration: StoreConfiguration
    /// The segment receiving appends; `nil` before the first append or right after a seal.
    var active: ActiveSegment?
    /// The offset the next record will get.
    var nextOffset: UInt64
    /// Every segment, oldest first, with the bytes readers may see.
    var segments: [SegmentEntry]
    /// The first failure; once set, every append fails with it.
    var failure: StorageError?
    /// Whether bytes were written since the last sync.
    var hasUnsyncedWrites = false
    /// Records before this offset were synced (on open the store syncs what it found). Each data frame
    /// records how many records lie between it and this point (see
    /// ``SegmentFormat/FrameHeader/unsyncedRecordsBefore``).
    private var syncedOffset: UInt64
    /// Whether a sync failed. After a failed write (a full disk, say) the frames written before it are
    /// still synced when due and on close, since they may have been acknowledged already; after a failed
    /// sync nothing more is attempted (the kernel may have dropped the dirty pages and cleared the error).
    private var syncFailed = false
    /// When the last sync happened (monotonic nanoseconds).
    var lastSyncNanoseconds: UInt64 = 0
    /// Scratch space for frames, kept between groups to avoid reallocating.
    private var buffer: [UInt8] = []
    /// Where sync durations are recorded.
    let syncStatistics: SyncStatistics
    /// The file a sync outside the writer's lock is syncing (see ``beginDetachedSync()``): kept open until
    /// that sync ends, even if the segment is sealed or the store closed meanwhile.
    private var detachedSyncFile: FileHandle?
    /// Set when the writer was done with ``detachedSyncFile`` before the sync ended: the sync's end closes it.
    private var closeAfterDetachedSync = false

    init(
        fileSystem: any FileSystem, segmentsDirectory: String, configuration: StoreConfiguration,
        active: ActiveSegment?, nextOffset: UInt64, segments: [SegmentEntry], syncStatistics: SyncStatistics
    ) {
        self.syncStatistics = syncStatistics
        self.fileSystem = fileSystem
        self.segmentsDirectory = segmentsDirectory
        self.configuration = configuration
        self.active = active
        self.nextOffset = nextOffset
        self.segments = segments
        syncedOffset = nextOffset
    }

    /// Appends a group of batches, one frame each, in order, and makes them durable per the policy.
    /// - Returns: Each batch's offsets, or the failure that stopped the group (every batch then fails: none is
    ///   acknowledged unless all of the group is).
    mutating func commit(_ batches: [RecordBatch]) -> Result<[Range<UInt64>], StorageError> {
        if let failure { return .failure(failure) }
        do throws(StorageError) {
            var ranges: [Range<UInt64>] = []
            ranges.reserveCapacity(batches.count)
            buffer.removeAll(keepingCapacity: true)
            if active?.marksUnsyncedRecords == false, batches.contains(where: { !$0.isEmpty }) {
                try retireUnmarkedSegment()
            }
            for batch in batches {
                if batch.isEmpty {
                    ranges.append(nextOffset..<nextOffset)
                    continue
                }
                if active == nil { try startSegment() }
                guard let salt = active?.salt, let size = active?.size else { break }
                let first = nextOffset
                let unsynced = active?.marksUnsyncedRecords == true ? first - min(first, syncedOffset) : 0
                batch.payload.withUnsafeBytes { payload in
                    SegmentFormat.appendFrame(
                        kind: .data, firstOffset: first, count: UInt32(batch.count),
                        unsyncedRecordsBefore: unsynced, payload: payload, salt: salt, to: &buffer)
                }
                nextOffset += UInt64(batch.count)
                ranges.append(first..<nextOffset)
                if size + Int64(buffer.count) >= configuration.segmentSizeLimit {
                    try flush()
                    try seal()
                }
            }
            try flush()
            if configuration.durability == .always { try syncIfNeeded() }
            // A segment deleted while open (its store directory removed, say) loses what it holds when its
            // last handle closes: nothing written to it is acknowledged, and the store refuses more.
            if let active, fileSystem.linkCount(active.file) == 0 { throw deletedWhileOpen(active) }
            return .success(ranges)
        } catch {
            let reported =
                error.errno == ENOENT && fileSystem.identity(of: segmentsDirectory) == nil
                ? StorageError(
                    .failed,
                    "\(error.message): the store's segments directory is gone (removed or moved while the store was open); nothing more is acknowledged",
                    path: error.path, errno: error.errno)
                : error
            failure = reported
            return .failure(reported)
        }
    }

    /// Fails the writer when the segment it appends to was deleted while open (see ``commit(_:)``), so that
    /// an idle store finds out too.
    /// - Returns: The writer's failure, if it has one now.
    mutating func checkActiveSegment() -> StorageError? {
        if failure == nil, let active, fileSystem.linkCount(active.file) == 0 { failure = deletedWhileOpen(active) }
        return failure
    }

    /// The failure of a write to a segment deleted while open: what it holds can still be copied through
    /// the process's open handle, until the process exits.
    private func deletedWhileOpen(_ segment: ActiveSegment) -> StorageError {
        StorageError(
            .failed,
            "segments/\(segment.fileName) was deleted while the store had it open (was the store directory removed?): nothing written since is acknowledged, and the events acknowledged before are only in files this process still holds: copy /proc/\(getpid())/fd/\(segment.file.descriptor) (the open segment) out before stopping it, or they are lost",
            path: segmentsDirectory + "/" + segment.fileName)
    }

    /// Under the interval policy, how long until the writes not yet synced are due: `interval` after the last
    /// sync, so no acknowledged write waits longer than that (0 when already due); `nil` when nothing waits
    /// (or another policy, or a failed sync, leaves nothing to schedule). The writer thread sleeps this long,
    /// not a whole interval from its latest wake, which a trickle of appends would keep pushing back.
    func nanosecondsUntilSyncDue(now: UInt64) -> UInt64? {
        guard !syncFailed, case .interval(let milliseconds) = configuration.durability, hasUnsyncedWrites else {
            return nil
        }
        let (interval, overflow) = UInt64(clamping: milliseconds).multipliedReportingOverflow(by: 1_000_000)
        let elapsed = now &- lastSyncNanoseconds
        return overflow ? nil : elapsed >= interval ? 0 : interval - elapsed
    }

    /// Syncs when the interval policy's deadline has passed.
    mutating func syncIfDue(nowNanoseconds: UInt64) {
        guard !syncFailed, case .interval(let milliseconds) = configuration.durability, hasUnsyncedWrites else {
            return
        }
        let (interval, overflow) = UInt64(clamping: milliseconds).multipliedReportingOverflow(by: 1_000_000)
        guard nowNanoseconds &- lastSyncNanoseconds >= (overflow ? .max : interval) else { return }
        do { try syncIfNeeded() } catch { failure = failure ?? error }
    }

    /// A sync begun under the writer's lock and run outside it: the file and how much of it was written.
    struct DetachedSync {
        let file: FileHandle
        let fileName: String
        let size: Int64
        /// The offset after the records written when it began: all of them are durable once it succeeds.
        let nextOffset: UInt64
    }

    /// Begins a sync of everything written so far that runs outside the writer's lock, so appends go on
    /// while the disk flushes (a checkpoint's sync under `never` may flush a segment's worth). Sealed
    /// segments were synced when sealed, so the active segment is all there is to sync. Call
    /// ``endDetachedSync(_:error:)`` after syncing the returned file; one detached sync at a time.
    /// - Returns: The file to sync, or `nil` when nothing is unsynced.
    /// - Throws: The writer's earlier failure, or ``StorageError/Code/invalidArgument`` when a detached sync
    ///   is already running (the store lets one run at a time, so this is a bug, never a skipped sync).
    mutating func beginDetachedSync() throws(StorageError) -> DetachedSync? {
        if let failure { throw failure }
        guard detachedSyncFile == nil else {
            throw StorageError(.invalidArgument, "a sync outside the writer's lock is already running")
        }
        guard hasUnsyncedWrites, let active else { return nil }
        detachedSyncFile = active.file
        closeAfterDetachedSync = false
        return DetachedSync(file: active.file, fileName: active.fileName, size: active.size, nextOffset: nextOffset)
    }

    /// Ends a detached sync: closes its file if the writer is done with it, and records the outcome. After
    /// a failed sync the writer refuses all further work, as after any failed sync.
    mutating func endDetachedSync(_ sync: DetachedSync, error: StorageError?) throws(StorageError) {
        detachedSyncFile = nil
        if closeAfterDetachedSync {
            closeAfterDetachedSync = false
            fileSystem.close(sync.file)
        }
        if let error {
            syncFailed = true
            failure = failure ?? error
            throw error
        }
        syncedOffset = max(syncedOffset, sync.nextOffset)
        // Writes that came during the sync still wait for theirs.
        if let active, active.file == sync.file, active.size == sync.size {
            hasUnsyncedWrites = false
            lastSyncNanoseconds = MonotonicClock.nanoseconds()
        }
    }

    /// Closes a segment file the writer is done with, unless a detached sync is still syncing it.
    private mutating func release(_ file: FileHandle) {
        if file == detachedSyncFile {
            closeAfterDetachedSync = true
        } else {
            fileSystem.close(file)
        }
    }

    /// Seals the active segment when it holds records (an empty segment follows it), so that damage to its
    /// last frame can never be taken for an interrupted write: a seal after the damage shows the bytes were
    /// synced. For a store written once and then only read, such as a salvaged copy, whose last frame no
    /// checkpoint vouches for.
    mutating func sealIfHoldingRecords() throws(StorageError) {
        if let failure { throw failure }
        guard let active, active.firstOffset < nextOffset else { return }
        try seal()
    }

    /// Syncs and closes the active segment (it stays unsealed: the next open continues it).
    mutating func close() throws(StorageError) {
        defer {
            if let active { release(active.file) }
            active = nil
        }
        if failure == nil {
            try syncIfNeeded()
        } else if !syncFailed {
            // The store already failed; what it acknowledged before the failure still gets its sync. Frames
            // of the failed group written before the failure (a group that rolled a segment) may become
            // durable with them: they were answered `failed`, so a retry finds them as duplicates.
            try? syncIfNeeded()
        }
    }

    /// The offsets of records that are written (and, under `always`, synced), plus where readers may read.
    var readableState: LogState { LogState(segments: segments, nextOffset: nextOffset) }

    // MARK: - Steps

    private mutating func flush() throws(StorageError) {
        guard !buffer.isEmpty, var segment = active else { return }
        do throws(StorageError) {
            try buffer.withBytes { bytes throws(StorageError) in
                try fileSystem.writeAll(segment.file, bytes, at: segment.size)
            }
        } catch {
            // Put the file back exactly as it was before this write (ENOSPC leaves no partial frame).
            try? fileSystem.truncate(segment.file, to: segment.size)
            throw error.naming("segments/\(segment.fileName)")
        }
        segment.fileChecksum = CRC32C.checksum(buffer, seed: segment.fileChecksum)
        segment.size += Int64(buffer.count)
        startWritebackIfDue(&segment)
        active = segment
        hasUnsyncedWrites = true
        buffer.removeAll(keepingCapacity: true)
        updateLastEntry(readableBytes: segment.size, nextOffset: nextOffset, sealed: false)
    }

    private mutating func syncIfNeeded() throws(StorageError) {
        guard hasUnsyncedWrites, let segment = active else { return }
        do throws(StorageError) {
            try sync(segment.file, named: segment.fileName, dataOnly: true)
        } catch {
            syncFailed = true
            throw error
        }
        hasUnsyncedWrites = false
        syncedOffset = nextOffset
        lastSyncNanoseconds = MonotonicClock.nanoseconds()
        active?.writtenBack = segment.size
    }

    /// Under `interval` and `never`, hands what was written to the kernel's writeback once
    /// ``StoreConfiguration/writebackBytes`` have gathered. Otherwise a segment's worth of dirty pages waits
    /// for its seal, whose fsync then holds every append while it flushes them (about 90 ms for 128 MiB on
    /// the development machine).
    private func startWritebackIfDue(_ segment: inout ActiveSegment) {
        let step = configuration.writebackBytes
        guard step > 0, configuration.durability != .always, segment.size - segment.writtenBack >= step else { return }
        fileSystem.startWriteback(segment.file, offset: segment.writtenBack, count: segment.size - segment.writtenBack)
        segment.writtenBack = segment.size
    }

    /// Syncs the segment's frames, writes the seal frame, fsyncs and closes the segment, then starts the
    /// next one. The frames are synced first so that no crash can keep the seal but lose a frame it follows:
    /// that would read as damage before a valid frame, which open refuses as corruption.
    private mutating func seal() throws(StorageError) {
        try syncIfNeeded()
        guard let segment = active else { return }
        let payload = SegmentFormat.sealPayload(lastOffset: nextOffset - 1, fileChecksum: segment.fileChecksum)
        var frame: [UInt8] = []
        payload.withUnsafeBytes { bytes in
            SegmentFormat.appendFrame(
                kind: .seal, firstOffset: nextOffset, count: 0, payload: bytes,
                salt: segment.salt, to: &frame)
        }
        do throws(StorageError) {
            try frame.withBytes { bytes throws(StorageError) in
                try fileSystem.writeAll(segment.file, bytes, at: segment.size)
            }
        } catch {
            try? fileSystem.truncate(segment.file, to: segment.size)
            throw error.naming("segments/\(segment.fileName)")
        }
        do throws(StorageError) {
            try sync(segment.file, named: segment.fileName, dataOnly: false)
        } catch {
            syncFailed = true
            throw error
        }
        release(segment.file)
        active = nil
        hasUnsyncedWrites = false
        syncedOffset = nextOffset
        lastSyncNanoseconds = MonotonicClock.nanoseconds()
        updateLastEntry(readableBytes: segment.size + Int64(frame.count), nextOffset: nextOffset, sealed: true)
        try startSegment()
    }

    /// Ends a version 1 segment continued after an upgrade before anything is appended to it: its frames
    /// cannot record the last sync, so an interrupted group write in it could not be told from damage to
    /// synced data and every open would refuse the store until the segment rolled. Sealed when it holds
    /// records (a seal names the last one); replaced by a segment of this build's format when it holds
    /// none (renamed over it, so a reader finds one or the other at its name, never neither).
    private mutating func retireUnmarkedSegment() throws(StorageError) {
        guard let segment = active else { return }
        if nextOffset > segment.firstOffset {
            try seal()
            return
        }
        release(segment.file)
        active = nil
        if segments.last?.fileName == segment.fileName { segments.removeLast() }
        try startSegment(replacing: true)
    }

    /// Creates the segment that starts at ``nextOffset``: header written and synced, then the directory synced.
    /// - Parameter replacing: Whether a file of its name is there already (an empty segment of an older
    ///   format): the new one is written beside it and renamed over it.
    private mutating func startSegment(replacing: Bool = false) throws(StorageError) {
        let salt = UInt32.random(in: UInt32.min...UInt32.max)
        let name = SegmentFormat.fileName(firstOffset: nextOffset)
        let path = segmentsDirectory + "/" + name
        let written = replacing ? path + ".new" : path
        if replacing { try? fileSystem.remove(written) }
        let header = SegmentFormat.encodeHeader(firstOffset: nextOffset, salt: salt)
        let file = try fileSystem.open(written, mode: .createNew)
        do throws(StorageError) {
            do throws(StorageError) {
                try header.withBytes { bytes throws(StorageError) in try fileSystem.writeAll(file, bytes, at: 0) }
            } catch {
                throw error.naming("segments/\(name)")
            }
            try sync(file, named: name, dataOnly: false)
            if replacing { try fileSystem.rename(written, to: path) }
            try syncStatistics.time("segments/") { () throws(StorageError) in
                try fileSystem.syncDirectory(segmentsDirectory)
            }
        } catch {
            fileSystem.close(file)
            try? fileSystem.remove(written)
            throw error
        }
        active = ActiveSegment(
            file: file, fileName: name, firstOffset: nextOffset, salt: salt,
            size: Int64(header.count), fileChecksum: CRC32C.checksum(header),
            writtenBack: Int64(header.count), marksUnsyncedRecords: true)
        segments.append(
            SegmentEntry(
                firstOffset: nextOffset, fileName: name, readableBytes: Int64(header.count),
                nextOffset: nextOffset, sealed: false))
    }

    /// Syncs a segment file, timing it (see ``SyncStatistics``).
    private func sync(_ file: FileHandle, named name: String, dataOnly: Bool) throws(StorageError) {
        try syncStatistics.time("segments/\(name)") { () throws(StorageError) in
            do throws(StorageError) { try fileSystem.sync(file, dataOnly: dataOnly) } catch {
                throw error.naming("segments/\(name)")
            }
        }
    }

    private mutating func updateLastEntry(readableBytes: Int64, nextOffset: UInt64, sealed: Bool) {
        guard !segments.isEmpty else { return }
        segments[segments.count - 1].readableBytes = readableBytes
        segments[segments.count - 1].nextOffset = nextOffset
        segments[segments.count - 1].sealed = sealed
    }
}
