import Glibc

/// The one place system calls are made: retries on `EINTR` and turns `errno` into ``StorageError``.
enum Syscall {
    /// Runs `call` until it does not fail with `EINTR`.
    /// - Parameters:
    ///   - operation: The call's name, for the error message (`"fdatasync"`).
    ///   - path: The file involved, when known.
    ///   - call: The system call; a negative result means failure with `errno` set.
    /// - Returns: The call's non-negative result.
    @inline(__always)
    static func retrying<T: BinaryInteger>(
        _ operation: String, path: String? = nil,
        _ call: () -> T
    ) throws(StorageError) -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw error(operation, path: path, errno: code)
        }
    }

    /// Builds the error for a failed call.
    static func error(_ operation: String, path: String?, errno code: Int32) -> StorageError {
        let reason = String(cString: strerror(code))
        let place = path.map { " on \($0)" } ?? ""
        if code == ENOSPC {
            return StorageError(
                .noSpace, "\(operation)\(place) failed: the disk is full (\(reason)); free space and retry",
                path: path, errno: code)
        }
        return StorageError(.io, "\(operation)\(place) failed: \(reason) (errno \(code))", path: path, errno: code)
    }
}
