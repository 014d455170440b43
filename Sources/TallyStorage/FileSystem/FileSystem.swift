/// Every file operation the store performs. Production uses ``PosixFileSystem``; tests substitute
/// implementations that inject failed fsyncs, short writes, `ENOSPC` and crash points.
///
/// Methods throw ``StorageError`` with code ``StorageError/Code/io`` (or ``StorageError/Code/noSpace``)
/// carrying the failing call's `errno`.
public protocol FileSystem: Sendable {
    /// Opens `path`.
    func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> FileHandle
    /// Closes a handle; errors are ignored because nothing useful can be done with them.
    func close(_ file: FileHandle)
    /// Reads up to `buffer.count` bytes at `offset`; returns the number read (0 at end of file).
    func read(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError)
        -> Int
    /// Writes up to `bytes.count` bytes at `offset`; returns the number written, which may be fewer.
    func write(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) -> Int
    /// Flushes a file to stable storage (`fdatasync` when `dataOnly`, else `fsync`).
    func sync(_ file: FileHandle, dataOnly: Bool) throws(StorageError)
    /// Starts writing a range of a file's dirty pages back to the disk and returns without waiting: a hint
    /// that spreads the disk's work out, so that a later sync finds little left to flush. It makes nothing
    /// durable and reports no failure: a write error shows at the next sync, which is what acknowledges.
    func startWriteback(_ file: FileHandle, offset: Int64, count: Int64)
    /// Asks the kernel to drop a file's clean cached pages, so that the next reads come from the disk (a
    /// scrub checks the disk, not memory). A hint: dirty pages stay, and nothing is reported.
    func dropCachedPages(_ file: FileHandle)
    /// Sets a file's length.
    func truncate(_ file: FileHandle, to length: Int64) throws(StorageError)
    /// The file's current length in bytes.
    func size(_ file: FileHandle) throws(StorageError) -> Int64
    /// Takes an exclusive advisory lock without blocking; returns `false` if someone else holds it.
    func tryLock(_ file: FileHandle) throws(StorageError) -> Bool
    /// Takes an exclusive advisory lock on the directory at `path` itself, without blocking: a handle that
    /// holds it until closed, or `nil` when someone else holds it. Unlike a lock file's, it cannot be lost by
    /// deleting a file: a directory that holds a store cannot be removed from under its lock.
    func tryLockDirectory(_ path: String) throws(StorageError) -> FileHandle?
    /// Names in a directory, excluding `.` and `..`.
    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String]
    /// Creates a directory and any missing parents, durably: each new entry's parent directory is synced.
    func createDirectory(_ path: String) throws(StorageError)
    /// Flushes a directory's entries so created, renamed and removed names survive a crash.
    func syncDirectory(_ path: String) throws(StorageError)
    /// Atomically renames `source` to `destination`, replacing it.
    func rename(_ source: String, to destination: String) throws(StorageError)
    /// Removes a file.
    func remove(_ path: String) throws(StorageError)
    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws(StorageError)
    /// Whether anything exists at `path`.
    func exists(_ path: String) -> Bool
    /// Whether `path` is a directory (a directory named like a segment is not one).
    func isDirectory(_ path: String) -> Bool
    /// Whether `path` is a symbolic link whose target does not exist (moved, or on a disk not mounted).
    func isDanglingLink(_ path: String) -> Bool
    /// How many names an open file has: 0 once it was deleted (its data then goes with the last handle);
    /// `nil` when that cannot be told.
    func linkCount(_ file: FileHandle) -> Int?
    /// What `path` names (following links), or `nil` when nothing does or it cannot be told.
    func identity(of path: String) -> FileIdentity?
    /// The bytes an unprivileged writer may still write on the file system holding `path`, or `nil` when that
    /// cannot be told.
    func availableBytes(at path: String) -> Int64?
    /// When the file at `path` was last written, in whole seconds of Unix time, or `nil` when that cannot be
    /// told.
    func modificationSeconds(of path: String) -> Int64?
}

extension FileSystem {
    /// Simulated file systems hold files only.
    public func isDirectory(_ path: String) -> Bool { false }

    /// Simulated file systems hold no links.
    public func isDanglingLink(_ path: String) -> Bool { false }

    /// Simulated file systems have no cache to drop.
    public func dropCachedPages(_ file: FileHandle) {}

    /// Simulated file systems cannot tell a deleted open file.
    public func linkCount(_ file: FileHandle) -> Int? { nil }

    /// Simulated file systems have no inodes.
    public func identity(of path: String) -> FileIdentity? { nil }

    /// Simulated file systems never fill.
    public func availableBytes(at path: String) -> Int64? { nil }

    /// Simulated file systems keep no times.
    public func modificationSeconds(of path: String) -> Int64? { nil }

    /// Where a file system has no way to remove directories: removes the name as it would a file.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func removeDirectory(_ path: String) throws(StorageError) { try remove(path) }

    /// Writes all of `bytes` at `offset`, continuing after short writes.
    /// - Throws: The first error; bytes before it may have been written.
    public func writeAll(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let written = try write(file, rest, at: offset + Int64(done))
            guard written > 0 else {
                throw StorageError(.io, "write returned 0 bytes at byte \(offset + Int64(done))")
            }
            done += written
        }
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or fewer only at end of file.
    /// - Returns: The number of bytes read.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func readFully(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(StorageError) -> Int
    {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let count = try read(file, into: rest, at: offset + Int64(done))
            if count == 0 { break }
            done += count
        }
        return done
    }

    /// Reads a whole small file.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func readFile(_ path: String) throws(StorageError) -> [UInt8] {
        let file = try open(path, mode: .readOnly)
        defer { close(file) }
        let length = try size(file)
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let count = try bytes.withMutableBytes { buffer throws(StorageError) in
            try readFully(file, into: buffer, at: 0)
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }
}
