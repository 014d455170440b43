/// An in-memory disk that knows what a crash would keep.
///
/// Every file has the bytes the running process sees (`current`) and the bytes that are on stable storage
/// (`durable`), plus the writes and truncations made since its last sync, in order. Names work the same
/// way: a created, renamed or removed name is durable only once its directory is synced. Directories
/// themselves are durable once created (the ``FileSystem`` contract: `createDirectory` syncs the parent).
///
/// ``crashed(_:random:)`` gives the disk as a machine would find it after losing power, under one of
/// several ``CrashMode``s.
public struct SimulatedDisk: Sendable {
    /// A change to a file since its last sync.
    enum Pending: Sendable {
        case write(offset: Int, bytes: [UInt8])
        case truncate(length: Int)
    }

    struct Inode: Sendable {
        var durable: [UInt8] = []
        var current: [UInt8] = []
        var pending: [Pending] = []
    }

    var inodes: [Int: Inode] = [:]
    var nextInode = 1
    /// File names the process sees, by path.
    var names: [String: Int] = [:]
    /// File names that survive a crash.
    var durableNames: [String: Int] = [:]
    /// Directories (always durable).
    var directories: Set<String> = ["/"]

    /// An empty disk.
    public init() {}

    /// The paths of every file the process sees, sorted.
    public var paths: [String] { names.keys.sorted() }

    /// The paths of every file whose name would survive a crash.
    public var durablePaths: Set<String> { Set(durableNames.keys) }

    /// The bytes the process sees in the file at `path`.
    public func contents(_ path: String) -> [UInt8]? {
        names[path].flatMap { inodes[$0]?.current }
    }

    // MARK: - Changes

    mutating func createFile(_ path: String) -> Int {
        let inode = nextInode
        nextInode += 1
        inodes[inode] = Inode()
        names[path] = inode
        return inode
    }

    mutating func write(_ inode: Int, _ bytes: [UInt8], at offset: Int) {
        guard var node = inodes[inode] else { return }
        Self.apply(.write(offset: offset, bytes: bytes), to: &node.current)
        node.pending.append(.write(offset: offset, bytes: bytes))
        inodes[inode] = node
    }

    mutating func truncate(_ inode: Int, to length: Int) {
        guard var node = inodes[inode] else { return }
        Self.apply(.truncate(length: length), to: &node.current)
        node.pending.append(.truncate(length: length))
        inodes[inode] = node
    }

    mutating func sync(_ inode: Int) {
        guard var node = inodes[inode] else { return }
        node.durable = node.current
        node.pending = []
        inodes[inode] = node
    }

    mutating func syncDirectory(_ directory: String) {
        for (path, _) in durableNames where Self.parent(of: path) == directory && names[path] == nil {
            durableNames[path] = nil
        }
        for (path, inode) in names where Self.parent(of: path) == directory {
            durableNames[path] = inode
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func apply(_ change: Pending, to bytes: inout [UInt8]) {
        switch change {
        case .write(let offset, let data):
            if bytes.count < offset + data.count {
                bytes.append(contentsOf: repeatElement(0, count: offset + data.count - bytes.count))
            }
            bytes.replaceSubrange(offset..<(offset + data.count), with: data)
        case .truncate(let length):
            if length < bytes.count {
                bytes.removeSubrange(length...)
            } else {
                bytes.append(contentsOf: repeatElement(0, count: length - bytes.count))
            }
        }
    }

    // MARK: - Crashing

    /// The disk after a power loss, with nothing pending: what a restart would find.
    public func crashed(_ mode: CrashMode, random: inout SplitMix64) -> SimulatedDisk {
        var after = SimulatedDisk()
        after.directories = directories
        after.nextInode = nextInode
        let keptNames = mode.keepsUnsyncedNames ? names : durableNames
        for (inode, node) in inodes {
            var bytes = node.durable
            switch mode {
            case .keepEverything, .loseDirectoryChanges:
                bytes = node.current
            case .loseUnsynced:
                break
            case .tearUnsynced:
                // The changes reach the disk in order until one of them is cut short.
                let reached = random.below(node.pending.count + 1)
                for change in node.pending.prefix(reached) { Self.apply(change, to: &bytes) }
                if reached < node.pending.count, case .write(let offset, let data) = node.pending[reached],
                    !data.isEmpty
                {
                    let kept = random.below(data.count)
                    Self.apply(.write(offset: offset, bytes: Array(data.prefix(kept))), to: &bytes)
                }
            case .keepRandomUnsynced:
                for change in node.pending where random.chance(1, in: 2) { Self.apply(change, to: &bytes) }
            case .keepRandomUnsyncedSectors:
                for change in node.pending {
                    guard case .write(let offset, let data) = change else {
                        if random.chance(1, in: 2) { Self.apply(change, to: &bytes) }
                        continue
                    }
                    // Each 512-byte sector the write touches reached the disk or did not.
                    var start = offset
                    while start < offset + data.count {
                        let end = min(offset + data.count, (start / 512 + 1) * 512)
                        if random.chance(1, in: 2) {
                            Self.apply(
                                .write(offset: start, bytes: Array(data[(start - offset)..<(end - offset)])),
                                to: &bytes)
                        }
                        start = end
                    }
                }
            }
            after.inodes[inode] = Inode(durable: bytes, current: bytes, pending: [])
        }
        after.names = keptNames
        after.durableNames = keptNames
        after.inodes = after.inodes.filter { keptNames.values.contains($0.key) }
        return after
    }
}

/// What survives a simulated power loss, beyond what was synced.
public enum CrashMode: String, Sendable, CaseIterable {
    /// Every write and name change reached the disk.
    case keepEverything
    /// Only synced data and synced directory entries survive.
    case loseUnsynced
    /// Unsynced writes reach the disk in order until one is torn part-way; later ones are lost.
    case tearUnsynced
    /// File data reached the disk but unsynced directory changes (creations, renames, removals) did not.
    case loseDirectoryChanges
    /// Each unsynced write independently did or did not reach the disk (a disk that reorders writes).
    case keepRandomUnsynced
    /// Each 512-byte sector of each unsynced write independently did or did not reach the disk: one write of
    /// several frames (a group commit) can keep a later frame whole and tear an earlier one.
    case keepRandomUnsyncedSectors

    var keepsUnsyncedNames: Bool {
        switch self {
        case .keepEverything, .tearUnsynced, .keepRandomUnsynced, .keepRandomUnsyncedSectors: return true
        case .loseUnsynced, .loseDirectoryChanges: return false
        }
    }
}
