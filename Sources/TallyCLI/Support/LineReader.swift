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
    /// The longest line this reader takes (``maxLineLength`` but in tests).
    let maxLineLength: Int
    /// Bytes asked of the descriptor per read.
    private let chunkSize: Int
    private let descriptor: Int32?
    private var buffer: [UInt8]
    private var start = 0
    /// Where the search for the next newline goes on: bytes before it, from `start`, hold none. Without it,
    /// each read of a long line searched the whole line again (64 reads of a 64 MiB line, 2 GiB searched).
    private var scanned = 0
    private var finished: Bool
    /// The number of the last line returned (0 before the first).
    private(set) var lineNumber = 0
    private var skippingLongLine = false
    private let closeWhenDone: Bool
    /// A descriptor whose turning readable stops the reading (see ``Interruption``), or `nil`.
    private let interruptDescriptor: Int32?
    /// Whether the reading stopped because ``interruptDescriptor`` turned readable: ``next()`` then returns
    /// `nil`, dropping a line whose newline had not arrived.
    private(set) var interrupted = false

    /// Reads from an open descriptor (it is closed at the end when `closeWhenDone`). A read that would wait
    /// for input waits on `interruptDescriptor` too, and stops when it turns readable.
    init(
        descriptor: Int32, closeWhenDone: Bool, maxLineLength: Int = LineReader.maxLineLength,
        chunkSize: Int = 1 << 20, interruptDescriptor: Int32? = nil
    ) {
        self.interruptDescriptor = interruptDescriptor
        self.descriptor = descriptor
        self.buffer = []
        self.finished = false
        self.closeWhenDone = closeWhenDone
        self.maxLineLength = maxLineLength
        self.chunkSize = chunkSize
    }

    /// Reads from bytes already in memory.
    init(bytes: [UInt8], maxLineLength: Int = LineReader.maxLineLength) {
        self.descriptor = nil
        self.interruptDescriptor = nil
        self.buffer = bytes
        self.finished = true
        self.closeWhenDone = false
        self.maxLineLength = maxLineLength
        self.chunkSize = 0
    }

    deinit {
        if closeWhenDone, let descriptor { Glibc.close(descriptor) }
    }

    /// The next line, or `nil` at the end.
    mutating func next() throws(StorageError) -> Line? {
        while true {
            if let newline = buffer[max(start, scanned)...].firstIndex(of: 0x0A) {
                lineNumber += 1
                var end = newline
                let lineStart = start
                start = newline + 1
                scanned = start
                if skippingLongLine {
                    skippingLongLine = false
                    return .tooLong(number: lineNumber)
                }
                if end > lineStart, buffer[end - 1] == 0x0D { end -= 1 }
                // A line that arrived with its newline in one read is whole in the buffer: still too long.
                if end - lineStart > maxLineLength { return .tooLong(number: lineNumber) }
                return Self.text(lineNumber, buffer[lineStart..<end])
            }
            scanned = buffer.count
            if interrupted { return nil }
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
                if end - lineStart > maxLineLength { return .tooLong(number: lineNumber) }
                return Self.text(lineNumber, buffer[lineStart..<end])
            }
            try refill()
        }
    }

    /// A line of text; the first without a UTF-8 byte order mark, which some editors and Windows tools put
    /// at the start of a file (JSON allows a parser to ignore it, RFC 8259 §8.1), so the first event is not
    /// rejected as invalid JSON for it.
    private static func text(_ number: Int, _ bytes: ArraySlice<UInt8>) -> Line {
        guard number == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) else { return .text(number: number, bytes: bytes) }
        return .text(number: number, bytes: bytes.dropFirst(3))
    }

    private mutating func refill() throws(StorageError) {
        guard let descriptor else {
            finished = true
            return
        }
        buffer.removeSubrange(0..<start)
        scanned -= start
        start = 0
        // One byte more may be the carriage return of a line of the longest length.
        if buffer.count > maxLineLength + 1 {
            skippingLongLine = true
            buffer.removeAll(keepingCapacity: true)
            scanned = 0
        }
        if let interruptDescriptor, !waitForInput(descriptor, interruptDescriptor) {
            interrupted = true
            return
        }
        let chunk = chunkSize
        let oldCount = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let got: Int
        switch buffer.withUnsafeMutableBytes({ raw in
            Syscall.uninterrupted { Glibc.read(descriptor, raw.baseAddress.map { $0 + oldCount }, chunk) }
        }) {
        case .success(let count): got = count
        case .failure(let failure):
            buffer.removeSubrange(oldCount...)
            throw Syscall.error("read", path: nil, errno: failure.code)
        }
        buffer.removeSubrange((oldCount + got)...)
        if got == 0 { finished = true }
    }

    /// Waits until `descriptor` has input (or its end, or an error a read will report) or `interrupt` turns
    /// readable. Returns `false` for the interruption. A regular file is always ready, so only pipes,
    /// sockets and terminals wait here.
    private func waitForInput(_ descriptor: Int32, _ interrupt: Int32) -> Bool {
        var descriptors = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0),
        ]
        // A descriptor poll cannot watch is read as before: the read reports what is wrong with it.
        guard case .success(let ready) = Syscall.uninterrupted({ poll(&descriptors, 2, -1) }), ready > 0 else {
            return true
        }
        return descriptors[1].revents == 0
    }
}
