/// Unbuffered writes to standard error (and other descriptors), safe from any thread.
public enum StandardError {
    /// Writes `text` to file descriptor 2.
    public static func write(_ text: String) {
        var text = text
        // A failure is dropped: there is nowhere left to report it.
        _ = text.withUTF8 { Syscall.writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}
