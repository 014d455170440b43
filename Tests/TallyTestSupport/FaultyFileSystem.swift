import Glibc
import Synchronization
import TallyStorage

/// The real file system with injectable faults: failed syncs, a disk that fills up, and short writes.
public final class FaultyFileSystem: FileSystem {
    /// What to break, and when.
    public struct Plan: Sendable {
        /// Syncs that succeed before every later sync fails with `EIO`; `nil` never fails.
        public var syncsBeforeFailure: Int?
        /// Bytes that may still be written before the disk is full (`ENOSPC`); `nil` is unlimited.
        public var bytesBeforeFull: Int64?
        /// When set, a write call writes at most this many bytes.
        public var maxBytesPerWrite: Int?
        /// Writes whose path contains this text fail with `EIO` (for targeting one kind of file).
        public var failWritesToPathsContaining: String?
        /// Writes to files created from now on fail with `EIO` (a new segment or checkpoint).
        public var failWritesToNewFiles = false
        /// Syncs of files whose path contains this text fail with `EIO`.
        public var failSyncsOfPathsContaining: String?
        /// The next sync of a file whose path contains this text waits until ``releaseHeldSync()`` (once: the
        /// text is cleared when a sync takes the hold).
        public var holdNextSyncOfPathContaining: String?
        /// Opens for reading of files whose path contains this text fail with `EMFILE` (as when the process
        /// runs out of file descriptors).
        public var failReadOpensOfPathsContaining: String?
        /// Renames fail with this `errno` (`EBUSY` as onto a mount point, `EXDEV` across file systems).
        public var failRenamesWithErrno: Int32?
        /// When set, the free space reported for every path (a nearly full disk), in bytes.
        public var availableBytes: Int64?

        public init() {}
    }

    private let base = PosixFileSystem()
    /// A request to start writeback: the file's path and the byte range.
    public struct WritebackRequest: Sendable, Equatable {
        public var path: String
        public var offset: Int64
        public var count: Int64
    }

    private let state: Mutex<(plan: Plan, paths: [Int32: String], syncs: Int, written: Int64, doomed: Set<Int32>)>
    private let writebacks = Mutex<[WritebackRequest]>([])
    private let closedTwice = Atomic<Int>(0)
    /// 1 while a sync waits in its hold, 2 once released.
    private let hold = Atomic<Int>(0)
    /// The descriptor of the held sync's file (-1 when none), and closes of it while the sync was held.
    private let heldDescriptor = Atomic<Int32>(-1)
    private let heldFileClosed = Atomic<Int>(0)
    private let largestRead = Atomic<Int>(0)

    public init(plan: Plan = Plan()) {
        state = Mutex((plan, [:], 0, 0, []))
    }

    /// Closes of a descriptor this file system had already closed (and not opened again): each one could
    /// have closed an unrelated file that reused the number.
    public var closesOfClosedFiles: Int { closedTwice.load(ordering: .relaxed) }

    /// Changes the plan from now on.
    public func update(_ change: (inout Plan) -> Void) {
        state.withLock { change(&$0.plan) }
    }

    /// Whether a sync is waiting in the hold set by ``Plan/holdNextSyncOfPathContaining``.
    public var isHoldingSync: Bool { hold.load(ordering: .acquiring) == 1 }

    /// Waits up to ten seconds for a sync to reach the hold; returns whether one did.
    public func waitForHeldSync() -> Bool {
        for _ in 0..<2_000 where !isHoldingSync { usleep(5_000) }
        return isHoldingSync
    }

    /// Closes of the held sync's file while it was held: each would have left the sync on a number that
    /// another file could take.
    public var closesDuringHeldSync: Int { heldFileClosed.load(ordering: .relaxed) }

    /// Lets the held sync go on (and any later hold pass at once).
    public func releaseHeldSync() {
        hold.store(2, ordering: .releasing)
    }

    /// Files opened through this file system and not closed yet.
    public var openFileCount: Int { state.withLock { $0.paths.count } }

    /// The writeback requests so far, in order.
    public var writebackRequests: [WritebackRequest] { writebacks.withLock { $0 } }

    /// How many syncs were requested so far.
    public var syncCount: Int { state.withLock { $0.syncs } }

    public func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> FileHandle {
        if mode == .readOnly, let text = state.withLock({ $0.plan.failReadOpensOfPathsContaining }), path.contains(text)
        {
            throw StorageError(.io, "open \(path) failed: Too many open files (injected)", path: path, errno: EMFILE)
        }
        let file = try base.open(path, mode: mode)
        state.withLock { state in
            state.paths[file.descriptor] = path
            if mode == .createNew && state.plan.failWritesToNewFiles { state.doomed.insert(file.descriptor) }
        }
        return file
    }

    public func close(_ file: FileHandle) {
        if heldDescriptor.load(ordering: .acquiring) == file.descriptor { heldFileClosed.add(1, ordering: .relaxed) }
        let wasOpen = state.withLock { state -> Bool in
            state.doomed.remove(file.descriptor)
            return state.paths.removeValue(forKey: file.descriptor) != nil
        }
        guard wasOpen else {
            // Not passed on: the number may belong to another file by now.
            closedTwice.add(1, ordering: .relaxed)
            return
        }
        base.close(file)
    }

    public func read(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(StorageError) -> Int
    {
        _ = largestRead.max(buffer.count, ordering: .relaxed)
        return try base.read(file, into: buffer, at: offset)
    }

    /// The most bytes one read has asked for.
    public var largestReadBytes: Int { largestRead.load(ordering: .relaxed) }

    public func write(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) -> Int
    {
        let (allowed, failure) = state.withLock { state -> (Int, StorageError?) in
            if let needle = state.plan.failWritesToPathsContaining, let path = state.paths[file.descriptor],
                path.contains(needle)
            {
                return (0, StorageError(.io, "pwrite failed: injected I/O error", errno: EIO))
            }
            if state.doomed.contains(file.descriptor) {
                return (0, StorageError(.io, "pwrite failed: injected I/O error on a new file", errno: EIO))
            }
            var allowed = bytes.count
            if let cap = state.plan.maxBytesPerWrite { allowed = min(allowed, cap) }
            if let room = state.plan.bytesBeforeFull {
                if room <= 0 {
                    return (0, StorageError(.noSpace, "pwrite failed: the disk is full (injected)", errno: ENOSPC))
                }
                allowed = Int(min(Int64(allowed), room))
                state.plan.bytesBeforeFull = room - Int64(allowed)
            }
            state.written += Int64(allowed)
            return (allowed, nil)
        }
        if let failure { throw failure }
        return try base.write(file, UnsafeRawBufferPointer(rebasing: bytes[0..<allowed]), at: offset)
    }

    public func sync(_ file: FileHandle, dataOnly: Bool) throws(StorageError) {
        let held = state.withLock { state -> Bool in
            guard let text = state.plan.holdNextSyncOfPathContaining,
                state.paths[file.descriptor]?.contains(text) == true
            else {
                return false
            }
            state.plan.holdNextSyncOfPathContaining = nil
            return true
        }
        if held {
            heldDescriptor.store(file.descriptor, ordering: .releasing)
            _ = hold.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing)
            while hold.load(ordering: .acquiring) == 1 { usleep(1_000) }
            heldDescriptor.store(-1, ordering: .releasing)
        }
        let fail = state.withLock { state -> Bool in
            state.syncs += 1
            if let text = state.plan.failSyncsOfPathsContaining, state.paths[file.descriptor]?.contains(text) == true {
                return true
            }
            guard let remaining = state.plan.syncsBeforeFailure else { return false }
            if remaining <= 0 { return true }
            state.plan.syncsBeforeFailure = remaining - 1
            return false
        }
        if fail { throw StorageError(.io, "fdatasync failed: injected I/O error", errno: EIO) }
        try base.sync(file, dataOnly: dataOnly)
    }

    public func startWriteback(_ file: FileHandle, offset: Int64, count: Int64) {
        let path = state.withLock { $0.paths[file.descriptor] ?? "?" }
        writebacks.withLock { $0.append(WritebackRequest(path: path, offset: offset, count: count)) }
        base.startWriteback(file, offset: offset, count: count)
    }

    public func truncate(_ file: FileHandle, to length: Int64) throws(StorageError) {
        try base.truncate(file, to: length)
    }

    public func size(_ file: FileHandle) throws(StorageError) -> Int64 {
        try base.size(file)
    }

    public func tryLock(_ file: FileHandle) throws(StorageError) -> Bool {
        try base.tryLock(file)
    }

    public func tryLockDirectory(_ path: String) throws(StorageError) -> FileHandle? {
        guard let handle = try base.tryLockDirectory(path) else { return nil }
        state.withLock { $0.paths[handle.descriptor] = path }
        return handle
    }

    public func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        try base.contentsOfDirectory(path)
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        try base.createDirectory(path)
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        try base.syncDirectory(path)
    }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        if let code = state.withLock({ $0.plan.failRenamesWithErrno }) {
            throw StorageError(.io, "rename on \(source) failed: errno \(code)", path: source, errno: code)
        }
        try base.rename(source, to: destination)
    }

    public func remove(_ path: String) throws(StorageError) {
        try base.remove(path)
    }

    public func removeDirectory(_ path: String) throws(StorageError) {
        try base.removeDirectory(path)
    }

    public func isDirectory(_ path: String) -> Bool {
        base.isDirectory(path)
    }

    public func isDanglingLink(_ path: String) -> Bool {
        base.isDanglingLink(path)
    }

    public func exists(_ path: String) -> Bool {
        base.exists(path)
    }

    public func linkCount(_ file: FileHandle) -> Int? {
        base.linkCount(file)
    }

    public func identity(of path: String) -> FileIdentity? {
        base.identity(of: path)
    }

    public func modificationSeconds(of path: String) -> Int64? {
        base.modificationSeconds(of: path)
    }

    /// The planned free bytes, for a path the real file system can measure (`statvfs` fails for one that
    /// does not exist); the real figure when none is planned.
    public func availableBytes(at path: String) -> Int64? {
        guard let real = base.availableBytes(at: path) else { return nil }
        return state.withLock { $0.plan.availableBytes } ?? real
    }
}
