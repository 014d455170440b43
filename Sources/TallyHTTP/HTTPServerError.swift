import Glibc

/// Why the server could not start or stopped.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and, where it can, what to do (another `--port`, a privileged port, an address).
    public var message: String

    /// Creates an error with its message.
    public init(message: String) {
        self.message = message
    }

    static func system(_ operation: String, _ code: Int32) -> HTTPServerError {
        HTTPServerError(message: "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
    }

    /// The message.
    public var description: String { message }
}
