import Dispatch
import Glibc
import Synchronization
import TallyCore
import TallyStorage

extension Engine {
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
            defer {
                state.backfillIds = BackfillIds(
                    capacity: configuration.backfillRememberedIds, firstOffset: state.nextOffset)
            }
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
                    let maximum = EngineConfiguration.maximumFutureLimitMicroseconds
                    // The hint only where it helps: an import already at the largest limit can take no more.
                    let hint =
                        configuration.futureLimitMicroseconds < maximum
                        ? "; tally import --future-limit takes times further ahead (at most \(EngineConfiguration.describe(maximum)))"
                        : " (the largest --future-limit); check the events' times and the clock"
                    outcomes[index] = .rejected(
                        reason: mode == .backfill
                            ? "time: more than \(limit) ahead of the clock (\(clock))\(hint)"
                            : "time: more than \(limit) ahead of the server clock (\(clock))"
                    )
                    continue
                }
                if mode == .live && event.time < earliest {
                    // A retry of an event stored while its time was inside the limit (its id is kept to the
                    // hour past it) is answered as the duplicate it is: "rejected" would tell the client that
                    // it was not stored.
                    if let original = state.windowEntry(
                        keys[index], near: event.time, earliest: earliest, nearOnly: false, configuration: configuration
                    ) {
                        outcomes[index] = .duplicate(offset: original.offset)
                        hasDuplicates = true
                        continue
                    }
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
                if backfill, !state.backfillIds.isEmpty,
                    let original = state.backfillIds.entry(
                        key, within: configuration.backdateLimitMicroseconds, of: event.time)
                {
                    outcomes[index] = .duplicate(offset: original.offset)
                    hasDuplicates = true
                    continue
                }
                // An event older than the window repeats an id in it only when the two are less than a window
                // apart: a backfill may bring an old event whose id a recent one reused.
                let nearOnly = backfill && !remembered
                var targetOffset: UInt64?
                if case .eventVoided(let eventId, _) = event.payload {
                    if let original = state.windowEntry(
                        key, near: event.time, earliest: earliest, nearOnly: nearOnly, configuration: configuration)
                    {
                        outcomes[index] = .duplicate(offset: original.offset)
                        hasDuplicates = true
                        continue
                    }
                    switch state.claimVoidTarget(
                        eventId, tenant: event.tenantId, time: event.time, earliest: earliest, backfill: backfill,
                        nearOnly: nearOnly, configuration: configuration)
                    {
                    case .claimed(let target): targetOffset = target
                    case .refused(let reason):
                        outcomes[index] = .rejected(reason: reason)
                        continue
                    }
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
                } else if let original = state.windowEntry(
                    key, near: event.time, earliest: earliest, nearOnly: nearOnly, configuration: configuration)
                {
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
            // All the frames go in one submission: written in one group commit, and one result for them all.
            fullFrames.append(records)
            store.submit(frames: fullFrames) { [self] result in
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
        // read scans the targets' segments, and stats reads must not wait for it. All in one pass, in offset
        // order: this thread also writes the next batches, and 100,000 voids read one by one took over a
        // minute. Should that pass fail, each target is read alone, so a failure is pinned to its own void.
        let earlierOffsets = events.compactMap { pending in pending.voidTargetOffset.flatMap { $0 < first ? $0 : nil } }
        var earlierTargets: [UInt64: Event] = [:]
        var readTogether = earlierOffsets.isEmpty
        let readStarted = MonotonicClock.nanoseconds()
        if !readTogether, let read = try? store.events(at: earlierOffsets) {
            earlierTargets = read.mapValues(\.event)
            readTogether = true
        }

        for pending in events where !readTogether {
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
                // A checkpointed sealed segment is not read on open (`tally verify` reads it): its damage
                // shows first here, and the next open, replaying this void, refuses the store.
                let damaged = (failure as? StorageError)?.code == .corrupt
                projectionGap.withLock { gap in if gap == nil { gap = (reason, damaged) } }
                configuration.store.log(
                    "\(reason); the live stats miss this void, and no checkpoint is written: "
                        + Engine.remedy(forGapInDamagedLog: damaged))
            }
        }
        if !earlierOffsets.isEmpty,
            MonotonicClock.nanoseconds() &- readStarted >= configuration.slowVoidReadWarning.nanoseconds
        {
            let seconds = MonotonicClock.seconds(since: readStarted)
            configuration.store.log(
                "slow void targets: reading the targets of \(earlierOffsets.count) voids took \(seconds) s on the log's writer thread, and later batches waited for it (voids of events far apart in the log cost up to 256 KiB of reading each)"
            )
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
}

extension Engine.DecisionState {
    /// The entry the dedup window holds for `key`, if it still counts: not expired before `earliest`, and,
    /// when `nearOnly` (a backfilled event older than the window), less than a window from `time`.
    func windowEntry(
        _ key: IdentityHash, near time: Timestamp, earliest: Timestamp, nearOnly: Bool,
        configuration: EngineConfiguration
    ) -> DedupIndex.Entry? {
        guard let entry = dedup[key], !DedupIndex.isExpired(entry, before: earliest) else { return nil }
        guard
            !nearOnly
                || DedupIndex.isNear(entry, time, width: configuration.backdateLimitMicroseconds, cutoff: earliest)
        else { return nil }
        return entry
    }

    /// What ``claimVoidTarget(_:tenant:time:earliest:backfill:nearOnly:configuration:)`` found.
    enum VoidClaim {
        /// The target, at this offset, is now marked voided.
        case claimed(UInt64)
        /// The void is rejected, for this reason.
        case refused(String)
    }

    /// Finds the event a void retracts (in the dedup window, or among the older events this backfill
    /// remembers: the one nearest the void's time) and marks it voided, or says why the void is rejected: no
    /// such event, one that cannot be voided, or one already voided.
    /// - Parameters:
    ///   - time: The void's event time.
    ///   - nearOnly: Whether the void is a backfilled one older than the window: then an event in the window
    ///     is its target only when less than a window from it, or when no older event under the id is kept
    ///     and this run imported it (farther, it is a recent event that reused the id, and the target is among
    ///     the backfill's own).
    mutating func claimVoidTarget(
        _ eventId: String, tenant: TenantID, time: Timestamp, earliest: Timestamp, backfill: Bool, nearOnly: Bool,
        configuration: EngineConfiguration
    ) -> VoidClaim {
        let targetKey = IdentityHash(tenant: tenant, id: eventId)
        let target: (offset: UInt64, isVoidable: Bool, isVoided: Bool)
        func windowTarget(nearOnly: Bool) -> (offset: UInt64, isVoidable: Bool, isVoided: Bool)? {
            windowEntry(targetKey, near: time, earliest: earliest, nearOnly: nearOnly, configuration: configuration)
                .map { entry in
                    (
                        entry.offset, entry.flags & DedupIndex.Entry.voidable != 0,
                        entry.flags & DedupIndex.Entry.voided != 0
                    )
                }
        }
        if let entry = windowTarget(nearOnly: nearOnly) {
            target = entry
        } else if backfill, let entry = backfillIds.nearest(targetKey, to: time) {
            // Of the older events this run kept under the id (several, when it was reused after leaving the
            // window), the one nearest the void's time.
            target = (entry.offset, entry.isVoidable, entry.isVoided)
        } else if backfill, let entry = windowTarget(nearOnly: false), entry.offset >= backfillIds.firstOffset {
            // An old void of an event in the window further than a window from it: that event is its target
            // when this run imported it (a recent event of another run reusing the id is not).
            target = entry
        } else {
            let imported =
                backfill
                ? " or among the latest \(EngineConfiguration.describe(count: backfillIds.capacity)) older events imported in this run"
                : ""
            return .refused(
                "data.eventId: no accepted event \"\(eventId)\" of this tenant within the dedup window (\(EngineConfiguration.describe(configuration.backdateLimitMicroseconds)))\(imported)"
            )
        }
        guard target.isVoidable else {
            return .refused(
                "data.eventId: \"\(eventId)\" cannot be voided: only api.call and storage.changed events can be; send the compensating lifecycle event instead"
            )
        }
        guard !target.isVoided else { return .refused("data.eventId: \"\(eventId)\" is already voided") }
        // The target is marked in each index that remembers it (one near the window's edge is in both), and
        // only there: another event under the same id (one that reused it) stays voidable.
        if let entry = dedup[targetKey], entry.offset == target.offset, !DedupIndex.isExpired(entry, before: earliest) {
            dedup.markVoided(targetKey)
        }
        if !backfillIds.isEmpty { backfillIds.markVoided(targetKey, offset: target.offset) }
        return .claimed(target.offset)
    }
}
