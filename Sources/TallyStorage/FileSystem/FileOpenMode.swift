/// How to open a file.
public enum FileOpenMode: Sendable, Equatable {
    /// Read only; the file must exist.
    case readOnly
    /// Read and write; the file must exist.
    case readWrite
    /// Read and write; the file must not exist yet.
    case createNew
    /// Read and write; created when missing, never truncated.
    case createOrOpen
}
