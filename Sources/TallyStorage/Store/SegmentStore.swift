import Dispatch
import Glibc
import Synchronization
import TallyCore

/// An append-only log of records kept in segment files under `<store>/segments/`.
///
/// One writer thread owns the files: ``append(_:)`` and ``submit(_:completion:)`` queue batches, the writer
/// frames each batch, writes every queued frame with one write call, and (under ``DurabilityPolicy/always``)
/// shares one `fdatasync` among them before acknowledging. Readers see acknowledged records only.
///
/// A store opened for writing holds `<store>/LOCK` (`flock`), so a second writer process is refused.
public final class SegmentStore: Sendable {
    /// The store directory.
    public let directory: String
    /// The configuration the store was opened with.
    public let configuration: StoreConfiguration
    /// Whether the store was opened read-only (no lock, no recovery writes, no appends).
    public let isReadOnly: Bool
    /// Durations of the log's syncs (each slow one is also logged).
    public let syncStatistics: SyncStatistics

    /// The ingest time of the log's last record when the store was opened, found while recovery scanned the
    /// last segment; `nil` when that segment held no record (an empty log, or a segment begun by a roll).
    public let lastIngestTimeAtOpen: Timestamp?

    /// The bytes the open cut off the log's end as a torn tail (an interrupted write; read-only, left there
    /// unread), 0 when there was none: logged when it happens, kept for a metrics page.
    public let tornTailBytesAtOpen: Int64

    /// The file system all of the store's I/O goes through (shared with the engine's checkpoints).
    package let fileSystem: any FileSystem
    let segmentsDirectory: String
    private let lock: StoreLock?
    private let published: Mutex<LogState>
    private let queue: Mutex<WriterQueue>
    private let writer: Mutex<SegmentWriter?>
    /// Held through a ``sync()``, so that one runs at a time.
    private let detachedSyncs = Mutex<Void>(())
    /// The writer's first failure, published for readers that must not wait on the writer.
    private let failed = Mutex<StorageError?>(nil)
    /// What the store directory was when a writable store opened it (see ``checkLocation()``).
    private let openedIdentity: FileIdentity?
    /// For lookups of single events: per segment file, frame boundaries seen by earlier lookups, about one
    /// per ``SegmentStore/frameIndexSpacing`` bytes, in offset order (see ``event(at:)``).
    let frameIndex = Mutex<[String: [SegmentScanner.Resume]]>([:])
    /// Frames read by ``event(at:)`` so far (for tests: the index must keep it small).
    package let framesReadByLookups = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// A batch waiting for the writer.
    struct PendingAppend: Sendable {
        var batch: RecordBatch
        /// Called for the last frame of a submission only, with the offsets of all its frames.
        var completion: (@Sendable (Result<Range<UInt64>, StorageError>) -> Void)?
        /// The frames of the same submission queued before this one.
        var framesBefore = 0
    }

    struct WriterQueue: Sendable {
        var pending: [PendingAppend] = []
        var stopping = false
        var stopped = false
    }

    /// Opens (creating if needed) the store at `directory`, recovering from a crash if one happened.
    ///
    /// - Parameters:
    ///   - directory: The store directory; created when missing (write mode).
    ///   - configuration: Limits and durability.
    ///   - readOnly: Open without taking the lock or changing anything on disk (for `dump`, `verify`, and
    ///     reading while a server runs). A torn tail is then skipped, not truncated.
    ///   - fileSystem: The file system to use; tests pass a fault-injecting one.
    /// - Throws: ``StorageError`` with ``StorageError/Code/locked`` when another process writes the store, or
    ///   ``StorageError/Code/corrupt`` naming the file and byte of any damage other than a torn tail.
    public init(
        directory: String, configuration: StoreConfiguration = StoreConfiguration(), readOnly: Bool = false,
        fileSystem: any FileSystem = PosixFileSystem()
    ) throws(StorageError) {
        self.directory = directory
        self.configuration = configuration
        self.isReadOnly = readOnly
        self.fileSystem = fileSystem
        self.segmentsDirectory = directory + "/segments"
        self.syncStatistics = SyncStatistics(slowAfter: configuration.slowSyncWarning, log: configuration.log)
        if readOnly {
            guard fileSystem.exists(directory) else {
                throw StorageError(
                    .invalidArgument, "no store at \(directory): the directory does not exist", path: directory)
            }
            lock = nil
        } else {
            // A store whose checkpoints cover events has had a log: never start an empty one in its place.
            guard configuration.acknowledgedOffset == 0 || fileSystem.exists(segmentsDirectory) else {
                throw StorageError(
                    .corrupt,
                    "the store at \(directory) has no segments/ directory, yet a checkpoint covers \(configuration.acknowledgedOffset) events: acknowledged log data is missing; restore segments/ from a backup",
                    path: segmentsDirectory)
            }
            try fileSystem.createDirectory(segmentsDirectory)
            lock = try StoreLock(directory: directory, fileSystem: fileSystem, wait: configuration.lockWait)
        }
        let recovery = LogRecovery(
            fileSystem: fileSystem, segmentsDirectory: segmentsDirectory,
            configuration: configuration, readOnly: readOnly)
        let recovered: LogRecovery.Recovered
        do throws(StorageError) {
            recovered = try recovery.recover()
        } catch {
            lock?.release()
            throw error
        }
        let state = LogState(segments: recovered.segments, nextOffset: recovered.nextOffset)
        lastIngestTimeAtOpen = recovered.lastIngestTime
        tornTailBytesAtOpen = recovered.tornTailBytes
        openedIdentity = readOnly ? nil : fileSystem.identity(of: directory)
        published = Mutex(state)
        queue = Mutex(WriterQueue(stopped: readOnly))
        if readOnly {
            writer = Mutex(nil)
        } else {
            writer = Mutex(
                SegmentWriter(
                    fileSystem: fileSystem, segmentsDirectory: segmentsDirectory,
                    configuration: configuration, active: recovered.active,
                    nextOffset: recovered.nextOffset, segments: recovered.segments,
                    syncStatistics: syncStatistics))
            BackgroundThread.start(name: "tally-log-writer") { [self] in runWriter() }
        }
    }

    deinit {
        try? close()
    }

    /// The acknowledged log: segments and the next offset.
    public var state: LogState { published.withLock { $0 } }

    /// The number of acknowledged records, which is also the offset the next record will get.
    public var nextOffset: UInt64 { published.withLock { $0.nextOffset } }

    /// Appends a batch as one frame and waits until it is acknowledged under the durability policy.
    /// - Parameter batch: The records; at most ``SegmentFormat/maxFramePayload`` bytes in all.
    /// - Returns: The offsets the records received, in order.
    /// - Throws: ``StorageError``: the batch is too large, the store is read-only or closed, or a write or sync
    ///   failed (then the store refuses every append until reopened).
    @discardableResult
    public func append(_ batch: RecordBatch) throws(StorageError) -> Range<UInt64> {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Range<UInt64>, StorageError>?>(nil)
        submit(batch) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        switch outcome.withLock({ $0 }) {
        case .success(let range): return range
        case .failure(let error): throw error
        case nil: throw StorageError(.closed, "the store closed before the append completed")
        }
    }

    /// Queues a batch; `completion` runs on the writer thread, in offset order, once the batch is acknowledged
    /// (or has failed).
    /// - Parameters:
    ///   - batch: The records to append as one frame.
    ///   - completion: Receives the offsets or the failure. It must not block on the store.
    public func submit(
        _ batch: RecordBatch,
        completion: @escaping @Sendable (Result<Range<UInt64>, StorageError>) -> Void
    ) {
        submit(frames: [batch], completion: completion)
    }

    /// Queues batches as consecutive frames that the writer takes together: written in one group commit
    /// with one sync (or none of them, after a failure), however the writer's wake-ups fall. `completion`
    /// runs once, on the writer thread, in offset order, when all are acknowledged or have failed.
    /// - Parameters:
    ///   - frames: The records to append, one frame per batch, at least one.
    ///   - completion: Receives the offsets of all the frames, or the failure. It must not block on the store.
    public func submit(
        frames: [RecordBatch],
        completion: @escaping @Sendable (Result<Range<UInt64>, StorageError>) -> Void
    ) {
        guard !frames.isEmpty else {
            completion(.failure(StorageError(.invalidArgument, "a submission needs at least one frame")))
            return
        }
        if let oversized = frames.first(where: {
            $0.payload.count > Int(SegmentFormat.maxFramePayload) || $0.count > Int(UInt32.max)
        }) {
            completion(
                .failure(
                    StorageError(
                        .invalidArgument,
                        "batch of \(oversized.payload.count) bytes exceeds the \(SegmentFormat.maxFramePayload)-byte frame cap; split it"
                    )))
            return
        }
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping, !queue.stopped else { return false }
            for (index, frame) in frames.enumerated() {
                let isLast = index == frames.count - 1
                queue.pending.append(
                    PendingAppend(batch: frame, completion: isLast ? completion : nil, framesBefore: index))
            }
            return true
        }
        guard accepted else {
            let reason = isReadOnly ? "the store was opened read-only" : "the store is closed"
            completion(.failure(StorageError(.closed, "cannot append: \(reason)")))
            return
        }
        wake.signal()
    }

    /// Makes every acknowledged record durable now, whatever the durability policy. A checkpoint calls it
    /// first, so that it never covers records a crash could still take from the log.
    ///
    /// The flush runs outside the writer's lock: appends go on meanwhile (under `never`, a checkpoint's sync
    /// may flush a whole segment, which held every append back for as long).
    /// - Throws: ``StorageError`` if the sync (or an earlier write) failed; the store then refuses appends.
    public func sync() throws(StorageError) {
        try detachedSyncs.withLock { _ throws(StorageError) in
            let begun: Result<SegmentWriter.DetachedSync?, StorageError> = writer.withLock { writer in
                do throws(StorageError) { return .success(try writer?.beginDetachedSync()) } catch {
                    return .failure(error)
                }
            }
            guard case .success(let sync) = begun else {
                if case .failure(let error) = begun {
                    publishFailure(error)
                    throw error
                }
                return
            }
            guard let sync else { return }
            var failure: StorageError?
            do throws(StorageError) {
                try syncStatistics.time("segments/\(sync.fileName)") { () throws(StorageError) in
                    try fileSystem.sync(sync.file, dataOnly: true)
                }
            } catch { failure = error }
            let ended: Result<Void, StorageError> = writer.withLock { writer in
                do throws(StorageError) { try writer?.endDetachedSync(sync, error: failure) } catch {
                    return .failure(error)
                }
                return .success(())
            }
            if case .failure(let error) = ended { publishFailure(error) }
            try ended.get()
        }
    }

    /// Checks that the store is still where it was opened: its directory the same one (not moved, deleted or
    /// replaced) and its open segment not deleted. A store found otherwise fails as after a write failure,
    /// so nothing more is acknowledged into files no later open would find. Commits check the open segment
    /// themselves; this finds out while the store is idle too. Cheap: two `stat` calls.
    /// - Returns: The store's failure, if it has failed (this way or another).
    @discardableResult
    public func checkLocation() -> StorageError? {
        guard !isReadOnly else { return nil }
        if let opened = openedIdentity, fileSystem.identity(of: directory) != opened {
            let gone = !fileSystem.exists(directory)
            let error = StorageError(
                .failed,
                gone
                    ? "the store directory \(directory) is gone (deleted or moved while the store was open): nothing more is acknowledged; if it was moved, move it back and restart; if it was deleted, copy the open segment out of /proc/\(getpid())/fd before stopping the server, or the events it holds are lost"
                    : "\(directory) is no longer the store directory this process opened (it was moved or replaced while the store was open): nothing more is acknowledged; move the store back and restart",
                path: directory)
            writer.withLock { writer in
                if writer?.failure == nil { writer?.failure = error }
            }
        }
        publishFailure(writer.withLock { $0?.checkActiveSegment() })
        return failure
    }

    /// The failure that made the store refuse appends, if any.
    ///
    /// Cheap to read at any time: it does not wait for a write or sync in progress.
    public var failure: StorageError? {
        failed.withLock { $0 }
    }

    /// Copies the writer's failure, if any, to where ``failure`` reads it, and says once, on the store's log,
    /// that the store refuses writes from now on: an operator learns it from the log, not only from a
    /// stream of refused requests.
    private func publishFailure(_ failure: StorageError?) {
        guard let failure else { return }
        let first = failed.withLock { published -> Bool in
            guard published == nil else { return false }
            published = failure
            return true
        }
        if first {
            configuration.log(
                "the store refuses writes from now on: \(failure.message). What was acknowledged is kept;"
                    + " fix the cause (a full disk, a failing one), then reopen the store: restart the server, or"
                    + " run the command again")
        }
    }

    /// Stops the writer after it finishes queued batches, syncs, closes files and releases the lock.
    /// - Parameter sealing: Also seal the last segment when it holds records (a new, empty one follows it), so
    ///   that no damage to its last frame can ever read as an interrupted write that an open truncates: for
    ///   a store written once to be kept, such as a salvaged copy, which no checkpoint vouches for. (A store
    ///   that goes on being written is left unsealed: a seal per close would end a segment per restart.)
    /// - Throws: The error of the final sync or seal, if it failed.
    public func close(sealing: Bool = false) throws(StorageError) {
        // A sync running outside the writer's lock ends first: the files are not closed under it.
        try detachedSyncs.withLock { _ throws(StorageError) in try closeWriter(sealing: sealing) }
    }

    private func closeWriter(sealing: Bool) throws(StorageError) {
        let wasRunning = queue.withLock { queue -> Bool in
            guard !queue.stopping, !queue.stopped else { return false }
            queue.stopping = true
            return true
        }
        guard wasRunning else { return }
        wake.signal()
        finished.wait()
        let result: Result<Void, StorageError> = writer.withLock { writer in
            do throws(StorageError) {
                if sealing { try writer?.sealIfHoldingRecords() }
                try writer?.close()
            } catch {
                try? writer?.close()
                return .failure(error)
            }
            return .success(())
        }
        lock?.release()
        try result.get()
    }

    // MARK: - The writer thread

    private func runWriter() {
        let interval: Bool
        if case .interval = configuration.durability { interval = true } else { interval = false }
        while true {
            // Under `interval`, woken by an append or by the unsynced writes' deadline, whichever comes first.
            let due = writer.withLock { $0?.nanosecondsUntilSyncDue(now: MonotonicClock.nanoseconds()) }
            if let due {
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(clamping: due)))
            } else {
                wake.wait()
            }
            let (group, stopping) = queue.withLock { queue -> ([PendingAppend], Bool) in
                let taken = queue.pending
                queue.pending.removeAll(keepingCapacity: true)
                return (taken, queue.stopping)
            }
            if !group.isEmpty { commit(group) }
            if interval {
                publishFailure(
                    writer.withLock { writer -> StorageError? in
                        writer?.syncIfDue(nowNanoseconds: MonotonicClock.nanoseconds())
                        return writer?.failure
                    })
            }
            if stopping {
                let drained = queue.withLock { queue -> Bool in
                    if queue.pending.isEmpty { queue.stopped = true }
                    return queue.stopped
                }
                if drained { break }
            }
        }
        finished.signal()
    }

    private func commit(_ group: [PendingAppend]) {
        let (result, snapshot) = writer.withLock { writer -> (Result<[Range<UInt64>], StorageError>, LogState?) in
            guard let result = writer?.commit(group.map(\.batch)) else {
                return (.failure(StorageError(.closed, "the store is closed")), nil)
            }
            return (result, writer?.readableState)
        }
        switch result {
        case .success(let ranges):
            if let snapshot { published.withLock { $0 = snapshot } }
            for (index, (pending, range)) in zip(group, ranges).enumerated() {
                // A submission's frames are queued together, so the writer takes all of them in one group.
                pending.completion?(.success(ranges[index - pending.framesBefore].lowerBound..<range.upperBound))
            }
        case .failure(let error):
            publishFailure(error)
            let failure = StorageError(
                error.code == .noSpace ? .noSpace : .failed,
                "append failed and the store now refuses appends until it is reopened: \(error.message)",
                path: error.path, errno: error.errno)
            for pending in group { pending.completion?(.failure(failure)) }
        }
    }
}
