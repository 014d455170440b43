import TallyCore
import TallyStorage

extension Engine {
    /// How a backfill began: the offset it counts from, and what it took up of an unfinished one.
    package struct BackfillStart: Sendable {
        /// The offset the backfill's run counts from: the log's end, or where the unfinished run it takes up
        /// began.
        package var offset: UInt64
        /// When it takes up an unfinished run: the events stored from ``offset`` on, and how many of them
        /// (older than the dedup window) are remembered for the run.
        package var resumed: (read: Int, remembered: Int)?
    }

    /// Begins a backfill (`tally import`) before its first batch. When an earlier one left its marker
    /// (``BackfillMarker``: it was killed, stopped by a signal or cut short by a failure before it read its
    /// whole input), its run is taken up (``resumeBackfill(from:)``); otherwise the log's end is marked as
    /// where this one begins, durably, before anything is appended.
    /// - Throws: ``StorageError`` when the marker cannot be read or written, or the log cannot be read.
    package func beginBackfill() throws -> BackfillStart {
        let marker = BackfillMarker(storeDirectory: store.directory, fileSystem: store.fileSystem)
        let end = decisions.withLock { $0.nextOffset }
        guard let begun = try marker.read() else {
            try marker.write(end)
            return BackfillStart(offset: end)
        }
        // A torn tail cut off since may have taken the run's first events with it.
        let offset = min(begun, end)
        return BackfillStart(offset: offset, resumed: try resumeBackfill(from: offset))
    }

    /// Ends a backfill that read its whole input: its marker goes, so the next one begins a run of its own.
    /// - Throws: ``StorageError`` when the marker cannot be removed.
    package func finishBackfill() throws {
        try BackfillMarker(storeDirectory: store.directory, fileSystem: store.fileSystem).remove()
    }

    /// Takes up a backfill that an earlier run began at `offset` and did not finish (stopped by a signal,
    /// killed, cut short by a failure): the events the log holds from `offset` on that the run kept for
    /// itself (older than the dedup window, or within a day of leaving it) are remembered as it remembered
    /// them, voided where a void among them retracted them, so the same input imported again stores none of
    /// them twice and its voids find their targets, as one import of the whole input would. Call it before the
    /// first backfill batch; the events within the window the dedup index remembers already.
    /// - Parameter offset: Where the earlier run began: at most the log's end.
    /// - Returns: How many events from `offset` on were read, and how many of them are remembered.
    /// - Throws: ``StorageError`` when the log cannot be read.
    func resumeBackfill(from offset: UInt64) throws -> (read: Int, remembered: Int) {
        let end = decisions.withLock { $0.nextOffset }
        precondition(offset <= end, "a backfill resumes within the log")
        let earliest = configuration.clock().microseconds - configuration.backdateLimitMicroseconds
        var kept = BackfillIds(capacity: configuration.backfillRememberedIds, firstOffset: offset)
        var read = 0
        try store.forEachEvent(from: offset, to: end) { stored in
            read += 1
            let event = stored.event
            if event.time.microseconds < earliest &+ BackfillIds.margin {
                kept.insert(
                    IdentityHash(tenant: event.tenantId, id: event.id), offset: stored.offset, time: event.time,
                    voidable: TenantProjection.isVoidable(event.type))
            }
            if case .eventVoided(let target, _) = event.payload, let targetOffset = stored.voidTarget,
                targetOffset >= offset
            {
                kept.markVoided(IdentityHash(tenant: event.tenantId, id: target), offset: targetOffset)
            }
            return true
        }
        let remembered = kept.count
        let replaced = decisions.withLock { state in
            defer { state.backfillIds = kept }
            return state.backfillIds
        }
        withExtendedLifetime(replaced) {}
        return (read, remembered)
    }
}
