import CTallyShims
import Glibc
import Synchronization
import TallyCore
import TallyStorage

/// One thread running epoll over a set of connections (and the shared listening socket).
///
/// Everything but ``execute(_:)`` and ``stop()`` runs on the loop's own thread; other threads hand work to it
/// with ``execute(_:)``, which queues a closure and wakes the loop through an eventfd.
final class EventLoop: @unchecked Sendable {
    private static let listenerToken = UInt64.max
    private static let wakeToken = UInt64.max - 1

    let epoll: Int32
    let wakeDescriptor: Int32
    let server: HTTPServerCore
    /// Closures handed to the loop by other threads, and whether the loop has finished.
    private struct Inbox {
        var tasks: [@Sendable () -> Void] = []
        /// Connections another loop accepted for this one, to watch.
        var adoptions: [Int32] = []
        /// Set, under the lock, as the wake descriptor closes: later closures are dropped, since that
        /// descriptor's number may by then belong to a store file that a wake-up would write 8 bytes into.
        var closed = false
    }
    private let inbox = Mutex(Inbox())
    private let stopping = Atomic<Bool>(false)
    /// Connections owned by this loop, by descriptor (loop thread only).
    private var connections: [Int32: HTTPConnection] = [:]
    private var listening = true
    /// One read buffer for every connection of the loop (reads never overlap on one thread).
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    let finished = Mutex<Bool>(false)
    /// The thread running ``run()`` (0 until it starts).
    private let thread = Atomic<UInt>(0)
    /// The connections this loop owns or is about to adopt: a new connection goes to the loop with the
    /// fewest, whichever accepted it.
    let load = Atomic<Int>(0)
    /// How many times epoll reported events (tests use it to tell a sleeping loop from a spinning one).
    let wakeups = Atomic<Int>(0)
    /// Request log lines of the current wake-up, newline-separated, passed on at its end (loop thread only).
    private var pendingLog: [UInt8] = []
    /// The `Date` header's value and the second it shows (loop thread only): formatted once a second.
    private var date: (second: Int64, value: [UInt8]) = (.min, [])
    /// A descriptor held in reserve (on `/dev/null`): out of descriptors, the loop closes it to accept a
    /// waiting connection and close that at once, then takes it back (loop thread only; -1 when given up).
    private var spare: Int32
    /// When the loop, out of descriptors and without its spare, watches the listener again (loop thread only).
    private var listenerPausedUntil: UInt64?
    /// When the loop last warned that descriptors ran out, so a long shortage is one line per 10 s.
    private var lastDescriptorWarning: UInt64?

    /// The `Date` header's value for a response written now (RFC 9110 §6.6.1: an origin server with a clock
    /// sends one). Loop thread only.
    var httpDate: [UInt8] {
        let now = Int64(time(nil))
        if now != date.second { date = (now, HTTPDate.format(secondsSinceEpoch: now)) }
        return date.value
    }

    init(server: HTTPServerCore) throws(HTTPServerError) {
        self.server = server
        spare = -1
        epoll = tally_epoll_create()
        guard epoll >= 0 else {
            let code = errno
            readBuffer.deallocate()
            throw HTTPServerError.system("epoll_create1", code)
        }
        wakeDescriptor = tally_eventfd()
        guard wakeDescriptor >= 0 else {
            let code = errno
            Glibc.close(epoll)
            readBuffer.deallocate()
            throw HTTPServerError.system("eventfd", code)
        }
        // Every loop waits on the listener; EPOLLEXCLUSIVE wakes one of them per connection.
        guard
            tally_epoll_ctl(epoll, 1, wakeDescriptor, tally_epollin, EventLoop.wakeToken) == 0,
            tally_epoll_ctl(epoll, 1, server.listener, tally_epollin | tally_epollexclusive, EventLoop.listenerToken)
                == 0
        else {
            let code = errno
            Glibc.close(epoll)
            Glibc.close(wakeDescriptor)
            readBuffer.deallocate()
            throw HTTPServerError.system("epoll_ctl", code)
        }
        // Taken last, so a failed init has no spare to give back.
        spare = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    /// Gives back what ``init(server:)`` took, for a loop that will never run (another loop of the server
    /// failed to start).
    func releaseUnstarted() {
        if spare >= 0 { Glibc.close(spare) }
        Glibc.close(epoll)
        inbox.withLock { inbox in
            inbox.closed = true
            Glibc.close(wakeDescriptor)
        }
        readBuffer.deallocate()
    }

    /// Whether the caller runs on the loop's own thread.
    var isCurrentThread: Bool {
        thread.load(ordering: .relaxed) == UInt(pthread_self())
    }

    /// Runs `task` on the loop's thread; once the loop has finished, drops it (what it would touch is gone).
    func execute(_ task: @escaping @Sendable () -> Void) {
        // The wake-up is written under the lock, so the descriptor cannot close between the check and it.
        inbox.withLock { inbox in
            guard !inbox.closed else { return }
            inbox.tasks.append(task)
            var one: UInt64 = 1
            _ = Glibc.write(wakeDescriptor, &one, 8)
        }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        execute {}
    }

    /// The loop body; returns when stopped and every connection has closed or the drain deadline passed.
    func run() {
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        var events = [UInt32](repeating: 0, count: 256)
        var tokens = [UInt64](repeating: 0, count: 256)
        var lastSweep = MonotonicClock.nanoseconds()
        var drainDeadline: UInt64?
        let sweepInterval = server.configuration.sweepInterval.nanoseconds
        let waitMilliseconds = Int32(min(250, sweepInterval / 1_000_000))
        while true {
            let count = events.withUnsafeMutableBufferPointer { eventBuffer in
                tokens.withUnsafeMutableBufferPointer { tokenBuffer in
                    tally_epoll_wait(epoll, eventBuffer.baseAddress, tokenBuffer.baseAddress, 256, waitMilliseconds)
                }
            }
            if count > 0 {
                wakeups.add(1, ordering: .relaxed)
                for index in 0..<Int(count) {
                    let token = tokens[index]
                    if token == EventLoop.listenerToken {
                        acceptConnections()
                    } else if token == EventLoop.wakeToken {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeDescriptor, &value, 8)
                    } else if let connection = connections[Int32(truncatingIfNeeded: token)] {
                        connection.handle(events: events[index])
                    }
                }
            }
            runTasks()
            flushLog()
            let now = MonotonicClock.nanoseconds()
            if stopping.load(ordering: .acquiring) {
                if listening {
                    listening = false
                    _ = tally_epoll_ctl(epoll, 2, server.listener, 0, 0)
                    let (deadline, overflow) = now.addingReportingOverflow(
                        server.configuration.drainTimeout.nanoseconds)
                    drainDeadline = overflow ? .max : deadline
                    for connection in connections.values { connection.beginDrain() }
                }
                if connections.isEmpty || now >= (drainDeadline ?? now) {
                    // Cut off mid-request by the deadline: said once per loop, since such a request leaves no
                    // line of its own and the stop would otherwise read as clean.
                    let cut = connections.values.filter(\.isMidRequest).count
                    if cut > 0 {
                        server.configuration.log(
                            "tally: warning: the drain's \(server.configuration.drainTimeout) ran out with \(cut) connection\(cut == 1 ? "" : "s") of an event loop mid-request (a body still arriving, or an answer not yet given or not yet read): closed unanswered"
                        )
                    }
                    for connection in Array(connections.values) { connection.close() }
                    break
                }
            }
            if now &- lastSweep >= sweepInterval {
                lastSweep = now
                for connection in Array(connections.values) { connection.checkTimeouts(now: now) }
                shedStalledClients(now: now)
            }
            if let until = listenerPausedUntil, now >= until {
                listenerPausedUntil = nil
                if spare < 0 { spare = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC) }
                if listening
                    && tally_epoll_ctl(
                        epoll, 1, server.listener, tally_epollin | tally_epollexclusive, EventLoop.listenerToken) != 0
                {
                    server.configuration.log(
                        "tally: warning: an event loop could not watch the listener again "
                            + "(\(String(cString: strerror(errno)))); the other loops go on accepting")
                }
            }
        }
        runTasks()
        flushLog()
        // No thread is this loop's any more: a new thread given the same id must not pass for it.
        thread.store(0, ordering: .relaxed)
        if spare >= 0 { Glibc.close(spare) }
        Glibc.close(epoll)
        let unadopted = inbox.withLock { inbox -> [Int32] in
            inbox.closed = true
            inbox.tasks.removeAll()
            Glibc.close(wakeDescriptor)
            return inbox.adoptions
        }
        // Connections handed over as the loop ended: never watched, closed here.
        for descriptor in unadopted {
            load.subtract(1, ordering: .relaxed)
            server.openConnections.wrappingSubtract(1, ordering: .relaxed)
            Glibc.close(descriptor)
        }
        readBuffer.deallocate()
        finished.withLock { $0 = true }
    }

    /// Logs a finished request: gathered until the end of the wake-up on the loop's thread, at once from
    /// any other.
    func logRequest(_ entry: RequestLogEntry) {
        guard isCurrentThread else {
            var line: [UInt8] = []
            entry.append(time: Timestamp.now(), to: &line)
            server.configuration.log(String(decoding: line, as: UTF8.self))
            return
        }
        if !pendingLog.isEmpty { pendingLog.append(UInt8(ascii: "\n")) }
        entry.append(time: Timestamp.now(), to: &pendingLog)
        // A long wake-up (many pipelined requests) writes its lines in batches rather than holding them all.
        if pendingLog.count >= EventLoop.logFlushBytes { flushLog() }
    }

    /// Gathered log bytes that are written at once, whether or not the wake-up has ended.
    static let logFlushBytes = 64 << 10

    private func flushLog() {
        guard !pendingLog.isEmpty else { return }
        server.configuration.log(String(decoding: pendingLog, as: UTF8.self))
        pendingLog.removeAll(keepingCapacity: true)
    }

    private func runTasks() {
        let (pending, adoptions) = inbox.withLock { inbox -> ([@Sendable () -> Void], [Int32]) in
            defer {
                inbox.tasks.removeAll(keepingCapacity: true)
                inbox.adoptions.removeAll(keepingCapacity: true)
            }
            return (inbox.tasks, inbox.adoptions)
        }
        for descriptor in adoptions { adopt(descriptor) }
        for task in pending { task() }
    }

    /// Accepts one waiting connection per wake-up: the listener stays readable while more wait, so the
    /// next `epoll_wait` of whichever loop is free takes the next one, and a burst of connections spreads
    /// over the loops instead of landing on the one that woke first.
    private func acceptConnections() {
        while listening {
            let descriptor: Int32
            switch Syscall.uninterrupted({ tally_accept(server.listener) }) {
            case .success(let accepted): descriptor = accepted
            case .failure(let failure) where failure.code == ECONNABORTED: continue
            case .failure(let failure):
                if failure.code == EMFILE || failure.code == ENFILE { shedWithoutDescriptors(failure.code) }
                return
            }
            guard
                server.openConnections.wrappingAdd(1, ordering: .relaxed).newValue
                    <= server.connectionLimit
            else {
                server.openConnections.wrappingSubtract(1, ordering: .relaxed)
                server.recordRefusalAtLimit()
                refuseAtLimit(descriptor)
                continue
            }
            Socket.setNoDelay(descriptor)
            // The loop woken for a connection is not always the idlest: the kernel wakes the same waiting
            // loop while it is free, and clients that connect one after another would all land on it.
            let target = server.leastLoadedLoop(besides: self)
            target.load.add(1, ordering: .relaxed)
            if target === self {
                adopt(descriptor)
            } else if !target.handOver(descriptor) {
                target.load.subtract(1, ordering: .relaxed)
                server.openConnections.wrappingSubtract(1, ordering: .relaxed)
                Glibc.close(descriptor)
            }
            return
        }
    }

    /// Answers a connection over the limit with a 503 (`Retry-After: 1`) and closes it, so its client reads
    /// why rather than meeting a reset: what it sent already is read and dropped first (a socket closed with
    /// input unread sends a reset, which may discard the answer before the client reads it). Best effort, on
    /// a connection that is never watched: the answer fits the socket's buffer, and a client still sending
    /// meets the reset all the same. Not logged: the warning and the shed counter say how many there were.
    private func refuseAtLimit(_ descriptor: Int32) {
        let buffer = readBuffer
        for _ in 0..<4 {
            guard
                case .success(let count) = Syscall.uninterrupted({
                    Glibc.read(descriptor, buffer.baseAddress, buffer.count)
                }), count == buffer.count
            else { break }
        }
        var response = HTTPErrorBody.response(
            status: 503,
            message:
                "the server has as many connections open as it takes (\(server.connectionLimit)); retry in a moment",
            headers: [("Retry-After", "1"), (RequestID.headerName, server.requestIds.next())])
        response.closeConnection = true
        var bytes: [UInt8] = []
        response.serialize(into: &bytes, keepAlive: false, date: httpDate)
        _ = bytes.withUnsafeBytes {
            Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
        Glibc.close(descriptor)
    }

    /// Queues a connection another loop accepted for this one and wakes it.
    /// - Returns: `false` when this loop has finished: the caller closes the connection.
    private func handOver(_ descriptor: Int32) -> Bool {
        inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.adoptions.append(descriptor)
            var one: UInt64 = 1
            _ = Glibc.write(wakeDescriptor, &one, 8)
            return true
        }
    }

    /// Takes a connection accepted for this loop (counted in ``load`` and the server's open connections
    /// already): watches it, or closes it when the loop no longer takes connections (a drain has begun).
    private func adopt(_ descriptor: Int32) {
        guard listening else {
            load.subtract(1, ordering: .relaxed)
            server.openConnections.wrappingSubtract(1, ordering: .relaxed)
            Glibc.close(descriptor)
            return
        }
        let connection = HTTPConnection(descriptor: descriptor, loop: self)
        connections[descriptor] = connection
        guard tally_epoll_ctl(epoll, 1, descriptor, tally_epollin | tally_epollrdhup, UInt64(descriptor)) == 0 else {
            connection.close()
            return
        }
    }

    /// Out of descriptors (`EMFILE`, `ENFILE`), the listener stays readable with nothing accepted, and every
    /// `epoll_wait` would return at once: the loop would spin. It gives up its spare descriptor to accept the
    /// waiting connection and close it at once (the client sees a close, not a hang), then takes the spare
    /// back; failing that, it stops watching the listener for 100 ms. Warns at most once per 10 s.
    private func shedWithoutDescriptors(_ code: Int32) {
        let now = MonotonicClock.nanoseconds()
        if lastDescriptorWarning.map({ now &- $0 >= 10_000_000_000 }) ?? true {
            lastDescriptorWarning = now
            server.configuration.log(
                "tally: warning: out of file descriptors (\(String(cString: strerror(code)))): new connections are "
                    + "closed at once until some close; raise `ulimit -n` or lower --max-connections")
        }
        if spare >= 0 {
            Glibc.close(spare)
            let shed = tally_accept(server.listener)
            let shedError = errno
            if shed >= 0 {
                server.refusedWithoutDescriptors.add(1, ordering: .relaxed)
                Glibc.close(shed)
            }
            spare = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
            // Shed, or nothing left to shed (another loop took it): either way no reason to stop listening.
            let outOfDescriptors = shed < 0 && (shedError == EMFILE || shedError == ENFILE)
            if spare >= 0 && !outOfDescriptors { return }
        }
        if listenerPausedUntil == nil {
            _ = tally_epoll_ctl(epoll, 2, server.listener, 0, 0)
            listenerPausedUntil = now + 100_000_000
        }
    }

    /// While the server holds more unsent response bytes than
    /// ``HTTPServerConfiguration/maxUnsentResponseBytes``, closes this loop's connections whose clients have
    /// left their answers unread for longer than ``HTTPServerConfiguration/stalledClientGrace``, the longest
    /// stalled first, until the rest fit. Each loop sheds its own; a client reading its answers is never
    /// stalled that long.
    private func shedStalledClients(now: UInt64) {
        let limit = server.configuration.maxUnsentResponseBytes
        guard server.unsentResponseBytes.load(ordering: .relaxed) > limit else { return }
        let grace = server.configuration.stalledClientGrace.nanoseconds
        let stalled = connections.values.compactMap { connection in
            connection.stalledSince.flatMap { now &- $0 > grace ? (connection, $0) : nil }
        }.sorted { $0.1 < $1.1 }
        for (connection, since) in stalled {
            let held = server.unsentResponseBytes.load(ordering: .relaxed)
            guard held > limit else { return }
            server.closedStalled.add(1, ordering: .relaxed)
            server.configuration.log(
                "tally: warning: closed a connection whose client left \(connection.unsentBytes) bytes of answers "
                    + "unread for \((now &- since) / 1_000_000) ms while the server held \(held) unsent bytes, over "
                    + "its limit of \(limit) (--max-unsent-response-bytes)")
            connection.close()
        }
    }

    /// Called by a connection when it has closed its descriptor.
    func forget(_ descriptor: Int32) {
        if connections.removeValue(forKey: descriptor) != nil {
            server.openConnections.wrappingSubtract(1, ordering: .relaxed)
            load.subtract(1, ordering: .relaxed)
        }
    }

    /// Changes which events (EPOLLIN, EPOLLOUT, ...) a connection waits for; errors and hang-ups are always
    /// reported. Returns false when epoll refused the change (out of kernel memory, say): the descriptor
    /// would then not wake the loop as it needs to, so the caller closes it.
    func watch(_ descriptor: Int32, events: UInt32) -> Bool {
        tally_epoll_ctl(epoll, 3, descriptor, events, UInt64(descriptor)) == 0
    }
}
