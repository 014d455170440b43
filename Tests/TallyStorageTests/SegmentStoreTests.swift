import Foundation
import Synchronization
import TallyCore
import TallyTestSupport
import Testing

@testable import TallyStorage

@Suite struct SegmentStoreTests {
    @Test func appendReturnsDenseOffsetsAndReopenReadsEverythingAcrossRolls() throws {
        let directory = TemporaryDirectory()
        let events = EventFixtures.apiCalls(count: 1500)
        var ranges: [Range<UInt64>] = []
        do {
            let store = try SegmentStore(
                directory: directory.path,
                configuration: StoreTestSupport.configuration(segmentSize: 8 << 10))
            var index = 0
            var size = 1
            while index < events.count {
                let slice = Array(events[index..<min(index + size, events.count)])
                ranges.append(try store.append(StoreTestSupport.batch(slice)))
                index += slice.count
                size = size % 37 + 1
            }
            #expect(store.nextOffset == UInt64(events.count))
            try store.close()
        }
        var expectedStart: UInt64 = 0
        for range in ranges {
            #expect(range.lowerBound == expectedStart)
            expectedStart = range.upperBound
        }
        let paths = try StoreTestSupport.segmentPaths(directory.path)
        #expect(paths.count > 5)
        #expect(paths.first?.hasSuffix("00000000000000000000.seg") == true)

        let reopened = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(segmentSize: 8 << 10))
        #expect(reopened.nextOffset == UInt64(events.count))
        let stored = try StoreTestSupport.readAll(reopened)
        #expect(stored.map(\.event) == events)
        #expect(stored.map(\.offset) == Array(0..<UInt64(events.count)))
        #expect(reopened.state.segments.dropLast().allSatisfy { $0.sealed })
        for start in [0, 1, 499, 500, 1001, 1499, 1500] as [UInt64] {
            #expect(try StoreTestSupport.readAll(reopened, from: start).map(\.offset) == Array(start..<1500))
        }
        var window: [UInt64] = []
        try reopened.forEachRecord(from: 700, to: 705) { offset, _ in
            window.append(offset)
            return true
        }
        #expect(window == [700, 701, 702, 703, 704])

        let more = EventFixtures.everyType()
        let range = try reopened.append(StoreTestSupport.batch(more))
        #expect(range == 1500..<UInt64(1500 + more.count))
        #expect(try StoreTestSupport.readAll(reopened, from: 1500).map(\.event) == more)
    }

    @Test func emptyBatchTakesNoOffsets() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        #expect(try store.append(RecordBatch()) == 0..<0)
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
        #expect(try store.append(RecordBatch()) == 2..<2)
    }

    @Test func concurrentAppendersGetDistinctDenseOffsetsUnderGroupCommit() async throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .always, segmentSize: 64 << 10),
            fileSystem: fileSystem)
        let ranges = try await withThrowingTaskGroup(of: [Range<UInt64>].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var mine: [Range<UInt64>] = []
                    for round in 0..<40 {
                        let events = EventFixtures.apiCalls(count: 1 + (worker + round) % 5, seed: UInt64(worker))
                        mine.append(try store.append(StoreTestSupport.batch(events)))
                    }
                    return mine
                }
            }
            var all: [Range<UInt64>] = []
            for try await part in group { all += part }
            return all
        }
        let covered = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var next: UInt64 = 0
        for range in covered {
            #expect(range.lowerBound == next)
            next = range.upperBound
        }
        #expect(next == store.nextOffset)
        #expect(fileSystem.syncCount >= 1)
        #expect(try StoreTestSupport.readAll(store).count == Int(next))
    }

    @Test func oversizedBatchIsRefusedAndTheStoreStaysUsable() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        var huge = RecordBatch()
        huge.append([UInt8](repeating: 7, count: Int(SegmentFormat.maxFramePayload)))
        #expect(throws: StorageError.self) { try store.append(huge) }
        #expect(try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 3))) == 0..<3)
    }

    /// The frames of one submission are written in one group commit with one sync, whenever the writer
    /// wakes (each frame after the first counts the records before it as unsynced), and one completion gets
    /// the offsets of them all. A submission with an oversized frame queues none of its frames.
    @Test func aSubmissionOfSeveralFramesIsWrittenAsOneGroup() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(durability: .always),
            fileSystem: fileSystem)
        func submit(_ frames: [RecordBatch]) -> Result<Range<UInt64>, StorageError>? {
            let done = DispatchSemaphore(value: 0)
            let outcome = Mutex<Result<Range<UInt64>, StorageError>?>(nil)
            store.submit(frames: frames) { result in
                outcome.withLock { $0 = result }
                done.signal()
            }
            done.wait()
            return outcome.withLock { $0 }
        }
        let events = EventFixtures.apiCalls(count: 9)
        var syncsBefore = 0
        for round in 0..<20 {
            let frames = [
                StoreTestSupport.batch(Array(events[0..<2])), StoreTestSupport.batch(Array(events[2..<5])),
                StoreTestSupport.batch(Array(events[5..<9])),
            ]
            let offsets = store.nextOffset
            #expect(try submit(frames)?.get() == offsets..<(offsets + 9))
            // (The first also syncs the new segment's directory entry.)
            #expect(round == 0 || fileSystem.syncCount == syncsBefore + 1, "one sync per submission")
            syncsBefore = fileSystem.syncCount
        }
        let bytes = try StoreTestSupport.bytes(try #require(try StoreTestSupport.segmentPaths(directory.path).last))
        let counts = StoreTestSupport.frameHeaders(bytes).map(\.unsyncedRecordsBefore)
        #expect(counts == Array(repeating: [0, 2, 5] as [UInt32], count: 20).flatMap { $0 })

        var huge = RecordBatch()
        huge.append([UInt8](repeating: 7, count: Int(SegmentFormat.maxFramePayload)))
        for frames in [[StoreTestSupport.batch(Array(events[0..<2])), huge], []] {
            guard case .failure(let error)? = submit(frames), error.code == .invalidArgument else {
                Issue.record("a submission of \(frames.count) frames, one oversized or none, was not refused")
                continue
            }
        }
        #expect(store.nextOffset == 180, "nothing of a refused submission was queued")
        try store.close()
    }

    /// A writer that finds the lock held waits a little for it: a holder that closes meanwhile hands it over.
    @Test func aWriterWaitsForAHolderThatIsClosing() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
        // A thread of its own: the shared queues can be busy for longer than the wait under a parallel test run.
        let closer = Thread {
            usleep(20_000)
            try? store.close()
        }
        closer.start()
        var patient = StoreTestSupport.configuration()
        // Generous, so a slow scheduler under a parallel test run cannot fail the test.
        patient.lockWait = .seconds(10)
        let next = try SegmentStore(directory: directory.path, configuration: patient)
        #expect(next.nextOffset == 2)
        try next.close()
    }

    /// Deleting `LOCK` while a writer holds it (an operator clearing a "stale" lock) lets no second writer in:
    /// the store's directory is locked too, and that cannot be deleted from under it.
    @Test func aDeletedLockFileLetsNoSecondWriterIn() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        defer { try? store.close() }
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
        #expect(unlink(directory.appending("LOCK")) == 0)
        #expect(throws: StorageError.self) {
            _ = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        }
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1)))
        try store.close()
        // Once the writer is gone, the next one opens (and makes a new LOCK).
        let next = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        #expect(next.nextOffset == 3)
        try next.close()
    }

    @Test func secondWriterIsRefusedByTheLockButReadersAreNot() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 4)))
        do {
            _ = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
            Issue.record("a second writer opened the store")
        } catch {
            #expect(error.code == .locked)
            #expect(error.message.contains("LOCK"))
        }
        let reader = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(),
            readOnly: true)
        #expect(try StoreTestSupport.readAll(reader).count == 4)
        #expect(throws: StorageError.self) {
            try reader.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1)))
        }
        try store.close()
        let next = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        #expect(next.nextOffset == 4)
    }

    @Test func intervalPolicySyncsWithoutFurtherAppends() async throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .interval(milliseconds: 20)),
            fileSystem: fileSystem)
        let syncsAfterCreate = fileSystem.syncCount
        try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 10)))
        var waited = 0
        while fileSystem.syncCount == syncsAfterCreate, waited < 5000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 10
        }
        #expect(fileSystem.syncCount > syncsAfterCreate)
    }

    /// Under `interval:MS`, unsynced writes are due MS after the last sync, however many appends came since:
    /// the writer sleeps until then, so an append just after a sync, followed by a trickle of others, is not
    /// kept unsynced for up to twice MS (each wake used to restart a whole interval). Nothing is due without
    /// unsynced writes, or under another policy.
    @Test func unsyncedWritesAreDueAnIntervalAfterTheLastSync() {
        func writer(_ durability: DurabilityPolicy) -> SegmentWriter {
            SegmentWriter(
                fileSystem: PosixFileSystem(), segmentsDirectory: "/nonexistent",
                configuration: StoreTestSupport.configuration(durability: durability), active: nil, nextOffset: 0,
                segments: [], syncStatistics: SyncStatistics())
        }
        let millisecond: UInt64 = 1_000_000
        var interval = writer(.interval(milliseconds: 1_000))
        interval.lastSyncNanoseconds = 5_000 * millisecond
        #expect(interval.nanosecondsUntilSyncDue(now: 5_102 * millisecond) == nil, "nothing written since")
        interval.hasUnsyncedWrites = true
        #expect(interval.nanosecondsUntilSyncDue(now: 5_102 * millisecond) == 898 * millisecond)
        #expect(interval.nanosecondsUntilSyncDue(now: 5_903 * millisecond) == 97 * millisecond)
        #expect(interval.nanosecondsUntilSyncDue(now: 6_000 * millisecond) == 0)
        #expect(interval.nanosecondsUntilSyncDue(now: 9_000 * millisecond) == 0)
        for policy in [DurabilityPolicy.always, .never] {
            var other = writer(policy)
            other.hasUnsyncedWrites = true
            #expect(other.nanosecondsUntilSyncDue(now: 9_000 * millisecond) == nil, "\(policy)")
        }
    }

    /// Under `never` and `interval`, what is written goes to the kernel's writeback in steps of at least
    /// `writebackBytes`, in order and without gaps, in every segment (so a seal's fsync has little left to
    /// flush); under `always` (each append is synced) and with a step of 0, none is requested.
    @Test(arguments: [
        ("never", Int64(64 << 10)), ("interval:3600000", Int64(64 << 10)), ("always", Int64(64 << 10)),
        ("never", Int64(0)),
    ])
    func writtenBytesGoToWritebackInSteps(policy: String, step: Int64) throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        var configuration = StoreTestSupport.configuration(
            durability: try #require(DurabilityPolicy(parsing: policy)),
            segmentSize: 300 << 10)
        configuration.writebackBytes = step
        let events = EventFixtures.apiCalls(count: 6_000)
        do {
            let store = try SegmentStore(
                directory: directory.path, configuration: configuration, fileSystem: fileSystem)
            try StoreTestSupport.append(events, to: store, batchesOf: 20)
            try store.close()
        }
        let paths = try StoreTestSupport.segmentPaths(directory.path)
        #expect(paths.count >= 2, "the stream fills more than one segment")
        let requests = fileSystem.writebackRequests
        if policy == "always" || step == 0 {
            #expect(requests.isEmpty)
        } else {
            // One 20-event frame is well under 4 KiB: each segment's unrequested tail is under a step and a frame.
            for path in paths {
                let ranges = requests.filter { $0.path == path }
                // Under `interval`, the first interval's sync comes with the first append; requests start after it.
                let firstOffset = try #require(ranges.first?.offset, "\(path)")
                #expect(
                    firstOffset == Int64(SegmentFormat.headerSize)
                        || policy != "never" && path == paths[0] && firstOffset < 4096)
                for (earlier, later) in zip(ranges, ranges.dropFirst()) {
                    #expect(later.offset == earlier.offset + earlier.count, "no gap and no overlap in \(path)")
                }
                #expect(ranges.allSatisfy { $0.count >= step })
                let covered = ranges.last.map { $0.offset + $0.count } ?? 0
                let size = Int64(try StoreTestSupport.bytes(path).count)
                #expect(covered <= size)
                #expect(size - covered < step + 4096, "\(path): \(size - covered) bytes never requested")
            }
        }
        let reopened = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        #expect(try StoreTestSupport.readAll(reopened).map(\.event) == events)
    }

    @Test(arguments: ["always", "never", "interval", "interval:250", "interval:3600000"])
    func durabilityPolicyParses(text: String) {
        #expect(DurabilityPolicy(parsing: text)?.description.hasPrefix(text.prefix(5)) == true)
    }

    @Test(arguments: [
        "", "sometimes", "interval:", "interval:0", "interval:-5", "interval:3600001",
        "interval:20000000000000",
    ])
    func invalidDurabilityPolicyIsRejected(text: String) {
        #expect(DurabilityPolicy(parsing: text) == nil)
    }
}

/// Single events read by offset (a void's target): the same as a full read, and, once a segment has been
/// looked into, started near the wanted frame rather than at the segment's start.
@Suite struct EventLookupTests {
    /// A store of 6,000 `api.call` events, each in a frame of its own (about 660 KB: boundaries are
    /// remembered every 256 KiB once a lookup has read the segment).
    static func singleEventFrames(in directory: TemporaryDirectory) throws -> (SegmentStore, [Event]) {
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        let events = EventFixtures.apiCalls(count: 6_000)
        for event in events { try store.append(StoreTestSupport.batch([event])) }
        return (store, events)
    }

    /// A store of 300 `api.call` events in frames of 7 over more than three segments of 4,000 bytes, and
    /// what a full read gives.
    static func severalSegments(in directory: TemporaryDirectory) throws -> (SegmentStore, [StoredEvent]) {
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(segmentSize: 4_000))
        try StoreTestSupport.append(EventFixtures.apiCalls(count: 300), to: store, batchesOf: 7)
        #expect(try StoreTestSupport.segmentPaths(directory.path).count > 3)
        return (store, try StoreTestSupport.readAll(store))
    }

    @Test func everyOffsetReadsAsTheFullReadDoesAcrossSegments() throws {
        let directory = TemporaryDirectory()
        let (store, all) = try Self.severalSegments(in: directory)
        var random = SplitMix64(seed: 11)
        for _ in 0..<600 {
            let offset = UInt64(random.below(all.count))
            #expect(try store.event(at: offset) == all[Int(offset)])
        }
        #expect(try store.event(at: UInt64(all.count)) == nil)
        #expect(try store.event(at: .max) == nil)
        try store.close()
    }

    @Test func aSecondLookupStartsAtTheNearestRememberedFrame() throws {
        let directory = TemporaryDirectory()
        let (store, events) = try Self.singleEventFrames(in: directory)
        let last = UInt64(events.count - 1)
        #expect(try store.event(at: last)?.event == events.last)
        let firstRead = store.framesReadByLookups.load(ordering: .relaxed)
        #expect(firstRead == events.count, "the first lookup reads the segment from its start")
        #expect(try store.event(at: last)?.event == events.last)
        let secondRead = store.framesReadByLookups.load(ordering: .relaxed) - firstRead
        #expect(secondRead < 4_000, "read \(secondRead) frames: at most 256 KiB's worth before the wanted one")
        #expect(try store.event(at: 10)?.event == events[10])
        try store.close()
    }

    /// Offsets asked together, in any order and with repeats, read as the full read does, across segments;
    /// offsets past the log are left out.
    @Test func manyOffsetsReadTogetherAsTheFullReadDoes() throws {
        let directory = TemporaryDirectory()
        let (store, all) = try Self.severalSegments(in: directory)
        var random = SplitMix64(seed: 12)
        for round in 0..<20 {
            var offsets = (0..<(round * 15)).map { _ in UInt64(random.below(all.count)) }
            offsets += [UInt64(all.count), .max] + offsets.prefix(3)
            let found = try store.events(at: offsets)
            #expect(Set(found.keys) == Set(offsets.filter { $0 < all.count }))
            for (offset, event) in found { #expect(event == all[Int(offset)]) }
        }
        #expect(try store.events(at: []).isEmpty)
        try store.close()
    }

    /// Every offset of a segment asked at once, in random order, costs one pass over its frames, where one
    /// lookup each would read up to 256 KiB apiece.
    @Test func offsetsReadTogetherReadEachFrameOnce() throws {
        let directory = TemporaryDirectory()
        let (store, events) = try Self.singleEventFrames(in: directory)
        var random = SplitMix64(seed: 13)
        var offsets = (0..<UInt64(events.count)).map { $0 }
        for index in offsets.indices.reversed() { offsets.swapAt(index, random.below(index + 1)) }
        let found = try store.events(at: offsets)
        #expect(found.count == events.count)
        #expect(found[4_321]?.event == events[4_321])
        #expect(store.framesReadByLookups.load(ordering: .relaxed) == events.count)
    }

    /// Damage between two wanted records, short of the boundary the second is read from alone: the one pass
    /// stops at it, and the segment's records are then read one by one, so the call fails only where a
    /// lookup of one record would.
    @Test func damageBetweenTwoWantedRecordsFailsOnlyWhereOneLookupWould() throws {
        let directory = TemporaryDirectory()
        let (store, events) = try Self.singleEventFrames(in: directory)
        _ = try store.event(at: UInt64(events.count - 1))
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        let name = (segment as NSString).lastPathComponent
        let boundary = try #require(store.frameIndex.withLock { $0[name]?.first { $0.nextOffset > 100 } })
        // A byte of the frame just before the boundary: records before and after it are whole.
        var bytes = try StoreTestSupport.bytes(segment)
        bytes[Int(boundary.position) - 20] ^= 0xFF
        try StoreTestSupport.write(bytes, to: segment)
        let (before, after) = (boundary.nextOffset - 10, boundary.nextOffset + 5)
        let found = try store.events(at: [after, before])
        #expect(found[before]?.event == events[Int(before)] && found[after]?.event == events[Int(after)])
        #expect(throws: StorageError.self) { try store.event(at: boundary.nextOffset - 1) }
        #expect(throws: StorageError.self) { try store.events(at: [before, boundary.nextOffset - 1, after]) }
    }

    /// Two offsets far apart in a segment whose boundaries are remembered: the read jumps from the first to
    /// the boundary before the second instead of reading everything between.
    @Test func offsetsFarApartJumpToARememberedBoundary() throws {
        let directory = TemporaryDirectory()
        let (store, events) = try Self.singleEventFrames(in: directory)
        let last = UInt64(events.count - 1)
        _ = try store.event(at: last)
        let before = store.framesReadByLookups.load(ordering: .relaxed)
        let found = try store.events(at: [last, 10])
        #expect(found[10]?.event == events[10] && found[last]?.event == events.last)
        let read = store.framesReadByLookups.load(ordering: .relaxed) - before
        #expect(read < 4_000, "read \(read) frames of \(events.count): the stretch between was not jumped")
    }
}
