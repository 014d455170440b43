import Dispatch
import Foundation
import Glibc
import Synchronization
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

/// Failed syncs, full disks and short writes: nothing acknowledged is lost, and a failed store refuses appends.
@Suite struct FaultInjectionTests {
    @Test(arguments: [0, 1, 3, 7])
    func failedSyncLosesNoAcknowledgedBatchAndStopsAppends(syncsBeforeFailure: Int) throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .always, segmentSize: 2048),
            fileSystem: fileSystem)
        fileSystem.update { $0.syncsBeforeFailure = syncsBeforeFailure }
        var acknowledged: [Event] = []
        var stream = EventFixtures.apiCalls(count: 400).makeIterator()
        var failure: StorageError?
        for _ in 0..<100 {
            let events = (0..<4).compactMap { _ in stream.next() }
            do {
                try store.append(StoreTestSupport.batch(events))
                acknowledged += events
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        #expect(error.code == .failed)
        #expect(error.message.contains("injected I/O error"))
        #expect(store.failure != nil)
        #expect(throws: StorageError.self) {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1)))
        }
        #expect(store.nextOffset == UInt64(acknowledged.count), "readers see acknowledged records only")
        try? store.close()

        let reopened = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        let stored = try StoreTestSupport.readAll(reopened).map(\.event)
        #expect(Array(stored.prefix(acknowledged.count)) == acknowledged)
        #expect(try reopened.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1))).count == 1)
    }

    @Test(arguments: [0, 10, 100, 500])
    func fullDiskLeavesTheLogExactlyAsItWasBeforeTheBatch(roomLeft: Int64) throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .always),
            fileSystem: fileSystem)
        let first = EventFixtures.apiCalls(count: 20)
        try store.append(StoreTestSupport.batch(first))
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).last)
        let before = try StoreTestSupport.bytes(segment)
        fileSystem.update { $0.bytesBeforeFull = roomLeft }
        #expect {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 50, seed: 2)))
        } throws: { error in
            (error as? StorageError)?.code == .noSpace
        }
        #expect(try StoreTestSupport.bytes(segment) == before)
        #expect(throws: StorageError.self) {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1)))
        }
        try? store.close()
        fileSystem.update { $0.bytesBeforeFull = nil }
        let reopened = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(),
            fileSystem: fileSystem)
        #expect(try StoreTestSupport.readAll(reopened).map(\.event) == first)
    }

    /// The store says on its log, once, that it refuses writes from now on, with the reason and what to do:
    /// the refused appends after it add no line.
    @Test func aFailedWriteIsLoggedOnce() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let log = LogCollector()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(durability: .always, log: log),
            fileSystem: fileSystem)
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5)))
        #expect(!log.all.contains { $0.contains("refuses writes") })
        fileSystem.update { $0.bytesBeforeFull = 0 }
        for seed in 2...4 {
            #expect(throws: StorageError.self) {
                try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5, seed: UInt64(seed))))
            }
        }
        let lines = log.all.filter { $0.contains("refuses writes") }
        #expect(lines.count == 1, "\(log.all)")
        #expect(
            lines.first?.hasPrefix("the store refuses writes from now on: ") == true
                && lines.first?.contains("restart the server") == true, "\(lines)")
        try? store.close()
    }

    /// A full disk stops appends, not syncs: batches acknowledged before it (written, not yet synced under
    /// `interval`) still get their sync on close. A failed sync, by contrast, is never retried.
    @Test func aFullDiskStillSyncsWhatWasAcknowledgedBeforeIt() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .interval(milliseconds: 3_600_000)),
            fileSystem: fileSystem)
        // The first batch is synced at once (no sync yet); the next waits for the hour.
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5)))
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5, seed: 3)))
        let syncsBefore = fileSystem.syncCount
        fileSystem.update { $0.bytesBeforeFull = 0 }
        #expect(throws: StorageError.self) {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5, seed: 2)))
        }
        try? store.close()
        #expect(fileSystem.syncCount == syncsBefore + 1, "the acknowledged batch was synced on close")

        let failing = TemporaryDirectory()
        let broken = FaultyFileSystem()
        let other = try SegmentStore(
            directory: failing.path,
            configuration: StoreTestSupport.configuration(durability: .always),
            fileSystem: broken)
        broken.update { $0.syncsBeforeFailure = 0 }
        #expect(throws: StorageError.self) {
            try other.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5)))
        }
        let syncsAfterFailure = broken.syncCount
        try? other.close()
        #expect(broken.syncCount == syncsAfterFailure, "no sync after a failed one")
    }

    /// A store whose directory is deleted while open acknowledges nothing more: the next append fails,
    /// naming the deleted segment and where its bytes can still be copied from, and so does every later one.
    @Test func aStoreDeletedWhileOpenAcknowledgesNothingMore() throws {
        let scratch = TemporaryDirectory()
        let directory = scratch.appending("store")
        let store = try SegmentStore(
            directory: directory, configuration: StoreTestSupport.configuration(durability: .always))
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 3)))
        #expect(store.checkLocation() == nil)
        try FileManager.default.removeItem(atPath: directory)
        #expect {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 3)))
        } throws: { error in
            "\(error)".contains("was deleted while the store had it open") && "\(error)".contains("/proc/")
        }
        #expect(store.failure != nil)
        #expect(throws: StorageError.self) {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1)))
        }
        #expect(store.nextOffset == 3)
    }

    /// An idle store finds out too: a store directory moved away, or replaced by another, fails the store
    /// (``SegmentStore/checkLocation()``), and appends are refused after it.
    @Test(arguments: [false, true])
    func aStoreMovedWhileOpenFailsWhenChecked(replaced: Bool) throws {
        let scratch = TemporaryDirectory()
        let directory = scratch.appending("store")
        let log = LogCollector()
        let store = try SegmentStore(
            directory: directory, configuration: StoreTestSupport.configuration(durability: .always, log: log))
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 3)))
        try FileManager.default.moveItem(atPath: directory, toPath: scratch.appending("moved"))
        if replaced { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false) }
        let failure = try #require(store.checkLocation())
        #expect(
            failure.message.contains(
                replaced ? "is no longer the store directory this process opened" : "is gone (deleted or moved"),
            "\(failure)")
        #expect(log.all.contains { $0.contains("the store refuses writes from now on") })
        #expect(throws: StorageError.self) {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1)))
        }
        // Nothing was lost: the moved store holds every acknowledged event.
        try store.close()
        let moved = try SegmentStore(directory: scratch.appending("moved"), readOnly: true)
        #expect(moved.nextOffset == 3)
    }

    /// A failed call whose usual cause lies outside Tally says where to look: an immutable or append-only
    /// file, missing permissions, a read-only mount; a full disk, to free space.
    @Test(arguments: [
        (EPERM, "the file may be immutable or append-only (see `lsattr`"),
        (EACCES, "needs permission to read the store and its files (and to write them, for a command that changes"),
        (EROFS, "the file system is mounted read-only"),
        (ENOSPC, "the disk is full"),
    ])
    func aFailedCallSaysWhereToLook(code: Int32, hint: String) {
        let error = Syscall.error("open", path: "/store/segments/x.seg", errno: code)
        #expect(error.message.hasPrefix("open on /store/segments/x.seg failed: "), "\(error)")
        #expect(error.message.contains(hint), "\(error)")
        #expect(Syscall.error("open", path: nil, errno: EIO).message == "open failed: Input/output error (errno 5)")
    }

    @Test func shortWritesAreContinuedUntilTheFrameIsWhole() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        fileSystem.update { $0.maxBytesPerWrite = 7 }
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .always, segmentSize: 1024),
            fileSystem: fileSystem)
        let events = EventFixtures.apiCalls(count: 60)
        for chunk in stride(from: 0, to: 60, by: 6) {
            try store.append(StoreTestSupport.batch(Array(events[chunk..<chunk + 6])))
        }
        try store.close()
        let reopened = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        #expect(try StoreTestSupport.readAll(reopened).map(\.event) == events)
    }

    @Test func failureWhileStartingTheNextSegmentLosesNothingAcknowledged() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .always, segmentSize: 600),
            fileSystem: fileSystem)
        var stream = EventFixtures.apiCalls(count: 200).makeIterator()
        var acknowledged = (0..<3).compactMap { _ in stream.next() }
        try store.append(StoreTestSupport.batch(acknowledged))
        // The first segment exists; the next one, created on the roll, refuses writes.
        fileSystem.update { $0.failWritesToNewFiles = true }
        do {
            for _ in 0..<50 {
                let events = (0..<3).compactMap { _ in stream.next() }
                try store.append(StoreTestSupport.batch(events))
                acknowledged += events
            }
            Issue.record("appends kept succeeding")
        } catch {
            #expect(error.code == .failed)
        }
        try? store.close()
        fileSystem.update { $0.failWritesToPathsContaining = nil }
        let reopened = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        #expect(Array(try StoreTestSupport.readAll(reopened).map(\.event).prefix(acknowledged.count)) == acknowledged)
        #expect(try StoreTestSupport.segmentPaths(directory.path).count == 1, "the half-made segment is removed")
        #expect(try reopened.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1))).count == 1)
    }

    /// ``SegmentStore/sync()`` (a checkpoint's, under `never`) flushes outside the writer's lock: appends
    /// are acknowledged while it runs, including ones that seal the segment it syncs, whose file stays open
    /// until the sync ends and is closed once.
    @Test func appendsGoOnWhileASyncFlushes() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .never, segmentSize: 8 << 10),
            fileSystem: fileSystem)
        var stream = EventFixtures.apiCalls(count: 2_000).makeIterator()
        func next(_ count: Int) -> [Event] { (0..<count).compactMap { _ in stream.next() } }
        var written = next(10)
        try store.append(StoreTestSupport.batch(written))
        let first = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        fileSystem.update { $0.holdNextSyncOfPathContaining = first }
        let synced = Mutex<Result<Void, StorageError>?>(nil)
        let thread = Thread {
            let result = Result { () throws(StorageError) in try store.sync() }
            synced.withLock { $0 = result }
        }
        thread.start()
        #expect(fileSystem.waitForHeldSync())

        // Enough to seal the first segment and more.
        let acknowledged = DispatchGroup()
        let failures = Atomic<Int>(0)
        for _ in 0..<40 {
            let events = next(10)
            written += events
            acknowledged.enter()
            store.submit(StoreTestSupport.batch(events)) { result in
                if case .failure = result { failures.add(1, ordering: .relaxed) }
                acknowledged.leave()
            }
        }
        #expect(acknowledged.wait(timeout: .now() + 20) == .success, "appends were held up by the sync")
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(try StoreTestSupport.segmentPaths(directory.path).count > 1, "the synced segment was sealed meanwhile")
        #expect(synced.withLock { $0 } == nil, "the sync is still held")
        #expect(fileSystem.closesDuringHeldSync == 0, "the sealed segment stays open while its sync runs")

        fileSystem.releaseHeldSync()
        for _ in 0..<2_000 where synced.withLock({ $0 }) == nil { usleep(5_000) }
        #expect(throws: Never.self) { try synced.withLock { $0 }?.get() }
        #expect(fileSystem.closesOfClosedFiles == 0)
        try store.close()
        #expect(fileSystem.closesOfClosedFiles == 0)

        let reopened = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        #expect(try StoreTestSupport.readAll(reopened).map(\.event) == written)
    }

    /// A sync that fails outside the writer's lock fails the store like any failed sync.
    @Test func aFailedSyncOutsideTheLockStopsAppends() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(durability: .never),
            fileSystem: fileSystem)
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5)))
        fileSystem.update { $0.failSyncsOfPathsContaining = "segments" }
        #expect(throws: StorageError.self) { try store.sync() }
        #expect(store.failure != nil)
        #expect(throws: StorageError.self) {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1, seed: 3)))
        }
        try? store.close()
    }

    /// A failed write or sync of a segment names the segment file, which the file system call alone cannot.
    @Test func aFailedSegmentSyncNamesTheSegment() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(durability: .always),
            fileSystem: fileSystem)
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5)))
        fileSystem.update { $0.failSyncsOfPathsContaining = "segments" }
        let error = #expect(throws: StorageError.self) {
            try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1, seed: 3)))
        }
        let name = SegmentFormat.fileName(firstOffset: 0)
        #expect(error?.message.contains("segments/\(name): fdatasync failed") == true, "\(String(describing: error))")
        #expect(error?.path == "segments/\(name)")
        try? store.close()
    }

    /// An fsync of the log that takes longer than `slowSyncWarning` is logged with the file it synced, and
    /// counted in the histogram's upper buckets: a stalling disk is told apart from a slow server.
    @Test func aSlowFsyncIsLoggedWithItsFile() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let log = LogCollector()
        var configuration = StoreTestSupport.configuration(durability: .always, log: log)
        configuration.slowSyncWarning = .milliseconds(50)
        let store = try SegmentStore(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5)))
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        let name = String(segment.split(separator: "/").last ?? "")
        fileSystem.update { $0.holdNextSyncOfPathContaining = segment }
        let thread = Thread { _ = try? store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 5, seed: 2))) }
        thread.start()
        #expect(fileSystem.waitForHeldSync())
        usleep(200_000)
        fileSystem.releaseHeldSync()
        for _ in 0..<2_000 where store.nextOffset < 10 { usleep(5_000) }
        #expect(store.nextOffset == 10)
        let lines = log.all.filter { $0.hasPrefix("slow fsync: segments/\(name) took ") }
        #expect(lines.count >= 1, "\(log.all)")
        let statistics = store.syncStatistics.snapshot
        let underTenthOfSecond = try #require(SyncStatistics.bounds.firstIndex(of: 0.1))
        #expect(statistics.count - statistics.cumulativeCounts[underTenthOfSecond] >= 1)
        try store.close()
    }
}
