/// What a path names on its file system: its device and inode. A directory moved or deleted, and another
/// made in its place, has another identity under the same path.
public struct FileIdentity: Sendable, Equatable {
    /// The device holding it (`st_dev`).
    public var device: UInt64
    /// Its inode on that device (`st_ino`).
    public var inode: UInt64

    /// An identity from `stat(2)`'s fields.
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}
