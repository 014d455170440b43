import CTallyShims
import Glibc

/// Socket system calls for the listener (none of them blocks, so none is interrupted), failing with
/// ``HTTPServerError``.
enum Socket {
    /// Creates a non-blocking TCP socket bound to `host:port` (IPv4), not yet listening: the port is
    /// taken, and connections to it are refused until ``listen(_:host:port:backlog:)``. Port 0 picks a free
    /// port. Returns the descriptor and the port bound.
    static func bind(host: String, port: Int) throws(HTTPServerError) -> (Int32, Int) {
        guard let port16 = UInt16(exactly: port) else {
            throw HTTPServerError(
                .invalidAddress, message: "cannot listen on port \(port): a port is 0-65535 (0 picks a free one)")
        }
        let descriptor = Glibc.socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HTTPServerError.system("socket", errno) }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port16.bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            Glibc.close(descriptor)
            throw HTTPServerError(
                .invalidAddress, message: "cannot listen on \(host): not an IPv4 address such as 127.0.0.1 or 0.0.0.0")
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw HTTPServerError.system("bind to \(host):\(port)", code)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: actual.sin_port)))
    }

    /// Has the socket ``bind(host:port:)`` made listen, with room for `backlog` connections not yet
    /// accepted. (`host` and `port` name it in the error.)
    static func listen(_ descriptor: Int32, host: String, port: Int, backlog: Int32 = 1024) throws(HTTPServerError) {
        guard Glibc.listen(descriptor, backlog) == 0 else {
            throw HTTPServerError.system("listen on \(host):\(port)", errno)
        }
    }

    /// The dotted IPv4 address of the peer of a connected socket, or `-` when it cannot be had (the client
    /// reset the connection already).
    static func peerAddress(_ descriptor: Int32) -> String {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let found = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard found == 0, address.sin_family == sa_family_t(AF_INET) else { return "-" }
        let value = UInt32(bigEndian: address.sin_addr.s_addr)
        return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    static func setNoDelay(_ descriptor: Int32) {
        var yes: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
    }
}
