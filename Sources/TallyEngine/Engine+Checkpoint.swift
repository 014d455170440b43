import Dispatch
import Glibc
import TallyCore
import TallyStorage

extension Engine {
    /// The version of the projection rules and checkpoint encoding this build writes: a checkpoint of any
    /// other version is ignored (with a warning) and the projections are rebuilt from the log.
    package static var projectionVersion: UInt32 { CheckpointCodec.projectionVersion }

    /// Writes a checkpoint of the projections and the dedup index, if any event arrived since the last one.
    ///
    /// Briefly holds new ingests back until every accepted batch has been applied, so the checkpoint is
    /// exactly the state at one offset. Neither the projections nor the dedup index is then copied whole:
    /// the checkpoint reads them a chunk at a time under short holds of their locks while ingest and reads
    /// go on (see ``TenantTable/beginCapture()`` and ``DedupIndex/pin()``), and writes the file holding none.
    /// - Returns: The offset the checkpoint covers, or `nil` when none was needed (or one is being written).
    /// - Throws: ``StorageError`` when the file cannot be written or synced, or the log cannot be synced under it (the
    ///   log is unaffected; the next open replays more).
    @discardableResult
    public func checkpoint() throws -> UInt64? {
        let proceed = checkpointState.withLock { state -> Bool in
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        guard proceed else { return nil }
        defer { checkpointState.withLock { $0.writing = false } }
        let started = MonotonicClock.nanoseconds()
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
        let damaged = damagedCheckpoints.withLock { $0 }
        try file.commit(header: header, keep: configuration.checkpointsKept, replacing: damaged)
        if !damaged.isEmpty { damagedCheckpoints.withLock { $0.removeAll { $0.offset < offset } } }
        let finished = MonotonicClock.nanoseconds()
        checkpointState.withLock { checkpoint in
            checkpoint.offset = offset
            checkpoint.nanoseconds = finished
        }
        let written = configuration.clock()
        checkpointRecord.withLock { record in
            record.coveredEvents = offset
            record.lastWritten = written
            record.lastDurationSeconds = Double(finished &- started) / 1e9
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
        /// A scrub found damage: a checkpoint that covers the damaged records makes every later open refuse
        /// them rather than cut them off as a torn tail (when they end the log).
        case damage
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

    /// Why no checkpoint should be written now for lack of disk space, if so: the disk holding the store has
    /// less free than the newest checkpoint's size (the next one's estimate) plus
    /// ``EngineConfiguration/checkpointDiskReserve``, which is left for the log. Measured at `checkpoints/`,
    /// or at the store's directory before the first checkpoint makes it (a path that does not exist cannot
    /// be measured).
    func checkpointSpaceShortfall() -> String? {
        guard
            let available = store.fileSystem.availableBytes(at: checkpoints.directory)
                ?? store.fileSystem.availableBytes(at: store.directory)
        else { return nil }
        let estimate = checkpoints.newestSize() ?? 0
        guard available < estimate.addingReportingOverflow(configuration.checkpointDiskReserve).partialValue else {
            return nil
        }
        let reserve = Self.mebibytes(configuration.checkpointDiskReserve)
        guard estimate > 0 else {
            return
                "the disk holding \(checkpoints.directory) has \(Self.mebibytes(available)) free, under the \(reserve) kept for the log"
        }
        return
            "the disk holding \(checkpoints.directory) has \(Self.mebibytes(available)) free, and a checkpoint needs about \(Self.mebibytes(estimate)) (the newest one's size) with \(reserve) left for the log"
    }

    /// Bytes in whole mebibytes (rounded up), for messages.
    static func mebibytes(_ bytes: Int64) -> String {
        "\(bytes / (1 << 20) + (bytes % (1 << 20) > 0 ? 1 : 0)) MiB"
    }

    /// Checks once a second whether a checkpoint is due.
    func runCheckpointer() {
        // The scrub's findings a checkpoint has answered (see `CheckpointReason.damage`).
        var answeredDamage: [String] = []
        // After a checkpoint fails (or is skipped for space), none is tried before `retryAt` (monotonic
        // nanoseconds), and the wait doubles with each further failure: a checkpoint that cannot be written
        // must not be rewritten every second, filling the disk the log needs each time.
        var retryAt: UInt64 = 0
        var retryDelay: Duration = .zero
        func deferRetry() -> String {
            retryDelay =
                retryDelay == .zero
                ? configuration.checkpointRetryDelay : min(retryDelay * 2, configuration.checkpointRetryLimit)
            retryAt = MonotonicClock.nanoseconds() &+ retryDelay.nanoseconds
            return "the next try in \(retryDelay.components.seconds) s"
        }
        while true {
            _ = checkpointerWake.wait(timeout: .now() + .seconds(1))
            let (stopping, lastOffset, lastTime) = checkpointState.withLock { ($0.stopping, $0.offset, $0.nanoseconds) }
            if stopping { break }
            // A store moved or deleted while open is found within the second, even while no event arrives.
            store.checkLocation()
            let applied = projections.withLock { $0.nextOffset }
            let pending = applied - min(applied, lastOffset)
            let elapsed = Int64((MonotonicClock.nanoseconds() - lastTime) / 1_000_000_000)
            let ids = rememberedIds
            let damage = scrubber?.status.problems ?? []
            // Answered once a checkpoint is written after the finding, or fails (logged; the next due one tries
            // again). Not while nothing is pending: the newest checkpoint then covers every applied record (an
            // acknowledged one not yet applied makes it pending within the second), nor while another
            // checkpoint is being written, which may have captured its offset before the damaged records.
            let newDamage = !damage.isEmpty && damage != answeredDamage
            if let reason = newDamage && pending > 0
                ? .damage
                : Engine.checkpointDue(
                    pending: pending, rememberedIds: ids, elapsedSeconds: elapsed,
                    configuration: configuration)
            {
                if MonotonicClock.nanoseconds() < retryAt {
                    // Waiting after a failure.
                } else if let shortfall = checkpointSpaceShortfall() {
                    if reason == .damage { answeredDamage = damage }
                    checkpointRecord.withLock { $0.skippedForSpace += 1 }
                    configuration.store.log(
                        "checkpoint skipped: \(shortfall); the log is unaffected, the next open replays more; free space (\(deferRetry()))"
                    )
                } else {
                    do {
                        let started = MonotonicClock.nanoseconds()
                        if let offset = try checkpoint() {
                            retryDelay = .zero
                            if reason == .damage { answeredDamage = damage }
                            let milliseconds = (MonotonicClock.nanoseconds() - started) / 1_000_000
                            configuration.store.log(
                                "checkpoint at offset \(offset) written in \(milliseconds) ms (due by \(reason): "
                                    + "\(offset - min(offset, lastOffset)) events after offset \(lastOffset); \(ids) ids in the dedup window)"
                            )
                        }
                    } catch {
                        if reason == .damage { answeredDamage = damage }
                        checkpointRecord.withLock { $0.failures += 1 }
                        configuration.store.log(
                            "checkpoint failed: \(error); the log is unaffected, the next open replays more (\(deferRetry()))"
                        )
                    }
                }
            }
            checkpointerRounds.add(1, ordering: .releasing)
        }
        checkpointerStopped.signal()
    }
}
