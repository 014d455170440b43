import Dispatch
import Foundation
import Glibc
import Synchronization
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

/// The background scrub: a pass reads every acknowledged byte beside the writer and names what the disk
/// damaged after open; the pacer bounds its rate; the scrubber thread repeats passes and logs changes.
@Suite struct LogScrubTests {
    /// A store of several 8 KiB segments, the last one still being written.
    static func store(_ directory: TemporaryDirectory, log: LogCollector = LogCollector()) throws -> SegmentStore {
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(segmentSize: 8 << 10, log: log))
        try StoreTestSupport.append(EventFixtures.apiCalls(count: 600), to: store, batchesOf: 25)
        return store
    }

    /// Overwrites one byte of a file in place (as a bad sector would), beside the store that has it open.
    static func flipByte(of path: String, at position: Int64) throws {
        let descriptor = open(path, O_RDWR)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var byte: UInt8 = 0
        #expect(pread(descriptor, &byte, 1, off_t(position)) == 1)
        byte ^= 0x5A
        #expect(pwrite(descriptor, &byte, 1, off_t(position)) == 1)
    }

    @Test func aPassOverASoundLogReadsEveryAcknowledgedByteAndFindsNothing() throws {
        let directory = TemporaryDirectory()
        let store = try Self.store(directory)
        defer { try? store.close() }
        let segments = store.state.segments
        #expect(segments.count > 3)
        #expect(segments.last?.sealed == false)
        var paced: Int64 = 0
        let report = store.scrub { bytes in
            paced += bytes
            return true
        }
        #expect(report.problems == [])
        #expect(!report.interrupted)
        #expect(report.segmentsChecked == segments.count)
        let sizes = try StoreTestSupport.segmentPaths(directory.path).map {
            Int64(try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? -1)
        }
        #expect(report.bytesChecked == sizes.reduce(0, +))
        #expect(paced == report.bytesChecked, "every byte read is paced, seals and headers too")
    }

    @Test func aByteTheDiskChangedAfterOpenIsFoundInASealedSegmentAndInTheOneBeingWritten() throws {
        let directory = TemporaryDirectory()
        let store = try Self.store(directory)
        defer { try? store.close() }
        let paths = try StoreTestSupport.segmentPaths(directory.path)
        let names = paths.map { "segments/" + ($0.split(separator: "/").last.map(String.init) ?? "") }
        try Self.flipByte(of: paths[1], at: Int64(SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 40))
        let sealed = store.scrub { _ in true }
        #expect(sealed.problems.count == 1, "\(sealed.problems)")
        #expect(sealed.problems.first?.hasPrefix("\(names[1]): checksum mismatch in frame for offsets") == true)
        #expect(sealed.problems.first?.hasSuffix("at byte \(SegmentFormat.headerSize)") == true)
        #expect(sealed.segmentsChecked == paths.count, "a damaged segment does not end the pass")

        // The segment being written holds a frame or more (600 events may have just filled the last).
        while (store.state.segments.last?.readableBytes ?? 0) < Int64(SegmentFormat.headerSize + 200) {
            _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 3)))
        }
        let writing = try StoreTestSupport.segmentPaths(directory.path)
        let last = try #require(writing.last)
        let lastName = "segments/" + (last.split(separator: "/").last.map(String.init) ?? "")
        try Self.flipByte(of: last, at: Int64(SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 8))
        let both = store.scrub { _ in true }
        #expect(both.problems.count == 2, "\(both.problems)")
        #expect(both.problems.last?.hasPrefix("\(lastName): checksum mismatch") == true, "\(both.problems)")
        // The log's own reads still find it too: the scrub only finds it first.
        #expect(throws: StorageError.self) { try StoreTestSupport.readAll(store) }
    }

    @Test func aLostSealAndAMissingSegmentAreProblems() throws {
        let directory = TemporaryDirectory()
        let store = try Self.store(directory)
        defer { try? store.close() }
        let paths = try StoreTestSupport.segmentPaths(directory.path)
        let first = try StoreTestSupport.bytes(paths[0])
        let sealSize = SegmentFormat.frameHeaderSize + SegmentFormat.sealPayloadSize
        try StoreTestSupport.write(Array(first.dropLast(sealSize)), to: paths[0])
        try FileManager.default.removeItem(atPath: paths[2])
        let report = store.scrub { _ in true }
        #expect(report.problems.count == 2, "\(report.problems)")
        #expect(report.problems.first?.contains("its seal is gone") == true, "\(report.problems)")
        #expect(
            report.problems.last?.contains(paths[2].split(separator: "/").last.map(String.init) ?? "?") == true,
            "\(report.problems)")
        #expect(report.segmentsChecked == paths.count - 1)
    }

    /// A segment that cannot be opened for want of descriptors says nothing of its bytes: it is listed as
    /// unreadable, not as damage, and the rest of the log is still checked.
    @Test func aSegmentThatCannotBeOpenedForWantOfDescriptorsIsNotDamage() throws {
        let directory = TemporaryDirectory()
        let fileSystem = FaultyFileSystem()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(segmentSize: 8 << 10),
            fileSystem: fileSystem)
        defer { try? store.close() }
        try StoreTestSupport.append(EventFixtures.apiCalls(count: 600), to: store, batchesOf: 25)
        let first = try #require(store.state.segments.first?.fileName)
        fileSystem.update { $0.failReadOpensOfPathsContaining = first }
        let report = store.scrub { _ in true }
        fileSystem.update { $0.failReadOpensOfPathsContaining = nil }
        #expect(report.problems == [])
        #expect(report.unreadable.count == 1, "\(report.unreadable)")
        #expect(report.unreadable.first?.hasPrefix("segments/\(first): ") == true)
        #expect(report.unreadable.first?.contains("Too many open files") == true)
        #expect(report.segmentsChecked == store.state.segments.count - 1)
    }

    @Test func recordsWhoseFramesHoldButWhichDoNotDecodeAreProblems() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        defer { try? store.close() }
        _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 3)))
        var garbage = RecordBatch()
        for _ in 0..<2 { garbage.appendRecord { $0.append(contentsOf: [0xFF, 0x01, 0x02]) } }
        _ = try store.append(garbage)
        let report = store.scrub { _ in true }
        #expect(report.problems.count == 1, "\(report.problems)")
        #expect(
            report.problems.first?.contains("2 records that do not decode, the first at offset 3") == true,
            "\(report.problems)")
    }

    /// Passes beside a writer that keeps appending, sealing and starting segments mid-pass never report
    /// damage on a sound log: each pass reads the state published when it began.
    @Test func passesBesideAWriterThatRollsSegmentsFindNothing() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(segmentSize: 4 << 10))
        defer { try? store.close() }
        let writing = Atomic<Bool>(true)
        let failures = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        let writer = Thread {
            defer { done.signal() }
            var batch = 0
            while writing.load(ordering: .acquiring) {
                do {
                    _ = try store.append(StoreTestSupport.batch(EventFixtures.apiCalls(count: 1 + batch % 7)))
                } catch {
                    failures.withLock { $0.append("\(error)") }
                    return
                }
                batch += 1
            }
        }
        writer.start()
        var passes = 0
        var checked = 0
        while passes < 200 || store.state.segments.count < 20 {
            let report = store.scrub { _ in true }
            #expect(report.problems == [] && report.unreadable == [], "pass \(passes): \(report)")
            checked = max(checked, report.segmentsChecked)
            passes += 1
            if passes > 100_000 { break }
        }
        writing.store(false, ordering: .releasing)
        done.wait()
        #expect(failures.withLock { $0 } == [])
        #expect(store.state.segments.count >= 20, "the writer rolled segments during the passes")
        #expect(checked > 1)
    }

    @Test func aPassStopsWhenItsPaceSaysSo() throws {
        let directory = TemporaryDirectory()
        let store = try Self.store(directory)
        defer { try? store.close() }
        var calls = 0
        let report = store.scrub { _ in
            calls += 1
            return calls < 5
        }
        #expect(report.interrupted)
        #expect(calls == 5)
        #expect(report.segmentsChecked < store.state.segments.count)
    }

    @Test func thePacerWaitsOnlyOnceReadsRunAheadOfTheRateByTenMilliseconds() {
        var pacer = ScrubPacer(bytesPerSecond: 1 << 20)
        #expect(pacer.wait(afterReading: 1 << 20, elapsedNanoseconds: 0) == 1_000_000_000)
        #expect(pacer.wait(afterReading: 0, elapsedNanoseconds: 1_000_000_000) == 0)
        // 10 ms at 1 MiB/s is 10,485.76 bytes: 10,000 more are not yet worth a wait, 500 more are.
        #expect(pacer.wait(afterReading: 10_000, elapsedNanoseconds: 1_000_000_000) == 0)
        let wait = pacer.wait(afterReading: 500, elapsedNanoseconds: 1_000_000_000)
        #expect(wait > 10_000_000 && wait < 10_100_000, "\(wait)")
        #expect(pacer.bytesRead == (1 << 20) + 10_500)
        // Reads behind the rate never wait, and a rate of zero is taken as one byte per second.
        #expect(pacer.wait(afterReading: 1, elapsedNanoseconds: 5_000_000_000) == 0)
        var slowest = ScrubPacer(bytesPerSecond: 0)
        #expect(slowest.wait(afterReading: 2, elapsedNanoseconds: 0) == 2_000_000_000)
    }

    /// The thread: passes repeat, a pass that finds damage logs it once with what to do, and stopping ends
    /// a wait between passes.
    @Test func theScrubberRepeatsPassesAndLogsDamageOnceWhenItAppears() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        let store = try Self.store(directory, log: log)
        defer { try? store.close() }
        let scrubber = LogScrubber(store: store, configuration: .init(intervalSeconds: 1, bytesPerSecond: 1 << 30))
        scrubber.start()
        defer { scrubber.stop() }
        #expect(Polling.until { scrubber.status.passes >= 1 })
        #expect(scrubber.status.problems == [])
        #expect(log.all.contains { $0.hasPrefix("log scrub: read ") && $0.hasSuffix(": no damage") }, "\(log.all)")
        #expect(scrubber.status.lastPassEnded != nil)

        let paths = try StoreTestSupport.segmentPaths(directory.path)
        try Self.flipByte(of: paths[0], at: Int64(SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 3))
        let before = scrubber.status.passes
        #expect(Polling.until { scrubber.status.passes >= before + 2 })
        let status = scrubber.status
        #expect(status.problems.count == 1, "\(status.problems)")
        #expect(status.bytesChecked > 0)
        let damaged = log.all.filter { $0.contains("the log is damaged") }
        #expect(damaged.count == 1, "logged once, not every pass: \(log.all)")
        #expect(damaged.first?.contains("run `tally verify`") == true)
        #expect(damaged.first?.contains("tally salvage --out DIR") == true)
        scrubber.stop()
        let stopped = scrubber.status.passes
        usleep(1_500_000)
        #expect(scrubber.status.passes == stopped, "no pass after stop")
    }

    @Test func stoppingAScrubberNeverStartedReturns() throws {
        let directory = TemporaryDirectory()
        let store = try Self.store(directory)
        defer { try? store.close() }
        let scrubber = LogScrubber(store: store)
        scrubber.stop()
        scrubber.stop()
        #expect(scrubber.status.passes == 0)
    }
}
