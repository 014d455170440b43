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
        line.append(contentsOf: method.utf8)
        line.append(contentsOf: #"","path":""#.utf8)
        appendLoggedPath(path, to: &line)
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

    /// Appends a request's path to its log line as a JSON string's contents. Quotes, backslashes and every
    /// character a line-based reader may take for a line break or a control (U+0000-U+001F, U+007F-U+009F,
    /// U+2028, U+2029), which a decoded path may hold, are escaped, so the line stays one line and `/a%0Ab` is
    /// told apart from `/ab`. A JSON Web Token in it (a client that put one in the path by mistake) is
    /// logged as `<token>`: the log never holds a credential.
    static func appendLoggedPath(_ path: String, to line: inout [UInt8]) {
        let plain = path.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x7F }
                && tokenRanges(in: bytes).isEmpty
        }
        if plain == true {
            line.append(contentsOf: path.utf8)
            return
        }
        let bytes = Array(path.utf8)
        var redacted: [UInt8] = []
        var next = 0
        for range in bytes.withUnsafeBufferPointer({ tokenRanges(in: $0) }) {
            redacted += bytes[next..<range.lowerBound]
            redacted += "<token>".utf8
            next = range.upperBound
        }
        redacted += bytes[next...]
        let hex = Array("0123456789abcdef".utf8)
        for scalar in String(decoding: redacted, as: UTF8.self).unicodeScalars {
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

    /// The byte ranges of JSON Web Tokens in `bytes`: runs of base64url characters holding two dots (header,
    /// payload, signature) whose first part decodes to a JSON object's start (`{`, after any JSON whitespace:
    /// `eyJ` for `{"`, `ewog` for a header `jq` pretty-printed). A file name such as `report.v1.txt` is no
    /// token: its first part does not decode to `{`.
    static func tokenRanges(in bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < bytes.count {
            guard base64URLValue(bytes[index]) != nil else {
                index += 1
                continue
            }
            // Counted, not collected: every request's path passes through here.
            var end = index
            var dots = 0
            var firstDot = 0
            var emptyPart = false
            while end < bytes.count, base64URLValue(bytes[end]) != nil || bytes[end] == UInt8(ascii: ".") {
                if bytes[end] == UInt8(ascii: ".") {
                    if dots == 0 { firstDot = end } else if bytes[end - 1] == UInt8(ascii: ".") { emptyPart = true }
                    dots += 1
                }
                end += 1
            }
            if dots == 2, !emptyPart, opensJSONObject(bytes, index..<firstDot) {
                ranges.append(index..<end)
            }
            index = end
        }
        return ranges
    }

    /// The value of a base64url digit, or `nil`.
    private static func base64URLValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    /// Whether the base64url text in `range` decodes to bytes whose first one other than JSON whitespace
    /// is `{` (looking at the first six decoded bytes).
    private static func opensJSONObject(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var bits: UInt32 = 0
        var bitCount = 0
        for position in range.prefix(8) {
            guard let value = base64URLValue(bytes[position]) else { return false }
            bits = bits << 6 | UInt32(value)
            bitCount += 6
            guard bitCount >= 8 else { continue }
            bitCount -= 8
            let byte = UInt8(truncatingIfNeeded: bits >> UInt32(bitCount))
            bits &= (1 << UInt32(bitCount)) - 1
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: "{"): return true
            default: return false
            }
        }
        return false
    }
}
