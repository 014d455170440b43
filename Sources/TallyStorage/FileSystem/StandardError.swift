import Synchronization

/// Unbuffered writes to standard error (and other descriptors), safe from any thread.
///
/// Each write is whole: writes from several threads never interleave, even on a pipe (a journal, a log
/// shipper, `| tee`), where the kernel keeps only writes of up to 4,096 bytes (`PIPE_BUF`) in one piece and
/// a larger one, to a full pipe, goes out in parts between other writers' parts.
public enum StandardError {
    /// Held for the whole of each write.
    private static let writing = Mutex<Void>(())

    /// Writes `text` to file descriptor 2.
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes` to `descriptor` (standard error by default) in full before any other write of this
    /// type begins. A failure is dropped: there is nowhere left to report it.
    public static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32 = 2) {
        writing.withLock { _ in _ = Syscall.writeAll(descriptor, bytes) }
    }
}
