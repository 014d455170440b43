import Glibc
import Synchronization
import TallyStorage

/// A ``FileSystem`` over a ``SimulatedDisk`` that can record the disk after every change.
///
/// With `recording` on, each write, sync, truncation, creation, rename, removal and directory sync appends
/// a snapshot of the disk to ``snapshots``: snapshot `k` is the disk after the first `k + 1` changes, so a
/// crash "between any two system calls" is a snapshot passed through ``SimulatedDisk/crashed(_:random:)``.
/// ``mark(_:)`` notes what the workload had been told at that point (such as the ids acknowledged so far).
public final class SimulatedFileSystem: FileSystem {
    struct State: Sendable {
        var disk: SimulatedDisk
        var handles: [Int32: Int] = [:]
        var nextHandle: Int32 = 3
        var recording: Bool
        var snapshots: [SimulatedDisk] = []
        var marks: [(snapshot: Int, label: String)] = []
    }

    private let state: Mutex<State>

    /// A file system over `disk` (empty by default); `recording` keeps a snapshot after every change.
    public init(disk: SimulatedDisk = SimulatedDisk(), recording: Bool = false) {
        state = Mutex(State(disk: disk, recording: recording))
    }

    /// The disk as the process sees it now.
    public var disk: SimulatedDisk { state.withLock { $0.disk } }

    /// The disk after each recorded change, in order.
    public var snapshots: [SimulatedDisk] { state.withLock { $0.snapshots } }

    /// Labels noted with ``mark(_:)``, each with the number of snapshots taken before it.
    public var marks: [(snapshot: Int, label: String)] { state.withLock { $0.marks } }

    /// Notes `label` at the current point of the recording.
    public func mark(_ label: String) {
        state.withLock { $0.marks.append(($0.snapshots.count, label)) }
    }

    private func change<R>(_ body: (inout State) throws(StorageError) -> R) throws(StorageError) -> R {
        let result = state.withLock { state -> Result<R, StorageError> in
            do throws(StorageError) {
                let value = try body(&state)
                if state.recording { state.snapshots.append(state.disk) }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func missing(_ call: String, _ path: String) -> StorageError {
        StorageError(.io, "\(call) \(path): No such file or directory", path: path, errno: ENOENT)
    }

    private static func inode(_ state: State, _ file: FileHandle) throws(StorageError) -> Int {
        guard let inode = state.handles[file.descriptor] else {
            throw StorageError(.io, "bad file descriptor \(file.descriptor)", errno: EBADF)
        }
        return inode
    }

    public func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> FileHandle {
        let parent = SimulatedDisk.parent(of: path)
        let open = { (state: inout State, inode: Int) -> FileHandle in
            let handle = state.nextHandle
            state.nextHandle += 1
            state.handles[handle] = inode
            return FileHandle(descriptor: handle)
        }
        let existing = state.withLock { $0.disk.names[path] }
        switch (mode, existing) {
        case (.readOnly, let inode?), (.readWrite, let inode?), (.createOrOpen, let inode?):
            return state.withLock { open(&$0, inode) }
        case (.createNew, _?):
            throw StorageError(.io, "open \(path): File exists", path: path, errno: EEXIST)
        case (.readOnly, nil), (.readWrite, nil):
            throw Self.missing("open", path)
        case (.createNew, nil), (.createOrOpen, nil):
            return try change { state throws(StorageError) in
                guard state.disk.directories.contains(parent) else { throw Self.missing("open", path) }
                return open(&state, state.disk.createFile(path))
            }
        }
    }

    public func close(_ file: FileHandle) {
        _ = state.withLock { $0.handles.removeValue(forKey: file.descriptor) }
    }

    public func read(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(StorageError) -> Int
    {
        let bytes = try state.withLock { state throws(StorageError) in
            try state.disk.inodes[Self.inode(state, file)]?.current ?? []
        }
        guard offset < Int64(bytes.count) else { return 0 }
        let count = min(buffer.count, bytes.count - Int(offset))
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[Int(offset)..<(Int(offset) + count)]))
        }
        return count
    }

    public func write(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) -> Int
    {
        let data = [UInt8](bytes)
        return try change { state throws(StorageError) in
            state.disk.write(try Self.inode(state, file), data, at: Int(offset))
            return data.count
        }
    }

    public func sync(_ file: FileHandle, dataOnly: Bool) throws(StorageError) {
        try change { state throws(StorageError) in state.disk.sync(try Self.inode(state, file)) }
    }

    /// Changes nothing the simulation tracks: written-back pages are still not durable until synced, so a
    /// crash may lose them (as a real one may).
    public func startWriteback(_ file: FileHandle, offset: Int64, count: Int64) {}

    public func truncate(_ file: FileHandle, to length: Int64) throws(StorageError) {
        try change { state throws(StorageError) in state.disk.truncate(try Self.inode(state, file), to: Int(length)) }
    }

    public func size(_ file: FileHandle) throws(StorageError) -> Int64 {
        try state.withLock { state throws(StorageError) in
            Int64(state.disk.inodes[try Self.inode(state, file)]?.current.count ?? 0)
        }
    }

    public func tryLock(_ file: FileHandle) throws(StorageError) -> Bool { true }

    /// One process: the lock is always free; the handle names no file.
    public func tryLockDirectory(_ path: String) throws(StorageError) -> FileHandle? {
        try state.withLock { state throws(StorageError) in
            guard state.disk.directories.contains(path) else { throw Self.missing("open", path) }
            defer { state.nextHandle += 1 }
            return FileHandle(descriptor: state.nextHandle)
        }
    }

    public func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        try state.withLock { state throws(StorageError) in
            guard state.disk.directories.contains(path) else { throw Self.missing("opendir", path) }
            let files = state.disk.names.keys.filter { SimulatedDisk.parent(of: $0) == path }
            let subdirectories = state.disk.directories.filter { $0 != "/" && SimulatedDisk.parent(of: $0) == path }
            return (files + subdirectories).map { String($0.dropFirst(path == "/" ? 1 : path.count + 1)) }.sorted()
        }
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        try change { state in
            var prefix = ""
            for component in path.split(separator: "/") {
                prefix += "/" + component
                state.disk.directories.insert(prefix)
            }
        }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        try change { state throws(StorageError) in
            guard state.disk.directories.contains(path) else { throw Self.missing("open", path) }
            state.disk.syncDirectory(path)
        }
    }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        try change { state throws(StorageError) in
            guard let inode = state.disk.names.removeValue(forKey: source) else { throw Self.missing("rename", source) }
            state.disk.names[destination] = inode
        }
    }

    public func remove(_ path: String) throws(StorageError) {
        try change { state throws(StorageError) in
            guard state.disk.names.removeValue(forKey: path) != nil else { throw Self.missing("unlink", path) }
        }
    }

    public func exists(_ path: String) -> Bool {
        state.withLock { $0.disk.names[path] != nil || $0.disk.directories.contains(path) }
    }
}
