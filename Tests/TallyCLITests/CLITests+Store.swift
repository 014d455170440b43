import Foundation
import TallyStorage
import TallyTestSupport
import Testing

extension CLITests {
    /// A store that is there but cannot be looked into is not called missing, and no command starts a new
    /// store inside it; a relative path that is missing says what it is relative to.
    @Test func aStoreThatCannotBeReadIsNotCalledMissing() throws {
        let directory = TemporaryDirectory()
        // A link to itself: any lookup through it fails with ELOOP (as one through a directory this user may
        // not search fails with EACCES, which root, running the tests, never meets).
        let loop = directory.path + "/loop"
        #expect(symlink(loop, loop) == 0)
        for arguments in [
            ["stats", "--data", loop, "3fa85f64-5717-4562-b3fc-2c963f66afa6"], ["verify", "--data", loop],
            ["import", "--data", loop, "-"],
        ] {
            let result = runTally(arguments)
            #expect(result.code == .failure, "\(arguments)")
            #expect(
                result.err.contains("cannot read the store at \(loop): Too many levels of symbolic links"),
                "\(result.err)")
        }
        let token = runTally(["token", "--role", "ingest", "--data", loop])
        #expect(token.code == .failure && token.err.contains("cannot read \(loop)/jwt-secret"), "\(token.err)")
        let relative = runTally(["verify", "--data", "no/such/store"])
        #expect(relative.code == .failure)
        let here = FileManager.default.currentDirectoryPath
        #expect(
            relative.err.contains("no/such/store is relative to the current directory, \(here): run from"),
            "\(relative.err)")
        #expect(!FileManager.default.fileExists(atPath: loop + "/segments"))
    }

    @Test func verifyReportsDamageWithExitCodeThreeAndOpenRefuses() throws {
        let directory = TemporaryDirectory()
        let input = (0..<30).map { event("e\($0)") }.joined(separator: "\n")
        #expect(runTally(["import", "--data", directory.path, "--batch-size", "10", "-"], input: input).code == .ok)
        let clean = runTally(["verify", "--data", directory.path])
        #expect(clean.code == .ok)
        #expect(clean.out.contains("ok, offsets 0-29"))

        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        var bytes = try StoreTestSupport.bytes(segment)
        bytes[SegmentFormat.headerSize + 40] ^= 0x10
        try StoreTestSupport.write(bytes, to: segment)
        let damaged = runTally(["verify", "--data", directory.path])
        #expect(damaged.code == .damagedStore)
        #expect(damaged.out.contains("00000000000000000000.seg: DAMAGED at byte 32: checksum mismatch"))
        #expect(damaged.out.contains("valid frames resume at byte"))
        let dump = runTally(["dump", "--data", directory.path])
        #expect(dump.code == .damagedStore)
        #expect(dump.err.contains("byte 32"))
        let append = runTally(["import", "--data", directory.path, "-"], input: event("z"))
        #expect(append.code == .damagedStore)
        #expect(try StoreTestSupport.bytes(segment) == bytes, "a refused open changes nothing")
    }

    /// With its first segment gone, the records read come after the loss, not before it: the summary says
    /// how many of the log's offsets are missing or behind damage.
    @Test func verifyCountsTheRecordsMissingFromALogThatLostItsFirstSegment() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(segmentSize: 2048))
        let events = EventFixtures.apiCalls(count: 200)
        try StoreTestSupport.append(events, to: store, batchesOf: 10)
        try store.close()
        let segments = try StoreTestSupport.segmentPaths(directory.path)
        #expect(segments.count > 2)
        try FileManager.default.removeItem(atPath: try #require(segments.first))
        let result = runTally(["verify", "--data", directory.path])
        #expect(result.code == .damagedStore)
        #expect(result.out.contains("the log starts at offset"), "\(result.out)")
        let summary = try #require(result.out.split(separator: "\n").last)
        #expect(summary.hasPrefix("DAMAGED: \(segments.count - 1) segments, "), "\(summary)")
        #expect(summary.contains(" records readable of the log's 200 ("), "\(summary)")
        #expect(summary.contains(" missing or behind damage; "), "\(summary)")
    }

    @Test func salvageCopiesAroundTheDamageAndTheCopyServesStats() throws {
        let directory = TemporaryDirectory()
        let input = (0..<30).map { event("e\($0)") }.joined(separator: "\n")
        #expect(runTally(["import", "--data", directory.path, "--batch-size", "10", "-"], input: input).code == .ok)
        let out = TemporaryDirectory()
        let clean = runTally(["salvage", "--data", directory.path, "--out", out.appending("clean")])
        #expect(clean.code == .ok, "\(clean.err)")
        #expect(clean.out.contains("copied 30 records from 3 frames in 1 segment"))

        // Damage the second frame (records 10-19).
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        var bytes = try StoreTestSupport.bytes(segment)
        let frameLength = Int(bytes[SegmentFormat.headerSize]) | Int(bytes[SegmentFormat.headerSize + 1]) << 8
        bytes[SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + frameLength + 40] ^= 0x01
        try StoreTestSupport.write(bytes, to: segment)
        let damaged = runTally(["salvage", "--data", directory.path, "--out", out.appending("salvaged")])
        #expect(damaged.code == .damagedStore)
        #expect(damaged.out.contains("NOT COPIED: segments/00000000000000000000.seg bytes"))
        #expect(damaged.out.contains("lost offsets 10-19 (10 records)"))
        #expect(damaged.out.contains("copied 20 records from 2 frames"))
        #expect(damaged.out.contains("LOST: 1 damaged region, 10 records"))
        #expect(try StoreTestSupport.bytes(segment) == bytes, "the damaged store is unchanged")
        #expect(runTally(["verify", "--data", out.appending("salvaged")]).code == .ok)
        let dump = runTally(["dump", "--data", out.appending("salvaged")])
        let expected: [String] = (0..<10).map { "\"id\":\"e\($0)\"" } + (20..<30).map { "\"id\":\"e\($0)\"" }
        let lines = dump.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 20)
        #expect(zip(lines, expected).allSatisfy { $0.contains($1) }, "\(lines)")
        let stats = runTally(["stats", "--data", out.appending("salvaged"), Self.tenant])
        #expect(stats.code == .ok && stats.out.contains(Self.tenant), "\(stats.err)")

        #expect(runTally(["salvage", "--data", directory.path]).code == .usage)
        #expect(
            runTally(["salvage", "--data", directory.path, "--out", out.appending("salvaged")]).code == .usage,
            "an existing, non-empty output is refused")
    }

    /// A salvage that cannot finish (here: the store's JWT secret cannot be read) exits 1 and leaves nothing
    /// at --out, neither a store missing its secret nor a partial directory beside it.
    @Test func aFailedSalvageLeavesNoStoreAtOut() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: event("a")).code == .ok)
        try FileManager.default.createDirectory(
            atPath: directory.appending("jwt-secret"), withIntermediateDirectories: false)
        let out = TemporaryDirectory()
        let result = runTally(["salvage", "--data", directory.path, "--out", out.appending("salvaged")])
        #expect(result.code == .failure)
        #expect(result.err.contains("cannot copy the JWT secret"), "\(result.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }

    @Test func verifyCallsATornTailRecoverableNotDamage() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: event("a")).code == .ok)
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        try StoreTestSupport.write(try StoreTestSupport.bytes(segment) + [9, 9, 9], to: segment)
        let result = runTally(["verify", "--data", directory.path])
        #expect(result.code == .ok)
        #expect(result.out.contains("torn tail at byte"))
        // Taken for an interrupted write, which holds nothing acknowledged only under durability `always`:
        // neither command states more than it can know.
        #expect(result.out.contains("under durability `always` held nothing acknowledged"), "\(result.out)")
        let out = TemporaryDirectory()
        let salvaged = runTally(["salvage", "--data", directory.path, "--out", out.appending("copy")])
        #expect(salvaged.code == .ok)
        #expect(salvaged.out.contains("batches answered since the last sync may have been in it"), "\(salvaged.out)")
        #expect(salvaged.out.contains("nothing was lost but the torn tail listed above"), "\(salvaged.out)")
    }

    @Test func aSecondWriterGetsAClearLockError() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path)
        defer { try? store.close() }
        let result = runTally(["import", "--data", directory.path, "-"], input: event("a"))
        #expect(result.code == .failure)
        #expect(result.err.contains("open for writing by another process"))
        #expect(runTally(["dump", "--data", directory.path]).code == .ok, "reading needs no lock")
    }

    /// `import` and `serve` refuse a `--data` that names a file, saying so, and leave the file alone;
    /// options meant to repeat still do.
    @Test func aStorePathThatIsAFileIsRefusedAndRepeatableOptionsRepeat() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("events.ndjson")
        try StoreTestSupport.write(Array(event("a").utf8), to: file)
        for command in [["import", "--data", file, "-"], ["serve", "--data", file, "--port", "0"]] {
            let result = runTally(command, input: event("b"))
            #expect(result.code == .failure, "\(command)")
            #expect(
                result.err.contains("cannot keep a store at \(file): it is a file, not a directory"),
                "\(command): \(result.err)")
        }
        #expect(try StoreTestSupport.bytes(file) == Array(event("a").utf8), "the file is untouched")
        let store = directory.appending("store")
        #expect(
            runTally(
                ["import", "--data", store, "-"],
                input: event("a") + "\n" + event("b", "key.created", data: #"{"keyId":"k1"}"#) + "\n" + event("c")
            ).code == .ok)
        let both = runTally(["dump", "--data", store, "--type", "api.call", "--type", "key.created"])
        #expect(both.code == .ok && both.out.split(separator: "\n").count == 3, "\(both.err)")
        let one = runTally(["dump", "--data", store, "--type", "key.created"])
        #expect(one.code == .ok && one.out.split(separator: "\n").count == 1, "\(one.err)")
        // A member role with no tenant would grant nothing: refused, even beside a role that would.
        let unbound = runTally([
            "token", "--data", store, "--jwt-secret-file", file, "--role", "member", "--role", "ingest",
        ])
        #expect(unbound.code == .usage)
        #expect(unbound.err.contains("--role member needs --tenant UUID"), "\(unbound.err)")
        #expect(
            runTally([
                "token", "--data", store, "--jwt-secret-file", file, "--role", "member", "--role", "ingest", "--tenant",
                Self.tenant,
            ]).code == .ok)
        #expect(
            runTally(["token", "--data", store, "--jwt-secret-file", file, "--role", "member", "--role", "super_admin"])
                .code == .ok)
    }

    /// Commands that read or rebuild a store refuse a directory that holds none, and create nothing there.
    @Test(arguments: [
        ["replay"], ["replay", "--verify"], ["replay", "--until", "5"], ["verify"], ["dump"],
        ["stats", "3fa85f64-5717-4562-b3fc-2c963f66afa6"], ["salvage", "--out", "OUT"],
    ])
    func commandsThatNeedAStoreRefuseADirectoryWithout(command: [String]) throws {
        let scratch = TemporaryDirectory()
        for directory in [scratch.appending("missing"), scratch.path] {
            let arguments = command.map { $0 == "OUT" ? scratch.appending("out") : $0 } + ["--data", directory]
            let result = runTally(arguments)
            #expect(result.code == .failure, "\(arguments)")
            #expect(result.err.contains("no store at \(directory)"), "\(arguments): \(result.err)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty, "nothing was created")
    }
}
