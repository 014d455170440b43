/// An open file, as handed out by a ``FileSystem``.
public struct FileHandle: Sendable, Hashable {
    /// The underlying descriptor (or a fake one, for test file systems).
    public var descriptor: Int32

    /// Wraps a descriptor.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }
}
