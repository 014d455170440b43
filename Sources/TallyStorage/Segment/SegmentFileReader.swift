/// Sequential, buffered reads of one file through a ``FileSystem``: large `pread`s, handed out as windows.
struct SegmentFileReader: ~Copyable {
    let fileSystem: any FileSystem
    let file: FileHandle
    /// Bytes of the file that may be read; anything past it is treated as absent.
    let limit: Int64
    private var buffer: UnsafeMutableRawBufferPointer
    private var bufferStart: Int64 = 0
    private var bufferCount = 0
    private let chunkSize: Int

    init(fileSystem: any FileSystem, file: FileHandle, limit: Int64, chunkSize: Int) {
        self.fileSystem = fileSystem
        self.file = file
        self.limit = limit
        self.chunkSize = chunkSize
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// The bytes `[position, position + count)`, or `nil` when they run past ``limit``.
    /// The window stays valid until the next call.
    mutating func window(at position: Int64, count: Int) throws(StorageError) -> UnsafeRawBufferPointer? {
        guard position >= 0, count >= 0, position + Int64(count) <= limit else { return nil }
        if position >= bufferStart, position + Int64(count) <= bufferStart + Int64(bufferCount) {
            let start = Int(position - bufferStart)
            return UnsafeRawBufferPointer(rebasing: buffer[start..<start + count])
        }
        let wanted = Int(min(Int64(max(chunkSize, count)), limit - position))
        // Bytes of the window already in the buffer (the start of a frame that runs past its end) move to
        // the front, and only the rest is read.
        var kept = 0
        if position >= bufferStart, position < bufferStart + Int64(bufferCount), wanted <= buffer.count {
            let start = Int(position - bufferStart)
            kept = bufferCount - start
            if let base = buffer.baseAddress { base.copyMemory(from: base + start, byteCount: kept) }
        } else if wanted > buffer.count {
            buffer.deallocate()
            buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: 16)
        }
        let got = try fileSystem.readFully(
            file, into: UnsafeMutableRawBufferPointer(rebasing: buffer[kept..<wanted]),
            at: position + Int64(kept))
        bufferStart = position
        bufferCount = kept + got
        guard bufferCount >= count else { return nil }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }
}
