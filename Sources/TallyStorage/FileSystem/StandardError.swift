import Glibc

/// Unbuffered writes to standard error, safe from any thread.
public enum StandardError {
    /// Writes `text` to file descriptor 2.
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let count = Glibc.write(2, bytes.baseAddress.map { $0 + done }, bytes.count - done)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                done += count
            }
        }
    }
}
