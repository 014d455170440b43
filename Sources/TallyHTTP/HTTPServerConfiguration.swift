import Glibc
import TallyStorage

/// Every limit and setting of the HTTP server, in one place.
public struct HTTPServerConfiguration: Sendable {
    /// The IPv4 address to listen on (default loopback only).
    public var host = "127.0.0.1"
    /// The TCP port (default 8080; 0 picks a free one).
    public var port = 8080
    /// Event-loop threads (default: one per core).
    public var eventLoops = max(1, Int(sysconfNumberOfProcessors()))
    /// Request-line, header and body limits.
    public var limits = HTTPLimits()
    /// A connection with no request in progress and nothing left to write for this long is closed (default 60 s).
    /// It also bounds how long a client may leave a response unread.
    public var idleTimeout: Duration = .seconds(60)
    /// A request whose headers are not complete this long after its first byte gets 408 and is closed
    /// (default 10 s).
    public var headerTimeout: Duration = .seconds(10)
    /// A request whose body is not complete this long after its headers were gets 408 and is closed (default
    /// 60 s: a 16 MiB body needs about 280 KB/s). A deadline for the whole body rather than between reads, so a
    /// client trickling a byte at a time cannot hold the connection.
    public var bodyTimeout: Duration = .seconds(60)
    /// After an error response the server reads and drops input for this long before closing, so the client
    /// reads the response rather than a reset (default 2 s).
    public var lingerTimeout: Duration = .seconds(2)
    /// How long ``HTTPServer/shutdown()`` waits for requests in flight (and bodies still arriving) to be
    /// answered before it closes their connections (default 10 s). An answer given later is dropped.
    public var drainTimeout: Duration = .seconds(10)
    /// Connections beyond this many are closed as soon as they are accepted (default 10,000); fewer when the
    /// open-file limit leaves room for fewer (see ``HTTPServer/maxConnections``).
    public var maxConnections = 10_000
    /// Requests read ahead on one connection while earlier ones are still being answered (default 64).
    public var maxPipelinedRequests = 64
    /// Request body bytes held in memory at once across all connections, from a request's head until the
    /// handler has answered it (default 1 GiB). A body that would go beyond it is refused with 503 and
    /// `Retry-After: 1` before it is read (the connection closes after the answer); a body that arrives while
    /// nothing else is held is always taken, however large. Without it, 10,000 connections sending 16 MiB
    /// bodies at once could hold 160 GiB.
    public var maxBufferedBodyBytes = 1 << 30
    /// Response bytes written by the server and not yet read by their clients, across all connections
    /// (default 1 GiB). While more are held, the connections whose clients have left their answers unread for
    /// longer than ``stalledClientGrace`` (the socket would take no more) are closed, the longest stalled
    /// first, until the rest fit; a client that reads its answers is not cut off for it. Without it, 10,000
    /// clients that never read the answer to an ingest of 100,000 bad events (some 30 MB each) could hold
    /// 300 GB.
    public var maxUnsentResponseBytes = 1 << 30
    /// How long a client may leave its answer unread before ``maxUnsentResponseBytes`` may close its
    /// connection (default 1 s).
    public var stalledClientGrace: Duration = .seconds(1)
    /// Receives one JSON line per request (method, path, status, duration) and server messages. An event
    /// loop gathers the request lines of one wake-up and passes them in one call, separated by newlines
    /// (one write instead of one per request under load); each call's text ends without a newline.
    public var log: @Sendable (String) -> Void = { StandardError.write($0 + "\n") }

    /// The defaults above.
    public init() {}

    /// How often each event loop checks its connections' deadlines: a quarter of the shortest timeout, between
    /// 10 ms and 500 ms, so short test timeouts fire promptly without busy production loops.
    var sweepInterval: Duration {
        let shortest = min(idleTimeout, headerTimeout, bodyTimeout, lingerTimeout)
        return max(.milliseconds(10), min(.milliseconds(500), shortest / 4))
    }
}

func sysconfNumberOfProcessors() -> Int {
    Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}
