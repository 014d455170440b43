import Glibc
import Synchronization
import TallyStorage

/// State shared by the event loops.
final class HTTPServerCore: Sendable {
    let listener: Int32
    let configuration: HTTPServerConfiguration
    let handler: any HTTPHandler
    let openConnections = Atomic<Int>(0)
    private let drainingFlag = Atomic<Bool>(false)

    init(listener: Int32, configuration: HTTPServerConfiguration, handler: any HTTPHandler) {
        self.listener = listener
        self.configuration = configuration
        self.handler = handler
    }

    var draining: Bool { drainingFlag.load(ordering: .relaxed) }
    func beginDraining() { drainingFlag.store(true, ordering: .relaxed) }

    /// The JSON log line of one request: method, path (escaped), status and duration.
    func requestLogLine(method: String, path: String, status: Int, milliseconds: Double) -> String {
        let rounded = (milliseconds * 1000).rounded() / 1000
        var safePath = path
        // Most paths need no escaping: check the bytes before rebuilding the string.
        if path.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            safePath = ""
            for scalar in path.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { safePath += "\\" }
                if scalar.value < 0x20 { continue }
                safePath.unicodeScalars.append(scalar)
            }
        }
        return #"{"method":"\#(method)","path":"\#(safePath)","status":\#(status),"durationMs":\#(rounded)}"#
    }
}

/// An HTTP/1.1 server on POSIX sockets: a few event-loop threads over epoll, keep-alive, pipelining,
/// limits with clear answers.
public final class HTTPServer: Sendable {
    /// The port actually bound (useful with port 0).
    public let port: Int
    private let core: HTTPServerCore
    private let loops: [EventLoop]

    /// Binds and starts serving.
    /// - Throws: ``HTTPServerError`` when the address cannot be bound.
    public init(configuration: HTTPServerConfiguration, handler: any HTTPHandler) throws(HTTPServerError) {
        let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        self.port = port
        core = HTTPServerCore(listener: listener, configuration: configuration, handler: handler)
        var loops: [EventLoop] = []
        for _ in 0..<max(1, configuration.eventLoops) {
            loops.append(try EventLoop(server: core))
        }
        self.loops = loops
        for (index, loop) in loops.enumerated() {
            BackgroundThread.start(name: "tally-http-\(index)") { loop.run() }
        }
    }

    /// Open client connections.
    public var openConnections: Int { core.openConnections.load(ordering: .relaxed) }

    /// How many times the event loops were woken with events to handle, in total.
    var loopWakeups: Int { loops.reduce(0) { $0 + $1.wakeups.load(ordering: .relaxed) } }

    /// Stops accepting, answers requests already received (up to 10 s), closes every connection, and
    /// returns when the loops have finished.
    public func shutdown() {
        core.beginDraining()
        for loop in loops { loop.stop() }
        while !loops.allSatisfy({ $0.finished.withLock { $0 } }) { usleep(1000) }
        Glibc.close(core.listener)
    }
}
