import Glibc
import Synchronization
import TallyStorage

/// Wraps a ``FileSystem`` and breaks one chosen operation: the `n`th change (creation, write, sync,
/// truncation, rename, removal, directory creation or sync), counted from 0.
///
/// Run a workload once with no fault to learn how many changes it makes (``changes``) and what each one
/// was (``kinds``), then once per change with a fault injected there.
public final class InjectingFileSystem: FileSystem {
    /// What goes wrong.
    public enum Fault: String, Sendable, CaseIterable {
        /// The call fails with `EIO` (a write then writes nothing).
        case ioError
        /// A write writes half its bytes and the next call fails with `ENOSPC`, as does every later write
        /// and creation: the disk stays full. Other calls fail with `ENOSPC` once.
        case diskFull
        /// A write writes only part of its bytes (and succeeds); other calls are unaffected.
        case shortWrite
    }

    /// The kind of a change, as counted.
    public enum Change: String, Sendable {
        case create, write, sync, truncate, rename, remove, createDirectory, syncDirectory
    }

    private let base: any FileSystem
    private let plan: (index: Int, fault: Fault)?
    private let state = Mutex<(count: Int, kinds: [Change], full: Bool, injected: Bool)>((0, [], false, false))

    /// Wraps `base`, injecting `fault` at change number `index` (or nothing when `at` is `nil`).
    public init(_ base: any FileSystem, at index: Int? = nil, fault: Fault = .ioError) {
        self.base = base
        self.plan = index.map { ($0, fault) }
    }

    /// How many changes were made so far.
    public var changes: Int { state.withLock { $0.count } }

    /// The kind of each change made so far.
    public var kinds: [Change] { state.withLock { $0.kinds } }

    /// Whether the fault was injected.
    public var injected: Bool { state.withLock { $0.injected } }

    /// Counts a change; returns the fault to inject into it, if any.
    private func count(_ change: Change) -> Fault? {
        injection(change).fault
    }

    /// Counts a change; returns the fault to inject, and whether this change is the chosen one (rather
    /// than a later casualty of a full disk).
    private func injection(_ change: Change) -> (fault: Fault?, first: Bool) {
        state.withLock { state -> (fault: Fault?, first: Bool) in
            defer {
                state.count += 1
                state.kinds.append(change)
            }
            if state.full, change == .write || change == .create { return (.diskFull, false) }
            guard let plan, plan.index == state.count else { return (nil, false) }
            state.injected = true
            if plan.fault == .diskFull { state.full = true }
            return (plan.fault, true)
        }
    }

    private static func failure(_ fault: Fault, _ call: String) -> StorageError {
        fault == .diskFull
            ? StorageError(.noSpace, "\(call) failed: No space left on device (injected)", errno: ENOSPC)
            : StorageError(.io, "\(call) failed: Input/output error (injected)", errno: EIO)
    }

    public func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> FileHandle {
        guard mode == .createNew || (mode == .createOrOpen && !base.exists(path)) else {
            return try base.open(path, mode: mode)
        }
        if let fault = count(.create), fault != .shortWrite { throw Self.failure(fault, "open \(path)") }
        return try base.open(path, mode: mode)
    }

    public func close(_ file: FileHandle) { base.close(file) }

    public func read(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(StorageError) -> Int
    {
        try base.read(file, into: buffer, at: offset)
    }

    public func write(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) -> Int
    {
        let (fault, first) = injection(.write)
        switch fault {
        case nil:
            return try base.write(file, bytes, at: offset)
        case .ioError?:
            throw Self.failure(.ioError, "pwrite")
        case .diskFull?:
            // A disk filling up takes what fits, then refuses the rest.
            let fits = bytes.count / 2
            if first, fits > 0 {
                return try base.write(file, UnsafeRawBufferPointer(rebasing: bytes[..<fits]), at: offset)
            }
            throw Self.failure(.diskFull, "pwrite")
        case .shortWrite?:
            let part = max(1, bytes.count / 3)
            return try base.write(file, UnsafeRawBufferPointer(rebasing: bytes[..<part]), at: offset)
        }
    }

    public func sync(_ file: FileHandle, dataOnly: Bool) throws(StorageError) {
        if let fault = count(.sync), fault != .shortWrite { throw Self.failure(fault, "fsync") }
        try base.sync(file, dataOnly: dataOnly)
    }

    /// Not a change (it makes nothing durable and cannot fail): passed on, never counted or broken.
    public func startWriteback(_ file: FileHandle, offset: Int64, count: Int64) {
        base.startWriteback(file, offset: offset, count: count)
    }

    public func truncate(_ file: FileHandle, to length: Int64) throws(StorageError) {
        if let fault = count(.truncate), fault != .shortWrite { throw Self.failure(fault, "ftruncate") }
        try base.truncate(file, to: length)
    }

    public func size(_ file: FileHandle) throws(StorageError) -> Int64 { try base.size(file) }

    public func tryLock(_ file: FileHandle) throws(StorageError) -> Bool { try base.tryLock(file) }

    public func tryLockDirectory(_ path: String) throws(StorageError) -> FileHandle? {
        try base.tryLockDirectory(path)
    }

    public func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        try base.contentsOfDirectory(path)
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        guard !base.exists(path) else { return }
        if let fault = count(.createDirectory), fault != .shortWrite { throw Self.failure(fault, "mkdir \(path)") }
        try base.createDirectory(path)
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        if let fault = count(.syncDirectory), fault != .shortWrite { throw Self.failure(fault, "fsync \(path)") }
        try base.syncDirectory(path)
    }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        if let fault = count(.rename), fault != .shortWrite { throw Self.failure(fault, "rename \(source)") }
        try base.rename(source, to: destination)
    }

    public func remove(_ path: String) throws(StorageError) {
        if let fault = count(.remove), fault != .shortWrite { throw Self.failure(fault, "unlink \(path)") }
        try base.remove(path)
    }

    public func exists(_ path: String) -> Bool { base.exists(path) }
}
