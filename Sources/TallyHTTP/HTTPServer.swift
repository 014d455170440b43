import Glibc
import Synchronization
import TallyCore
import TallyStorage

/// An HTTP/1.1 server on POSIX sockets: a few event-loop threads over epoll, keep-alive, pipelining,
/// limits with clear answers.
public final class HTTPServer: Sendable {
    /// The port actually bound (useful with port 0).
    public let port: Int
    let core: HTTPServerCore
    private let loops: [EventLoop]
    /// Set by the first ``shutdown()``: the listener's descriptor is closed once, never a number reused since.
    private let isShutDown = Atomic<Bool>(false)

    /// Binds ``HTTPServerConfiguration/host`` and ``HTTPServerConfiguration/port`` and starts serving.
    /// - Throws: ``HTTPServerError`` when the address cannot be bound.
    public convenience init(configuration: HTTPServerConfiguration, handler: any HTTPHandler) throws(HTTPServerError) {
        try self.init(
            listener: HTTPListener(host: configuration.host, port: configuration.port), configuration: configuration,
            handler: handler)
    }

    /// Starts serving on the address `listener` bound (the configuration's host and port are not used).
    /// A listener serves one server: handing it to a second is a programming error.
    /// - Throws: ``HTTPServerError`` when the socket cannot listen (another server started listening on the
    ///   port since it was bound) or the event loops cannot be made.
    public init(listener bound: HTTPListener, configuration: HTTPServerConfiguration, handler: any HTTPHandler)
        throws(HTTPServerError)
    {
        guard let listener = bound.take() else {
            preconditionFailure("the listener on \(bound.host):\(bound.port) already serves another server")
        }
        do {
            try Socket.listen(listener, host: bound.host, port: bound.port)
        } catch {
            Glibc.close(listener)
            throw error
        }
        self.port = bound.port
        core = HTTPServerCore(listener: listener, configuration: configuration, handler: handler)
        var loops: [EventLoop] = []
        do {
            for _ in 0..<max(1, configuration.eventLoops) {
                loops.append(try EventLoop(server: core))
            }
        } catch {
            // Nothing runs yet: give back the port and the loops made so far.
            for loop in loops { loop.releaseUnstarted() }
            Glibc.close(listener)
            throw error
        }
        self.loops = loops
        core.loops.withLock { $0 = loops }
        for (index, loop) in loops.enumerated() {
            BackgroundThread.start(name: "tally-http-\(index)") { loop.run() }
        }
    }

    /// Open client connections.
    public var openConnections: Int { core.openConnections.load(ordering: .relaxed) }

    /// Request body bytes held now, against ``HTTPServerConfiguration/maxBufferedBodyBytes``.
    public var bufferedBodyBytes: Int { core.bufferedBodyBytes.load(ordering: .relaxed) }

    /// Response bytes waiting for their clients to read them, against
    /// ``HTTPServerConfiguration/maxUnsentResponseBytes``.
    public var unsentResponseBytes: Int { core.unsentResponseBytes.load(ordering: .relaxed) }

    /// The server's gauges, and the connections it has shed, for a metrics page.
    public var gauges: HTTPServerGauges {
        HTTPServerGauges(
            openConnections: openConnections, bufferedBodyBytes: bufferedBodyBytes,
            unsentResponseBytes: unsentResponseBytes,
            refusedAtLimit: core.refusedAtLimit.load(ordering: .relaxed),
            refusedWithoutDescriptors: core.refusedWithoutDescriptors.load(ordering: .relaxed),
            closedStalled: core.closedStalled.load(ordering: .relaxed))
    }

    /// The most connections served at once: ``HTTPServerConfiguration/maxConnections``, or fewer when the
    /// open-file limit leaves room for fewer (see ``DescriptorLimit``); more are closed as soon as accepted.
    public var maxConnections: Int { core.connectionLimit }

    /// How many connections each event loop holds (tests check that new ones spread over the loops).
    var connectionsPerLoop: [Int] { loops.map { $0.load.load(ordering: .relaxed) } }

    /// How many times the event loops were woken with events to handle, in total.
    var loopWakeups: Int { loops.reduce(0) { $0 + $1.wakeups.load(ordering: .relaxed) } }

    /// Stops accepting, answers requests already received (for up to
    /// ``HTTPServerConfiguration/drainTimeout``), closes every connection, and returns when the loops have
    /// finished. Later calls return at once.
    public func shutdown() {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        core.beginDraining()
        // New connections are refused from now on rather than queued in the kernel until the drain ends
        // and reset then. (The descriptor stays open until the loops have let go of it.)
        _ = Glibc.shutdown(core.listener, Int32(SHUT_RD))
        for loop in loops { loop.stop() }
        while !loops.allSatisfy({ $0.finished.withLock { $0 } }) { usleep(1000) }
        core.loops.withLock { $0 = [] }
        Glibc.close(core.listener)
    }
}
