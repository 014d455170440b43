import CTallyShims
import Glibc
import TallyStorage

/// A closed-loop HTTP/1.1 load generator on one thread: many keep-alive loopback connections, one request
/// in flight on each, driven by epoll, with every request built before the clock starts. One client thread
/// leaves the server as much of the machine as possible, so the figures are the server's.
public struct LoadGenerator {
    /// What a run measured.
    public struct Result: Sendable {
        public var requestsPerSecond: Double
        /// Latency percentiles in microseconds.
        public var p50: Double
        public var p99: Double
        /// Responses other than 200 OK (an ingest's 207 means some events were not stored).
        public var failures: Int
    }

    /// A failure to connect or talk to the server.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `EPOLL_CTL_ADD` and `EPOLL_CTL_MOD` (Glibc does not export them to Swift).
    static let add: Int32 = 1
    static let modify: Int32 = 3

    struct Connection {
        var descriptor: Int32
        var request = -1
        var sent = 0
        var started: UInt64 = 0
        var received: [UInt8] = []
        var writing = false
    }

    /// Sends every request once, spread over `connections` connections.
    /// - Parameters:
    ///   - port: The server's loopback port.
    ///   - connections: Concurrent keep-alive connections.
    ///   - requests: Complete requests (head and body).
    public static func run(port: Int, connections: Int, requests: [[UInt8]]) throws -> Result {
        let epoll = tally_epoll_create()
        guard epoll >= 0 else { throw Failure(description: "epoll_create failed: errno \(errno)") }
        defer { close(epoll) }
        var open: [Connection] = []
        defer { for connection in open { close(connection.descriptor) } }
        for index in 0..<connections {
            let descriptor = try connect(port: port)
            open.append(Connection(descriptor: descriptor))
            _ = tally_epoll_ctl(epoll, Self.add, descriptor, tally_epollin, UInt64(index))
        }
        var latencies: [Double] = []
        latencies.reserveCapacity(requests.count)
        var next = 0
        var failures = 0
        var inFlight = 0
        let start = MonotonicClock.nanoseconds()

        func startRequest(_ index: Int) throws {
            guard next < requests.count else { return }
            open[index].request = next
            open[index].sent = 0
            open[index].started = MonotonicClock.nanoseconds()
            next += 1
            inFlight += 1
            try send(index)
        }
        func send(_ index: Int) throws {
            let request = requests[open[index].request]
            while open[index].sent < request.count {
                let count = request.withUnsafeBytes { bytes -> Int in
                    guard let base = bytes.baseAddress else { return 0 }
                    return Glibc.send(
                        open[index].descriptor, base + open[index].sent, bytes.count - open[index].sent,
                        Int32(MSG_NOSIGNAL))
                }
                if count < 0 {
                    guard errno == EAGAIN else { throw Failure(description: "send failed: errno \(errno)") }
                    if !open[index].writing {
                        open[index].writing = true
                        _ = tally_epoll_ctl(
                            epoll, Self.modify, open[index].descriptor, tally_epollin | tally_epollout, UInt64(index))
                    }
                    return
                }
                open[index].sent += count
            }
            if open[index].writing {
                open[index].writing = false
                _ = tally_epoll_ctl(epoll, Self.modify, open[index].descriptor, tally_epollin, UInt64(index))
            }
        }

        for index in open.indices { try startRequest(index) }
        var events = [UInt32](repeating: 0, count: 256)
        var datas = [UInt64](repeating: 0, count: 256)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while inFlight > 0 {
            let ready = tally_epoll_wait(epoll, &events, &datas, 256, 10_000)
            if ready < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "epoll_wait failed: errno \(errno)")
            }
            guard ready > 0 else {
                throw Failure(description: "no response within 10 s (\(inFlight) requests in flight)")
            }
            for slot in 0..<Int(ready) {
                let index = Int(datas[slot])
                if events[slot] & tally_epollout != 0, open[index].writing { try send(index) }
                guard events[slot] & (tally_epollin | tally_epollerr | tally_epollhup) != 0 else { continue }
                let count = chunk.withUnsafeMutableBytes { recv(open[index].descriptor, $0.baseAddress, $0.count, 0) }
                if count < 0, errno == EAGAIN { continue }
                guard count > 0 else { throw Failure(description: "the server closed a connection (errno \(errno))") }
                open[index].received.append(contentsOf: chunk[0..<count])
                while let (status, length) = Self.response(in: open[index].received) {
                    open[index].received.removeFirst(length)
                    latencies.append(Double(MonotonicClock.nanoseconds() - open[index].started) / 1000)
                    if status != 200 { failures += 1 }
                    inFlight -= 1
                    try startRequest(index)
                }
            }
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        latencies.sort()
        guard !latencies.isEmpty else { throw Failure(description: "no requests") }
        return Result(
            requestsPerSecond: Double(latencies.count) / seconds, p50: latencies[latencies.count / 2],
            p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)], failures: failures)
    }

    /// The status and total length of the complete response at the start of `bytes`, if there is one.
    static func response(in bytes: [UInt8]) -> (status: Int, length: Int)? {
        bytes.withUnsafeBufferPointer { buffer -> (Int, Int)? in
            guard buffer.count >= 16 else { return nil }
            var end = 3
            while end < buffer.count {
                if buffer[end] == 10, buffer[end - 1] == 13, buffer[end - 2] == 10, buffer[end - 3] == 13 { break }
                end += 1
            }
            guard end < buffer.count else { return nil }
            let status = (Int(buffer[9]) - 48) * 100 + (Int(buffer[10]) - 48) * 10 + (Int(buffer[11]) - 48)
            // Content-Length, matched case-insensitively at the start of a line.
            var length = 0
            var line = 0
            while line < end {
                if line + 15 < end, buffer[line] | 0x20 == UInt8(ascii: "c"),
                    buffer[line + 8] | 0x20 == UInt8(ascii: "l"),
                    buffer[line + 14] == UInt8(ascii: ":"), buffer[line + 7] == UInt8(ascii: "-")
                {
                    var position = line + 15
                    while buffer[position] == 32 { position += 1 }
                    while position < end, buffer[position] >= 48, buffer[position] <= 57 {
                        length = length * 10 + Int(buffer[position] - 48)
                        position += 1
                    }
                    break
                }
                while line < end, buffer[line] != 10 { line += 1 }
                line += 1
            }
            let total = end + 1 + length
            return buffer.count >= total ? (status, total) : nil
        }
    }

    static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        return descriptor
    }
}
