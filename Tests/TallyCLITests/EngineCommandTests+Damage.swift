import Foundation
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyCLI
@testable import TallyEngine

/// `tally verify` and the engine commands on damaged or foreign stores: each names what it found, with its
/// exit code, and none is cut off or loaded as if it were sound.
extension EngineCommandTests {
    /// `tally verify` reads every checkpoint whole: a valid one is listed with what it covers, one written by
    /// another projection version is reported as outdated (not damage), a damaged one fails the check.
    @Test func verifyChecksEveryCheckpoint() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let checkpoints = directory.appending("checkpoints")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: checkpoints).sorted().last)
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .ok, "\(verify.out)")
        #expect(
            verify.out.contains(
                "checkpoints/\(name): ok, covers 12 events, 1 tenants, 12 remembered ids, dedup window 35 days"),
            "\(verify.out)")
        #expect(verify.out.contains("12 records, 1 checkpoint checked"))

        let original = try StoreTestSupport.bytes(checkpoints + "/" + name)
        // A checkpoint of the previous projection version, in its own layout (a 44-byte header, no log
        // salt), as an upgraded store holds: outdated, not damaged.
        var outdated = Array(original[0..<8]) + [9, 0, 0, 0] + Array(original[12..<40])
        outdated += withUnsafeBytes(of: CRC32C.checksum(outdated).littleEndian) { Array($0) }
        outdated += Array(original[48...])
        try StoreTestSupport.write(outdated, to: checkpoints + "/" + name)
        let old = runTally(["verify", "--data", directory.path])
        #expect(old.code == .ok, "\(old.out)")
        #expect(
            old.out.contains(
                "checkpoints/\(name): outdated: written by projection version 9; this build uses \(CheckpointCodec.projectionVersion)"
            ),
            "\(old.out)")
        // Its header still vouches for the events it covers: damage among them is not cut off as a torn tail.
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).last)
        let log = try StoreTestSupport.bytes(segment)
        var torn = log
        torn[torn.count - 10] ^= 0x40
        try StoreTestSupport.write(torn, to: segment)
        let refused = runTally(["stats", "--data", directory.path, Self.tenant])
        #expect(refused.code == .damagedStore && refused.err.contains("a checkpoint covers 12 events"), "\(refused)")
        try StoreTestSupport.write(log, to: segment)
        // So does one from before version 9, in its 36-byte layout (no window, no log salt).
        var older = Array(original[0..<8]) + [8, 0, 0, 0] + Array(original[12..<32])
        older += withUnsafeBytes(of: CRC32C.checksum(older).littleEndian) { Array($0) }
        older += Array(original[48...])
        try StoreTestSupport.write(older, to: checkpoints + "/" + name)
        let eight = runTally(["verify", "--data", directory.path])
        #expect(
            eight.code == .ok
                && eight.out.contains(
                    "outdated: written by projection version 8; this build uses \(CheckpointCodec.projectionVersion)"),
            "\(eight.out)")
        try StoreTestSupport.write(torn, to: segment)
        let refusedToo = runTally(["stats", "--data", directory.path, Self.tenant])
        #expect(
            refusedToo.code == .damagedStore && refusedToo.err.contains("a checkpoint covers 12 events"),
            "\(refusedToo)")
        try StoreTestSupport.write(log, to: segment)

        // One of a later version in this layout (after a downgrade) is not called outdated: it is newer, and
        // this build rebuilds from the log.
        var newer = original
        newer.replaceSubrange(
            8..<12, with: withUnsafeBytes(of: (CheckpointCodec.projectionVersion + 1).littleEndian) { Array($0) })
        newer.replaceSubrange(
            44..<48, with: withUnsafeBytes(of: CRC32C.checksum(Array(newer[0..<44])).littleEndian) { Array($0) })
        try StoreTestSupport.write(newer, to: checkpoints + "/" + name)
        let later = runTally(["verify", "--data", directory.path])
        #expect(
            later.code == .ok
                && later.out.contains(
                    "checkpoints/\(name): newer: written by projection version \(CheckpointCodec.projectionVersion + 1); this build uses \(CheckpointCodec.projectionVersion) (a later tally wrote it, and this build cannot read it) (not damage"
                ), "\(later.out)")

        // A damaged version field is damage, not another version: the header's checksum fails.
        var version = original
        version[8] ^= 0x01
        try StoreTestSupport.write(version, to: checkpoints + "/" + name)
        let flipped = runTally(["verify", "--data", directory.path])
        #expect(
            flipped.code == .damagedStore
                && flipped.out.contains("checkpoints/\(name): DAMAGED: header checksum mismatch"), "\(flipped.out)")

        var damaged = original
        damaged[original.count / 2] ^= 0x40
        try StoreTestSupport.write(damaged, to: checkpoints + "/" + name)
        let bad = runTally(["verify", "--data", directory.path])
        #expect(bad.code == .damagedStore)
        #expect(bad.out.contains("checkpoints/\(name): DAMAGED: payload checksum mismatch"), "\(bad.out)")
        #expect(bad.out.contains("DAMAGED: 1 segment, 12 records, 1 checkpoint checked"), "\(bad.out)")

        // One that cannot be read was not checked: a failure to check (1), not damage (3).
        try StoreTestSupport.write(original, to: checkpoints + "/" + name)
        try FileManager.default.createDirectory(
            atPath: checkpoints + "/00000000000000000005.ckpt", withIntermediateDirectories: false)
        let unreadable = runTally(["verify", "--data", directory.path])
        #expect(unreadable.code == .failure, "\(unreadable.out)")
        #expect(
            unreadable.out.contains("checkpoints/00000000000000000005.ckpt: CANNOT BE READ: unreadable:"),
            "\(unreadable.out)")
        #expect(
            unreadable.out.contains("INCOMPLETE: 1 segment, 12 records, 2 checkpoints checked"), "\(unreadable.out)")
    }

    /// `replay --verify` past a newest checkpoint a later build wrote compares with the older one, exits 0 (no
    /// damage), and says on standard output that the events after it were not checked.
    @Test func replayVerifySaysANewerBuildsCheckpointWasNotCompared() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let more = #"{"id":"c9","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"key-a","status":200}}"#
        #expect(runTally(["import", "--data", directory.path, "-"], input: more).code == .ok)
        let path = directory.appending("checkpoints/00000000000000000013.ckpt")
        var newer = try StoreTestSupport.bytes(path)
        newer.replaceSubrange(
            8..<12, with: withUnsafeBytes(of: (CheckpointCodec.projectionVersion + 1).littleEndian) { Array($0) })
        newer.replaceSubrange(
            44..<48, with: withUnsafeBytes(of: CRC32C.checksum(Array(newer[0..<44])).littleEndian) { Array($0) })
        try StoreTestSupport.write(newer, to: path)
        let verify = runTally(["replay", "--data", directory.path, "--verify"])
        #expect(verify.code == .ok, "\(verify)")
        #expect(verify.out.contains("verified: a rebuild of 12 events matches the checkpoint"), "\(verify.out)")
        #expect(
            verify.out.contains(
                "NOT COMPARED: checkpoints/00000000000000000013.ckpt: written by projection version"),
            "\(verify.out)")
        #expect(verify.out.contains("the events after the checkpoint compared were not checked"), "\(verify.out)")
    }

    /// `replay --verify` compares with the newest checkpoint it can use; a newer one that is damaged fails the
    /// verification (exit 3) even when the rebuild matches the older one, so a script sees the damage.
    @Test func replayVerifyFailsWhenTheNewestCheckpointIsDamaged() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let more = #"{"id":"c9","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"key-a","status":200}}"#
        #expect(runTally(["import", "--data", directory.path, "-"], input: more).code == .ok)
        func damage(_ name: String) throws {
            let path = directory.appending("checkpoints/" + name)
            var bytes = try StoreTestSupport.bytes(path)
            bytes[bytes.count / 2] ^= 0x40
            try StoreTestSupport.write(bytes, to: path)
        }
        try damage("00000000000000000013.ckpt")
        let verify = runTally(["replay", "--data", directory.path, "--verify"])
        #expect(verify.code == .damagedStore, "\(verify)")
        #expect(verify.out.contains("verified: a rebuild of 12 events matches the checkpoint"), "\(verify.out)")
        #expect(
            verify.out.contains("DAMAGED: checkpoints/00000000000000000013.ckpt: payload checksum mismatch"),
            "\(verify.out)")
        // With every checkpoint damaged there is nothing to compare with: still damage (3), not "none yet".
        try damage("00000000000000000012.ckpt")
        let none = runTally(["replay", "--data", directory.path, "--verify"])
        #expect(none.code == .damagedStore, "\(none)")
        #expect(none.out.contains("DAMAGED: checkpoints/00000000000000000012.ckpt"), "\(none.out)")
        #expect(none.err.contains("no checkpoint could be used to verify against"), "\(none.err)")
        // `tally replay` replaces them, as that message says: its fresh checkpoint, and no damaged one kept
        // beside it for `tally verify` to go on reporting.
        let replay = runTally(["replay", "--data", directory.path])
        #expect(replay.code == .ok, "\(replay)")
        #expect(replay.err.contains("checkpoints/00000000000000000012.ckpt: removed"), "\(replay.err)")
        // The newest, of the log's end, is replaced by the fresh one's name: said all the same.
        #expect(
            replay.err.contains(
                "checkpoints/00000000000000000013.ckpt: replaced (payload checksum mismatch) by the fresh checkpoint of the same name"
            ), "\(replay.err)")
        let verified = runTally(["verify", "--data", directory.path])
        #expect(verified.code == .ok, "\(verified.out)")
    }

    /// Lines the store failed to confirm are told apart by the log's end once it is closed: those whose frames
    /// reached it are in it (and counted by the next open), so the advice never imports them twice.
    @Test func unconfirmedLinesAreReportedByWhetherTheLogHoldsThem() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let failures: [(line: Int, offset: UInt64?, reason: String)] = [
            (14, 12, "disk full"), (13, 11, "disk full"), (15, nil, "disk full"), (16, 13, "disk full"),
        ]
        // A full disk: the frames before the failed write are whole, and the next open syncs them.
        let full = CommandIO.captured(input: "")
        ImportCommand.reportUnconfirmed(
            failures, directory: directory.path,
            rest: ImportCommand.Resume(
                source: "it's.ndjson", directory: directory.path,
                options: [("batch-size", "10"), ("durability", "interval:5")]),
            writeFailedOnly: true, io: full)
        let lines = full.errorOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(lines)")
        #expect(
            lines.first
                == "line 13: in the log at offset 11, written before the disk filled (the next open syncs it): do not import it again",
            "\(lines)")
        #expect(lines.dropFirst().first == "line 14: not stored: disk full", "\(lines)")
        #expect(lines.last?.contains("its log ends at offset 12, holding 1 of the 4 events") == true, "\(lines)")
        // The command to resume with names the same input, store and options, quoted for the shell.
        // Both paths absolute, so the command works from any directory.
        let store = ShellCommand.quoted(ShellCommand.absolute(directory.path))
        let input = ShellCommand.quoted(ShellCommand.absolute("it's.ndjson"))
        #expect(input.hasPrefix("'/") && input.hasSuffix(#"/it'\''s.ndjson'"#), "\(input)")
        #expect(lines.last?.contains("import again from line 14 (`tail -n +14 \(input) | ") == true, "\(lines)")
        #expect(
            lines.last?.hasSuffix(" import --data \(store) --batch-size 10 --durability interval:5 -`)") == true,
            "\(lines)")
        // A failed sync: what the log holds as read now may not survive a restart, so it is to be checked.
        let sync = CommandIO.captured(input: "")
        ImportCommand.reportUnconfirmed(
            failures, directory: directory.path, rest: ImportCommand.Resume(source: "-", directory: directory.path),
            writeFailedOnly: false, io: sync)
        let synced = sync.errorOutput.split(separator: "\n").map(String.init)
        #expect(synced.first?.contains("line 13: in the log at offset 11 as read now, though its sync failed") == true)
        #expect(
            synced.first?.contains(
                "`tally dump --data \(ShellCommand.quoted(directory.path)) --from-offset 11` before importing it again")
                == true, "\(synced)")
        #expect(synced.last?.contains("and check the lines before it with") == true, "\(synced)")
    }

    /// Damage among the records a checkpoint covers was acknowledged: no command cuts it off as a torn tail
    /// (which once dropped it, claiming nothing acknowledged was lost). Opens refuse and leave the bytes,
    /// `verify` calls it damage, and `salvage` reports the records as lost.
    @Test func damageAmongCheckpointedRecordsIsNeverCutOffAsATornTail() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).last)
        var bytes = try StoreTestSupport.bytes(segment)
        bytes[bytes.count - 10] ^= 0x40
        try StoreTestSupport.write(bytes, to: segment)
        for command in [["import", "-"], ["replay"], ["stats", Self.tenant], ["dump"]] {
            let refused = runTally([command[0], "--data", directory.path] + command.dropFirst())
            #expect(refused.code == .damagedStore, "\(command): \(refused)")
            #expect(
                refused.err.contains("a checkpoint covers 12 events, so acknowledged records are damaged"),
                "\(command): \(refused.err)")
        }
        #expect(try StoreTestSupport.bytes(segment) == bytes, "nothing was cut off")
        // A checkpoint whose header is damaged, or that cannot be read, still names the events it covered.
        let checkpoint = directory.appending("checkpoints/00000000000000000012.ckpt")
        let original = try StoreTestSupport.bytes(checkpoint)
        var damagedHeader = original
        damagedHeader[20] ^= 0xFF
        try StoreTestSupport.write(damagedHeader, to: checkpoint)
        let stillRefused = runTally(["import", "--data", directory.path, "-"])
        #expect(stillRefused.code == .damagedStore, "\(stillRefused)")
        #expect(stillRefused.err.contains("a checkpoint covers 12 events"), "\(stillRefused.err)")
        #expect(try StoreTestSupport.bytes(segment) == bytes, "nothing was cut off")
        let verifyHeader = runTally(["verify", "--data", directory.path])
        #expect(verifyHeader.code == .damagedStore, "\(verifyHeader.out)")
        #expect(
            verifyHeader.out.contains("but the newest checkpoint's name says 12 events were acknowledged: offsets"),
            "verify says what the opens say: \(verifyHeader.out)")
        // So does a directory put in its place by hand: the name was given to a whole checkpoint.
        try FileManager.default.removeItem(atPath: checkpoint)
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: false)
        let underDirectory = runTally(["import", "--data", directory.path, "-"])
        #expect(underDirectory.code == .damagedStore, "\(underDirectory)")
        #expect(underDirectory.err.contains("a checkpoint covers 12 events"), "\(underDirectory.err)")
        #expect(try StoreTestSupport.bytes(segment) == bytes, "nothing was cut off")
        let verifyDirectory = runTally(["verify", "--data", directory.path])
        #expect(
            verifyDirectory.code == .damagedStore && !verifyDirectory.out.contains("torn tail"),
            "\(verifyDirectory.out)")
        try FileManager.default.removeItem(atPath: checkpoint)
        try StoreTestSupport.write(original, to: checkpoint)
        let verify = runTally(["verify", "--data", directory.path])
        #expect(
            verify.code == .damagedStore && verify.out.contains("DAMAGED at byte") && !verify.out.contains("torn tail"),
            "\(verify.out)")
        // The checkpoint is intact: the log is what lacks its events, and verify says so.
        #expect(
            verify.out.contains(
                ".ckpt: intact, yet it covers 12 events but the log holds only 0: the log's damage above hides the rest"
            ),
            "\(verify.out)")
        let out = TemporaryDirectory()
        let salvage = runTally(["salvage", "--data", directory.path, "--out", out.path + "/new"])
        #expect(salvage.code == .damagedStore, "\(salvage.out)")
        #expect(
            salvage.out.contains("offsets 0-11 (12 records)") && salvage.out.contains("so these were acknowledged"),
            "\(salvage.out)")
    }

    /// A file named `segments` is no log: a directory holding one is refused by every command with a message
    /// that says so (1), and as damage (3) when a checkpoint says the log held events.
    @Test func aSegmentsFileIsNamedAndNeverOpenedAsALog() throws {
        let directory = TemporaryDirectory()
        try StoreTestSupport.write([1, 2, 3], to: directory.appending("segments"))
        let commands = [
            ["verify"], ["import", "-"], ["stats", Self.tenant], ["replay"], ["dump"], ["key-stats", Self.tenant],
        ]
        for command in commands {
            let refused = runTally([command[0], "--data", directory.path] + command.dropFirst(), input: "")
            #expect(refused.code == .failure, "\(command): \(refused)")
            #expect(refused.err.contains("its segments/ is a file, not a directory"), "\(command): \(refused.err)")
        }
        #expect(try StoreTestSupport.bytes(directory.appending("segments")) == [1, 2, 3])

        let store = TemporaryDirectory()
        #expect(runTally(["import", "--data", store.path, "-"], input: sample()).code == .failure)
        try FileManager.default.removeItem(atPath: store.appending("segments"))
        try StoreTestSupport.write([1, 2, 3], to: store.appending("segments"))
        for command in commands {
            let refused = runTally([command[0], "--data", store.path] + command.dropFirst(), input: "")
            #expect(refused.code == .damagedStore, "\(command): \(refused)")
            #expect(refused.err.contains("yet a checkpoint covers 12 events"), "\(command): \(refused.err)")
        }
    }

    /// A store whose segments/ directory is gone but whose checkpoints remain has lost its log: every
    /// command calls it damage (3), and none starts an empty log in its place.
    @Test func checkpointsWithoutTheirLogAreDamageNotAnEmptyStore() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        try FileManager.default.removeItem(atPath: directory.appending("segments"))
        for command in [["verify"], ["import", "-"], ["stats", Self.tenant], ["replay"], ["dump"]] {
            let refused = runTally([command[0], "--data", directory.path] + command.dropFirst())
            #expect(refused.code == .damagedStore, "\(command): \(refused)")
            #expect(
                refused.err.contains("no segments/ directory, yet a checkpoint covers 12 events"),
                "\(command): \(refused.err)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appending("segments")), "no empty log was started")

        // The same when the checkpoint's header does not vouch for it (damaged): its name still tells.
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints")).first)
        var checkpoint = try StoreTestSupport.bytes(directory.appending("checkpoints/" + name))
        checkpoint[14] ^= 0x01
        try StoreTestSupport.write(checkpoint, to: directory.appending("checkpoints/" + name))
        for command in [["import", "-"], ["serve", "--port", "0"]] {
            let refused = runTally([command[0], "--data", directory.path] + command.dropFirst())
            #expect(refused.code == .damagedStore, "\(command): \(refused)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appending("segments")), "no empty log was started")
    }

    /// Checkpoints that cannot be listed (a file in their place, their permissions) say nothing of how many
    /// events were acknowledged: no command reads the log without them, since a damaged end would pass for an
    /// interrupted write, and a dump, a replay or a salvage come out short with exit 0.
    @Test func checkpointsThatCannotBeListedStopEveryCommandThatReadsTheLog() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let checkpoints = directory.appending("checkpoints")
        try FileManager.default.moveItem(atPath: checkpoints, toPath: directory.appending("aside"))
        try StoreTestSupport.write([1], to: checkpoints)
        let out = TemporaryDirectory()
        for command in [
            ["dump"], ["replay", "--until", "2030-01-01T00:00:00Z"], ["salvage", "--out", out.appending("copy")],
            ["verify"], ["stats", Self.tenant],
        ] {
            let refused = runTally([command[0], "--data", directory.path] + command.dropFirst())
            #expect(refused.code == .failure, "\(command): \(refused)")
            #expect(refused.out.isEmpty || command[0] == "verify", "\(command): \(refused.out)")
            #expect(refused.err.contains("cannot list \(checkpoints)"), "\(command): \(refused.err)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.appending("copy")))
    }

    /// A segment that is a symbolic link to nothing (its target moved, its disk not mounted) is named as
    /// such by every command, with the same exit code (1: it cannot be read, and may come back), before any
    /// verdict on the segments around it; a checkpoint that is one is unreadable to `verify`, not "removed".
    @Test func aDanglingLinkInTheStoreIsNamedAlikeByEveryCommand() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let link = directory.appending("segments/" + SegmentFormat.fileName(firstOffset: 12))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: directory.appending("gone.seg"))
        let out = TemporaryDirectory()
        for command in [
            ["dump"], ["replay"], ["replay", "--until", "2030-01-01T00:00:00Z"],
            ["salvage", "--out", out.appending("copy")],
            ["verify"], ["stats", Self.tenant], ["import", "-"],
        ] {
            let refused = runTally([command[0], "--data", directory.path] + command.dropFirst(), input: "")
            #expect(refused.code == .failure, "\(command): \(refused)")
            #expect(
                refused.err.contains(
                    "segments/\(SegmentFormat.fileName(firstOffset: 12)) is a symbolic link to a file that does not exist"
                ),
                "\(command): \(refused.err)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.appending("copy")))
        try FileManager.default.removeItem(atPath: link)

        let checkpoint = directory.appending("checkpoints/" + CheckpointStore.fileName(5))
        try FileManager.default.createSymbolicLink(
            atPath: checkpoint, withDestinationPath: directory.appending("gone.ckpt"))
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .failure, "\(verify)")
        #expect(
            verify.out.contains(
                "checkpoints/\(CheckpointStore.fileName(5)): CANNOT BE READ: unreadable: checkpoints/\(CheckpointStore.fileName(5)) is a symbolic link to a file that does not exist"
            ), "\(verify.out)")
        // An open passes over such a checkpoint, as over any it cannot read, saying what it is.
        let newest = directory.appending("checkpoints/" + CheckpointStore.fileName(12))
        try FileManager.default.removeItem(atPath: newest)
        try FileManager.default.createSymbolicLink(atPath: newest, withDestinationPath: directory.appending("gone"))
        let stats = runTally(["stats", "--data", directory.path, Self.tenant])
        #expect(stats.code == .ok, "\(stats)")
        #expect(
            stats.err.contains(
                "checkpoints/\(CheckpointStore.fileName(12)) is a symbolic link to a file that does not exist"),
            "\(stats.err)")
    }

    @Test func aStoreThatIsAFileIsNamedAsSuch() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("not-a-store")
        try StoreTestSupport.write([1], to: file)
        let verify = runTally(["verify", "--data", file])
        #expect(
            verify.code == .failure && verify.err.contains("no store at \(file): it is a file, not a directory"),
            "\(verify.err)")
        // A file higher up the path is named as such too, not as a missing directory.
        let below = runTally(["verify", "--data", file + "/store"])
        #expect(
            below.code == .failure
                && below.err.contains("no store at \(file)/store: a file stands where its path needs a directory"),
            "\(below.err)")
    }

    /// Records whose frames check out but which this build cannot decode (a newer record format, after a
    /// downgrade) are damage to `verify`, as they are to a replay, which stops at the first.
    @Test func verifyDecodesEveryRecordAsAReplayWould() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        let event = Event(
            id: "a", tenantId: try #require(TenantID(Self.tenant)), time: Timestamp.now(),
            payload: .apiCall(APICall(keyId: "k", status: 200)))
        var batch = RecordBatch()
        batch.appendRecord { EventCodec.encode(event, ingestTime: Timestamp.now(), voidTarget: nil, into: &$0) }
        batch.appendRecord { bytes in
            let first = bytes.count
            EventCodec.encode(event, ingestTime: Timestamp.now(), voidTarget: nil, into: &bytes)
            bytes[first] = 9  // the record's first byte: its format version
        }
        _ = try store.append(batch)
        try store.close()
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .damagedStore, "\(verify)")
        #expect(
            verify.out.contains(
                "DAMAGED: 1 record in valid frames cannot be decoded by this build, the first at offset 1"),
            "\(verify.out)")
        #expect(runTally(["replay", "--data", directory.path]).code == .damagedStore)
    }

    /// A checkpoint copied in from another store is not taken for this log's (segment salts are random, and
    /// a checkpoint records the salt of the segment holding its last event): opens ignore it and replay
    /// this log, and `verify` calls it damage, so no stats come from another store's events.
    @Test func aCheckpointFromAnotherStoreIsNotLoaded() throws {
        let one = TemporaryDirectory()
        let other = TemporaryDirectory()
        #expect(runTally(["import", "--data", one.path, "-"], input: sample()).code == .failure)
        let stranger = "9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48"
        let strangers =
            sample().replacingOccurrences(of: Self.tenant, with: stranger)
            + "\n"
            + (0..<5).map {
                #"{"id":"x\#($0)","type":"api.call","tenantId":"\#(stranger)","data":{"keyId":"k","status":200}}"#
            }.joined(separator: "\n")
        #expect(runTally(["import", "--data", other.path, "-"], input: strangers).code == .failure)
        let ours = try #require(
            try FileManager.default.contentsOfDirectory(atPath: other.appending("checkpoints")).first)
        try FileManager.default.removeItem(atPath: other.appending("checkpoints/" + ours))
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: one.appending("checkpoints")).first)
        try FileManager.default.copyItem(
            atPath: one.appending("checkpoints/" + name), toPath: other.appending("checkpoints/" + name))

        let stats = runTally(["stats", "--data", other.path, Self.tenant])
        #expect(stats.code == .failure, "no event of that tenant is in this log: \(stats)")
        #expect(stats.err.contains("taken of another log"), "\(stats.err)")
        #expect(try Self.apiCalls(runTally(["stats", "--data", other.path, stranger]).out) == 7)
        let verify = runTally(["verify", "--data", other.path])
        #expect(verify.code == .damagedStore, "\(verify)")
        #expect(
            verify.out.contains(
                "checkpoints/\(name): DAMAGED: taken of another log: the segment holding offset 11 has salt"),
            "\(verify.out)")
    }

    /// A directory named like a segment is named as what is wrong, by every command: verify reports it
    /// (and checks the real segments), opens refuse naming it rather than the healthy segment before it,
    /// and salvage copies every record around it, saying it skipped the directory.
    @Test func aDirectoryNamedLikeASegmentIsNamedAsSuch() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let stray = "00000000000000000900.seg"
        try FileManager.default.createDirectory(
            atPath: directory.appending("segments/" + stray), withIntermediateDirectories: false)
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .damagedStore, "\(verify)")
        #expect(
            verify.out.contains("store: DAMAGED: segments/\(stray): a directory, not a segment file"), "\(verify.out)")
        #expect(verify.out.contains("00000000000000000000.seg: ok, offsets 0-11"), "\(verify.out)")
        for command in [["stats", Self.tenant], ["import", "-"], ["dump"]] {
            let refused = runTally([command[0], "--data", directory.path] + command.dropFirst())
            #expect(refused.code == .damagedStore, "\(command): \(refused)")
            #expect(
                refused.err.contains("segments/\(stray): a directory, not a segment file; move it out of segments/"),
                "\(command): \(refused.err)")
        }
        let out = TemporaryDirectory()
        let salvage = runTally(["salvage", "--data", directory.path, "--out", out.appending("new")])
        #expect(salvage.code == .ok && salvage.out.contains("copied 12 records"), "\(salvage)")
        #expect(
            salvage.out.contains(
                "SKIPPED: segments/\(stray): a directory, not a segment file (every open of the damaged store refuses it)"
            ),
            "\(salvage.out)")
    }

    /// The file of a segment start a crash cut short (its header incomplete, the log's last file) is named
    /// alike by `verify` and `salvage`, as open names it, and is no loss.
    @Test func aSegmentWhoseHeaderNeverCompletedIsNamedAlike() throws {
        let directory = TemporaryDirectory()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(segmentSize: 500))
        try StoreTestSupport.append(EventFixtures.apiCalls(count: 9), to: store, batchesOf: 3)
        let next = store.nextOffset
        try store.close()
        let torn = SegmentFormat.fileName(firstOffset: next)
        try StoreTestSupport.write([0x54, 0x41, 0x4C], to: directory.appending("segments/" + torn))
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .ok, "\(verify)")
        #expect(
            verify.out.contains(
                "\(torn): header never completed (3 bytes: a crash while the segment was being created, before it held any record; the next writer removes it)"
            ), "\(verify.out)")
        let out = TemporaryDirectory()
        let salvage = runTally(["salvage", "--data", directory.path, "--out", out.appending("new")])
        #expect(salvage.code == .ok, "\(salvage)")
        #expect(
            salvage.out.contains(
                "the segment's header was never completed (3 bytes): a crash while the segment was being created"),
            "\(salvage.out)")
        #expect(salvage.out.contains("copied 9 records"), "\(salvage.out)")
    }

    /// `verify` names a segment of an older format (written before an upgrade), and only such a one.
    @Test func verifyNamesASegmentOfAnOlderFormat() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        let current = runTally(["verify", "--data", directory.path])
        #expect(
            current.out.contains("00000000000000000000.seg: ok, offsets 0-11")
                && !current.out.contains("format version"))
        var bytes = try StoreTestSupport.bytes(segment)
        bytes.replaceSubrange(8..<12, with: [1, 0, 0, 0])
        bytes.replaceSubrange(
            28..<32, with: withUnsafeBytes(of: CRC32C.checksum(Array(bytes[0..<28])).littleEndian) { Array($0) })
        try StoreTestSupport.write(bytes, to: segment)
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .ok, "\(verify)")
        #expect(verify.out.contains("bytes, open, format version 1\n"), "\(verify.out)")
    }

    /// A file in `segments/` that is not named as a segment (no `.seg`) is named by verify as ignored, and
    /// is not damage: the store never reads it.
    @Test func aFileThatIsNotASegmentIsNamedAsIgnored() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        try StoreTestSupport.write(Array("hi\n".utf8), to: directory.appending("segments/notes.txt"))
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .ok, "\(verify)")
        #expect(
            verify.out.contains(
                "segments/notes.txt: ignored: not a segment file (no .seg name), so no command reads it"),
            "\(verify.out)")
        #expect(runTally(["stats", "--data", directory.path, Self.tenant]).code == .ok)
    }

    /// A record whose checksum holds but whose time no event can carry (`Int64.max`, `Int64.min`: bytes not
    /// written by Tally) is damage that `verify` finds, and every command that reads it refuses the store
    /// (exit 3) instead of trapping on the arithmetic.
    @Test(arguments: [Int64.max, Int64.min])
    func aRecordWithAnImpossibleTimeIsDamageNotACrash(time: Int64) throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let event = Event(
            id: "forged", tenantId: TenantID(Self.tenant)!, time: Timestamp.now(),
            payload: .apiCall(APICall(keyId: "k", status: 200)))
        var record = EventCodec.encode(event, ingestTime: Timestamp.now())
        // The event time: after the version, the type and the ingest time.
        withUnsafeBytes(of: time.littleEndian) { for i in 0..<8 { record[10 + i] = $0[i] } }
        let store = try SegmentStore(directory: directory.path, configuration: StoreTestSupport.configuration())
        var batch = RecordBatch()
        batch.append(record)
        try store.append(batch)
        try store.close()
        let verify = runTally(["verify", "--data", directory.path])
        #expect(verify.code == .damagedStore, "\(verify)")
        #expect(verify.out.contains("event time \(time) µs lies outside the years 0001-9999"), "\(verify.out)")
        for command in [["stats", Self.tenant], ["replay"], ["replay", "--until", "100"], ["dump"]] {
            let result = runTally([command[0], "--data", directory.path] + command.dropFirst())
            #expect(result.code == .damagedStore, "\(command): \(result)")
        }
    }
}
