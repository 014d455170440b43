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
        // A method is a token of any characters HTTP allows, a JSON Web Token among them.
        appendLoggedText(method, to: &line)
        line.append(contentsOf: #"","path":""#.utf8)
        appendLoggedText(path, to: &line)
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

    /// Appends a request's path or method to its log line as a JSON string's contents. Quotes, backslashes
    /// and every character a line-based reader may take for a line break or a control (U+0000-U+001F,
    /// U+007F-U+009F, U+2028, U+2029), which a decoded path may hold, are escaped, so the line stays one line
    /// and `/a%0Ab` is told apart from `/ab`. A JSON Web Token in it (a client that put one in the path or
    /// the method by mistake) is logged as `<token>`: the log never holds a credential.
    static func appendLoggedText(_ path: String, to line: inout [UInt8]) {
        let plain = path.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x7F }
                && TokenRedaction.ranges(in: bytes).isEmpty
        }
        if plain == true {
            line.append(contentsOf: path.utf8)
            return
        }
        let hex = Array("0123456789abcdef".utf8)
        for scalar in TokenRedaction.redacted(path).unicodeScalars {
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029 {
                line.append(contentsOf: #"\u"#.utf8)
                for shift in [12, 8, 4, 0] { line.append(hex[Int(value >> UInt32(shift) & 0xF)]) }
                continue
            }
            if value == 0x22 || value == 0x5C { line.append(0x5C) }
            line.append(contentsOf: String(scalar).utf8)
        }
    }
}
