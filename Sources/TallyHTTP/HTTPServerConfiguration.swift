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
    /// A keep-alive connection idle this long is closed (default 60 s).
    public var idleTimeoutSeconds = 60
    /// A request whose headers are not complete this long after it began gets 408 and is closed (default 10 s).
    public var headerTimeoutSeconds = 10
    /// Connections beyond this many are closed as soon as they are accepted (default 10,000).
    public var maxConnections = 10_000
    /// Requests read ahead on one connection while earlier ones are still being answered (default 64).
    public var maxPipelinedRequests = 64
    /// Receives one JSON line per request (method, path, status, duration) and server messages.
    public var log: @Sendable (String) -> Void = { StandardError.write($0 + "\n") }

    public init() {}
}

func sysconfNumberOfProcessors() -> Int {
    Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}
