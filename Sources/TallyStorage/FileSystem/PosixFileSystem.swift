import CTallyShims
import Glibc

/// The real file system, through POSIX calls.
public struct PosixFileSystem: FileSystem {
    /// Creates the file system.
    public init() {}

    /// Opens with `open(2)` and `O_CLOEXEC`; a created file gets mode 0644. Only regular files (and, read-only,
    /// directories) are opened: a FIFO, socket or device where the store keeps a file is refused, not waited
    /// on (opening a FIFO blocks until something writes to it, so it is opened with `O_NONBLOCK`, which
    /// regular files ignore, and checked before it is used).
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`; ``StorageError/Code/invalidArgument`` for a file of another kind.
    public func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> FileHandle {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK
        case .readWrite: flags = O_RDWR | O_CLOEXEC | O_NONBLOCK
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC
        case .createOrOpen: flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK
        }
        let descriptor = try Syscall.retrying("open", path: path) { Glibc.open(path, flags, 0o644) }
        var status = stat()
        if fstat(descriptor, &status) == 0 {
            let kind = status.st_mode & S_IFMT
            guard kind == S_IFREG || (kind == S_IFDIR && mode == .readOnly) else {
                _ = Glibc.close(descriptor)
                throw StorageError(
                    .invalidArgument,
                    "\(path) is not a regular file but a \(Self.kindName(kind)): the store keeps only files there; move it away",
                    path: path)
            }
        }
        return FileHandle(descriptor: descriptor)
    }

    /// What a file that is not a regular file is, for a message.
    package static func kindName(_ kind: mode_t) -> String {
        switch kind {
        case S_IFIFO: "FIFO"
        case S_IFSOCK: "socket"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFDIR: "directory"
        case S_IFLNK: "symbolic link"
        default: "file of another kind"
        }
    }

    /// Closes with `close(2)`, ignoring its result.
    public func close(_ file: FileHandle) {
        _ = Glibc.close(file.descriptor)
    }

    /// Reads with `pread(2)`, retried on `EINTR`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func read(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(StorageError) -> Int
    {
        try Syscall.retrying("pread") { pread(file.descriptor, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Writes with `pwrite(2)`, retried on `EINTR`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func write(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) -> Int
    {
        try Syscall.retrying("pwrite") { pwrite(file.descriptor, bytes.baseAddress, bytes.count, off_t(offset)) }
    }

    /// `fdatasync(2)` when `dataOnly`, else `fsync(2)`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func sync(_ file: FileHandle, dataOnly: Bool) throws(StorageError) {
        _ = try Syscall.retrying(dataOnly ? "fdatasync" : "fsync") {
            dataOnly ? fdatasync(file.descriptor) : fsync(file.descriptor)
        }
    }

    /// `sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`; its result is ignored.
    public func startWriteback(_ file: FileHandle, offset: Int64, count: Int64) {
        // sync_file_range(SYNC_FILE_RANGE_WRITE): neither waits for the pages nor takes their errors, which
        // the next fsync of the file still reports.
        _ = tally_start_writeback(file.descriptor, offset, count)
    }

    /// Drops the file's clean cached pages with `posix_fadvise(POSIX_FADV_DONTNEED)`.
    public func dropCachedPages(_ file: FileHandle) {
        _ = posix_fadvise(file.descriptor, 0, 0, POSIX_FADV_DONTNEED)
    }

    /// Sets the length with `ftruncate(2)`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func truncate(_ file: FileHandle, to length: Int64) throws(StorageError) {
        _ = try Syscall.retrying("ftruncate") { ftruncate(file.descriptor, off_t(length)) }
    }

    /// The length `fstat(2)` reports.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func size(_ file: FileHandle) throws(StorageError) -> Int64 {
        var info = stat()
        _ = try Syscall.retrying("fstat") { fstat(file.descriptor, &info) }
        return Int64(info.st_size)
    }

    /// `flock(2)` with `LOCK_EX | LOCK_NB`: `false` on `EWOULDBLOCK`, retried on `EINTR`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func tryLock(_ file: FileHandle) throws(StorageError) -> Bool {
        switch Syscall.uninterrupted({ flock(file.descriptor, LOCK_EX | LOCK_NB) }) {
        case .success: return true
        case .failure(let failure) where failure.wouldBlock: return false
        case .failure(let failure): throw Syscall.error("flock", path: nil, errno: failure.code)
        }
    }

    /// `flock(2)` on the directory, opened `O_RDONLY | O_DIRECTORY`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func tryLockDirectory(_ path: String) throws(StorageError) -> FileHandle? {
        let handle = FileHandle(
            descriptor: try Syscall.retrying("open", path: path) {
                Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            })
        let acquired: Bool
        do throws(StorageError) {
            acquired = try tryLock(handle)
        } catch {
            close(handle)
            throw error
        }
        if acquired { return handle }
        close(handle)
        return nil
    }

    /// Lists with `readdir(3)`, in the directory's own order (not sorted).
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw Syscall.error("opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates each missing component with mode 0755, syncing its parent; existing ones are kept.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func createDirectory(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "." : prefix
            prefix += component
            if mkdir(prefix, 0o755) == 0 {
                // The new entry survives a crash only once its parent directory is synced.
                try syncDirectory(parent)
            } else {
                let code = errno
                if code != EEXIST { throw Syscall.error("mkdir", path: prefix, errno: code) }
            }
            prefix += "/"
        }
    }

    /// Opens the directory and `fsync(2)`s it.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func syncDirectory(_ path: String) throws(StorageError) {
        let descriptor = try Syscall.retrying("open", path: path) {
            Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        defer { _ = Glibc.close(descriptor) }
        _ = try Syscall.retrying("fsync", path: path) { fsync(descriptor) }
    }

    /// `rename(2)`: atomic within one file system.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func rename(_ source: String, to destination: String) throws(StorageError) {
        _ = try Syscall.retrying("rename", path: source) { Glibc.rename(source, destination) }
    }

    /// Removes with `unlink(2)`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func remove(_ path: String) throws(StorageError) {
        _ = try Syscall.retrying("unlink", path: path) { unlink(path) }
    }

    /// Removes with `rmdir(2)`.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/io`` (``StorageError/Code/noSpace`` for `ENOSPC`) and
    ///   the call's `errno`.
    public func removeDirectory(_ path: String) throws(StorageError) {
        _ = try Syscall.retrying("rmdir", path: path) { rmdir(path) }
    }

    /// `access(2)` with `F_OK`: follows symbolic links, so a dangling link does not exist.
    public func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// `stat(2)`, following symbolic links; `false` when `path` cannot be stat'ed.
    public func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// `lstat(2)` finds a symbolic link and `stat(2)`, following it, finds nothing (`ENOENT`).
    public func isDanglingLink(_ path: String) -> Bool {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return false }
        return stat(path, &status) != 0 && errno == ENOENT
    }

    /// `st_nlink` from `fstat(2)`; `nil` when the call fails.
    public func linkCount(_ file: FileHandle) -> Int? {
        var status = stat()
        guard fstat(file.descriptor, &status) == 0 else { return nil }
        return Int(status.st_nlink)
    }

    /// `st_dev` and `st_ino` from `stat(2)`, following symbolic links; `nil` when the call fails.
    public func identity(of path: String) -> FileIdentity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// `st_mtim`'s seconds from `stat(2)`, following symbolic links; `nil` when the call fails.
    public func modificationSeconds(of path: String) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int64(status.st_mtim.tv_sec)
    }

    /// `f_bavail` blocks of `f_frsize` bytes from `statvfs(3)`; `nil` when the call fails.
    public func availableBytes(at path: String) -> Int64? {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return nil }
        let (bytes, overflow) = UInt64(status.f_bavail).multipliedReportingOverflow(by: UInt64(status.f_frsize))
        return overflow ? .max : Int64(clamping: bytes)
    }
}
