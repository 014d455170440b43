import Glibc

/// Unbuffered writes to standard error (and other descriptors), safe from any thread.
public enum StandardError {
    /// Writes `text` to file descriptor 2.
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
    }

    /// Writes every byte to `descriptor`, continuing after short writes and `EINTR`; gives up silently on
    /// any other error (there is nowhere left to report it).
    public static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
        var done = 0
        while done < bytes.count {
            let count = Glibc.write(descriptor, bytes.baseAddress.map { $0 + done }, bytes.count - done)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            done += count
        }
    }
}
