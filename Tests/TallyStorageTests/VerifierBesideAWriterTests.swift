import Synchronization
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

/// `StoreVerifier` beside a writer: the frame being written when the scan measured the segment is a torn
/// tail at that size, never damage, even when the writer finishes it (and writes more) before the scan
/// looks past it for valid frames.
@Suite struct VerifierBesideAWriterTests {
    /// Passes every call through to ``PosixFileSystem``; the first time a segment's size is asked, the rest
    /// of that segment's bytes are written to it right after the size is taken, as a writer appending then
    /// would.
    final class AppendingFileSystem: FileSystem {
        let base = PosixFileSystem()
        let pending: Mutex<[UInt8]?>
        let path: String
        let opened = Mutex<Set<Int32>>([])

        init(path: String, pending: [UInt8]) {
            self.path = path
            self.pending = Mutex(pending)
        }

        func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> FileHandle {
            let file = try base.open(path, mode: mode)
            if path == self.path { opened.withLock { _ = $0.insert(file.descriptor) } }
            return file
        }
        func close(_ file: FileHandle) {
            opened.withLock { _ = $0.remove(file.descriptor) }
            base.close(file)
        }
        func read(_ file: FileHandle, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
            throws(StorageError) -> Int
        { try base.read(file, into: buffer, at: offset) }
        func write(_ file: FileHandle, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
            try base.write(file, bytes, at: offset)
        }
        func sync(_ file: FileHandle, dataOnly: Bool) throws(StorageError) { try base.sync(file, dataOnly: dataOnly) }
        func startWriteback(_ file: FileHandle, offset: Int64, count: Int64) {
            base.startWriteback(file, offset: offset, count: count)
        }
        func truncate(_ file: FileHandle, to length: Int64) throws(StorageError) { try base.truncate(file, to: length) }
        func size(_ file: FileHandle) throws(StorageError) -> Int64 {
            let size = try base.size(file)
            guard opened.withLock({ $0.contains(file.descriptor) }), let rest = pending.withLock({ $0.take() })
            else { return size }
            let writer = try base.open(path, mode: .createOrOpen)
            defer { base.close(writer) }
            let written = rest.withUnsafeBytes { bytes in
                Result { () throws(StorageError) in try base.write(writer, bytes, at: size) }
            }
            _ = try written.get()
            return size
        }
        func tryLock(_ file: FileHandle) throws(StorageError) -> Bool { try base.tryLock(file) }
        func tryLockDirectory(_ path: String) throws(StorageError) -> FileHandle? { try base.tryLockDirectory(path) }
        func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
            try base.contentsOfDirectory(path)
        }
        func createDirectory(_ path: String) throws(StorageError) { try base.createDirectory(path) }
        func syncDirectory(_ path: String) throws(StorageError) { try base.syncDirectory(path) }
        func rename(_ source: String, to destination: String) throws(StorageError) {
            try base.rename(source, to: destination)
        }
        func remove(_ path: String) throws(StorageError) { try base.remove(path) }
        func exists(_ path: String) -> Bool { base.exists(path) }
        func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
        func isDanglingLink(_ path: String) -> Bool { base.isDanglingLink(path) }
    }

    @Test func aFrameFinishedWhileTheScanRunsIsATornTailNotDamage() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        let events = EventFixtures.apiCalls(count: 30)
        for start in stride(from: 0, to: 30, by: 10) {
            try store.append(StoreTestSupport.batch(Array(events[start..<(start + 10)])))
        }
        try store.close()
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).last)
        let whole = try StoreTestSupport.bytes(segment)
        // The frames' starts, from their declared lengths: the scan is to find the second one half written.
        var starts: [Int] = []
        var position = SegmentFormat.headerSize
        while position + SegmentFormat.frameHeaderSize <= whole.count, starts.count < 3 {
            starts.append(position)
            let length = whole[position..<(position + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
            position += SegmentFormat.frameHeaderSize + length
        }
        try #require(starts.count == 3)
        let cut = starts[1] + 40
        try StoreTestSupport.write(Array(whole[..<cut]), to: segment)
        let fileSystem = AppendingFileSystem(path: segment, pending: Array(whole[cut..<position]))
        let report = try StoreVerifier(directory: directory.path, fileSystem: fileSystem).verify()
        #expect(try StoreTestSupport.bytes(segment) == Array(whole[..<position]), "the writer's bytes landed")
        let scanned = try #require(report.segments.last)
        #expect(scanned.isTornTail && scanned.resumesAtByte == nil, "\(scanned)")
        #expect(!report.isDamaged, "\(report)")
        #expect(report.recordCount == 10)
    }
}
