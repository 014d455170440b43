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
    private let drainingFlag = Atomic<Bool>(false)

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
    func beginDraining() { drainingFlag.store(true, ordering: .relaxed) }

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

    /// Appends the JSON log line of one request: when its response was ready (UTC, milliseconds), method,
    /// path (escaped), status and duration in milliseconds with three decimals. Written as bytes: one line
    /// per request on the hottest path.
    static func appendLogLine(
        time: Timestamp, method: String, path: String, status: Int, milliseconds: Double,
        to line: inout [UInt8]
    ) {
        line.append(contentsOf: #"{"time":""#.utf8)
        time.appendRFC3339(to: &line, fractionDigits: 3)
        line.append(contentsOf: #"","method":""#.utf8)
        line.append(contentsOf: method.utf8)
        line.append(contentsOf: #"","path":""#.utf8)
        // Quotes and backslashes are escaped; control characters (which a decoded path may hold) dropped.
        if path.utf8.withContiguousStorageIfAvailable({ $0.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } })
            == false
        {
            line.append(contentsOf: path.utf8)
        } else {
            for byte in path.utf8 where byte >= 0x20 {
                if byte == 0x22 || byte == 0x5C { line.append(0x5C) }
                line.append(byte)
            }
        }
        line.append(contentsOf: #"","status":"#.utf8)
        HTTPGrammar.appendDecimal(max(0, status), to: &line)
        line.append(contentsOf: #","durationMs":"#.utf8)
        let microseconds = milliseconds.isFinite ? Int(max(0, min((milliseconds * 1000).rounded(), 1e15))) : 0
        HTTPGrammar.appendDecimal(microseconds / 1000, to: &line)
        line.append(UInt8(ascii: "."))
        let fraction = microseconds % 1000
        line.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        line.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        line.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        line.append(UInt8(ascii: "}"))
    }
}

/// An HTTP/1.1 server on POSIX sockets: a few event-loop threads over epoll, keep-alive, pipelining,
/// limits with clear answers.
public final class HTTPServer: Sendable {
    /// The port actually bound (useful with port 0).
    public let port: Int
    let core: HTTPServerCore
    private let loops: [EventLoop]
    /// Set by the first ``shutdown()``: the listener's descriptor is closed once, never a number reused since.
    private let isShutDown = Atomic<Bool>(false)

    /// Binds and starts serving.
    /// - Throws: ``HTTPServerError`` when the address cannot be bound.
    public init(configuration: HTTPServerConfiguration, handler: any HTTPHandler) throws(HTTPServerError) {
        let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        self.port = port
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

    /// The server's gauges for a metrics page.
    public var gauges: HTTPServerGauges {
        HTTPServerGauges(
            openConnections: openConnections, bufferedBodyBytes: bufferedBodyBytes,
            unsentResponseBytes: unsentResponseBytes)
    }

    /// The most connections served at once: ``HTTPServerConfiguration/maxConnections``, or fewer when the
    /// open-file limit leaves room for fewer (see ``DescriptorLimit``); more are closed as soon as accepted.
    public var maxConnections: Int { core.connectionLimit }

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
        Glibc.close(core.listener)
    }
}
