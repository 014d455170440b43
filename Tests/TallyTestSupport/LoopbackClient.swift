import Foundation
import Glibc

/// A raw HTTP/1.1 client over a loopback TCP socket, for end-to-end tests: sends exact bytes, reads
/// responses framed by Content-Length.
public final class LoopbackClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public let descriptor: Int32
    private var buffer: [UInt8] = []
    private var isOpen = true

    public init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        // A hang guard, not a latency bound: under `always` durability one fsync of a stalled shared disk
        // can take over ten seconds.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            isOpen = false
            Glibc.close(descriptor)
            throw ClientError(message: "connect failed: errno \(errno)")
        }
    }

    deinit {
        close()
    }

    /// Closes the socket (a FIN to the server); later calls do nothing.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        Glibc.close(descriptor)
    }

    /// Closes the socket with a reset instead of a FIN, as a client that crashed or vanished would.
    public func abort() {
        guard isOpen else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    /// Shuts the sending side (the server reads end of stream) while still reading.
    public func shutdownWrite() {
        _ = shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Whether the server has closed the connection by now (end of stream or reset), without waiting.
    /// Unread response bytes count as open.
    public var isClosedNow: Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Whether bytes (or end of stream) can be read now, without waiting.
    public var isReadable: Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) > 0
    }

    /// Sends as much of `bytes` as the socket takes without blocking; returns how many were taken
    /// (0 when the send buffers are full). Throws when the connection is gone.
    public func sendWithoutBlocking(_ bytes: [UInt8]) throws -> Int {
        let count = bytes.withUnsafeBytes {
            Glibc.send(descriptor, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        if count >= 0 { return count }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        throw ClientError(message: "send failed: errno \(errno)")
    }

    /// Waits up to `milliseconds` for the socket to accept more bytes.
    public func waitUntilWritable(milliseconds: Int32) -> Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        return poll(&request, 1, milliseconds) > 0
    }

    public struct ClientError: Error, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// Sends bytes as they are.
    public func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            }
            if count <= 0 { throw ClientError(message: "send failed: errno \(errno)") }
            done += count
        }
    }

    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Sends a request with a Content-Length body and the given headers.
    public func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws
        -> Response
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PATCH" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + body)
        return try readResponse()
    }

    /// Reads one response; throws on timeout or when the server closed first.
    public func readResponse() throws -> Response {
        while true {
            if let end = headerEnd() {
                let lines = buffer[0..<end].split(separator: 10).map { line -> String in
                    String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
                }
                let statusParts = lines[0].split(separator: " ")
                guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
                    throw ClientError(message: "bad status line \(lines[0])")
                }
                var headers: [(String, String)] = []
                for line in lines.dropFirst() where !line.isEmpty {
                    if let colon = line.firstIndex(of: ":") {
                        headers.append(
                            (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " })))
                    }
                }
                let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
                while buffer.count < end + 4 + length { try fill() }
                let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeSubrange(0..<(end + 4 + length))
                return Response(status: status, headers: headers, body: body)
            }
            try fill()
        }
    }

    /// Every byte the server sends until it closes the connection (or the read times out), as text: for
    /// answers whose framing is itself under test, such as a HEAD's.
    public func readUntilClosed() -> String {
        var received = buffer
        buffer.removeAll()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let count = recv(descriptor, &chunk, chunk.count, 0), count > 0 {
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the server closed the connection (reads end of stream within the timeout).
    public func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, 0)
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        return buffer.withUnsafeBufferPointer { bytes in
            var index = 0
            while index + 3 < bytes.count {
                if bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                    return index
                }
                index += 1
            }
            return nil
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, 65536, 0) }
        guard count > 0 else {
            throw ClientError(message: count == 0 ? "connection closed by server" : "recv failed: errno \(errno)")
        }
        buffer += chunk[0..<count]
    }
}
