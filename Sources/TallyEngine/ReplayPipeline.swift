import Dispatch
import Synchronization
import TallyCore
import TallyStorage

/// Reads and decodes the log on a second thread while the caller applies events, so a long replay uses
/// two cores: one for segment reads, checksums, record decoding and identity hashing, the other for the
/// projections and the dedup index.
///
/// Events travel in chunks through a short bounded queue, in log order. A failure on either side stops
/// both: a read error reaches the caller from ``forEach(_:)``, and an error thrown by the caller's body
/// makes the reader stop at its next event.
struct ReplayPipeline {
    /// One decoded event and the dedup key of its (tenant, id).
    struct Item: Sendable {
        var stored: StoredEvent
        var key: IdentityHash
    }

    private final class Channel: Sendable {
        struct State {
            var chunks: [[Item]] = []
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

        /// Queues a chunk, waiting for room; `false` once the consumer has stopped.
        func send(_ chunk: [Item]) -> Bool {
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
        func receive() throws -> [Item]? {
            while true {
                filled.wait()
                let next = state.withLock { state -> Result<[Item]?, any Error>? in
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

    /// Calls `body` with every event from `start` to `end` (or the log's end), stopping at the first event
    /// ingested after `latestIngest`.
    func forEach(_ body: (Item) throws -> Void) throws {
        let channel = Channel(depth: ReplayPipeline.depth)
        let (store, start, end, latestIngest) = (self.store, self.start, self.end, self.latestIngest)
        BackgroundThread.start(name: "tally-replay-reader") {
            var chunk: [Item] = []
            chunk.reserveCapacity(ReplayPipeline.chunkSize)
            do {
                var open = true
                try store.forEachEvent(from: start, to: end) { stored in
                    if let latestIngest, stored.ingestTime > latestIngest { return false }
                    chunk.append(Item(stored: stored, key: IdentityHash(tenant: stored.event.tenantId, id: stored.event.id)))
                    if chunk.count == ReplayPipeline.chunkSize {
                        open = channel.send(chunk)
                        chunk.removeAll(keepingCapacity: true)
                        if open, channel.isCancelled { open = false }
                    }
                    return open
                }
                if open, !chunk.isEmpty { _ = channel.send(chunk) }
                channel.finish(nil)
            } catch {
                channel.finish(error)
            }
        }
        do {
            while let chunk = try channel.receive() {
                for item in chunk { try body(item) }
            }
        } catch {
            channel.cancel()
            throw error
        }
    }
}
