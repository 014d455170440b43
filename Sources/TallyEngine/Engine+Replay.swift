import TallyCore
import TallyStorage

extension Engine {
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
                var targetOffset: UInt64?
                if let offset = stored.voidTarget, let found = try Engine.readEvent(store, at: offset),
                    found.tenantId == event.tenantId, found.id == eventId
                {
                    (target, targetOffset) = (found, offset)
                } else if let offset = entry?.offset {
                    (target, targetOffset) = (try Engine.readEvent(store, at: offset), offset)
                }
                // As at ingest, only the target itself is marked, not a later event that reused its id.
                if let entry, entry.offset == targetOffset { dedup.markVoided(targetKey) }
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
}
