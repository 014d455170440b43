import Dispatch
import Synchronization
import TallyCore
import TallyStorage

/// Reads and decodes the log on a second thread while the caller applies events, so a long replay uses
/// two cores: one for segment reads, checksums, record decoding and identity hashing, the other for the
/// projections and the dedup index.
///
/// Events travel in chunks through a short bounded queue, in log order. `api.call` records, nearly all of
/// a log, are read in place into plain ``Entry`` values (no ``Event``, no `String`: the key id's bytes go
/// into the chunk's byte buffer); other records are decoded whole. A failure on either side stops both: a
/// read error reaches the caller from ``forEachChunk(threaded:_:)``, and an error thrown by the caller's
/// body makes the reader stop at its next event.
struct ReplayPipeline {
    /// One event of a chunk, in log order: an `api.call` by its parts, or a reference to an event decoded
    /// whole.
    struct Entry: Sendable, BitwiseCopyable {
        var offset: UInt64
        var time: Timestamp
        var tenant: TenantID
        /// The dedup key of the event's (tenant, id).
        var identity: IdentityHash
        /// For a call: ``KeyTable/hash(utf8:)`` of its key id.
        var keyHash: UInt64
        /// For a call: `time.monthIndex`.
        var month: Int
        /// For a call: where its key id's bytes lie in ``Chunk/keyBytes``; otherwise `start` is the
        /// event's index in ``Chunk/events``.
        var start: UInt32
        var length: UInt32
        /// For a call its HTTP status; 0 for an event decoded whole.
        var status: UInt16

        var isCall: Bool { status != 0 }
    }

    /// A run of consecutive events, in storage that is filled by the reader, read by the caller, and then
    /// handed back to the reader for the next run (so a replay allocates a few chunks, not one per run).
    ///
    /// `@unchecked Sendable`: one thread at a time owns a chunk, and every hand-over goes through the
    /// channel's lock.
    final class Chunk: @unchecked Sendable {
        private let storage: UnsafeMutableBufferPointer<Entry>
        private(set) var count = 0
        /// The events of every type but `api.call`, in log order.
        private(set) var events: [StoredEvent] = []
        /// The key ids of the calls, back to back.
        private var keyStorage: UnsafeMutableRawBufferPointer
        private var keyCount = 0
        /// The month of the last call, reused while calls fall in it (the log is nearly in time order).
        private var month = (index: 0, start: Timestamp(microseconds: 1), end: Timestamp(microseconds: 0))

        init() {
            storage = .allocate(capacity: ReplayPipeline.chunkSize)
            keyStorage = .allocate(byteCount: ReplayPipeline.chunkSize * 16, alignment: 8)
        }

        deinit {
            storage.deallocate()
            keyStorage.deallocate()
        }

        /// The events, in log order.
        var entries: UnsafeBufferPointer<Entry> { UnsafeBufferPointer(rebasing: storage[0..<count]) }

        /// The bytes ``Entry/start`` and ``Entry/length`` of a call point into.
        var keyBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: keyStorage[0..<keyCount]) }

        var isFull: Bool { count == storage.count }

        func removeAll() {
            count = 0
            keyCount = 0
            events.removeAll(keepingCapacity: true)
        }

        /// Decodes one record onto the chunk, which must not be full.
        /// - Returns: `false` when the record was ingested after `latestIngest` (and not added).
        func append(_ record: UnsafeRawBufferPointer, at offset: UInt64, latestIngest: Timestamp?) throws -> Bool {
            do throws(CodecError) {
                if let call = try EventCodec.decodeCall(record) {
                    if let latestIngest, call.header.ingestTime > latestIngest { return false }
                    let time = call.header.time
                    if time < month.start || time >= month.end { month = time.calendarMonth }
                    let keyStart = storeKey(call.keyId)
                    (storage.baseAddress.unsafelyUnwrapped + count).initialize(
                        to: Entry(
                            offset: offset, time: time, tenant: call.header.tenantId,
                            identity: IdentityHash(tenant: call.header.tenantId, utf8: call.id),
                            keyHash: KeyTable.hash(utf8: call.keyId), month: month.index,
                            start: UInt32(truncatingIfNeeded: keyStart),
                            length: UInt32(truncatingIfNeeded: call.keyId.count), status: call.status))
                    count += 1
                    return true
                }
                let stored = try EventCodec.decodeStored(record, offset: offset)
                let event = stored.event
                if let latestIngest, stored.ingestTime > latestIngest { return false }
                (storage.baseAddress.unsafelyUnwrapped + count).initialize(
                    to: Entry(
                        offset: offset, time: event.time, tenant: event.tenantId,
                        identity: IdentityHash(tenant: event.tenantId, id: event.id), keyHash: 0, month: 0,
                        start: UInt32(truncatingIfNeeded: events.count), length: 0, status: 0))
                count += 1
                events.append(stored)
                return true
            } catch {
                throw StorageError.undecodable(at: offset, error.reason)
            }
        }

        /// Copies a key id's bytes after those stored so far, growing the storage when needed.
        /// - Returns: Where they start.
        @inline(__always)
        private func storeKey(_ bytes: UnsafeRawBufferPointer) -> Int {
            let start = keyCount
            if keyStorage.count - start < bytes.count {
                let grown = UnsafeMutableRawBufferPointer.allocate(
                    byteCount: max(keyStorage.count * 2, start + bytes.count),
                    alignment: 8)
                grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: keyStorage[0..<start]))
                keyStorage.deallocate()
                keyStorage = grown
            }
            if let source = bytes.baseAddress, let base = keyStorage.baseAddress {
                (base + start).copyMemory(from: source, byteCount: bytes.count)
            }
            keyCount = start + bytes.count
            return start
        }
    }

    private final class Channel: Sendable {
        struct State {
            var chunks: [Chunk] = []
            /// Chunks the caller is done with, for the reader to fill again.
            var recycled: [Chunk] = []
            var finished = false
            var failure: (any Error)?
            var cancelled = false
        }

        let state = Mutex(State())
        let filled = DispatchSemaphore(value: 0)
        let free: DispatchSemaphore

        init(depth: Int) {
            // Counted up from zero: a semaphore freed below its initial value is a libdispatch error, and
            // a cancelled reader may leave slots taken.
            free = DispatchSemaphore(value: 0)
            for _ in 0..<depth { free.signal() }
        }

        var isCancelled: Bool { state.withLock { $0.cancelled } }

        /// An empty chunk: one the caller handed back, or a new one.
        func emptyChunk() -> Chunk {
            let recycled = state.withLock { $0.recycled.popLast() }
            guard let recycled else { return Chunk() }
            recycled.removeAll()
            return recycled
        }

        /// Hands a chunk the caller is done with back to the reader.
        func recycle(_ chunk: Chunk) {
            state.withLock { $0.recycled.append(chunk) }
        }

        /// Queues a chunk, waiting for room; `false` once the consumer has stopped.
        func send(_ chunk: Chunk) -> Bool {
            free.wait()
            let accepted = state.withLock { state -> Bool in
                guard !state.cancelled else { return false }
                state.chunks.append(chunk)
                return true
            }
            filled.signal()
            return accepted
        }

        func finish(_ failure: (any Error)?) {
            state.withLock { state in
                state.finished = true
                state.failure = failure
            }
            filled.signal()
        }

        /// The next chunk, or `nil` at the end (throwing the reader's error, if any).
        func receive() throws -> Chunk? {
            while true {
                filled.wait()
                let next = state.withLock { state -> Result<Chunk?, any Error>? in
                    if !state.chunks.isEmpty { return .success(state.chunks.removeFirst()) }
                    if state.finished { return state.failure.map { .failure($0) } ?? .success(nil) }
                    return nil
                }
                guard let next else { continue }
                if case .success(.some) = next { free.signal() }
                return try next.get()
            }
        }

        /// Stops the reader and waits until it has finished.
        func cancel() {
            let finished = state.withLock { state -> Bool in
                state.cancelled = true
                return state.finished
            }
            guard !finished else { return }
            // Unblock a reader waiting for room, then wait for it to notice.
            free.signal()
            while true {
                filled.wait()
                if state.withLock({ $0.finished }) { return }
                free.signal()
            }
        }
    }

    let store: SegmentStore
    let start: UInt64
    let end: UInt64?
    let latestIngest: Timestamp?

    /// Events per chunk and chunks in flight: large enough to amortise the hand-over, small enough to stay
    /// in the caches.
    static let chunkSize = 2048
    static let depth = 4

    /// Calls `body` with every chunk of events from `start` to `end` (or the log's end), stopping at the
    /// first event ingested after `latestIngest`.
    /// - Parameters:
    ///   - threaded: Whether to read on a second thread (worth it for long replays only).
    ///   - body: Applies a chunk.
    func forEachChunk(threaded: Bool, _ body: (Chunk) throws -> Void) throws {
        guard threaded else {
            let chunk = Chunk()
            try read(next: {
                chunk.removeAll()
                return chunk
            }) { chunk in
                try body(chunk)
                return true
            }
            return
        }
        let channel = Channel(depth: ReplayPipeline.depth)
        let pipeline = self
        BackgroundThread.start(name: "tally-replay-reader") {
            do {
                try pipeline.read(next: channel.emptyChunk) { chunk in
                    channel.send(chunk) && !channel.isCancelled
                }
                channel.finish(nil)
            } catch {
                channel.finish(error)
            }
        }
        do {
            while let chunk = try channel.receive() {
                try body(chunk)
                channel.recycle(chunk)
            }
        } catch {
            channel.cancel()
            throw error
        }
    }

    /// Calls `body` with each chunk of events, full ones and the last, each filled from an empty one that
    /// `next` gives; `body` returns `false` to stop.
    private func read(next: () -> Chunk, _ body: (Chunk) throws -> Bool) throws {
        var chunk = next()
        var open = true
        try store.forEachRecord(from: start, to: end) { offset, record in
            // The first event ingested after the limit ends the replay; the chunk so far still counts.
            guard try chunk.append(record, at: offset, latestIngest: latestIngest) else { return false }
            if chunk.isFull {
                open = try body(chunk)
                chunk = next()
            }
            return open
        }
        if open, chunk.count > 0 { _ = try body(chunk) }
    }
}
