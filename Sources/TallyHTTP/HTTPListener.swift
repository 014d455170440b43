import Glibc
import Synchronization

/// A TCP address taken for a server before the server starts: bound, so a port in use is reported at once,
/// before any slow start-up work, but not yet listening, so connections to it are refused (not left waiting)
/// until ``HTTPServer/init(listener:configuration:handler:)`` serves on it.
///
/// `tally serve` binds first and opens its store after: a port in use stops the start before a long replay,
/// and before the store is touched. (Linux lets two sockets that both ask for `SO_REUSEADDR` bind one
/// port while neither listens: of two servers started at once, the second to listen fails then.)
public final class HTTPListener: Sendable {
    /// The IPv4 address bound.
    public let host: String
    /// The port bound: the one the system picked when port 0 was asked for.
    public let port: Int
    /// The bound socket, until a server takes it.
    private let descriptor: Mutex<Int32?>

    /// Binds `host:port` (IPv4; port 0 picks a free port).
    /// - Throws: ``HTTPServerError`` when the address cannot be bound: the port in use
    ///   (``HTTPServerError/Code/addressInUse``), privileged, or not an address of this machine.
    public init(host: String, port: Int) throws(HTTPServerError) {
        let (descriptor, bound) = try Socket.bind(host: host, port: port)
        self.host = host
        self.port = bound
        self.descriptor = Mutex(descriptor)
    }

    /// Hands the bound socket to the server that will listen on it; `nil` once it was handed over.
    func take() -> Int32? {
        descriptor.withLock { descriptor in
            defer { descriptor = nil }
            return descriptor
        }
    }

    /// Gives the port back if no server took it.
    deinit {
        if let descriptor = take() { Glibc.close(descriptor) }
    }
}
