import Glibc

/// Why the server could not start: what kind of failure, the message for the operator, and the system call
/// and `errno` behind it when there was one.
public struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of failure a caller may handle differently.
    public enum Code: Sendable, Equatable {
        /// The host is not an IPv4 address, or the port is outside 0-65535.
        case invalidAddress
        /// Another socket listens on the address (`EADDRINUSE`).
        case addressInUse
        /// The port needs privileges this process lacks (`EACCES`).
        case permissionDenied
        /// No interface of this machine has the address (`EADDRNOTAVAIL`).
        case addressNotAvailable
        /// Another system call failed (`socket`, `listen`, `epoll_create1`, `eventfd`, `epoll_ctl`).
        case systemCallFailed
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and, where it can, what to do (another `--port`, a privileged port, an address).
    public var message: String
    /// The system call that failed, such as `bind to 127.0.0.1:8080`, or `nil` when none did.
    public var operation: String?
    /// The `errno` it failed with, or `nil` when no system call failed.
    public var errorNumber: Int32?

    /// Creates an error of `code` with its message.
    public init(_ code: Code, message: String, operation: String? = nil, errorNumber: Int32? = nil) {
        self.code = code
        self.message = message
        self.operation = operation
        self.errorNumber = errorNumber
    }

    /// A failed system call: `operation` and `errno` `number`, with advice for the failures an operator can fix.
    static func system(_ operation: String, _ number: Int32) -> HTTPServerError {
        let (code, advice): (Code, String?) =
            switch number {
            case EADDRINUSE:
                (
                    .addressInUse,
                    "another socket holds the port (a server listening there, or a connection using it as its local end): stop it or choose another --port"
                )
            case EACCES: (.permissionDenied, "ports below 1024 need privileges: choose a port of 1024 or more")
            case EADDRNOTAVAIL:
                (.addressNotAvailable, "no interface of this machine has that address: use 127.0.0.1 or 0.0.0.0")
            default: (.systemCallFailed, nil)
            }
        let message =
            "\(operation) failed: \(String(cString: strerror(number))) (errno \(number))"
            + (advice.map { "; " + $0 } ?? "")
        return HTTPServerError(code, message: message, operation: operation, errorNumber: number)
    }

    /// The message.
    public var description: String { message }
}
