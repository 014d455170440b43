import Foundation
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

/// `StoreSalvager`: every valid frame is copied in order, every lost region is reported with the offsets it
/// held, and the damaged store is never modified.
@Suite struct SalvageTests {
    /// A store of 40 batches of 5 events in small segments, with each batch's file and byte range.
    struct Fixture {
        let directory = TemporaryDirectory()
        var events: [Event] = []
        var frames: [(file: String, bytes: Range<Int64>, offsets: Range<UInt64>)] = []

        /// Under `never`, the frames of a segment after its first are one unsynced write (a seal syncs).
        init(durability: DurabilityPolicy = .never) throws {
            let store = try SegmentStore(
                directory: directory.path,
                configuration: StoreTestSupport.configuration(durability: durability, segmentSize: 4_000))
            let all = EventFixtures.apiCalls(count: 200)
            for start in stride(from: 0, to: all.count, by: 5) {
                let batch = Array(all[start..<(start + 5)])
                let before = store.state.segments.last
                let offsets = try store.append(StoreTestSupport.batch(batch))
                let after = try #require(
                    store.state.segments.first {
                        $0.firstOffset <= offsets.lowerBound && offsets.upperBound <= $0.nextOffset
                    })
                let startByte =
                    after.fileName == before?.fileName && before?.sealed == false ? before?.readableBytes ?? 32 : 32
                let endByte =
                    startByte + Int64(SegmentFormat.frameHeaderSize)
                    + Int64(StoreTestSupport.batch(batch).payload.count)
                frames.append(("segments/" + after.fileName, startByte..<endByte, offsets))
                events += batch
            }
            try store.close()
        }

        func path(_ file: String) -> String { directory.path + "/" + file }

        /// Flips the bits of `mask` in byte `byte` of `file`.
        func flip(_ file: String, byte: Int, mask: UInt8) throws {
            var bytes = try StoreTestSupport.bytes(path(file))
            bytes[byte] ^= mask
            try StoreTestSupport.write(bytes, to: path(file))
        }

        /// Every file of the store with its bytes, to show it was not modified.
        func snapshot() throws -> [String: [UInt8]] {
            var files: [String: [UInt8]] = [:]
            for name in try FileManager.default.subpathsOfDirectory(atPath: directory.path) {
                var isDirectory: ObjCBool = false
                let path = directory.path + "/" + name
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files[name] = try StoreTestSupport.bytes(path)
                }
            }
            return files
        }
    }

    /// Damage in the middle of an early segment hides its later records from the verifier's count, not from
    /// the log: the log still ends where its last segment does, so a checkpoint covering it all is not
    /// "beyond the log".
    @Test func damageInAnEarlySegmentDoesNotShortenTheLog() throws {
        let fixture = try Fixture()
        let frame = fixture.frames[1]
        try fixture.flip(frame.file, byte: Int(frame.bytes.lowerBound) + 20, mask: 0x40)
        let report = try StoreVerifier(directory: fixture.directory.path).verify()
        #expect(report.isDamaged)
        #expect(report.logEnd == 200)
        #expect(report.recordCount < 200, "the damaged segment's records after the damage are not read")
    }

    /// Salvages `fixture` into a new directory; returns the report and the events of the new store.
    func salvage(_ fixture: Fixture, acknowledgedOffset: UInt64 = 0) throws -> (StoreSalvager.Report, [Event]) {
        let before = try fixture.snapshot()
        let out = TemporaryDirectory()
        let target = out.appending("salvaged")
        let report = try StoreSalvager(
            from: fixture.directory.path, to: target, acknowledgedOffset: acknowledgedOffset
        ).salvage()
        #expect(try fixture.snapshot() == before, "the damaged store was modified")
        let store = try SegmentStore(directory: target, configuration: StoreTestSupport.configuration(), readOnly: true)
        let events = try StoreTestSupport.readAll(store).map(\.event)
        #expect(UInt64(events.count) == report.recordsCopied)
        #expect(try StoreVerifier(directory: target).verify().isDamaged == false)
        return (report, events)
    }

    @Test func anUndamagedStoreIsCopiedWhole() throws {
        let fixture = try Fixture()
        #expect(Set(fixture.frames.map(\.file)).count >= 3, "the fixture spans several segments")
        let (report, events) = try salvage(fixture)
        #expect(report.losses.isEmpty && !report.lostData)
        #expect(events == fixture.events)
        #expect(report.framesCopied == 40)
    }

    /// The copied records were acknowledged, so each frame of the new store is synced before the next is
    /// written: damage among them later is corruption that every open refuses, not an interrupted write that
    /// open would truncate with the records after it (as when the copy was one unsynced write).
    @Test func damageInTheSalvagedStoreIsNeverTakenForATornTail() throws {
        let fixture = try Fixture()
        let out = TemporaryDirectory()
        let target = out.appending("salvaged")
        let report = try StoreSalvager(from: fixture.directory.path, to: target, frameBytes: 1).salvage()
        #expect(report.framesCopied == 40 && report.losses.isEmpty)
        let segments = try FileManager.default.contentsOfDirectory(atPath: target + "/segments").sorted()
        #expect(segments.count == 2, "the copy, sealed, and the empty segment after it")
        let file = target + "/segments/" + (segments.first ?? "")
        var bytes = try StoreTestSupport.bytes(file)
        // Well inside the 40 frames: whole frames written after it follow.
        bytes[bytes.count / 2] ^= 0x08
        try StoreTestSupport.write(bytes, to: file)
        let verified = try StoreVerifier(directory: target).verify()
        #expect(verified.isDamaged, "taken for a torn tail")
        #expect(throws: StorageError.self) { try SegmentStore(directory: target, readOnly: true) }
    }

    /// The copy's last segment is sealed: damage to its last frame, which no valid frame follows and no
    /// checkpoint vouches for, is refused as damage, never cut off as an interrupted write with every record
    /// in it. (A copy of one frame was wholly exposed.) A store opened for writing after it goes on in the
    /// empty segment after the seal.
    @Test func damageToTheLastFrameOfASalvagedStoreIsRefused() throws {
        let fixture = try Fixture()
        let out = TemporaryDirectory()
        let target = out.appending("salvaged")
        _ = try StoreSalvager(from: fixture.directory.path, to: target, frameBytes: 1 << 20).salvage()
        let segments = try FileManager.default.contentsOfDirectory(atPath: target + "/segments").sorted()
        #expect(segments.count == 2, "\(segments)")
        let copy = try SegmentStore(directory: target, configuration: StoreTestSupport.configuration())
        #expect(copy.state.segments.first?.sealed == true)
        #expect(try StoreTestSupport.readAll(copy).map(\.event) == fixture.events)
        let more = EventFixtures.apiCalls(count: 3, seed: 99)
        #expect(try copy.append(StoreTestSupport.batch(more)) == 200..<203)
        try copy.close()
        #expect(try StoreVerifier(directory: target).verify().isDamaged == false)

        let damaged = out.appending("damaged")
        _ = try StoreSalvager(from: fixture.directory.path, to: damaged, frameBytes: 1 << 20).salvage()
        let file = damaged + "/segments/" + (segments.first ?? "")
        var bytes = try StoreTestSupport.bytes(file)
        // Inside the one frame of records, before the seal.
        bytes[bytes.count - SegmentFormat.sealFrameSize - 100] ^= 0x08
        try StoreTestSupport.write(bytes, to: file)
        #expect(try StoreVerifier(directory: damaged).verify().isDamaged, "taken for a torn tail")
        #expect(throws: StorageError.self) { try SegmentStore(directory: damaged, readOnly: true) }
        #expect(throws: StorageError.self) {
            try SegmentStore(directory: damaged, configuration: StoreTestSupport.configuration())
        }
        #expect(try StoreTestSupport.bytes(file) == bytes, "the damage is refused, not truncated")
    }

    /// A segment's frames gather into frames of at most `frameBytes` (a larger one copied whole), in order.
    @Test func framesAreMergedUpToTheFrameSize() throws {
        let fixture = try Fixture()
        let out = TemporaryDirectory()
        let target = out.appending("salvaged")
        let report = try StoreSalvager(from: fixture.directory.path, to: target).salvage()
        #expect(report.framesCopied == 40)
        let store = try SegmentStore(directory: target, configuration: StoreTestSupport.configuration(), readOnly: true)
        #expect(try StoreTestSupport.readAll(store).map(\.event) == fixture.events)
        let segment = try StoreTestSupport.bytes(target + "/segments/" + (store.state.segments.first?.fileName ?? ""))
        // The segment header, then one frame per segment copied (each gathers its own frames), not forty.
        let records = fixture.frames.map { $0.bytes.count - SegmentFormat.frameHeaderSize }.reduce(0, +)
        let segments = Set(fixture.frames.map(\.file)).count
        #expect(
            segment.count
                == SegmentFormat.headerSize + segments * SegmentFormat.frameHeaderSize + records
                + SegmentFormat.sealFrameSize,
            "\(segments) frames and a seal: \(segment.count) bytes")
    }

    /// A segment renamed (its name and its sound header disagree) keeps every frame: the segment is read from
    /// the lower of the two offsets, the frames' own offsets settle the rest, and the mismatch is listed as
    /// losing no records. (The name was trusted: the segment's first frame was skipped
    /// as "going back", and twice the records it held were reported lost.)
    @Test func aRenamedSegmentKeepsItsFrames() throws {
        let fixture = try Fixture()
        let files = Array(Set(fixture.frames.map(\.file))).sorted()
        let second = try #require(files.dropFirst().first)
        let start = try #require(SegmentFormat.firstOffset(fromFileName: String(second.dropFirst("segments/".count))))
        try FileManager.default.moveItem(
            atPath: fixture.path(second),
            toPath: fixture.path("segments/" + SegmentFormat.fileName(firstOffset: start + 1)))
        try FileManager.default.moveItem(
            atPath: fixture.path(files[0]), toPath: fixture.path("segments/" + SegmentFormat.fileName(firstOffset: 3)))
        let (report, events) = try salvage(fixture)
        #expect(events == fixture.events)
        #expect(!report.lostData, "\(report.losses)")
        #expect(
            report.losses.count == 2 && report.losses.allSatisfy { $0.offsets?.isEmpty == true }, "\(report.losses)")
        #expect(report.losses.allSatisfy { $0.reason.contains("but the name says") }, "\(report.losses)")
    }

    /// A damaged seal holds no records: the region is reported, but nothing counts as lost.
    @Test func aDamagedSealIsReportedButLosesNoRecords() throws {
        let fixture = try Fixture()
        let first = fixture.path(try #require(fixture.frames.first?.file))
        var bytes = try StoreTestSupport.bytes(first)
        bytes[bytes.count - 2] ^= 0x10
        try StoreTestSupport.write(bytes, to: first)
        let (report, events) = try salvage(fixture)
        #expect(report.losses.count == 1 && report.losses.first?.offsets?.isEmpty == true, "\(report.losses)")
        #expect(report.losses.first?.losesRecords == false)
        #expect(!report.lostData)
        #expect(events == fixture.events)
    }

    @Test func aCorruptFrameInTheMiddleLosesExactlyItsOffsets() throws {
        let fixture = try Fixture()
        let victim = fixture.frames[13]
        try fixture.flip(victim.file, byte: Int(victim.bytes.lowerBound) + 30, mask: 0x10)
        #expect(throws: StorageError.self) { try SegmentStore(directory: fixture.directory.path, readOnly: true) }

        let (report, events) = try salvage(fixture)
        #expect(report.losses.count == 1)
        let loss = try #require(report.losses.first)
        #expect(loss.file == victim.file && loss.bytes == victim.bytes && loss.offsets == victim.offsets)
        #expect(loss.reason.contains("checksum"), "\(loss)")
        #expect(report.lostData && !loss.isTornTail)
        var expected = fixture.events
        expected.removeSubrange(Int(victim.offsets.lowerBound)..<Int(victim.offsets.upperBound))
        #expect(events == expected)
    }

    /// A frame whose checksum holds but whose offsets run past `UInt64.max` (not written by Tally) is skipped
    /// and reported, not an overflow trap that leaves a half-made copy behind.
    @Test func aFrameWhoseOffsetsOverflowIsSkipped() throws {
        let fixture = try Fixture()
        let victim = try #require(fixture.frames.last)
        var bytes = try StoreTestSupport.bytes(fixture.path(victim.file))
        let start = Int(victim.bytes.lowerBound)
        withUnsafeBytes(of: (UInt64.max - 2).littleEndian) { for i in 0..<8 { bytes[start + 8 + i] = $0[i] } }
        let salt = bytes[SegmentFormat.saltByteOffset..<SegmentFormat.saltByteOffset + 4].reversed().reduce(UInt32(0)) {
            $0 << 8 | UInt32($1)
        }
        let checksum = bytes.withUnsafeBytes {
            SegmentFormat.frameChecksum(
                UnsafeRawBufferPointer(rebasing: $0[start..<Int(victim.bytes.upperBound)]), salt: salt)
        }
        withUnsafeBytes(of: checksum.littleEndian) { for i in 0..<4 { bytes[start + 4 + i] = $0[i] } }
        try StoreTestSupport.write(bytes, to: fixture.path(victim.file))
        let (report, events) = try salvage(fixture)
        #expect(
            report.losses.contains { $0.reason.contains("run past the largest offset") && $0.bytes == victim.bytes },
            "\(report.losses)")
        #expect(events == Array(fixture.events.dropLast(5)))
    }

    @Test func aTornTailIsReportedButNothingIsLost() throws {
        let fixture = try Fixture()
        let last = try #require(fixture.frames.last)
        let bytes = try StoreTestSupport.bytes(fixture.path(last.file))
        try StoreTestSupport.write(Array(bytes[..<Int(last.bytes.lowerBound + 10)]), to: fixture.path(last.file))
        let (report, events) = try salvage(fixture)
        #expect(report.losses.count == 1 && report.losses.first?.isTornTail == true, "\(report.losses)")
        #expect(!report.lostData)
        #expect(events == Array(fixture.events.dropLast(5)))
    }

    /// A torn frame followed by whole frames of the same unsynced write is what open truncates: salvage
    /// agrees, lists it as a torn tail that lost nothing, and copies nothing of that write from the torn frame
    /// on (its records were never acknowledged), as open keeps nothing of it. Where the writer synced
    /// between the frames, or a checkpoint covers the torn frame, the same damage loses its records.
    @Test func aTornGroupWriteIsATornTailAsOpenTreatsIt() throws {
        func damage(_ fixture: Fixture) throws -> (victim: Range<Int64>, offsets: Range<UInt64>) {
            let last = try #require(fixture.frames.last)
            let victim = fixture.frames[fixture.frames.count - 2]
            #expect(victim.file == last.file, "the fixture's last two frames share a segment")
            try fixture.flip(victim.file, byte: Int(victim.bytes.lowerBound) + 30, mask: 0x10)
            return (victim.bytes, victim.offsets)
        }
        let unsynced = try Fixture(durability: .never)
        let (torn, _) = try damage(unsynced)
        let (report, events) = try salvage(unsynced)
        #expect(report.losses.count == 1, "\(report.losses)")
        let loss = try #require(report.losses.first)
        #expect(loss.isTornTail && !report.lostData && loss.bytes.lowerBound == torn.lowerBound, "\(loss)")
        #expect(loss.description.contains("an interrupted group write"), "\(loss)")
        #expect(events == Array(unsynced.events.dropLast(10)))
        // Open agrees: the same records remain.
        let opened = try SegmentStore(
            directory: unsynced.directory.path, configuration: StoreTestSupport.configuration())
        #expect(opened.nextOffset == 190)
        try opened.close()

        let synced = try Fixture(durability: .always)
        let (_, lostOffsets) = try damage(synced)
        let (syncedReport, syncedEvents) = try salvage(synced)
        #expect(syncedReport.lostData && syncedReport.losses.first?.offsets == lostOffsets, "\(syncedReport.losses)")
        #expect(syncedEvents == Array(synced.events.dropLast(10)) + Array(synced.events.suffix(5)))

        let acknowledged = try Fixture(durability: .never)
        _ = try damage(acknowledged)
        let (coveredReport, _) = try salvage(acknowledged, acknowledgedOffset: 200)
        #expect(coveredReport.lostData && coveredReport.losses.first?.isTornTail == false, "\(coveredReport.losses)")
    }

    /// A sealed segment can be the log's last (a crash before the next segment's header was durable): damage
    /// to its last frame is followed by the seal, which was written after the frames were synced, so it is a
    /// loss of exactly that frame's offsets, never a torn tail, as open and verify find.
    @Test func damageBeforeTheSealOfTheLastSegmentLosesItsOffsets() throws {
        let fixture = try Fixture()
        let sealed = try #require(fixture.frames.first?.file)
        for file in Set(fixture.frames.map(\.file)) where file != sealed {
            try FileManager.default.removeItem(atPath: fixture.path(file))
        }
        let victim = try #require(fixture.frames.last { $0.file == sealed })
        try fixture.flip(sealed, byte: Int(victim.bytes.lowerBound) + 30, mask: 0x10)
        #expect(throws: StorageError.self) {
            try SegmentStore(directory: fixture.directory.path, configuration: StoreTestSupport.configuration())
        }
        let (report, events) = try salvage(fixture)
        #expect(report.losses.count == 1, "\(report.losses)")
        let loss = try #require(report.losses.first)
        #expect(!loss.isTornTail && report.lostData && loss.offsets == victim.offsets, "\(loss)")
        #expect(events == Array(fixture.events[..<Int(victim.offsets.lowerBound)]))
    }

    @Test func aMissingSegmentAndADamagedHeaderAreReportedWithTheirOffsets() throws {
        let fixture = try Fixture()
        let files = Array(Set(fixture.frames.map(\.file))).sorted()
        try #require(files.count >= 4)
        let missing = files[1]
        let damagedHeader = files[2]
        let missingOffsets = fixture.frames.filter { $0.file == missing }.map(\.offsets)
        let headerOffsets = fixture.frames.filter { $0.file == damagedHeader }.map(\.offsets)
        try FileManager.default.removeItem(atPath: fixture.path(missing))
        var bytes = try StoreTestSupport.bytes(fixture.path(damagedHeader))
        bytes[3] ^= 0xFF
        bytes[13] ^= 0x01  // the salt too: then no frame of the segment can be checked
        try StoreTestSupport.write(bytes, to: fixture.path(damagedHeader))

        let (report, events) = try salvage(fixture)
        #expect(report.losses.count == 2, "\(report.losses)")
        let first = try #require(report.losses.first)
        let second = try #require(report.losses.last)
        #expect(first.offsets == span(missingOffsets), "\(first)")
        #expect(second.file == damagedHeader && second.offsets == span(headerOffsets), "\(second)")
        let lost = Set(missingOffsets.flatMap { Array($0) } + headerOffsets.flatMap { Array($0) })
        #expect(events == fixture.events.enumerated().filter { !lost.contains(UInt64($0.offset)) }.map(\.element))
    }

    /// A damaged header whose salt still checks the frames after it costs no record: every frame of the
    /// segment is copied, and the header is listed as damage that held none.
    @Test(arguments: [3, 20, 29])  // the magic, the first offset, the header's own checksum
    func aDamagedHeaderWhoseSaltChecksTheFramesLosesNothing(byte: Int) throws {
        let fixture = try Fixture()
        let file = try #require(Array(Set(fixture.frames.map(\.file))).sorted().dropFirst().first)
        try fixture.flip(file, byte: byte, mask: 0x40)
        let (report, events) = try salvage(fixture)
        #expect(report.losses.count == 1 && report.losses.first?.bytes == 0..<32, "\(report.losses)")
        #expect(report.losses.first?.reason.contains("its salt still checks its frames") == true, "\(report.losses)")
        #expect(!report.lostData, "\(report.losses)")
        #expect(events == fixture.events)
    }

    /// A sound header naming another first offset than the file name (re-checksummed, so only the offset
    /// disagrees) keeps the frames its salt checks too.
    @Test func aHeaderNamingAnotherOffsetKeepsTheFramesItsSaltChecks() throws {
        let fixture = try Fixture()
        let file = try #require(Array(Set(fixture.frames.map(\.file))).sorted().dropFirst().first)
        var bytes = try StoreTestSupport.bytes(fixture.path(file))
        bytes[16] ^= 0x40
        let checksum = CRC32C.checksum(Array(bytes[0..<28]))
        withUnsafeBytes(of: checksum.littleEndian) { for index in 0..<4 { bytes[28 + index] = $0[index] } }
        try StoreTestSupport.write(bytes, to: fixture.path(file))
        let (report, events) = try salvage(fixture)
        #expect(report.losses.count == 1 && report.losses.first?.bytes == 0..<32, "\(report.losses)")
        #expect(report.losses.first?.reason.contains("but the name says") == true, "\(report.losses)")
        #expect(!report.lostData)
        #expect(events == fixture.events)
    }

    func span(_ ranges: [Range<UInt64>]) -> Range<UInt64>? {
        guard let first = ranges.first, let last = ranges.last else { return nil }
        return first.lowerBound..<last.upperBound
    }

    @Test func refusesADestinationThatIsTheStoreOrNotEmpty() throws {
        let fixture = try Fixture()
        #expect(throws: StorageError.self) {
            try StoreSalvager(from: fixture.directory.path, to: fixture.directory.path + "/").salvage()
        }
        let busy = TemporaryDirectory()
        try StoreTestSupport.write([1], to: busy.appending("something"))
        #expect(throws: StorageError.self) { try StoreSalvager(from: fixture.directory.path, to: busy.path).salvage() }
        #expect(throws: StorageError.self) { try StoreSalvager(from: busy.path, to: busy.appending("out")).salvage() }
    }

    /// A rename onto the destination that fails as it does onto a mount point (a bind mount the command's own
    /// check cannot see) says so and what to do, and leaves nothing behind.
    @Test(arguments: [EBUSY, EXDEV])
    func aDestinationThatCannotTakeTheRenameIsExplained(code: Int32) throws {
        var plan = FaultyFileSystem.Plan()
        plan.failRenamesWithErrno = code
        let error = try failedSalvage(plan).error
        #expect(error?.message.contains("it is a mount point, or on another file system than its parent") == true)
        #expect(error?.errno == code)
    }

    /// A copy that fills the disk says so in the salvage's terms: the copy's write failed, nothing was left
    /// at the destination and the damaged store was only read (not "reopen the store", which is gone).
    @Test func aCopyThatFillsTheDiskSaysWhatWasLeft() throws {
        var plan = FaultyFileSystem.Plan()
        plan.bytesBeforeFull = 6_000
        let (failure, target) = try failedSalvage(plan)
        let error = try #require(failure)
        #expect(error.code == .noSpace)
        #expect(
            error.message.hasPrefix("writing the copy failed: ")
                && error.message.contains("the disk is full (injected)")
                && !error.message.contains("until it is reopened")
                && error.message.hasSuffix("; nothing was left at \(target), and the store being copied was only read"),
            "\(error.message)")
    }

    /// Salvages a fresh fixture into a new directory through a file system failing as `plan` says: the
    /// error (`nil`, recorded as an issue, when the salvage succeeded) and the destination, checking that
    /// nothing was left beside it.
    func failedSalvage(_ plan: FaultyFileSystem.Plan, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (error: StorageError?, target: String)
    {
        let fixture = try Fixture()
        let out = TemporaryDirectory()
        let target = out.appending("store")
        let salvager = StoreSalvager(
            from: fixture.directory.path, to: target, fileSystem: FaultyFileSystem(plan: plan))
        defer {
            #expect(
                (try? FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty) == true,
                sourceLocation: sourceLocation)
        }
        do {
            _ = try salvager.salvage()
            Issue.record("the salvage succeeded", sourceLocation: sourceLocation)
            return (nil, target)
        } catch {
            return (error, target)
        }
    }

    /// An empty directory given as the destination is replaced by the new store, and nothing is left beside it.
    @Test func fillsAnEmptyDestinationAndLeavesNoPartialDirectory() throws {
        let fixture = try Fixture()
        let out = TemporaryDirectory()
        let target = out.appending("empty")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        let report = try StoreSalvager(from: fixture.directory.path, to: target + "/").salvage()
        #expect(report.recordsCopied == 200)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["empty"])
        #expect(try StoreVerifier(directory: target).verify().recordCount == 200)
    }

    /// A salvage that fails after writing the log leaves no store at the destination, whole-looking or not,
    /// and removes the partial directory it wrote.
    @Test func aFailedSalvageLeavesNothingBehind() throws {
        let fixture = try Fixture()
        let out = TemporaryDirectory()
        let target = out.appending("salvaged")
        var partial: String?
        #expect(throws: StorageError.self) {
            try StoreSalvager(from: fixture.directory.path, to: target).salvage(beforePublishing: {
                directory throws(StorageError) in
                partial = directory
                #expect(FileManager.default.fileExists(atPath: directory + "/segments"))
                throw StorageError(.io, "refused by the test", path: directory)
            })
        }
        #expect(partial?.hasPrefix(target + ".partial-") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }
}
