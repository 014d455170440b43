import Glibc
import Synchronization
import TallyCore
import TallyStorage

/// State shared by the event loops.
final class HTTPServerCore: Sendable {
    let listener: Int32
    let configuration: HTTPServerConfiguration
    let handler: any HTTPHandler
    let openConnections = Atomic<Int>(0)
    /// Request body bytes reserved by connections (see ``HTTPServerConfiguration/maxBufferedBodyBytes``).
    let bufferedBodyBytes = Atomic<Int>(0)
    /// Response bytes in connections' output, not yet sent (see
    /// ``HTTPServerConfiguration/maxUnsentResponseBytes``).
    let unsentResponseBytes = Atomic<Int>(0)
    /// ``HTTPServerConfiguration/maxConnections``, lowered to what the open-file limit leaves room for
    /// (``DescriptorLimit``).
    let connectionLimit: Int
    /// Connections closed as soon as accepted because ``connectionLimit`` were open.
    let refusedAtLimit = Atomic<Int>(0)
    /// Connections closed as soon as accepted because the process had run out of file descriptors.
    let refusedWithoutDescriptors = Atomic<Int>(0)
    /// Connections closed because their clients left answers unread while the server held too many unsent
    /// bytes (see ``HTTPServerConfiguration/maxUnsentResponseBytes``).
    let closedStalled = Atomic<Int>(0)
    /// When a loop last warned that a connection was refused at ``connectionLimit`` (monotonic nanoseconds,
    /// 0 for never), so a long overload is one line per 10 s whichever loop refuses.
    private let lastLimitWarning = Atomic<UInt64>(0)
    private let drainingFlag = Atomic<Bool>(false)
    /// The ids of requests that bring none of their own.
    let requestIds = RequestID()
    /// The server's event loops, so the one that accepts a connection can hand it to the least busy; emptied
    /// once they have finished (they hold this core too).
    let loops = Mutex<[EventLoop]>([])

    init(listener: Int32, configuration: HTTPServerConfiguration, handler: any HTTPHandler) {
        self.listener = listener
        self.configuration = configuration
        self.handler = handler
        connectionLimit = min(
            configuration.maxConnections,
            DescriptorLimit.current.map {
                DescriptorLimit.connectionCapacity(limit: $0, eventLoops: configuration.eventLoops)
            } ?? configuration.maxConnections)
    }

    var draining: Bool { drainingFlag.load(ordering: .relaxed) }

    /// Counts a connection refused at ``connectionLimit`` and warns of it, at most once per 10 s.
    func recordRefusalAtLimit() {
        let refused = refusedAtLimit.wrappingAdd(1, ordering: .relaxed).newValue
        let now = max(1, MonotonicClock.nanoseconds())
        let last = lastLimitWarning.load(ordering: .relaxed)
        guard last == 0 || now &- last >= 10_000_000_000,
            lastLimitWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        configuration.log(
            "tally: warning: refused a connection: \(connectionLimit) are open, the most this server takes "
                + "(--max-connections, or what the open-file limit leaves room for); \(refused) refused since it "
                + "started (tally_http_connections_shed_total), warned at most once per 10 s")
    }

    func beginDraining() { drainingFlag.store(true, ordering: .relaxed) }

    /// The loop with the fewest connections, `accepting` itself on a tie (no hand-off needed).
    func leastLoadedLoop(besides accepting: EventLoop) -> EventLoop {
        loops.withLock { loops in
            var best = accepting
            var fewest = accepting.load.load(ordering: .relaxed)
            for loop in loops where loop !== accepting {
                let load = loop.load.load(ordering: .relaxed)
                if load < fewest {
                    best = loop
                    fewest = load
                }
            }
            return best
        }
    }

    /// Whether `count` more bytes of a body fit the budget now, for a connection that holds `own` already:
    /// they do within ``HTTPServerConfiguration/maxBufferedBodyBytes``, and always when no other body is held.
    func hasRoomForBody(_ count: Int, holding own: Int) -> Bool {
        let current = bufferedBodyBytes.load(ordering: .relaxed)
        return current - own <= 0 || count <= configuration.maxBufferedBodyBytes - current
    }

    /// Takes `count` bytes of the body budget for a connection that holds `own` already; false (taking
    /// nothing) when they would go beyond ``HTTPServerConfiguration/maxBufferedBodyBytes`` while other
    /// bodies are held.
    func reserveBodyBytes(_ count: Int, holding own: Int = 0) -> Bool {
        var current = bufferedBodyBytes.load(ordering: .relaxed)
        while true {
            guard current - own <= 0 || count <= configuration.maxBufferedBodyBytes - current else { return false }
            let (exchanged, original) = bufferedBodyBytes.compareExchange(
                expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Gives back bytes taken with ``reserveBodyBytes(_:)``.
    func releaseBodyBytes(_ count: Int) {
        guard count > 0 else { return }
        bufferedBodyBytes.subtract(count, ordering: .relaxed)
    }
}
