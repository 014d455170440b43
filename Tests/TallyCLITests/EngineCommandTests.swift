import Foundation
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyCLI
@testable import TallyEngine

/// import through the engine, stats, key-stats and replay, end to end in a temporary store.
@Suite struct EngineCommandTests {
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    /// Recent events (times relative to now, so they are inside the dedup window and this month counts).
    func sample() -> String {
        let now = Timestamp.now()
        func time(_ secondsAgo: Int64) -> String {
            Timestamp(microseconds: now.microseconds - secondsAgo * 1_000_000).rfc3339()
        }
        let t = Self.tenant
        return [
            #"{"id":"t1","type":"tenant.created","tenantId":"\#(t)","time":"\#(time(500))","data":{"name":"Acme","settings":{"storage_quota_mb":2048}}}"#,
            #"{"id":"u1","type":"user.created","tenantId":"\#(t)","time":"\#(time(400))","data":{"userId":"alice","role":"admin"}}"#,
            #"{"id":"u2","type":"user.created","tenantId":"\#(t)","time":"\#(time(400))","data":{"userId":"bob"}}"#,
            #"{"id":"u3","type":"user.deactivated","tenantId":"\#(t)","time":"\#(time(300))","data":{"userId":"bob"}}"#,
            #"{"id":"k1","type":"key.created","tenantId":"\#(t)","time":"\#(time(300))","data":{"keyId":"key-a","name":"Prod"}}"#,
            #"{"id":"k2","type":"key.created","tenantId":"\#(t)","time":"\#(time(300))","data":{"keyId":"key-b"}}"#,
            #"{"id":"k3","type":"key.revoked","tenantId":"\#(t)","time":"\#(time(200))","data":{"keyId":"key-b"}}"#,
            #"{"id":"c1","type":"api.call","tenantId":"\#(t)","time":"\#(time(100))","data":{"keyId":"key-a","status":200}}"#,
            #"{"id":"c2","type":"api.call","tenantId":"\#(t)","time":"\#(time(90))","data":{"keyId":"key-a","status":429}}"#,
            #"{"id":"c3","type":"api.call","tenantId":"\#(t)","time":"\#(time(80))","data":{"keyId":"key-a","status":503}}"#,
            #"{"id":"v1","type":"event.voided","tenantId":"\#(t)","time":"\#(time(70))","data":{"eventId":"c3"}}"#,
            #"{"id":"v2","type":"event.voided","tenantId":"\#(t)","time":"\#(time(60))","data":{"eventId":"c3"}}"#,
            #"{"id":"s1","type":"storage.measured","tenantId":"\#(t)","time":"\#(time(50))","data":{"usedBytes":104857600}}"#,
        ].joined(separator: "\n")
    }

    /// The API calls of this month and last month in `tally stats` output: events stamped with the wall
    /// clock may fall on either side of a month's turn while a test runs, but never further back.
    static func apiCalls(_ output: String) throws -> Int {
        apiCalls(in: try JSONParser().parse(output))
    }

    /// The API calls of this month and last month in a tenant's stats (the HTTP answer's `data`).
    static func apiCalls(in stats: JSONValue) -> Int {
        guard case .object(let object) = stats, case .object(let usage)? = object["usage"],
            case .int(let this)? = usage["apiCallsThisMonth"], case .int(let last)? = usage["apiCallsLastMonth"]
        else {
            Issue.record("no API call counts in \(stats)")
            return -1
        }
        return Int(this + last)
    }

    @Test func importThroughTheEngineDeduplicatesAndStatsReadTheProjections() throws {
        let directory = TemporaryDirectory()
        let first = runTally(["import", "--data", directory.path, "-"], input: sample())
        #expect(first.code == .failure, "the second void is rejected")
        #expect(first.out.contains("imported 12 events (offsets 0-11); 0 duplicates; rejected 1 of 13 lines"))
        #expect(first.err.contains("line 12: data.eventId: \"c3\" is already voided"))
        let again = runTally(["import", "--data", directory.path, "-"], input: sample())
        #expect(again.out.contains("imported 0 events; 12 duplicates"))

        let stats = runTally(["stats", "--data", directory.path, Self.tenant.uppercased()])
        #expect(stats.code == .ok)
        let value = try JSONParser().parse(stats.out)
        guard case .object(let object) = value else {
            Issue.record("not an object: \(stats.out)")
            return
        }
        #expect(object["tenantName"] == .string("Acme"))
        #expect(object["users"] == (try JSONParser().parse(#"{"total":2,"active":1,"inactive":1,"admins":1}"#)))
        #expect(object["apiKeys"] == (try JSONParser().parse(#"{"total":2,"active":1,"revoked":1}"#)))
        guard case .object(let usage)? = object["usage"] else {
            Issue.record("no usage")
            return
        }
        #expect(usage["storageUsedMB"] == .int(100))
        #expect(usage["storageQuotaMB"] == .int(2048))
        #expect(try Self.apiCalls(stats.out) == 2, "the voided call is not counted")

        let keys = runTally(["key-stats", "--data", directory.path, Self.tenant])
        #expect(keys.code == .ok)
        #expect(keys.out.contains(#""totalRequests": 2"#))
        #expect(keys.out.contains(#""rateLimitHits": 1"#))
        #expect(keys.out.contains(#""errors": 0"#))
        #expect(keys.out.contains(#""keyId": "key-a""#))

        let missing = runTally(["stats", "--data", directory.path, "9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48"])
        #expect(missing.code == .failure)
        #expect(runTally(["stats", "--data", directory.path, "not-a-uuid"]).code == .usage)
    }

    /// Events older than the dedup window are remembered for the rest of one import: a repeat is a
    /// duplicate and a void finds its target, so a dump of such events imports again with the same counts.
    /// A later import (another run) no longer knows them.
    @Test func anImportRemembersItsOldEventsSoADumpImportsAgainWithItsVoids() throws {
        let directory = TemporaryDirectory()
        let t = Self.tenant
        func line(_ id: String, _ type: String, _ data: String, daysAgo: Int64 = 60) -> String {
            let time = Timestamp(microseconds: Timestamp.now().microseconds - daysAgo * 86_400_000_000)
            return #"{"id":"\#(id)","type":"\#(type)","tenantId":"\#(t)","time":"\#(time.rfc3339())","data":\#(data)}"#
        }
        let lines = [
            line("c1", "api.call", #"{"keyId":"key-a","status":200}"#),
            line("c2", "api.call", #"{"keyId":"key-a","status":500}"#),
            line("c1", "api.call", #"{"keyId":"key-a","status":200}"#),
            line("v1", "event.voided", #"{"eventId":"c2"}"#),
            line("v2", "event.voided", #"{"eventId":"c2"}"#, daysAgo: 0),
            line("v3", "event.voided", #"{"eventId":"never-sent"}"#),
            line("v4", "event.voided", #"{"eventId":"c1"}"#, daysAgo: 0),
            line("v1", "event.voided", #"{"eventId":"c2"}"#),
            // The id again, 60 days before its first use: it had left the window, so this is a new event.
            line("c1", "api.call", #"{"keyId":"key-a","status":429}"#, daysAgo: 120),
        ]
        let store = directory.appending("store")
        let first = runTally(["import", "--data", store, "-"], input: lines.joined(separator: "\n"))
        #expect(first.code == .failure)
        #expect(
            first.out.contains("imported 5 events (offsets 0-4); 2 duplicates; rejected 2 of 9 lines"), "\(first.out)")
        #expect(first.err.contains("line 5: data.eventId: \"c2\" is already voided"), "\(first.err)")
        #expect(
            first.err.contains(
                "line 6: data.eventId: no accepted event \"never-sent\" of this tenant within the dedup window (35 days) or among the latest 4,194,304 older events imported in this run"
            ), "\(first.err)")
        let keys = runTally(["key-stats", "--data", store, t])
        #expect(keys.out.contains(#""totalRequests": 1"#), "two calls voided, one left: \(keys.out)")
        #expect(keys.out.contains(#""errors": 0"#))
        #expect(keys.out.contains(#""rateLimitHits": 1"#))

        // The dump imports into a new store with the same counts: each void finds its 60-day-old target.
        let dump = runTally(["dump", "--data", store]).out
        let copy = directory.appending("copy")
        let imported = runTally(["import", "--data", copy, "-"], input: dump)
        #expect(imported.code == .ok, "\(imported.err)")
        #expect(imported.out.contains("imported 5 events (offsets 0-4); 0 duplicates"))
        func withoutGeneratedAt(_ text: String) -> [Substring] {
            text.split(separator: "\n").filter { !$0.contains("generatedAt") }
        }
        #expect(withoutGeneratedAt(runTally(["key-stats", "--data", copy, t]).out) == withoutGeneratedAt(keys.out))
        #expect(runTally(["replay", "--data", copy, "--verify"]).code == .ok)

        // Another run no longer remembers the old events: the old call is new to it.
        let later = runTally(["import", "--data", store, "-"], input: lines[1])
        #expect(later.out.contains("imported 1 event (offset 5); 0 duplicates"), "\(later.out)")
    }

    @Test func anImportRemembersAsManyOldEventsAsItIsTold() throws {
        let directory = TemporaryDirectory()
        let t = "11111111-1111-1111-1111-111111111111"
        let time = Timestamp(microseconds: Timestamp.now().microseconds - 60 * 86_400_000_000).rfc3339()
        func line(_ id: String, _ type: String, _ data: String) -> String {
            #"{"id":"\#(id)","type":"\#(type)","tenantId":"\#(t)","time":"\#(time)","data":\#(data)}"#
        }
        let lines = [
            line("c1", "api.call", #"{"keyId":"key-a","status":200}"#),
            line("c2", "api.call", #"{"keyId":"key-a","status":200}"#),
            line("c3", "api.call", #"{"keyId":"key-a","status":200}"#),
            // c1 was the oldest of three and is forgotten by a run remembering two; c2 is still known.
            line("v1", "event.voided", #"{"eventId":"c2"}"#),
            line("v2", "event.voided", #"{"eventId":"c1"}"#),
        ].joined(separator: "\n")
        let small = runTally(["import", "--data", directory.appending("small"), "--remember", "2", "-"], input: lines)
        #expect(small.code == .failure)
        #expect(
            small.out.contains("imported 4 events (offsets 0-3); 0 duplicates; rejected 1 of 5 lines"), "\(small.out)")
        #expect(
            small.err.contains(
                "line 5: data.eventId: no accepted event \"c1\" of this tenant within the dedup window (35 days) or among the latest 2 older events imported in this run"
            ), "\(small.err)")
        let whole = runTally(["import", "--data", directory.appending("whole"), "-"], input: lines)
        #expect(whole.code == .ok, "\(whole.err)")
        #expect(whole.out.contains("imported 5 events (offsets 0-4)"), "\(whole.out)")

        let zero = runTally(["import", "--data", directory.appending("zero"), "--remember", "0", "-"], input: lines)
        #expect(zero.code == .usage)
        #expect(zero.err.contains("--remember must be a positive integer, got \"0\""), "\(zero.err)")
    }

    @Test func anImportTakesTimesAsFarAheadAsItsFutureLimit() {
        let directory = TemporaryDirectory()
        let ahead = Timestamp(microseconds: Timestamp.now().microseconds + 2 * 3_600_000_000).rfc3339()
        // As a server run with --future-limit 1d stored it, and dumped.
        let line =
            #"{"id":"ahead","type":"api.call","tenantId":"11111111-1111-1111-1111-111111111111","time":"\#(ahead)","data":{"keyId":"k","status":200}}"#
        let refused = runTally(["import", "--data", directory.appending("a"), "-"], input: line)
        #expect(refused.code == .failure)
        #expect(
            refused.err.contains(
                "line 1: time: more than 5 minutes ahead of the clock ("),
            "\(refused.err)")
        #expect(
            refused.err.contains("tally import --future-limit takes times further ahead (at most 1 day)"),
            "\(refused.err)")
        let taken = runTally(["import", "--data", directory.appending("b"), "--future-limit", "3h", "-"], input: line)
        #expect(taken.code == .ok, "\(taken.err)")
        #expect(taken.out.contains("imported 1 event (offset 0)"), "\(taken.out)")
        let tooFar = runTally(["import", "--data", directory.appending("c"), "--future-limit", "2d", "-"], input: line)
        #expect(tooFar.code == .usage)
        #expect(tooFar.err.contains("--future-limit must be at most 1 day"), "\(tooFar.err)")
    }

    @Test func replayRebuildsVerifiesAndReportsTheFirstDifference() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let replay = runTally(["replay", "--data", directory.path])
        #expect(replay.code == .ok, "\(replay.err)")
        #expect(replay.out.contains("replayed 12 events for 1 tenants"))
        let verify = runTally(["replay", "--data", directory.path, "--verify"])
        #expect(verify.code == .ok)
        #expect(verify.out.contains("verified: a rebuild of 12 events matches"))

        // A checkpoint that disagrees with the log (re-checksummed, so it loads) is caught by name.
        let checkpoints = directory.appending("checkpoints")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: checkpoints).sorted().last)
        var bytes = try StoreTestSupport.bytes(checkpoints + "/" + name)
        let acme = Array("Acme".utf8)
        let at = try #require((0..<(bytes.count - 4)).first { Array(bytes[$0..<$0 + 4]) == acme })
        bytes[at] = UInt8(ascii: "X")
        // Header: magic 8, version 4, offset 8, length 8, payload CRC 4, dedup window 8, log salt 4, header CRC 4.
        let payloadChecksum = CRC32C.checksum(Array(bytes[48...]))
        withUnsafeBytes(of: payloadChecksum.littleEndian) { for i in 0..<4 { bytes[28 + i] = $0[i] } }
        let headerChecksum = CRC32C.checksum(Array(bytes[0..<44]))
        withUnsafeBytes(of: headerChecksum.littleEndian) { for i in 0..<4 { bytes[44 + i] = $0[i] } }
        try StoreTestSupport.write(bytes, to: checkpoints + "/" + name)
        let different = runTally(["replay", "--data", directory.path, "--verify"])
        #expect(different.code == .failure)
        #expect(different.out.contains("tenant \(Self.tenant): name differs: Acme vs Xcme"), "\(different.out)")
    }

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
        #expect(verify.out.contains("12 records, 1 checkpoints checked"))

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
        #expect(bad.out.contains("DAMAGED: 1 segments, 12 records, 1 checkpoints checked"), "\(bad.out)")

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
            unreadable.out.contains("INCOMPLETE: 1 segments, 12 records, 2 checkpoints checked"), "\(unreadable.out)")
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
        ImportCommand.reportUnconfirmed(failures, directory: directory.path, writeFailedOnly: true, io: full)
        let lines = full.errorOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(lines)")
        #expect(
            lines.first
                == "line 13: in the log at offset 11, written before the disk filled (the next open syncs it): do not import it again",
            "\(lines)")
        #expect(lines.dropFirst().first == "line 14: not stored: disk full", "\(lines)")
        #expect(lines.last?.contains("its log ends at offset 12, holding 1 of the 4 events") == true, "\(lines)")
        #expect(lines.last?.hasSuffix("import again from line 14 (`tail -n +14 FILE`)") == true, "\(lines)")
        // A failed sync: what the log holds as read now may not survive a restart, so it is to be checked.
        let sync = CommandIO.captured(input: "")
        ImportCommand.reportUnconfirmed(failures, directory: directory.path, writeFailedOnly: false, io: sync)
        let synced = sync.errorOutput.split(separator: "\n").map(String.init)
        #expect(synced.first?.contains("line 13: in the log at offset 11 as read now, though its sync failed") == true)
        #expect(synced.first?.contains("--from-offset 11` before importing it again") == true, "\(synced)")
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

    @Test func aStoreThatIsAFileIsNamedAsSuch() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("not-a-store")
        try StoreTestSupport.write([1], to: file)
        let verify = runTally(["verify", "--data", file])
        #expect(
            verify.code == .failure && verify.err.contains("no store at \(file): it is a file, not a directory"),
            "\(verify.err)")
    }

    /// An import whose closing checkpoint fails says its events are stored (so nobody imports them again
    /// and counts the old ones twice), exits 1, and the next open replays them.
    @Test func anImportWhoseCheckpointFailsSaysItsEventsAreStored() throws {
        let directory = TemporaryDirectory()
        // A directory where the checkpoint's temporary file must go makes writing it fail.
        try FileManager.default.createDirectory(
            atPath: directory.appending("checkpoints/00000000000000000012.ckpt.partial"),
            withIntermediateDirectories: true)
        let result = runTally(["import", "--data", directory.path, "-"], input: sample())
        #expect(result.code == .failure, "\(result)")
        #expect(result.out.contains("imported 12 events"), "\(result.out)")
        #expect(
            result.err.contains(
                "the 12 imported events are in the log: each batch was synced before it was counted; do not import them again"
            ),
            "\(result.err)")
        try FileManager.default.removeItem(atPath: directory.appending("checkpoints/00000000000000000012.ckpt.partial"))
        let stats = runTally(["stats", "--data", directory.path, Self.tenant])
        #expect(
            stats.code == .ok && stats.out.contains(#""total": 2"#) && stats.out.contains(#""admins": 1"#), "\(stats)")
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
    /// and salvage copies every record around it.
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
    }

    /// `tally import` and `tally replay` keep the dedup window the newest checkpoint records (the server's
    /// `--backdate-limit`), so the checkpoints they write still remember every id the server does.
    @Test func importAndReplayKeepTheServersDedupWindow() throws {
        let directory = TemporaryDirectory()
        let day: Int64 = 86_400_000_000
        var server = EngineConfiguration()
        server.store.log = { _ in }
        server.backdateLimitMicroseconds = 100 * day
        let tenant = try #require(TenantID(Self.tenant))
        let old = Event(
            id: "fifty-days-old", tenantId: tenant,
            time: Timestamp(microseconds: Timestamp.now().microseconds - 50 * day),
            payload: .apiCall(APICall(keyId: "k", status: 200)))
        do {
            let engine = try Engine(directory: directory.path, configuration: server)
            #expect(engine.ingest([.success(old)]) == [.accepted(offset: 0)])
            try engine.close()
        }
        let recent =
            #"{"id":"recent","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k","status":200}}"#
        let imported = runTally(["import", "--data", directory.path, "-"], input: recent)
        #expect(imported.code == .ok, "\(imported.err)")
        #expect(Engine.recordedDedupWindow(directory: directory.path) == 100 * day)
        #expect(runTally(["replay", "--data", directory.path]).code == .ok)
        #expect(Engine.recordedDedupWindow(directory: directory.path) == 100 * day)
        let engine = try Engine(directory: directory.path, configuration: server)
        #expect(engine.ingest([.success(old)]) == [.duplicate(offset: 0)])
        try engine.close()
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

    @Test func replayUntilShowsTheStateAsItStoodThen() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: sample()).code == .failure)
        let early = runTally(["replay", "--data", directory.path, "--until", "3"])
        #expect(early.code == .ok)
        #expect(early.out.contains(#""events": 3"#))
        #expect(early.out.contains(#""total": 2"#) && early.out.contains(#""inactive": 0"#))
        let later = runTally(["replay", "--data", directory.path, "--until", "4", "--tenant", Self.tenant])
        #expect(later.out.contains(#""inactive": 1"#))
        let unknown = runTally([
            "replay", "--data", directory.path, "--until", "4", "--tenant", "9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48",
        ])
        #expect(
            unknown.code == .failure
                && unknown.err.contains("no events for tenant 9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48 up to 4"),
            "\(unknown)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("checkpoints/00000000000000000003.ckpt")))
        #expect(runTally(["replay", "--data", directory.path, "--until", "yesterday"]).code == .usage)
        // A malformed argument is a usage error wherever the store is, even where there is none.
        let nowhere = directory.appending("missing")
        #expect(runTally(["replay", "--data", nowhere, "--until", "yesterday"]).code == .usage)
        #expect(runTally(["replay", "--data", nowhere, "--until", "3", "--tenant", "nope"]).code == .usage)
        // `asOf` keeps the microseconds of the last event's ingest time: given back as `--until`, it selects
        // the same events (here, the first import's three; the second import's come later).
        let twice = TemporaryDirectory()
        let lines = sample().split(separator: "\n", omittingEmptySubsequences: true)
        for part in [lines.prefix(3), lines.dropFirst(3)] {
            _ = runTally(["import", "--data", twice.path, "-"], input: part.joined(separator: "\n") + "\n")
        }
        let first = runTally(["replay", "--data", twice.path, "--until", "3"])
        #expect(first.out.contains(#""events": 3"#), "\(first)")
        let asOf = try #require(first.out.firstMatch(of: /"asOf": "([^"]+)"/).map { String($0.1) })
        #expect(asOf.count == "2026-01-01T00:00:00.000000Z".count, "\(asOf)")
        let again = runTally(["replay", "--data", twice.path, "--until", asOf])
        #expect(again.out.contains(#""events": 3"#), "\(asOf): \(again.out.prefix(200))")
    }
}

@Suite struct GenerateCommandTests {
    @Test func generatedStreamsImportCleanlyRepeatBySeedAndFillThisMonth() throws {
        let first = runTally(["generate", "--tenants", "4", "--events", "800", "--seed", "7"])
        #expect(first.code == .ok)
        let lines = first.out.split(separator: "\n")
        #expect(lines.filter { $0.contains(#""type":"api.call""#) }.count == 800)
        #expect(lines.filter { $0.contains(#""type":"tenant.created""#) }.count == 4)
        let again = runTally(["generate", "--tenants", "4", "--events", "800", "--seed", "7"]).out.split(
            separator: "\n")
        let other = runTally(["generate", "--tenants", "4", "--events", "800", "--seed", "8"]).out.split(
            separator: "\n")
        func withoutTimes(_ lines: [Substring]) -> [String] {
            lines.map {
                $0.replacingOccurrences(of: #""(time|expiresAt)":"[^"]*""#, with: "", options: .regularExpression)
            }
        }
        #expect(withoutTimes(again) == withoutTimes(lines), "the same seed gives the same stream")
        #expect(withoutTimes(other) != withoutTimes(lines), "another seed gives another stream")

        let directory = TemporaryDirectory()
        let imported = runTally(["import", "--data", directory.path, "-"], input: first.out)
        #expect(imported.code == .ok, "\(imported.err)")
        let tenant = try #require(
            lines.first.flatMap { line in
                line.range(of: #""tenantId":"[^"]*""#, options: .regularExpression).map {
                    String(line[$0].dropFirst(12).dropLast())
                }
            })
        let stats = runTally(["stats", "--data", directory.path, tenant])
        #expect(stats.code == .ok)
        #expect(!stats.out.contains(#""apiCallsThisMonth": 0"#) || !stats.out.contains(#""apiCallsLastMonth": 0"#))
        #expect(runTally(["generate", "--events", "0"]).code == .usage)
        #expect(runTally(["generate", "--days", "36501"]).code == .usage)
        #expect(runTally(["generate", "--days", "99999999999999"]).code == .usage)
    }

    /// Every call comes from a key its tenant created before the call, and never from the revoked one:
    /// calls once began at the span's start, before most tenants' setups.
    @Test(arguments: [1, 45])
    func everyCallUsesAKeyItsTenantCreatedBeforeIt(days: Int) throws {
        let run = runTally(["generate", "--tenants", "40", "--events", "3000", "--days", String(days), "--seed", "3"])
        #expect(run.code == .ok)
        var created: [String: Int64] = [:]
        var revoked: Set<String> = []
        var calls = 0
        var tenantsCalled: Set<String> = []
        for line in run.out.split(separator: "\n") {
            guard case .object(let event) = try JSONParser().parse(String(line)),
                case .string(let type) = event["type"], case .string(let text) = event["time"],
                case .string(let tenant) = event["tenantId"], case .object(let data) = event["data"],
                case .string(let key) = data["keyId"]
            else { continue }
            let time = try Timestamp(rfc3339: text).microseconds
            switch type {
            case "key.created": created[tenant + "/" + key] = time
            case "key.revoked": revoked.insert(tenant + "/" + key)
            case "api.call":
                calls += 1
                tenantsCalled.insert(tenant)
                let made = created[tenant + "/" + key]
                #expect(made.map { $0 <= time } == true, "\(line)")
                #expect(!revoked.contains(tenant + "/" + key), "\(line)")
            default: break
            }
        }
        #expect(calls == 3000)
        #expect(tenantsCalled.count == 40, "every tenant gets calls")
    }

    /// 5M calls over 30 days once overflowed 64 bits (span × index) and crashed the generator.
    @Test func callTimesSpreadExactlyOverLongSpansOfManyEvents() {
        let span: Int64 = 30 * 86_400_000_000
        #expect(GenerateCommand.callOffset(4_999_999, of: 5_000_000, span: span) == span)
        #expect(GenerateCommand.callOffset(2_499_999, of: 5_000_000, span: span) == span / 2)
        #expect(GenerateCommand.callOffset(0, of: 5_000_000, span: span) == span / 5_000_000)
        let longest = Int64(GenerateCommand.maximumDays) * 86_400_000_000
        #expect(GenerateCommand.callOffset(Int.max / 4 - 1, of: Int.max / 4, span: longest) == longest)
        let offsets = (0..<1000).map { GenerateCommand.callOffset($0 * 5000, of: 5_000_000, span: span) }
        #expect(offsets == offsets.sorted())
    }

    /// However short the span, every setup ends by half-way, and the expiring credential expires after its
    /// creation and before now (never created already expired).
    @Test(arguments: [1, 10, 45])
    func setupsEndByHalfWayAndCredentialsExpireAfterTheirCreation(days: Int) throws {
        let run = runTally(["generate", "--tenants", "200", "--events", "10", "--days", String(days)])
        #expect(run.code == .ok)
        var earliest = Int64.max
        var latestSetup = Int64.min
        var latestCall = Int64.min
        var expiring = 0
        var latestExpiry = Int64.min
        for line in run.out.split(separator: "\n") {
            guard case .object(let event) = try JSONParser().parse(String(line)),
                case .string(let type) = event["type"], case .string(let text) = event["time"]
            else { continue }
            let time = try Timestamp(rfc3339: text).microseconds
            earliest = min(earliest, time)
            if type == "api.call" {
                latestCall = max(latestCall, time)
                continue
            }
            latestSetup = max(latestSetup, time)
            if type == "credential.created", case .object(let data) = event["data"],
                case .string(let expiresText) = data["expiresAt"]
            {
                let expires = try Timestamp(rfc3339: expiresText).microseconds
                #expect(expires > time, "\(line)")
                latestExpiry = max(latestExpiry, expires)
                expiring += 1
            }
        }
        #expect(expiring == 200)
        // The last call is timed now.
        #expect(latestExpiry < latestCall)
        let span = Int64(days) * 86_400_000_000
        #expect(latestSetup - earliest <= span / 2, "setups end \(latestSetup - earliest) µs into a \(span) µs span")
    }
}
