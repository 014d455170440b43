import Glibc
import TallyStorage

/// Reads newline-separated lines from a file descriptor or a byte array, in large chunks.
///
/// A line longer than ``maxLineLength`` is reported as too long and skipped without being held in memory.
struct LineReader: ~Copyable {
    /// One line: its 1-based number and bytes (without the newline or a trailing carriage return).
    enum Line {
        case text(number: Int, bytes: ArraySlice<UInt8>)
        case tooLong(number: Int)
    }

    /// The longest line taken: a frame of the log (64 MiB), twice the largest event a server may store (its
    /// body is at most 32 MiB), so any event a `tally dump` wrote imports again.
    static let maxLineLength = Int(SegmentFormat.maxFramePayload)
    private let descriptor: Int32?
    private var buffer: [UInt8]
    private var start = 0
    private var finished: Bool
    private var lineNumber = 0
    private var skippingLongLine = false
    private let closeWhenDone: Bool

    /// Reads from an open descriptor (it is closed at the end when `closeWhenDone`).
    init(descriptor: Int32, closeWhenDone: Bool) {
        self.descriptor = descriptor
        self.buffer = []
        self.finished = false
        self.closeWhenDone = closeWhenDone
    }

    /// Reads from bytes already in memory.
    init(bytes: [UInt8]) {
        self.descriptor = nil
        self.buffer = bytes
        self.finished = true
        self.closeWhenDone = false
    }

    deinit {
        if closeWhenDone, let descriptor { Glibc.close(descriptor) }
    }

    /// The next line, or `nil` at the end.
    mutating func next() throws(StorageError) -> Line? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                lineNumber += 1
                var end = newline
                let lineStart = start
                start = newline + 1
                if skippingLongLine {
                    skippingLongLine = false
                    return .tooLong(number: lineNumber)
                }
                if end > lineStart, buffer[end - 1] == 0x0D { end -= 1 }
                return .text(number: lineNumber, bytes: buffer[lineStart..<end])
            }
            if finished {
                guard start < buffer.count || skippingLongLine else { return nil }
                lineNumber += 1
                let lineStart = start
                start = buffer.count
                if skippingLongLine {
                    skippingLongLine = false
                    return .tooLong(number: lineNumber)
                }
                var end = buffer.count
                if end > lineStart, buffer[end - 1] == 0x0D { end -= 1 }
                return .text(number: lineNumber, bytes: buffer[lineStart..<end])
            }
            try refill()
        }
    }

    private mutating func refill() throws(StorageError) {
        guard let descriptor else {
            finished = true
            return
        }
        buffer.removeSubrange(0..<start)
        start = 0
        if buffer.count > LineReader.maxLineLength {
            skippingLongLine = true
            buffer.removeAll(keepingCapacity: true)
        }
        let chunk = 1 << 20
        let oldCount = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        var got = 0
        while true {
            got = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(descriptor, raw.baseAddress.map { $0 + oldCount }, chunk)
            }
            if got < 0 && errno == EINTR { continue }
            break
        }
        if got < 0 {
            let code = errno
            buffer.removeSubrange(oldCount...)
            throw StorageError(.io, "read failed: \(String(cString: strerror(code)))", errno: code)
        }
        buffer.removeSubrange((oldCount + got)...)
        if got == 0 { finished = true }
    }
}
