import TallyStorage

/// The real file system without `fsync`: for fuzzing, where durability is not under test and thousands of
/// stores are opened and appended to. Every other call goes to ``PosixFileSystem``.
public struct UnsyncedFileSystem: FileSystem {
    private let base = PosixFileSystem()

    public init() {}

    public func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> FileHandle {
        try base.open(path, mode: mode)
    }
    public func close(_ file: FileHandle) { base.close(file) }
    public func read(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(StorageError) -> Int
    {
        try base.read(file, into: buffer, at: offset)
    }
    public func write(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) -> Int
    {
        try base.write(file, bytes, at: offset)
    }
    public func sync(_ file: FileHandle, dataOnly: Bool) throws(StorageError) {}
    public func startWriteback(_ file: FileHandle, offset: Int64, count: Int64) {}
    public func truncate(_ file: FileHandle, to length: Int64) throws(StorageError) {
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
    public func createDirectory(_ path: String) throws(StorageError) { try base.createDirectory(path) }
    public func syncDirectory(_ path: String) throws(StorageError) {}
    public func rename(_ source: String, to destination: String) throws(StorageError) {
        try base.rename(source, to: destination)
    }
    public func remove(_ path: String) throws(StorageError) { try base.remove(path) }
    public func exists(_ path: String) -> Bool { base.exists(path) }
}
