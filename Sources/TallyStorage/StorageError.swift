/// What went wrong in the store, where, and what to do about it.
///
/// ``description`` reads as one sentence for an operator, for example
/// `segment 00000000000000004096.seg: checksum mismatch at byte 81920 (frame for offsets 5120–5631); run
/// `tally verify` for a full report`.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broad class of failure, for programs that branch on it.
    public enum Code: String, Sendable, Equatable {
        /// A system call failed (see ``errno``).
        case io
        /// The disk is full (`ENOSPC`); the log is as it was before the batch.
        case noSpace
        /// Stored bytes are damaged in a way recovery must not paper over.
        case corrupt
        /// Another process holds the store's write lock.
        case locked
        /// An earlier write or fsync failed; the store refuses appends until it is reopened.
        case failed
        /// The store has been closed.
        case closed
        /// The request itself is invalid, such as a batch larger than a frame may hold.
        case invalidArgument
    }

    /// The class of failure.
    public var code: Code
    /// A human-readable account of what happened and what to do.
    public var message: String
    /// The file involved, when one is.
    public var path: String?
    /// The byte position in ``path`` where damage starts, for ``Code/corrupt``.
    public var byteOffset: Int64?
    /// The `errno` of the failing system call, for ``Code/io`` and ``Code/noSpace``.
    public var errno: Int32?

    /// Creates a storage error.
    public init(
        _ code: Code, _ message: String, path: String? = nil, byteOffset: Int64? = nil,
        errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.byteOffset = byteOffset
        self.errno = errno
    }

    /// The error for a stored record that fails to decode: the store is damaged at `offset`.
    /// - Parameters:
    ///   - offset: The record's log offset.
    ///   - reason: What the codec found wrong.
    public static func undecodable(at offset: UInt64, _ reason: String) -> StorageError {
        StorageError(
            .corrupt,
            "record at offset \(offset) cannot be decoded: \(reason); run `tally verify` for a full report, and `tally salvage --out DIR` to copy every readable record"
        )
    }

    /// A file of the store that is a symbolic link to nothing: its contents cannot be read, and may come
    /// back with its target (a disk mounted again), so it is a failure to read, not damage.
    /// - Parameter file: The file's path inside the store (`segments/<name>`).
    package static func danglingLink(_ file: String, path: String) -> StorageError {
        StorageError(
            .io,
            "\(file) is a symbolic link to a file that does not exist (was its target moved, or is its disk not mounted?): restore the target, or remove the link to go on without what it held",
            path: path)
    }

    /// This error with the file it happened to named first ("segments/….seg: fdatasync failed: …"), when it
    /// names none yet: a file system call on an open file knows its descriptor, not its name.
    /// - Parameter file: The file, as the operator finds it under the store.
    /// - Returns: The error, naming `file` (unchanged when it already named a path).
    package func naming(_ file: String) -> StorageError {
        guard path == nil else { return self }
        var named = self
        named.path = file
        named.message = "\(file): \(message)"
        return named
    }

    public var description: String { message }
}
