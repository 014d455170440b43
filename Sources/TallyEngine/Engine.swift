import Dispatch
import Synchronization
import TallyCore
import TallyStorage

/// Owns the log and the projections: validates time windows, drops duplicates, appends durably, applies,
/// and answers stats reads in constant time.
///
/// Decisions (duplicate or not, void target valid or not) are made in arrival order under one lock, which
/// also assigns offsets; the batch is then handed to the store's writer, and once durable its events are
/// applied to the projections in offset order on the writer thread, under the projections lock. A read
/// therefore sees only durable events and never half of a batch.
public final class Engine: Sendable {
    /// The largest record one event may take: half a frame of the log, so that a frame, closed once it
    /// holds this much, never outgrows the frame cap with the record that closes it.
    public static let maxRecordBytes = Int(SegmentFormat.maxFramePayload) / 2 - 64

    /// The engine's settings.
    public let configuration: EngineConfiguration
    /// The underlying log.
    public let store: SegmentStore
    let decisions: Mutex<DecisionState>
    let projections: Mutex<ProjectionState>
    let checkpoints: CheckpointStore
    /// The offset and time of the last checkpoint; `writing` serialises checkpoint writers.
    let checkpointState: Mutex<(offset: UInt64, nanoseconds: UInt64, writing: Bool, stopping: Bool)>
    /// Why the live projections no longer match the log (a void whose target could not be read), and
    /// whether the log is damaged where that target lies; `nil` while they match. While set, no checkpoint is
    /// written: one would make the gap permanent, since a reopen replays only the log after the last
    /// checkpoint. The reopen applies what the live projections missed, unless the log is damaged there.
    let projectionGap = Mutex<(reason: String, logDamaged: Bool)?>(nil)
    /// Checkpoints the open passed over as damaged: the first checkpoint written replaces them (until then
    /// they hold the floor of acknowledged events their names give).
    let damagedCheckpoints: Mutex<[CheckpointStore.Damaged]>
    /// What the checkpoints written since the open took, and how many failed or were skipped, for metrics.
    let checkpointRecord = Mutex(CheckpointRecord())
    /// Re-reads the log in the background, when ``EngineConfiguration/scrub`` is set.
    let scrubber: LogScrubber?
    let checkpointerStopped = DispatchSemaphore(value: 0)
    let checkpointerWake = DispatchSemaphore(value: 0)
    /// Entered by the first ``close()`` until it is over; later calls wait on it.
    private let closing = DispatchGroup()
    /// How many times the checkpointer has decided whether a checkpoint was due (tests wait on it to know
    /// a decision not to write one was taken, rather than sleeping and hoping it was).
    let checkpointerRounds = Atomic<Int>(0)

    struct DecisionState: Sendable {
        var dedup = DedupIndex()
        /// The ids of old events backfills accepted, kept for the engine's lifetime.
        var backfillIds: BackfillIds
        /// The offset the next accepted event will get.
        var nextOffset: UInt64 = 0
        var insertsSincePrune = 0
        /// The ingest time given to the last batch: the next never gets an earlier one, so ingest times rise
        /// with offsets (what `--until TIME` relies on), even across a clock step back or a restart.
        var lastIngestTime = Timestamp(microseconds: .min)
        /// When the dedup index was last pruned: it is pruned at least daily, so an id's hour (kept modulo
        /// 2^14) never wraps round to look current on a server that runs long with few inserts.
        var lastPrune = Timestamp(microseconds: .min)
        /// Set by ``Engine/close()`` under this lock: later batches are failed before they take an offset
        /// (the store would refuse them, and its answer would come back while this lock is held).
        var isClosing = false

        /// Forgets every remembered id when no event arrived for longer than the window plus the furthest
        /// an event time may lie ahead: then none can still be in the window. Hours are kept modulo 2^14
        /// (about 341 days each way), so after an idle spell that long an old id's hour would wrap round and
        /// look current, and a new event reusing it would be taken for a duplicate; no prune could tell
        /// either. Skipped while a checkpoint reads the index in place: a checkpoint starts only once events
        /// arrived after the last one, and a spell this long would have to begin with one that is still
        /// running at its end.
        mutating func forgetIdsIfIdle(now: Timestamp, configuration: EngineConfiguration) {
            guard lastIngestTime.microseconds != .min, !dedup.isPinned else { return }
            let idle = now.microseconds.subtractingReportingOverflow(lastIngestTime.microseconds)
            guard !idle.overflow,
                idle.partialValue > configuration.backdateLimitMicroseconds
                    + EngineConfiguration.maximumFutureLimitMicroseconds
            else { return }
            let defersFrees = dedup.defersFrees
            dedup = DedupIndex()
            dedup.defersFrees = defersFrees
            insertsSincePrune = 0
        }
    }

    /// Opens the store at `directory` and rebuilds the projections (from a checkpoint, when one exists).
    /// - Throws: ``EngineConfiguration/InvalidSetting`` for a setting out of range, ``StorageError`` from
    ///   opening the store, or a corrupt record.
    public init(
        directory: String, configuration: EngineConfiguration = EngineConfiguration(),
        fileSystem: any FileSystem = PosixFileSystem()
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        checkpoints = CheckpointStore(
            storeDirectory: directory, fileSystem: fileSystem, log: configuration.store.log,
            syncEveryBytes: configuration.checkpointSyncBytes)
        store = try SegmentStore(
            directory: directory,
            configuration: try Engine.replayedStoreConfiguration(
                configuration.store, directory: directory, fileSystem: fileSystem),
            fileSystem: fileSystem)
        checkpoints.removeLeftovers()
        var state = ProjectionState()
        var dedup = DedupIndex()
        var decision: DecisionState
        var checkpointOffset: UInt64 = 0
        var damaged: [CheckpointStore.Damaged] = []
        do {
            if let loaded = try checkpoints.loadNewest(
                logEnd: store.nextOffset, logSalt: { [store] in store.salt(ofSegmentHolding: $0) }, damaged: &damaged)
            {
                if loaded.dedupWindowMicroseconds < configuration.backdateLimitMicroseconds {
                    // Its index forgot ids this engine must still remember: only the log has them all.
                    configuration.store.log(
                        "checkpoints/\(CheckpointStore.fileName(loaded.state.nextOffset)): its dedup index remembers ids for \(EngineConfiguration.describe(loaded.dedupWindowMicroseconds)), this engine's backdate limit is \(EngineConfiguration.describe(configuration.backdateLimitMicroseconds)); rebuilding from the log so that every id within it is remembered"
                    )
                } else {
                    state = loaded.state
                    dedup = loaded.dedup
                    dedup.prune(
                        before: Timestamp(
                            microseconds: configuration.clock().microseconds - configuration.backdateLimitMicroseconds))
                }
            }
            checkpointOffset = state.nextOffset
            try Engine.replay(store: store, into: &state, dedup: &dedup, configuration: configuration)
            decision = DecisionState(
                dedup: dedup,
                backfillIds: BackfillIds(capacity: configuration.backfillRememberedIds, firstOffset: state.nextOffset),
                nextOffset: state.nextOffset)
            // Ingest times go on from the log's last one, even when the clock stepped back while the engine
            // was down. Recovery read it with the last segment; only a segment just begun by a roll needs a
            // read of the record before it.
            if let last = store.lastIngestTimeAtOpen {
                decision.lastIngestTime = last
            } else if state.nextOffset > 0 {
                try store.forEachEvent(from: state.nextOffset - 1, to: state.nextOffset) { stored in
                    decision.lastIngestTime = stored.ingestTime
                    return false
                }
            }
            decision.forgetIdsIfIdle(now: configuration.clock(), configuration: configuration)
            decision.dedup.defersFrees = true
        } catch {
            // The store's writer thread and lock would outlive a failed open: release them first.
            try? store.close()
            throw error
        }
        decision.lastPrune = configuration.clock()
        decisions = Mutex(decision)
        projections = Mutex(state)
        damagedCheckpoints = Mutex(damaged)
        // The checkpoint opened from (the newest usable one) stands for the last one written, by its file's
        // time, so a dashboard watching for an old checkpoint sees one after a restart too (how long it took
        // is not known). A file time from a restore that reset it is later than the write: the alert waits.
        let openedFrom = checkpoints.directory + "/" + CheckpointStore.fileName(checkpointOffset)
        let writtenAt = checkpointOffset > 0 ? fileSystem.modificationSeconds(of: openedFrom) : nil
        checkpointRecord.withLock { record in
            record.coveredEvents = checkpointOffset
            record.lastWritten = writtenAt.flatMap { seconds in
                let (microseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
                return overflow ? nil : Timestamp(microseconds: microseconds)
            }
        }
        checkpointState = Mutex((checkpointOffset, MonotonicClock.nanoseconds(), false, false))
        let opened = store
        scrubber = configuration.scrub.map { LogScrubber(store: opened, configuration: $0) }
        BackgroundThread.start(name: "tally-checkpointer") { [self] in runCheckpointer() }
        if configuration.scrubStartsWhenOpened { scrubber?.start() }
    }

    /// Starts the background scrub of ``EngineConfiguration/scrub`` if it has not started yet (see
    /// ``EngineConfiguration/scrubStartsWhenOpened``); does nothing without one, or once the engine is closed.
    public func startScrubbing() {
        scrubber?.start()
    }

    /// How a store is opened when a replay follows: sealed segments get structural checks only (header and
    /// seal), since the replay reads every frame it applies and checks its checksum, failing with
    /// ``StorageError/Code/corrupt`` at the first damage. Segments a checkpoint covers are not read at all
    /// (`tally verify` checks their bytes). The last segment is always scanned whole, for a torn tail.
    /// Damage among the records the newest checkpoint covers is refused, never cut off as a torn tail, and a
    /// log shorter than it is refused as missing data (see ``StoreConfiguration/acknowledgedOffset``).
    static func replayedStoreConfiguration(
        _ configuration: StoreConfiguration, directory: String,
        fileSystem: any FileSystem = PosixFileSystem()
    ) throws(StorageError) -> StoreConfiguration {
        var configuration = configuration
        configuration.fullyVerifyFromOffset = .max
        configuration.acknowledgedOffset = max(
            configuration.acknowledgedOffset,
            try acknowledgedOffset(directory: directory, fileSystem: fileSystem))
        return configuration
    }

    /// The number of events in the log.
    public var eventCount: UInt64 { projections.withLock { $0.nextOffset } }

    /// A tenant's statistics, or `nil` when no event of the tenant was ever accepted.
    public func tenantStats(_ tenantId: TenantID, now: Timestamp? = nil) -> TenantStats? {
        let at = now ?? configuration.clock()
        return projections.withLock { state -> TenantStats? in
            // Read in place: copying the projection out would retain every table it holds.
            state.tenants.withProjection(tenantId) { TenantStats(reading: $0, tenantId: tenantId, now: at) }
        }
    }

    /// A tenant's API-key statistics, or `nil` when no event of the tenant was ever accepted.
    public func keyStats(_ tenantId: TenantID, now: Timestamp? = nil) -> KeyStats? {
        let at = now ?? configuration.clock()
        return projections.withLock { state -> KeyStats? in
            state.tenants.withProjection(tenantId) { KeyStats(reading: $0, tenantId: tenantId, now: at) }
        }
    }

    /// Runs `body` with the projections under the read lock (keep it short: ingest waits meanwhile).
    public func read<T>(_ body: (borrowing ProjectionState) -> T) -> T {
        projections.withLock { state in body(state) }
    }

    /// A copy of every projection (for verification and tests; costs a copy of the whole state).
    public var projectionSnapshot: ProjectionState {
        var copy = projections.withLock { $0 }
        // A checkpoint's capture belongs to the live state; the copy must not share it.
        _ = copy.tenants.endCapture()
        return copy
    }

    /// Number of ids the dedup index remembers.
    public var rememberedIds: Int { decisions.withLock { $0.dedup.count } }

    /// Sizes an operator watches: what the engine holds and whether it still accepts events.
    public struct Gauges: Sendable, Equatable {
        /// Events in the log that the projections cover.
        public var events: UInt64
        /// Tenants with at least one event.
        public var tenants: Int
        /// Ids the dedup index remembers (those in the dedup window).
        public var rememberedIds: Int
        /// Bytes of the dedup index's table.
        public var dedupTableBytes: Int
        /// Whether a write failure made the engine read-only.
        public var readOnly: Bool
        /// Whether the live projections miss a void whose target could not be read (see
        /// ``projectionGapReason``).
        public var projectionGap: Bool = false
        /// Whether the last background scrub found damage in the log (see ``logDamage``).
        public var logDamage: Bool = false
        /// Background scrub passes that reached the log's end.
        public var scrubPasses: Int = 0
        /// Bytes the background scrub has read.
        public var scrubBytes: Int64 = 0
        /// When the last complete scrub pass ended.
        public var lastScrub: Timestamp? = nil
        /// The checkpoints written, failed and skipped since the open.
        public var checkpoints = CheckpointRecord()
        /// The bytes the open cut off the log's end as a torn tail (0 when none).
        public var tornTailBytesAtOpen: Int64 = 0
    }

    /// The checkpoints an engine has written since it opened, for a metrics page.
    public struct CheckpointRecord: Sendable, Equatable {
        /// The events the newest checkpoint written or loaded covers (what a restart need not replay).
        public var coveredEvents: UInt64 = 0
        /// When the last checkpoint was written (by the engine's clock), or, until the engine writes one, when
        /// the checkpoint it was opened from was (its file's time); `nil` without either.
        public var lastWritten: Timestamp? = nil
        /// How long the last checkpoint this engine wrote took, in seconds; `nil` before it writes one.
        public var lastDurationSeconds: Double? = nil
        /// Checkpoints that failed (the log unaffected; the next due one tries again).
        public var failures: Int = 0
        /// Checkpoints skipped because the disk lacked the room for one.
        public var skippedForSpace: Int = 0

        /// An empty record.
        public init() {}
    }

    /// What the last complete background scrub found wrong with the log (one line per damaged segment), or
    /// an empty list: none found, or no scrub configured or finished yet.
    public var logDamage: [String] { scrubber?.status.problems ?? [] }

    /// Why the live projections miss a void (its target could not be read from the log), or `nil` while they
    /// match the log. No checkpoint is written meanwhile; a reopen applies the void, or refuses a log damaged
    /// there.
    public var projectionGapReason: String? { projectionGap.withLock { $0?.reason } }

    /// What to do about ``projectionGapReason``, or `nil` while there is none: a restart applies the void,
    /// unless the log is damaged where its target lies, when a restart would refuse the store.
    public var projectionGapRemedy: String? {
        projectionGap.withLock { gap in gap.map { Self.remedy(forGapInDamagedLog: $0.logDamaged) } }
    }

    static func remedy(forGapInDamagedLog logDamaged: Bool) -> String {
        logDamaged
            ? "the log is damaged where the void's target lies, so a restart would refuse the store: keep this server up for reads, run `tally verify` to see the damage, then `tally salvage --out DIR` to copy every readable record into a new store"
            : "every event is in the log: restart the server (the reopen applies the void)"
    }

    /// The current ``Gauges``.
    public var gauges: Gauges {
        let (ids, bytes) = decisions.withLock { ($0.dedup.count, $0.dedup.memoryBytes) }
        let (events, tenants) = projections.withLock { ($0.nextOffset, $0.tenants.count) }
        let scrub = scrubber?.status
        return Gauges(
            events: events, tenants: tenants, rememberedIds: ids, dedupTableBytes: bytes,
            readOnly: store.failure != nil,
            projectionGap: projectionGapReason != nil, logDamage: !(scrub?.problems.isEmpty ?? true),
            scrubPasses: scrub?.passes ?? 0, scrubBytes: scrub?.bytesChecked ?? 0, lastScrub: scrub?.lastPassEnded,
            checkpoints: checkpointRecord.withLock { $0 }, tornTailBytesAtOpen: store.tornTailBytesAtOpen)
    }

    /// Stops the checkpointer, writes a final checkpoint, and closes the store. Call it before dropping the
    /// engine: its background threads keep it alive until then.
    /// - Throws: The checkpoint's or the store's error; after an earlier write failure, that failure (no
    ///   checkpoint was written and nothing more synced, so the stop was not clean); after a void whose
    ///   target could not be read, ``StorageError/Code/failed`` (no checkpoint was written; the log is whole).
    ///   A later call, from any thread, waits until the first is over and throws nothing: the first reports.
    public func close() throws {
        let first = checkpointState.withLock { state -> Bool in
            defer { state.stopping = true }
            // Entered under the lock, so that no later call can find `stopping` set before it can wait.
            if !state.stopping { closing.enter() }
            return !state.stopping
        }
        guard first else {
            closing.wait()
            return
        }
        defer { closing.leave() }
        scrubber?.stop()
        decisions.withLock { $0.isClosing = true }
        checkpointerWake.signal()
        checkpointerStopped.wait()
        // A store moved or deleted in the last second is not reported as safely stopped.
        store.checkLocation()
        var checkpointError: (any Error)?
        do { try checkpoint() } catch { checkpointError = error }
        try store.close()
        // A store that failed wrote no checkpoint and synced nothing more: the close was not clean. A
        // checkpoint that failed because the log itself did (its sync, say) is that failure, not a
        // checkpoint's: the log is then not known to be synced.
        if var failure = store.failure {
            failure.message +=
                "; so no final checkpoint was written, and the next open replays the log after the last one"
            throw failure
        }
        if let checkpointError {
            // Said as what it is: the log is whole, only the next open's head start is missing.
            throw StorageError(
                .failed,
                "the final checkpoint could not be written (\(checkpointError)); every event is in the log, synced, and the next open replays it from the last checkpoint: fix the cause (permissions, a full disk) for a quick start"
            )
        }
        if let gap = projectionGap.withLock({ $0 }) {
            let next =
                gap.logDamaged
                ? "the log is damaged where the void's target lies, so the next open refuses the store: run `tally verify` to see the damage, then `tally salvage --out DIR` to copy every readable record into a new store"
                : "every event is in the log, and the next open replays it from the last checkpoint, applying the void"
            throw StorageError(
                .failed, "no checkpoint was written, since the live projections missed a void (\(gap.reason)); \(next)")
        }
    }

}
