import Dispatch
import Glibc
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
    /// Why the live projections no longer match the log (a void whose target could not be read), or `nil`.
    /// While set, no checkpoint is written: one would make the gap permanent, since a reopen replays only
    /// the log after the last checkpoint. The reopen applies what the live projections missed.
    let projectionGap = Mutex<String?>(nil)
    private let checkpointerStopped = DispatchSemaphore(value: 0)
    private let checkpointerWake = DispatchSemaphore(value: 0)
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
            configuration: Engine.replayedStoreConfiguration(
                configuration.store, directory: directory, fileSystem: fileSystem),
            fileSystem: fileSystem)
        checkpoints.removeLeftovers()
        var state = ProjectionState()
        var dedup = DedupIndex()
        var decision: DecisionState
        var checkpointOffset: UInt64 = 0
        do {
            if let loaded = try checkpoints.loadNewest(
                logEnd: store.nextOffset, logSalt: { [store] in store.salt(ofSegmentHolding: $0) })
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
                dedup: dedup, backfillIds: BackfillIds(capacity: configuration.backfillRememberedIds),
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
        checkpointState = Mutex((checkpointOffset, MonotonicClock.nanoseconds(), false, false))
        BackgroundThread.start(name: "tally-checkpointer") { [self] in runCheckpointer() }
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
    ) -> StoreConfiguration {
        var configuration = configuration
        configuration.fullyVerifyFromOffset = .max
        configuration.acknowledgedOffset = max(
            configuration.acknowledgedOffset,
            acknowledgedOffset(directory: directory, fileSystem: fileSystem))
        return configuration
    }

    /// Applies the log from `state.nextOffset` onwards to `state`, rebuilding dedup entries in the window.
    /// - Parameters:
    ///   - limit: Where to stop; `nil` for the end of the log.
    ///   - progress: Called every 65,536 events with the offset reached.
    static func replay(
        store: SegmentStore, into state: inout ProjectionState, dedup: inout DedupIndex,
        configuration: EngineConfiguration, limit: ReplayLimit? = nil,
        progress: ((UInt64) -> Void)? = nil
    ) throws {
        let cutoff = Timestamp(
            microseconds: configuration.clock().microseconds - configuration.backdateLimitMicroseconds)
        // Size the dedup table for the events to come (up to 4M), so it rarely grows during the replay.
        dedup.reserveCapacity(
            dedup.count + Int(min(store.nextOffset - min(state.nextOffset, store.nextOffset), 1 << 22)))
        var end: UInt64?
        var latestIngest: Timestamp?
        switch limit {
        case .offset(let offset)?: end = offset
        case .ingestTime(let time)?: latestIngest = time
        case nil: break
        }
        // Dedup inserts are gathered and stored in runs, so the table's cache misses overlap (flushed
        // before any lookup, so a void finds every earlier event).
        var runs = DedupRuns(cutoff: cutoff)
        func handle(_ stored: StoredEvent, key: IdentityHash, runs: inout DedupRuns) throws {
            let event = stored.event
            var target: Event?
            if case .eventVoided(let eventId, _) = event.payload {
                runs.flush(into: &dedup)
                let targetKey = IdentityHash(tenant: event.tenantId, id: eventId)
                let entry = dedup[targetKey]
                // First the offset decided at ingest, stored with the void: the target may be older than the
                // dedup window by now. It is confirmed by tenant and id, since a salvaged store renumbers its
                // records; when it does not match (or the void predates that field), the window finds it.
                if let offset = stored.voidTarget, let found = try Engine.readEvent(store, at: offset),
                    found.tenantId == event.tenantId, found.id == eventId
                {
                    target = found
                } else if let offset = entry?.offset {
                    target = try Engine.readEvent(store, at: offset)
                }
                if entry != nil { dedup.markVoided(targetKey) }
            }
            runs.remember(key, offset: stored.offset, time: event.time, type: event.type, into: &dedup)
            state.apply(event, offset: stored.offset, voidedTarget: target)
        }
        let remaining = store.nextOffset - min(state.nextOffset, store.nextOffset)
        // Long replays read and decode on a second thread.
        let pipeline = ReplayPipeline(store: store, start: state.nextOffset, end: end, latestIngest: latestIngest)
        try pipeline.forEachChunk(threaded: remaining >= UInt64(ReplayPipeline.chunkSize * 32)) { chunk in
            let keyBytes = chunk.keyBytes
            for entry in chunk.entries {
                if entry.isCall {
                    runs.remember(entry.identity, offset: entry.offset, time: entry.time, type: .apiCall, into: &dedup)
                    let start = Int(entry.start)
                    state.applyCall(
                        entry, keyId: UnsafeRawBufferPointer(rebasing: keyBytes[start..<start + Int(entry.length)]))
                } else {
                    try handle(chunk.events[Int(entry.start)], key: entry.identity, runs: &runs)
                }
                if entry.offset & 0xFFFF == 0, entry.offset > 0 { progress?(entry.offset) }
            }
        }
        runs.flush(into: &dedup)
    }

    /// Dedup inserts of a replay, gathered into runs of 512 and stored together, so the table's cache misses
    /// overlap. Kept in a value passed `inout` (not a captured variable) so each insert is a plain append.
    struct DedupRuns {
        /// The dedup window's start: events older than it (by the hour, see ``DedupIndex/remembers(_:cutoff:)``)
        /// are not remembered.
        let cutoff: Timestamp
        private var pending: [(key: IdentityHash, entry: DedupIndex.Entry)] = []

        init(cutoff: Timestamp) {
            self.cutoff = cutoff
            pending.reserveCapacity(512)
        }

        mutating func remember(
            _ key: IdentityHash, offset: UInt64, time: Timestamp, type: EventType,
            into dedup: inout DedupIndex
        ) {
            guard DedupIndex.remembers(time, cutoff: cutoff) else { return }
            pending.append(
                (
                    key,
                    DedupIndex.Entry(
                        offset: offset, hour: DedupIndex.hour(time),
                        flags: TenantProjection.isVoidable(type) ? DedupIndex.Entry.voidable : 0)
                ))
            if pending.count == pending.capacity { flush(into: &dedup) }
        }

        mutating func flush(into dedup: inout DedupIndex) {
            pending.withUnsafeBufferPointer { dedup.store(contentsOf: $0) }
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// The event at `offset`, or `nil` when the log holds none there (read through the store's frame index).
    static func readEvent(_ store: SegmentStore, at offset: UInt64) throws -> Event? {
        try store.event(at: offset)?.event
    }

    /// The number of events in the log.
    public var eventCount: UInt64 { projections.withLock { $0.nextOffset } }

    /// Ingests a batch: each element is an event that passed field validation, or the reason it did not.
    ///
    /// Blocks until the accepted events are durable under the store's policy.
    /// - Returns: One outcome per input element, in order.
    public func ingest(_ batch: [Result<Event, EventValidationError>], mode: IngestMode = .live) -> [IngestOutcome] {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<[IngestOutcome]>([])
        ingest(batch, mode: mode) { outcomes in
            result.withLock { $0 = outcomes }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }
    }

    /// Ends a backfill: forgets the ids of events older than the dedup window that backfills accepted, so the
    /// next backfill starts as a new `tally import` would (the window's ids are still remembered). The table
    /// is freed after the lock is released.
    package func forgetBackfilledIds() {
        let forgotten = decisions.withLock { state in
            defer { state.backfillIds = BackfillIds(capacity: configuration.backfillRememberedIds) }
            return state.backfillIds
        }
        withExtendedLifetime(forgotten) {}
    }

    /// Ingests a batch without blocking: `completion` receives one outcome per input element once the accepted
    /// events are durable and applied (on the log's writer thread, so it must not block), or at once when
    /// nothing was accepted.
    public func ingest(
        _ batch: [Result<Event, EventValidationError>], mode: IngestMode = .live,
        completion: @escaping @Sendable ([IngestOutcome]) -> Void
    ) {
        var outcomes = [IngestOutcome](repeating: .rejected(reason: ""), count: batch.count)
        if let failure = store.failure {
            // Read-only after a write failure: refuse before remembering anything.
            completion(
                batch.map { item in
                    if case .failure(let error) = item { return .rejected(reason: error.description) }
                    return .failed(
                        reason:
                            "the store refuses appends after a write failure until it is reopened: \(failure.message)")
                })
            return
        }
        var accepted: [PendingEvent] = []
        accepted.reserveCapacity(batch.count)
        let frameBytes = min(max(1, configuration.maxFrameBytes), Engine.maxRecordBytes)
        // Identity hashes are computed before taking the lock, so concurrent batches hash in parallel.
        let keys = batch.map { item -> IdentityHash in
            guard case .success(let event) = item else { return IdentityHash(0) }
            return IdentityHash(tenant: event.tenantId, id: event.id)
        }
        let prefetchDistance = 8
        let (submitted, dropped) = decisions.withLock { state -> (Bool, DedupIndex.Retired) in
            guard !state.isClosing else {
                for index in batch.indices {
                    if case .failure(let error) = batch[index] {
                        outcomes[index] = .rejected(reason: error.description)
                    } else {
                        outcomes[index] = .failed(reason: "the engine is closing: nothing of this batch was stored")
                    }
                }
                return (false, state.dedup.takeDropped())
            }
            // The clock is read under the lock: batches take offsets in the order of their ingest times.
            let now = max(configuration.clock(), state.lastIngestTime)
            state.forgetIdsIfIdle(now: now, configuration: configuration)
            state.lastIngestTime = now
            let earliest = Timestamp(microseconds: now.microseconds - configuration.backdateLimitMicroseconds)
            let latest = Timestamp(microseconds: now.microseconds + configuration.futureLimitMicroseconds)
            var records = RecordBatch(reservingCapacity: batch.count * 96)
            var fullFrames: [RecordBatch] = []
            var hasDuplicates = false
            // By index, reading each event in place: an iterator would copy each one (and retain its strings).
            for index in batch.indices {
                // In a large table nearly every probe misses the cache: start the miss a few events early.
                if index + prefetchDistance < keys.count {
                    state.dedup.prefetch(keys[index + prefetchDistance])
                    if mode == .backfill { state.backfillIds.prefetch(keys[index + prefetchDistance]) }
                }
                let event: Event
                switch batch[index] {
                case .failure(let error):
                    outcomes[index] = .rejected(reason: error.description)
                    continue
                case .success(let valid):
                    event = valid
                }
                // A tenant record's settings are JSON of any size, and stored values can take more bytes than
                // their text (`1` is nine): one whose record would not fit a frame of the log is refused here,
                // before it takes an offset, rather than lost with its frame once acknowledged.
                if event.payload.carriesSettings {
                    var scratch: [UInt8] = []
                    EventCodec.encode(event, ingestTime: now, voidTarget: nil, into: &scratch)
                    if scratch.count > Engine.maxRecordBytes {
                        outcomes[index] = .rejected(
                            reason:
                                "data.settings: the event's stored record would be \(scratch.count) bytes; at most \(Engine.maxRecordBytes) fit the log (send smaller settings)"
                        )
                        continue
                    }
                }
                if event.time > latest {
                    let limit = EngineConfiguration.describe(configuration.futureLimitMicroseconds)
                    let clock = now.rfc3339(fractionDigits: 3)
                    outcomes[index] = .rejected(
                        reason: mode == .backfill
                            ? "time: more than \(limit) ahead of the clock (\(clock)); tally import --future-limit takes times further ahead (at most \(EngineConfiguration.describe(EngineConfiguration.maximumFutureLimitMicroseconds)))"
                            : "time: more than \(limit) ahead of the server clock (\(clock))"
                    )
                    continue
                }
                if mode == .live && event.time < earliest {
                    outcomes[index] = .rejected(
                        reason:
                            "time: older than the backdate limit (\(EngineConfiguration.describe(configuration.backdateLimitMicroseconds))); use `tally import` to backfill"
                    )
                    continue
                }
                let key = keys[index]
                let offset = state.nextOffset
                let remembered = DedupIndex.remembers(event.time, cutoff: earliest)
                // A backfill also remembers the events it accepts that the window does not (or will not
                // within a day), for the rest of the engine's life (one `tally import`): the latest millions.
                let backfill = mode == .backfill
                let keptForRun = backfill && event.time.microseconds < earliest.microseconds &+ BackfillIds.margin
                // A repeat is one of an id kept within a window's width of its time (farther apart, the id
                // had left the window before it was reused, as live ingest would have found).
                if backfill, !state.backfillIds.isEmpty, let original = state.backfillIds[key],
                    original.time.microseconds.distance(to: event.time.microseconds).magnitude
                        < UInt64(configuration.backdateLimitMicroseconds)
                {
                    outcomes[index] = .duplicate(offset: original.offset)
                    hasDuplicates = true
                    continue
                }
                var targetOffset: UInt64?
                if case .eventVoided(let eventId, _) = event.payload {
                    if let original = state.dedup[key], !DedupIndex.isExpired(original, before: earliest) {
                        outcomes[index] = .duplicate(offset: original.offset)
                        hasDuplicates = true
                        continue
                    }
                    let targetKey = IdentityHash(tenant: event.tenantId, id: eventId)
                    let target: (offset: UInt64, isVoidable: Bool, isVoided: Bool)
                    let targetInWindow: Bool
                    if let entry = state.dedup[targetKey], !DedupIndex.isExpired(entry, before: earliest) {
                        target = (
                            entry.offset, entry.flags & DedupIndex.Entry.voidable != 0,
                            entry.flags & DedupIndex.Entry.voided != 0
                        )
                        targetInWindow = true
                    } else if backfill, let entry = state.backfillIds[targetKey] {
                        (target, targetInWindow) = ((entry.offset, entry.isVoidable, entry.isVoided), false)
                    } else {
                        let imported =
                            backfill
                            ? " or among the latest \(EngineConfiguration.describe(count: state.backfillIds.capacity)) older events imported in this run"
                            : ""
                        outcomes[index] = .rejected(
                            reason:
                                "data.eventId: no accepted event \"\(eventId)\" of this tenant within the dedup window (\(EngineConfiguration.describe(configuration.backdateLimitMicroseconds)))\(imported)"
                        )
                        continue
                    }
                    guard target.isVoidable else {
                        outcomes[index] = .rejected(
                            reason:
                                "data.eventId: \"\(eventId)\" cannot be voided: only api.call and storage.changed events can be; send the compensating lifecycle event instead"
                        )
                        continue
                    }
                    guard !target.isVoided else {
                        outcomes[index] = .rejected(reason: "data.eventId: \"\(eventId)\" is already voided")
                        continue
                    }
                    if targetInWindow { state.dedup.markVoided(targetKey) }
                    if !state.backfillIds.isEmpty { state.backfillIds.markVoided(targetKey) }
                    targetOffset = target.offset
                    if remembered { state.dedup.insert(key, offset: offset, time: event.time, voidable: false) }
                } else if remembered {
                    // One probe both checks for a duplicate and remembers the event.
                    if let original = state.dedup.insertIfAbsent(
                        key, offset: offset, time: event.time,
                        voidable: TenantProjection.isVoidable(event.type))
                    {
                        if DedupIndex.isExpired(original, before: earliest) {
                            // The id left the window (no prune has dropped it yet): the event is new.
                            state.dedup.insert(
                                key, offset: offset, time: event.time, voidable: TenantProjection.isVoidable(event.type)
                            )
                        } else {
                            outcomes[index] = .duplicate(offset: original.offset)
                            hasDuplicates = true
                            continue
                        }
                    }
                } else if let original = state.dedup[key], !DedupIndex.isExpired(original, before: earliest) {
                    outcomes[index] = .duplicate(offset: original.offset)
                    hasDuplicates = true
                    continue
                }
                if keptForRun {
                    state.backfillIds.insert(
                        key, offset: offset, time: event.time, voidable: TenantProjection.isVoidable(event.type))
                }
                state.nextOffset += 1
                if remembered { state.insertsSincePrune += 1 }
                outcomes[index] = .accepted(offset: offset)
                accepted.append(PendingEvent(index: index, offset: offset, voidTargetOffset: targetOffset))
                records.appendRecord { EventCodec.encode(event, ingestTime: now, voidTarget: targetOffset, into: &$0) }
                if records.payload.count >= frameBytes {
                    fullFrames.append(records)
                    records = RecordBatch(reservingCapacity: records.payload.count)
                }
            }
            // Pruning counts the expired ids, then moves the rest into a new table, both a few slots per
            // insert, so it runs once inserts reach the table's size: amortised constant time. It waits for
            // a growth under way to end (within an eighth of the table's size in inserts).
            if !state.dedup.isBusy,
                state.insertsSincePrune > max(1_000_000, state.dedup.count)
                    || now.microseconds &- state.lastPrune.microseconds > 86_400_000_000 || state.dedup.isPruneOwed
            {
                state.dedup.beginPrune(before: earliest)
                state.insertsSincePrune = 0
                state.lastPrune = now
            } else {
                // Each batch also moves a prune's count on, so it ends however few ids arrive.
                state.dedup.advancePrune(4_096)
            }
            // A duplicate's original may still be on its way to the disk (an earlier batch, or this one), so
            // even a batch of duplicates only is answered through the writer, after everything before it.
            // Tables the index stopped using are unmapped after the lock is released.
            let dropped = state.dedup.takeDropped()
            guard !accepted.isEmpty || hasDuplicates else { return (false, dropped) }
            let events = accepted
            let decided = outcomes
            // The writer fails every batch after a failure, so the last frame's result speaks for them all.
            for frame in fullFrames { store.submit(frame) { _ in } }
            store.submit(records) { [self] result in
                switch result {
                case .success:
                    apply(events, from: batch)
                    completion(decided)
                case .failure(let error):
                    // Nothing of the batch is acknowledged: every accepted event, and every duplicate (whose
                    // original may have failed with it), becomes a failure the client should retry.
                    completion(
                        decided.map { outcome in
                            switch outcome {
                            case .accepted(let offset): return .failed(reason: error.message, offset: offset)
                            case .duplicate: return .failed(reason: error.message)
                            case .rejected, .failed: return outcome
                            }
                        })
                }
            }
            return (true, dropped)
        }
        _ = consume dropped
        if !submitted { completion(outcomes) }
    }

    /// An accepted event on its way to the log: its place in the batch (the event is read from there, not
    /// copied while the decision lock is held), its offset, and the offset of the event it voids.
    struct PendingEvent: Sendable, BitwiseCopyable {
        var index: Int
        var offset: UInt64
        var voidTargetOffset: UInt64?
    }

    /// Applies durable events in offset order (writer thread).
    private func apply(_ events: [PendingEvent], from batch: [Result<Event, EventValidationError>]) {
        guard let first = events.first?.offset else { return }
        // Targets of voids in earlier batches are read from the log before the projections are locked: the
        // read scans the target's segment, and stats reads must not wait for it.
        var earlierTargets: [UInt64: Event] = [:]
        for pending in events {
            guard let targetOffset = pending.voidTargetOffset, targetOffset < first else { continue }
            var failure: (any Error)?
            // A second try outlasts a passing failure (a file descriptor briefly short, say).
            for attempt in 0..<2 {
                do {
                    if let target = try Engine.readEvent(store, at: targetOffset) {
                        earlierTargets[targetOffset] = target
                    }
                    failure = nil
                    break
                } catch {
                    failure = error
                    if attempt == 0 { usleep(1_000) }
                }
            }
            if let failure {
                // The void is in the log; only the live projections miss it. No checkpoint may cover them
                // now: a reopen replays from the last checkpoint and applies it (or fails on the same damage,
                // loudly).
                let reason =
                    "the target (offset \(targetOffset)) of the void at offset \(pending.offset) could not be read: \(failure)"
                projectionGap.withLock { gap in if gap == nil { gap = reason } }
                configuration.store.log(
                    "\(reason); the live stats miss this void, and no checkpoint is written until the engine is reopened (the reopen applies it)"
                )
            }
        }
        projections.withLock { state in
            for pending in events {
                guard case .success(let event) = batch[pending.index] else { continue }
                var target: Event?
                if let targetOffset = pending.voidTargetOffset {
                    // Offsets within a batch are consecutive, so an in-batch target is found by position.
                    if targetOffset >= first {
                        if case .success(let inBatch) = batch[events[Int(targetOffset - first)].index] {
                            target = inBatch
                        }
                    } else {
                        target = earlierTargets[targetOffset]
                    }
                }
                state.apply(event, offset: pending.offset, voidedTarget: target)
            }
        }
    }

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
    }

    /// The current ``Gauges``.
    public var gauges: Gauges {
        let (ids, bytes) = decisions.withLock { ($0.dedup.count, $0.dedup.memoryBytes) }
        let (events, tenants) = projections.withLock { ($0.nextOffset, $0.tenants.count) }
        return Gauges(
            events: events, tenants: tenants, rememberedIds: ids, dedupTableBytes: bytes, readOnly: store.failure != nil
        )
    }

    /// Writes a checkpoint of the projections and the dedup index, if any event arrived since the last one.
    ///
    /// Briefly holds new ingests back until every accepted batch has been applied, so the checkpoint is
    /// exactly the state at one offset. Neither the projections nor the dedup index is then copied whole:
    /// the checkpoint reads them a chunk at a time under short holds of their locks while ingest and reads
    /// go on (see ``TenantTable/beginCapture()`` and ``DedupIndex/pin()``), and writes the file holding none.
    /// - Returns: The offset the checkpoint covers, or `nil` when none was needed (or one is being written).
    @discardableResult
    public func checkpoint() throws -> UInt64? {
        let proceed = checkpointState.withLock { state -> Bool in
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        guard proceed else { return nil }
        defer { checkpointState.withLock { $0.writing = false } }
        let last = checkpointState.withLock { $0.offset }
        guard let (offset, tenantCount) = beginCapture(after: last) else { return nil }
        defer {
            // Normally both are over by now; after an early exit they must not outlive the checkpoint.
            let leftovers = projections.withLock { $0.tenants.endCapture() }
            let retired = decisions.withLock { $0.dedup.unpin() }
            _ = consume leftovers
            _ = consume retired
        }
        // A checkpoint without its log's salt would later look like another store's: none is written then
        // (asked before the file is opened, so nothing is left to close).
        guard let logSalt = store.salt(ofSegmentHolding: offset - 1) else {
            throw StorageError(
                .io, "no checkpoint written: the header of the segment holding offset \(offset - 1) could not be read")
        }
        // Written to the file as it is encoded: the file is not visible until it is committed, whole.
        let file = try checkpoints.begin(offset: offset)
        var position = CheckpointCodec.headerSize
        func write(_ part: UnsafeRawBufferPointer) throws(StorageError) {
            try file.write(part, at: position)
            position += part.count
        }
        var encoder = CheckpointCodec.Encoder(
            nextOffset: offset, tenantCount: tenantCount,
            dedupWindowMicroseconds: configuration.backdateLimitMicroseconds,
            logSalt: logSalt)
        let header: [UInt8]
        do {
            while let chunk = projections.withLock({ $0.tenants.nextCapturedChunk() }) {
                for (tenant, projection) in zip(chunk.ids, chunk.projections) { encoder.append(tenant, projection) }
                if encoder.wantsFlush { try encoder.flush(to: write) }
            }
            let leftovers = projections.withLock { $0.tenants.endCapture() }
            _ = consume leftovers
            encoder.beginDedup()
            // Entries added since the capture began have later offsets; they are left to the replay after it.
            let slotsPerHold = CheckpointCodec.Encoder.entriesPerPart
            var cursor = DedupIndex.PinCursor()
            var more = true
            while more {
                decisions.withLock { decisions in
                    let slots = min(slotsPerHold, decisions.dedup.pinnedSlotsLeft(after: cursor))
                    encoder.appendEntries(upTo: slots) { add in
                        more = decisions.dedup.readPinned(&cursor, limit: slots) { key, entry in
                            if entry.offset < offset { add(key, entry) }
                        }
                    }
                }
                if encoder.wantsFlush { try encoder.flush(to: write) }
            }
            let retired = decisions.withLock { $0.dedup.unpin() }
            _ = consume retired
            header = try encoder.finish(to: write)
            // Under the `interval` and `never` policies the events covered may not be synced yet.
            try store.sync()
        } catch {
            file.abandon()
            throw error
        }
        // Cleans up after its own failures.
        try file.commit(header: header, keep: configuration.checkpointsKept)
        checkpointState.withLock { checkpoint in
            checkpoint.offset = offset
            checkpoint.nanoseconds = MonotonicClock.nanoseconds()
        }
        return offset
    }

    /// Waits until every accepted batch is applied, then, with new ingests held back, begins the capture of
    /// the projections and pins the dedup index at that one offset.
    /// - Returns: The offset and the number of tenants captured; `nil` when the store failed or no event
    ///   arrived after `last`.
    private func beginCapture(after last: UInt64) -> (offset: UInt64, tenants: Int)? {
        decisions.withLock { decisions -> (UInt64, Int)? in
            while true {
                if store.failure != nil { return nil }
                enum Outcome {
                    case applying, upToDate
                    case begun(UInt64, Int)
                }
                let outcome = projections.withLock { state -> Outcome in
                    // Checked under the projections lock: `apply` records a gap before it takes that lock
                    // to apply the batch, so no capture can cover a batch whose gap it did not see.
                    if projectionGap.withLock({ $0 != nil }) { return .upToDate }
                    guard state.nextOffset == decisions.nextOffset else { return .applying }
                    guard state.nextOffset > last else { return .upToDate }
                    return .begun(state.nextOffset, state.tenants.beginCapture())
                }
                switch outcome {
                case .upToDate: return nil
                case .begun(let offset, let tenants):
                    decisions.dedup.pin()
                    return (offset, tenants)
                case .applying: usleep(50)
                }
            }
        }
    }

    /// Why a checkpoint is due, if it is.
    enum CheckpointReason: String, Sendable {
        case count, time
    }

    /// Whether the checkpointer writes a checkpoint now: by count once `pending` events arrived since the
    /// last one, at least ``EngineConfiguration/checkpointEveryEvents`` and at least as many as the dedup
    /// window holds ids (a checkpoint holds every id, so writing one costs about as much as replaying that
    /// many events: waiting for as many keeps checkpointing a constant cost per event however large the
    /// window grows); else by time once ``EngineConfiguration/checkpointEverySeconds`` passed with any
    /// event since.
    static func checkpointDue(
        pending: UInt64, rememberedIds: Int, elapsedSeconds: Int64,
        configuration: EngineConfiguration
    ) -> CheckpointReason? {
        if pending >= max(configuration.checkpointEveryEvents, UInt64(max(0, rememberedIds))) { return .count }
        if pending > 0 && elapsedSeconds >= configuration.checkpointEverySeconds { return .time }
        return nil
    }

    /// Checks once a second whether a checkpoint is due.
    private func runCheckpointer() {
        while true {
            _ = checkpointerWake.wait(timeout: .now() + .seconds(1))
            let (stopping, lastOffset, lastTime) = checkpointState.withLock { ($0.stopping, $0.offset, $0.nanoseconds) }
            if stopping { break }
            let applied = projections.withLock { $0.nextOffset }
            let pending = applied - min(applied, lastOffset)
            let elapsed = Int64((MonotonicClock.nanoseconds() - lastTime) / 1_000_000_000)
            let ids = rememberedIds
            if let reason = Engine.checkpointDue(
                pending: pending, rememberedIds: ids, elapsedSeconds: elapsed,
                configuration: configuration)
            {
                do {
                    let started = MonotonicClock.nanoseconds()
                    if let offset = try checkpoint() {
                        let milliseconds = (MonotonicClock.nanoseconds() - started) / 1_000_000
                        configuration.store.log(
                            "checkpoint at offset \(offset) written in \(milliseconds) ms (due by \(reason): "
                                + "\(offset - min(offset, lastOffset)) events after offset \(lastOffset); \(ids) ids in the dedup window)"
                        )
                    }
                } catch {
                    configuration.store.log(
                        "checkpoint failed: \(error); the log is unaffected, the next open replays more")
                }
            }
            checkpointerRounds.add(1, ordering: .releasing)
        }
        checkpointerStopped.signal()
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
        decisions.withLock { $0.isClosing = true }
        checkpointerWake.signal()
        checkpointerStopped.wait()
        var checkpointError: (any Error)?
        do { try checkpoint() } catch { checkpointError = error }
        try store.close()
        // A store that failed wrote no checkpoint and synced nothing more: the close was not clean. A
        // checkpoint that failed because the log itself did (its sync, say) is that failure, not a
        // checkpoint's: the log is then not known to be synced.
        if let failure = store.failure { throw failure }
        if let checkpointError {
            // Said as what it is: the log is whole, only the next open's head start is missing.
            throw StorageError(
                .failed,
                "the final checkpoint could not be written (\(checkpointError)); every event is in the log, synced, and the next open replays it from the last checkpoint: fix the cause (permissions, a full disk) for a quick start"
            )
        }
        if let gap = projectionGap.withLock({ $0 }) {
            throw StorageError(
                .failed,
                "no checkpoint was written, since the live projections missed a void (\(gap)); every event is in the log, and the next open replays it from the last checkpoint"
            )
        }
    }

}
