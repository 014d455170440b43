import Foundation
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

/// Crash recovery: torn tails are truncated to exactly the batches before them; every other kind of damage
/// refuses to open with the file and byte named.
@Suite struct RecoveryTests {
    /// A store with a few batches in one segment, and the byte size after each batch.
    struct Fixture {
        let directory = TemporaryDirectory()
        var boundaries: [Int64] = []
        var counts: [UInt64] = []
        var events: [Event] = []

        /// Appends one batch per size; under `always` (the default) each is synced before the next is
        /// written, so damage in one frame is never taken for the same interrupted write as a later frame.
        init(batchSizes: [Int], segmentSize: Int64 = 128 << 20, durability: DurabilityPolicy = .always) throws {
            let store = try SegmentStore(
                directory: directory.path,
                configuration: StoreTestSupport.configuration(durability: durability, segmentSize: segmentSize))
            var stream = EventFixtures.apiCalls(count: batchSizes.reduce(0, +)).makeIterator()
            for size in batchSizes {
                let batch = (0..<size).compactMap { _ in stream.next() }
                events += batch
                try store.append(StoreTestSupport.batch(batch))
                boundaries.append(store.state.segments.last?.readableBytes ?? 0)
                counts.append(store.nextOffset)
            }
            try store.close()
        }

        var lastSegment: String { (try? StoreTestSupport.segmentPaths(directory.path).last) ?? "" }
    }

    @Test func tornTailIsTruncatedAtEveryBytePositionOfTheLastFrame() throws {
        let fixture = try Fixture(batchSizes: [3, 2, 4])
        let original = try StoreTestSupport.bytes(fixture.lastSegment)
        let frameStart = Int(fixture.boundaries[1])
        let scratch = TemporaryDirectory()
        let copy = scratch.appending("store")
        for cut in frameStart..<original.count {
            try StoreTestSupport.copyStore(fixture.directory.path, to: copy)
            let segment = try #require(try StoreTestSupport.segmentPaths(copy).last)
            try StoreTestSupport.write(Array(original[..<cut]), to: segment)
            let log = LogCollector()
            let store = try SegmentStore(directory: copy, configuration: StoreTestSupport.configuration(log: log))
            #expect(store.nextOffset == fixture.counts[1], "cut at byte \(cut)")
            #expect(try StoreTestSupport.readAll(store).map(\.event) == Array(fixture.events.prefix(5)))
            if cut > frameStart {
                #expect(log.all.contains { $0.contains("dropped \(cut - frameStart) bytes of torn tail") })
            }
            #expect(store.tornTailBytesAtOpen == Int64(cut - frameStart), "kept for the metrics page")
            #expect(try StoreTestSupport.bytes(segment).count == frameStart)
            let more = EventFixtures.everyType()
            #expect(try store.append(StoreTestSupport.batch(more)) == 5..<UInt64(5 + more.count))
            try store.close()
        }
    }

    @Test(arguments: ["zeros", "garbage", "partial-header"])
    func trailingJunkAfterTheLastFrameIsDropped(kind: String) throws {
        let fixture = try Fixture(batchSizes: [2, 3])
        var bytes = try StoreTestSupport.bytes(fixture.lastSegment)
        var random = SplitMix64(seed: 5)
        switch kind {
        case "zeros": bytes += [UInt8](repeating: 0, count: 4096)
        case "garbage": bytes += (0..<777).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        default: bytes += [0x40, 0, 0, 0, 1, 2, 3]
        }
        try StoreTestSupport.write(bytes, to: fixture.lastSegment)
        let log = LogCollector()
        let store = try SegmentStore(
            directory: fixture.directory.path, configuration: StoreTestSupport.configuration(log: log))
        #expect(store.nextOffset == 5)
        #expect(try StoreTestSupport.readAll(store).map(\.event) == fixture.events)
        #expect(log.all.count == 1)
    }

    /// Flip one bit at every byte of a two-segment store: open either refuses with a corruption error or,
    /// when the flip lies in the last frame of the last segment, drops exactly that frame. Nothing else.
    @Test func aFlippedBitAnywhereIsDetected() throws {
        let fixture = try Fixture(batchSizes: [3, 3, 3, 2, 2], segmentSize: 700)
        let paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        try #require(paths.count >= 2)
        // The last segment must hold a frame, so both outcomes are exercised.
        try #require(try StoreTestSupport.bytes(fixture.lastSegment).count > SegmentFormat.headerSize)
        let scratch = TemporaryDirectory()
        let copy = scratch.appending("store")
        try StoreTestSupport.copyStore(fixture.directory.path, to: copy)
        let copyPaths = try StoreTestSupport.segmentPaths(copy)
        for (fileIndex, path) in copyPaths.enumerated() {
            let original = try StoreTestSupport.bytes(path)
            let isLast = fileIndex == copyPaths.count - 1
            let lastFrameStart = isLast ? Int(fixture.boundaries[fixture.boundaries.count - 2]) : Int.max
            for position in 0..<original.count {
                var damaged = original
                damaged[position] ^= UInt8(1 << (position % 8))
                try StoreTestSupport.write(damaged, to: path)
                let log = LogCollector()
                do {
                    let store = try SegmentStore(
                        directory: copy, configuration: StoreTestSupport.configuration(log: log),
                        readOnly: true)
                    if isLast && original.count == SegmentFormat.headerSize {
                        // A segment with no frames yet whose header is damaged is a torn segment creation.
                        #expect(store.nextOffset == 13)
                        #expect(log.all.contains { $0.contains("header was never completed") })
                        continue
                    }
                    // Only a flip inside the final frame may be taken for a torn write.
                    #expect(position >= lastFrameStart, "flip at \(path) byte \(position) went unnoticed")
                    #expect(store.nextOffset == fixture.counts[fixture.counts.count - 2])
                    #expect(try StoreTestSupport.readAll(store).map(\.event) == Array(fixture.events.prefix(11)))
                    #expect(log.all.count == 1)
                } catch let error as StorageError {
                    #expect(error.code == .corrupt)
                    #expect(error.path == path)
                }
            }
            try StoreTestSupport.write(original, to: path)
        }
    }

    /// A damaged frame header may declare any first offset and count; naming them in the error must not trap.
    @Test(arguments: [(UInt64.max, 1), (UInt64.max - 1, UInt32.max), (0, UInt32.max)] as [(UInt64, UInt32)])
    func aFrameHeaderDeclaringTheLastOffsetsIsReportedAsDamage(firstOffset: UInt64, count: UInt32) throws {
        let fixture = try Fixture(batchSizes: [2, 2, 2])
        var bytes = try StoreTestSupport.bytes(fixture.lastSegment)
        let frame = Int(fixture.boundaries[0])
        withUnsafeBytes(of: firstOffset.littleEndian) { bytes.replaceSubrange(frame + 8..<frame + 16, with: $0) }
        withUnsafeBytes(of: count.littleEndian) { bytes.replaceSubrange(frame + 16..<frame + 20, with: $0) }
        try StoreTestSupport.write(bytes, to: fixture.lastSegment)
        do {
            _ = try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
            Issue.record("opened a store whose frame header was damaged")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.message.contains("checksum mismatch in frame for offsets \(firstOffset)-"))
        }
        #expect(try StoreTestSupport.bytes(fixture.lastSegment) == bytes, "refusing to open must not modify the file")
    }

    @Test func corruptionFollowedByValidFramesRefusesToOpen() throws {
        let fixture = try Fixture(batchSizes: [2, 2, 2])
        var bytes = try StoreTestSupport.bytes(fixture.lastSegment)
        let target = Int(fixture.boundaries[0]) + 30
        bytes[target] ^= 0xFF
        try StoreTestSupport.write(bytes, to: fixture.lastSegment)
        let original = bytes
        do {
            _ = try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
            Issue.record("opened a store with corruption before valid frames")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.byteOffset == fixture.boundaries[0])
            #expect(error.message.contains("00000000000000000000.seg"))
            #expect(error.message.contains("byte \(fixture.boundaries[0])"))
            #expect(error.message.contains("followed by a valid frame"))
        }
        #expect(
            try StoreTestSupport.bytes(fixture.lastSegment) == original, "refusing to open must not modify the file")
    }

    /// Frames written after the last sync all belong to one unsynced write as far as a crash can tell: a torn
    /// earlier frame with whole later ones is an interrupted group write, truncated with a log line that
    /// says so. Once a sync came between the damaged frame and a later one, the same damage is refused.
    @Test func aTornFrameFollowedByWholeFramesOfTheSameUnsyncedWriteIsTruncated() throws {
        let fixture = try Fixture(batchSizes: [3, 2, 2, 4], durability: .never)
        var bytes = try StoreTestSupport.bytes(fixture.lastSegment)
        // The second frame (offsets 3-4) torn: the third and fourth were written without a sync between.
        bytes[Int(fixture.boundaries[0]) + 30] ^= 0xFF
        try StoreTestSupport.write(bytes, to: fixture.lastSegment)
        let log = LogCollector()
        let store = try SegmentStore(
            directory: fixture.directory.path, configuration: StoreTestSupport.configuration(log: log))
        #expect(store.nextOffset == 3)
        #expect(try StoreTestSupport.readAll(store).map(\.event) == Array(fixture.events.prefix(3)))
        #expect(
            log.all.contains {
                $0.contains(
                    "dropped \(fixture.boundaries[3] - fixture.boundaries[0]) bytes of torn tail at byte \(fixture.boundaries[0]), an interrupted group write: whole frames of the same unsynced write follow the torn one from byte \(fixture.boundaries[1])"
                )
            }, "\(log.all)")
        #expect(try StoreTestSupport.bytes(fixture.lastSegment).count == Int(fixture.boundaries[0]))
        // The store goes on from there.
        _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
        #expect(store.nextOffset == 5)
        try store.close()

        // The same damage where the writer synced after each frame.
        let synced = try Fixture(batchSizes: [3, 2, 2, 4], durability: .always)
        var syncedBytes = try StoreTestSupport.bytes(synced.lastSegment)
        syncedBytes[Int(synced.boundaries[0]) + 30] ^= 0xFF
        try StoreTestSupport.write(syncedBytes, to: synced.lastSegment)
        #expect(throws: StorageError.self) {
            _ = try SegmentStore(directory: synced.directory.path, configuration: StoreTestSupport.configuration())
        }
    }

    /// The bytes after damage are read a chunk at a time (`readChunkSize`, or a frame's size), not whole: a
    /// damaged tail can be gigabytes. Frames that span chunks are found whatever the chunk size: a torn group
    /// write is truncated, and a synced frame beyond 64 KiB of zeros is found and makes the damage corruption.
    @Test(arguments: [7, 100, 4096])
    func aDamagedTailIsReadAChunkAtATime(chunk: Int) throws {
        var configuration = StoreTestSupport.configuration()
        configuration.readChunkSize = chunk
        let unsynced = try Fixture(batchSizes: [3, 2, 2, 4], durability: .never)
        var bytes = try StoreTestSupport.bytes(unsynced.lastSegment)
        bytes[Int(unsynced.boundaries[0]) + 30] ^= 0xFF
        try StoreTestSupport.write(bytes, to: unsynced.lastSegment)
        let store = try SegmentStore(
            directory: unsynced.directory.path, configuration: configuration, fileSystem: FaultyFileSystem())
        #expect(store.nextOffset == 3)
        try store.close()

        let synced = try Fixture(batchSizes: [3, 2, 2], durability: .always)
        var syncedBytes = try StoreTestSupport.bytes(synced.lastSegment)
        syncedBytes[Int(synced.boundaries[0]) + 30] ^= 0xFF
        let gap = 64 << 10
        syncedBytes.insert(contentsOf: [UInt8](repeating: 0, count: gap), at: Int(synced.boundaries[1]))
        try StoreTestSupport.write(syncedBytes, to: synced.lastSegment)
        let fileSystem = FaultyFileSystem()
        do {
            _ = try SegmentStore(directory: synced.directory.path, configuration: configuration, fileSystem: fileSystem)
            Issue.record("opened a store whose synced frame was damaged")
        } catch {
            #expect(
                error.message.contains(
                    "followed by a valid frame at byte \(Int(synced.boundaries[1]) + gap) written after the damaged bytes were synced"
                ),
                "\(error)")
        }
        #expect(fileSystem.largestReadBytes < gap, "read \(fileSystem.largestReadBytes) bytes at once")
    }

    /// A frame after the damage whose `unsynced` count shows the damaged bytes were synced before it was
    /// written (here, one written by a later process: open syncs what it finds) makes the damage corruption,
    /// even under `never`.
    @Test func aFrameWrittenAfterASyncMakesEarlierDamageCorruption() throws {
        let fixture = try Fixture(batchSizes: [3, 2], durability: .never)
        do {
            let store = try SegmentStore(
                directory: fixture.directory.path, configuration: StoreTestSupport.configuration(durability: .never))
            _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
            try store.close()
        }
        var bytes = try StoreTestSupport.bytes(fixture.lastSegment)
        bytes[Int(fixture.boundaries[0]) + 30] ^= 0xFF
        try StoreTestSupport.write(bytes, to: fixture.lastSegment)
        do {
            _ = try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
            Issue.record("opened a store whose synced frame was damaged")
        } catch {
            #expect(error.code == .corrupt)
            #expect(
                error.message.contains(
                    "followed by a valid frame at byte \(fixture.boundaries[1]) written after the damaged bytes were synced"
                ),
                "\(error)")
        }
        let report = try StoreVerifier(directory: fixture.directory.path).verify()
        #expect(report.isDamaged)
    }

    /// Rewrites a segment's header as format `version`, its checksum recomputed. (Frames written under
    /// `always` count 0 unsynced records, as version 1 frames do, so they need no change.)
    static func rewriteVersion(_ version: UInt32, of path: String) throws {
        var bytes = try StoreTestSupport.bytes(path)
        withUnsafeBytes(of: version.littleEndian) { bytes.replaceSubrange(8..<12, with: $0) }
        let checksum = CRC32C.checksum(Array(bytes[0..<28]))
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange(28..<32, with: $0) }
        try StoreTestSupport.write(bytes, to: path)
    }

    /// A segment of format version 1 (written before frames carried their unsynced count) still opens and
    /// reads; the first append after the upgrade seals it and starts a segment of this build's format, so no
    /// frame is added to a file whose frames cannot record the last sync. A version this build does not
    /// know is refused by name, not taken for damage.
    @Test func aVersionOneSegmentIsSealedBeforeTheFirstAppendAndANewerVersionIsRefusedByName() throws {
        let fixture = try Fixture(batchSizes: [3, 2], durability: .always)
        let original = fixture.lastSegment
        try Self.rewriteVersion(3, of: original)
        do {
            _ = try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
            Issue.record("opened a segment of an unknown format version")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.message.contains("segment format version 3 is not supported (this build reads 1 to 2)"))
        }
        try Self.rewriteVersion(1, of: original)
        do {
            let store = try SegmentStore(
                directory: fixture.directory.path, configuration: StoreTestSupport.configuration(durability: .never))
            #expect(store.nextOffset == 5)
            _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
            _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
            try store.close()
        }
        let paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        #expect(paths == [original, fixture.directory.path + "/segments/" + SegmentFormat.fileName(firstOffset: 5)])
        let old = try StoreTestSupport.bytes(original)
        #expect(old[8] == 1, "the version 1 file keeps its version")
        #expect(StoreTestSupport.frameHeaders(old).map(\.kind) == [.data, .data, .seal])
        let new = try StoreTestSupport.bytes(paths[paths.count - 1])
        #expect(new[8] == UInt8(SegmentFormat.version))
        // Version 2 frames count the records written since the last sync: the seal's sync, then the first's 2.
        #expect(StoreTestSupport.frameHeaders(new).map(\.unsyncedRecordsBefore) == [0, 2])
        let reopened = try SegmentStore(
            directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        #expect(try StoreTestSupport.readAll(reopened).count == 9)
        try reopened.close()
        let report = try StoreVerifier(directory: fixture.directory.path).verify()
        #expect(!report.isDamaged)
        #expect(report.segments.map(\.formatVersion) == [1, SegmentFormat.version], "verify names each one's format")
    }

    /// `verify` hands over each segment's report as it finishes it, in log order, before it reads the next,
    /// so a command can show a large store's verdicts as they come: here the first report's handler damages
    /// the second segment, which the verifier then reads damaged.
    @Test func theVerifierReportsEachSegmentAsItIsChecked() throws {
        let fixture = try Fixture(batchSizes: [3, 3, 3, 3, 3, 3], segmentSize: 300)
        let paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        try #require(paths.count >= 3)
        var seen: [String] = []
        let report = try StoreVerifier(directory: fixture.directory.path).verify { segment in
            if seen.isEmpty, var bytes = try? StoreTestSupport.bytes(paths[1]) {
                bytes[bytes.count / 2] ^= 0xFF
                try? StoreTestSupport.write(bytes, to: paths[1])
            }
            seen.append(segment.fileName)
        }
        #expect(seen == report.segments.map(\.fileName))
        #expect(report.segments[0].damage == nil)
        #expect(report.segments[1].damage != nil, "read after the first report was handed over")
    }

    /// A version 1 segment that holds no records (a roll's new segment, just before an upgrade) is replaced
    /// by one of this build's format at the same offset on the first append.
    @Test func anEmptyVersionOneSegmentIsReplacedOnTheFirstAppend() throws {
        let fixture = try Fixture(batchSizes: [3], segmentSize: 1)
        let paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        try #require(paths.count == 2, "a segment of one byte rolls after each batch: \(paths)")
        try #require(try StoreTestSupport.bytes(paths[1]).count == SegmentFormat.headerSize)
        try Self.rewriteVersion(1, of: paths[1])
        do {
            let store = try SegmentStore(
                directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
            _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
            try store.close()
        }
        #expect(try StoreTestSupport.segmentPaths(fixture.directory.path) == paths)
        #expect(try StoreTestSupport.bytes(paths[1])[8] == UInt8(SegmentFormat.version))
        #expect(!FileManager.default.fileExists(atPath: paths[1] + ".new"), "written beside it, renamed over it")
        let reopened = try SegmentStore(
            directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        #expect(try StoreTestSupport.readAll(reopened).count == 5)
        try reopened.close()
    }

    /// In a version 1 segment a valid frame after damage cannot show when it was written: the refusal says
    /// so, rather than that the damaged bytes had been synced.
    @Test func damageBeforeAValidFrameInAVersionOneSegmentSaysTheFormatCannotTell() throws {
        let fixture = try Fixture(batchSizes: [3, 2, 4])
        try Self.rewriteVersion(1, of: fixture.lastSegment)
        var bytes = try StoreTestSupport.bytes(fixture.lastSegment)
        bytes[Int(fixture.boundaries[0]) + 30] ^= 0xFF
        try StoreTestSupport.write(bytes, to: fixture.lastSegment)
        do {
            _ = try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
            Issue.record("opened a store whose frame was damaged before a valid one")
        } catch {
            #expect(error.code == .corrupt)
            #expect(
                error.message.contains(
                    "followed by a valid frame at byte \(fixture.boundaries[1]) (a segment of format version 1 does not record which frames one write held"
                ),
                "\(error)")
        }
    }

    /// In a version 2 segment, each frame counts the records written since the last sync: under `never`, all
    /// those of the process so far; after a reopen (which syncs what it finds), from there.
    @Test func framesCountTheRecordsWrittenSinceTheLastSync() throws {
        let fixture = try Fixture(batchSizes: [3, 2, 4], durability: .never)
        do {
            let store = try SegmentStore(
                directory: fixture.directory.path, configuration: StoreTestSupport.configuration(durability: .never))
            _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2)))
            _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1)))
            try store.close()
        }
        let bytes = try StoreTestSupport.bytes(fixture.lastSegment)
        let counts = StoreTestSupport.frameHeaders(bytes).map(\.unsyncedRecordsBefore)
        #expect(counts == [0, 3, 5, 0, 2])
    }

    @Test(arguments: ["data", "seal", "header"])
    func damageInASealedSegmentRefusesToOpen(place: String) throws {
        let fixture = try Fixture(batchSizes: [3, 3, 3, 3], segmentSize: 700)
        let paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        try #require(paths.count >= 2)
        var bytes = try StoreTestSupport.bytes(paths[0])
        let position =
            switch place {
            case "data": bytes.count - SegmentFormat.sealFrameSize - 5
            case "seal": bytes.count - 3
            default: 10
            }
        bytes[position] ^= 0x01
        try StoreTestSupport.write(bytes, to: paths[0])
        #expect {
            try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        } throws: { error in
            guard let error = error as? StorageError, error.code == .corrupt, error.path == paths[0] else {
                return false
            }
            // Damage in the seal is named as such, not as a frame for the next segment's offsets.
            return place != "seal"
                || error.message.contains(
                    "checksum mismatch in the seal frame (the segment's records end before offset")
        }
    }

    @Test func aMissingSegmentRefusesToOpen() throws {
        let fixture = try Fixture(batchSizes: [3, 3, 3, 3, 3], segmentSize: 300)
        let paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        try #require(paths.count >= 3)
        try FileManager.default.removeItem(atPath: paths[1])
        #expect {
            try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        } throws: { error in
            let error = error as? StorageError
            return error?.code == .corrupt && error?.message.contains("a segment is missing") == true
        }
        try FileManager.default.removeItem(atPath: paths[0])
        #expect {
            try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        } throws: { error in
            (error as? StorageError)?.message.contains("earlier segments are missing") == true
        }
    }

    @Test func aSegmentWhoseHeaderNeverCompletedIsRemoved() throws {
        let fixture = try Fixture(batchSizes: [3, 3, 3], segmentSize: 500)
        let store = try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        let next = store.nextOffset
        try store.close()
        // A crash between creating the next segment and its header reaching disk.
        let torn = fixture.directory.appending("segments/" + SegmentFormat.fileName(firstOffset: next))
        // The roll may have created it already; either way its header is now torn.
        try StoreTestSupport.write([0x54, 0x41, 0x4C], to: torn)
        // A reader leaves the file for the next writer, and says so rather than claiming to remove it.
        let readerLog = LogCollector()
        let reader = try SegmentStore(
            directory: fixture.directory.path, configuration: StoreTestSupport.configuration(log: readerLog),
            readOnly: true)
        #expect(reader.nextOffset == 9)
        try reader.close()
        #expect(readerLog.all.contains { $0.contains("ignoring a segment whose header was never completed") })
        #expect(!readerLog.all.contains { $0.contains("removing") })
        #expect(FileManager.default.fileExists(atPath: torn))
        let log = LogCollector()
        let reopened = try SegmentStore(
            directory: fixture.directory.path, configuration: StoreTestSupport.configuration(log: log))
        #expect(reopened.nextOffset == 9)
        #expect(log.all.contains { $0.contains("removing a segment whose header was never completed") })
        #expect(!FileManager.default.fileExists(atPath: torn))
        #expect(try reopened.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1))) == 9..<10)
        #expect(try StoreTestSupport.readAll(reopened).count == 10)
    }

    @Test func aSealedLastSegmentContinuesInANewSegment() throws {
        let fixture = try Fixture(batchSizes: [3, 3], segmentSize: 200)
        var paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        // Simulate a crash after sealing but before the next segment was created.
        if let last = paths.last, try StoreTestSupport.bytes(last).count == SegmentFormat.headerSize {
            try FileManager.default.removeItem(atPath: last)
            paths.removeLast()
        }
        let store = try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        #expect(store.state.segments.last?.sealed == true)
        #expect(try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 2))) == 6..<8)
        #expect(try StoreTestSupport.readAll(store).count == 8)
    }

    @Test func structuralChecksOnlySkipFullVerificationOfOldSealedSegments() throws {
        let fixture = try Fixture(batchSizes: [3, 3, 3, 3], segmentSize: 700)
        let paths = try StoreTestSupport.segmentPaths(fixture.directory.path)
        var bytes = try StoreTestSupport.bytes(paths[0])
        bytes[SegmentFormat.headerSize + 30] ^= 0x01
        try StoreTestSupport.write(bytes, to: paths[0])
        var configuration = StoreTestSupport.configuration()
        configuration.fullyVerifyFromOffset = 12
        // Opening trusts the sealed segment's header and seal; reading it still checks every frame.
        let store = try SegmentStore(directory: fixture.directory.path, configuration: configuration, readOnly: true)
        #expect(store.nextOffset == 12)
        #expect(throws: StorageError.self) { try StoreTestSupport.readAll(store) }
    }

    /// A segment made by hand: a header for `first` and one data frame of `events` with a valid checksum.
    static func craftedSegment(first: UInt64, events: [Event], salt: UInt32 = 7) -> [UInt8] {
        var bytes = SegmentFormat.encodeHeader(firstOffset: first, salt: salt)
        let batch = StoreTestSupport.batch(events)
        batch.payload.withUnsafeBytes { payload in
            SegmentFormat.appendFrame(
                kind: .data, firstOffset: first, count: UInt32(batch.count), payload: payload, salt: salt, to: &bytes)
        }
        return bytes
    }

    /// Offsets no log can reach (past 2^48, the most the dedup index and checkpoints can hold) are damage
    /// in a file Tally did not write: verify and open report them, never trap on an overflow.
    @Test(arguments: [UInt64.max - 1, UInt64(1) << 48])
    func aSegmentWithUnreachableOffsetsIsDamageNotACrash(first: UInt64) throws {
        let directory = TemporaryDirectory()
        let segments = directory.appending("segments")
        try FileManager.default.createDirectory(atPath: segments, withIntermediateDirectories: true)
        let events = Array(EventFixtures.apiCalls(count: 2))
        try StoreTestSupport.write(
            RecoveryTests.craftedSegment(first: first, events: events),
            to: segments + "/" + SegmentFormat.fileName(firstOffset: first))
        let report = try StoreVerifier(directory: directory.path).verify()
        #expect(report.isDamaged)
        #expect(throws: StorageError.self) {
            try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        }
    }

    /// A sealed segment whose seal claims the log goes on past 2^48 is not trusted (open reads it whole and
    /// refuses it), nor is the segment named after that offset.
    @Test(arguments: [UInt64.max - 1, UInt64(1) << 48 + 5])
    func aSealClaimingUnreachableOffsetsIsNotTrusted(claimed: UInt64) throws {
        let directory = TemporaryDirectory()
        let segments = directory.appending("segments")
        try FileManager.default.createDirectory(atPath: segments, withIntermediateDirectories: true)
        var sealed = RecoveryTests.craftedSegment(first: 0, events: Array(EventFixtures.apiCalls(count: 2)))
        let payload = SegmentFormat.sealPayload(lastOffset: claimed - 1, fileChecksum: CRC32C.checksum(sealed))
        payload.withUnsafeBytes {
            SegmentFormat.appendFrame(kind: .seal, firstOffset: claimed, count: 0, payload: $0, salt: 7, to: &sealed)
        }
        try StoreTestSupport.write(sealed, to: segments + "/" + SegmentFormat.fileName(firstOffset: 0))
        try StoreTestSupport.write(
            RecoveryTests.craftedSegment(first: claimed, events: Array(EventFixtures.apiCalls(count: 2))),
            to: segments + "/" + SegmentFormat.fileName(firstOffset: claimed))
        #expect(throws: StorageError.self) {
            try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        }
        #expect(try StoreVerifier(directory: directory.path).verify().isDamaged)
    }
}

/// A process crash leaves written but unsynced frames in the page cache, where a restarted writer finds
/// them valid and builds on them; the restart must make them durable before it does.
@Suite struct RestartDurabilityTests {
    @Test func aRestartedWriterSyncsTheTailItAdopts() throws {
        let segmentSize: Int64 = 128 << 20
        let directory = "/store"
        let first = SimulatedFileSystem()
        let store = try SegmentStore(
            directory: directory,
            configuration: StoreTestSupport.configuration(durability: .never, segmentSize: segmentSize),
            fileSystem: first)
        let events = EventFixtures.apiCalls(count: 12)
        try StoreTestSupport.append(events, to: store, batchesOf: 3)
        // SIGKILL: no close, the page cache (what the process wrote) survives.
        var random = SplitMix64(seed: 9)
        let afterKill = first.disk
        let lost = try SegmentStore(
            directory: directory, configuration: StoreTestSupport.configuration(segmentSize: segmentSize),
            fileSystem: SimulatedFileSystem(disk: afterKill.crashed(.loseUnsynced, random: &random)))
        #expect(lost.nextOffset < 12, "the writes were never synced: a power loss now would take them")
        let second = SimulatedFileSystem(disk: afterKill)
        let reopened = try SegmentStore(
            directory: directory,
            configuration: StoreTestSupport.configuration(durability: .never, segmentSize: segmentSize),
            fileSystem: second)
        #expect(reopened.nextOffset == 12)
        // Then the power goes, before anything else is written or synced.
        let afterPowerLoss = SimulatedFileSystem(disk: second.disk.crashed(.loseUnsynced, random: &random))
        let third = try SegmentStore(
            directory: directory, configuration: StoreTestSupport.configuration(segmentSize: segmentSize),
            fileSystem: afterPowerLoss)
        #expect(third.nextOffset == 12)
        #expect(try StoreTestSupport.readAll(third).map(\.event) == events)
    }

}
