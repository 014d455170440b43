import Glibc

/// The one place system calls are made: retries on `EINTR` and turns `errno` into ``StorageError`` (for
/// files) or ``Errno`` (for sockets and standard streams, where `EAGAIN` is an answer, not a failure).
package enum Syscall {
    /// Runs `call` until it does not fail with `EINTR`.
    /// - Parameters:
    ///   - operation: The call's name, for the error message (`"fdatasync"`).
    ///   - path: The file involved, when known.
    ///   - call: The system call; a negative result means failure with `errno` set.
    /// - Returns: The call's non-negative result.
    /// - Throws: ``StorageError`` naming the call, the path and the reason (``StorageError/Code/noSpace``
    ///   for `ENOSPC`, else ``StorageError/Code/io``).
    @inline(__always)
    package static func retrying<T: BinaryInteger>(
        _ operation: String, path: String? = nil,
        _ call: () -> T
    ) throws(StorageError) -> T {
        switch uninterrupted(call) {
        case .success(let result): return result
        case .failure(let failure): throw error(operation, path: path, errno: failure.code)
        }
    }

    /// Runs `call` until it does not fail with `EINTR`.
    /// - Parameter call: The system call; a negative result means failure with `errno` set.
    /// - Returns: The call's non-negative result, or the `errno` it failed with.
    @inlinable
    package static func uninterrupted<T: BinaryInteger>(_ call: () -> T) -> Result<T, Errno> {
        while true {
            let result = call()
            if result >= 0 { return .success(result) }
            let code = errno
            if code != EINTR { return .failure(Errno(code)) }
        }
    }

    /// Writes every byte of `bytes` to `descriptor`, continuing after short writes and `EINTR`.
    /// - Returns: `nil` once every byte is written, else why the rest could not be (`EIO` for a write that
    ///   took no bytes).
    package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Errno? {
        var done = 0
        while done < bytes.count {
            switch uninterrupted({ Glibc.write(descriptor, bytes.baseAddress.map { $0 + done }, bytes.count - done) }) {
            case .success(0): return Errno(EIO)
            case .success(let count): done += count
            case .failure(let failure): return failure
            }
        }
        return nil
    }

    /// Builds the error for a failed call on a file.
    /// - Parameters:
    ///   - operation: The call's name.
    ///   - path: The file involved, when known.
    ///   - code: The call's `errno`.
    /// - Returns: ``StorageError/Code/noSpace`` for `ENOSPC`, else ``StorageError/Code/io``.
    package static func error(_ operation: String, path: String?, errno code: Int32) -> StorageError {
        let reason = Errno(code).description
        let place = path.map { " on \($0)" } ?? ""
        if code == ENOSPC {
            return StorageError(
                .noSpace, "\(operation)\(place) failed: the disk is full (\(reason)); free space and retry",
                path: path, errno: code)
        }
        return StorageError(
            .io, "\(operation)\(place) failed: \(reason) (errno \(code))\(hint(errno: code))", path: path, errno: code)
    }

    /// What to look at for an `errno` whose usual cause is outside Tally, or nothing.
    static func hint(errno code: Int32) -> String {
        switch code {
        case EPERM: "; the file may be immutable or append-only (see `lsattr`; `chattr -i -a` lifts it)"
        case EACCES:
            "; the user running tally needs permission to read the store and its files (and to write them, for a command that changes the store: serve, import, replay)"
        case EROFS: "; the file system is mounted read-only"
        default: ""
        }
    }
}
