import Glibc

/// The `errno` of a failed system call.
package struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value (`EAGAIN`, `ECONNRESET`, …).
    package var code: Int32

    /// Wraps an `errno` value.
    @inlinable
    package init(_ code: Int32) {
        self.code = code
    }

    /// Whether the call would have blocked a non-blocking descriptor (`EAGAIN` or `EWOULDBLOCK`): try again
    /// once it is ready.
    @inlinable
    package var wouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }

    /// `strerror`'s text ("Connection reset by peer").
    package var description: String { String(cString: strerror(code)) }
}
