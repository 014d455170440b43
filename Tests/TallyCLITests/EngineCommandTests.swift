import Foundation
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyCLI
@testable import TallyEngine

/// `tally import` through the engine, `stats`, `key-stats` and `replay`, end to end in a temporary store.
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
        #expect(zero.err.contains("--remember must be a whole number from 1 to 268435456, got \"0\""), "\(zero.err)")
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
        // At the largest limit already, the hint to raise it would lead nowhere.
        let farther = Timestamp(microseconds: Timestamp.now().microseconds + 25 * 3_600_000_000).rfc3339()
        let atMost = runTally(
            ["import", "--data", directory.appending("d"), "--future-limit", "1d", "-"],
            input: line.replacingOccurrences(of: ahead, with: farther))
        #expect(atMost.code == .failure)
        #expect(atMost.err.contains("more than 1 day ahead of the clock ("), "\(atMost.err)")
        #expect(atMost.err.contains("(the largest --future-limit); check the events' times and the clock"))
        #expect(!atMost.err.contains("takes times further ahead"), "\(atMost.err)")
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

    /// A replay's progress (checked every 65,536 events) is first printed one interval after the start, 5 s
    /// when standard error is not a terminal: a shorter replay prints none. It once printed a line at the
    /// first check, stuck at that check's percentage, with none after it.
    @Test func aShortReplayPrintsNoProgressLine() throws {
        let directory = TemporaryDirectory()
        let stream = runTally(["generate", "--tenants", "2", "--events", "70000", "--days", "10"])
        #expect(runTally(["import", "--data", directory.path, "-"], input: stream.out).code == .ok)
        let started = Date()
        let replay = runTally(["replay", "--data", directory.path])
        let seconds = Date().timeIntervalSince(started)
        #expect(replay.code == .ok, "\(replay.err)")
        #expect(replay.out.contains("replayed 70"), "\(replay.out)")
        // A loaded machine may take the 5 s, and then a line is due.
        #expect(seconds >= 5 || !replay.err.contains("replay: "), "\(seconds) s: \(replay.err)")
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

    /// A replay whose checkpoint cannot be written (a full disk, say) says the rebuild was done and nothing
    /// was changed, and exits 1: the checkpoint already there is as it was.
    @Test func aReplayWhoseCheckpointFailsSaysWhatWasLeft() throws {
        let directory = TemporaryDirectory()
        // 12 of the 13 lines imported (a second void of one call is rejected), and a checkpoint written.
        #expect(
            runTally(["import", "--data", directory.path, "-"], input: sample()).out.contains("imported 12 events"))
        let checkpoint = directory.appending("checkpoints/00000000000000000012.ckpt")
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        // A directory that cannot be removed where the fresh checkpoint's temporary file must go.
        let partial = checkpoint + ".partial"
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: partial + "/keep", contents: Data([1]))
        let replay = runTally(["replay", "--data", directory.path])
        #expect(replay.code == .failure, "\(replay)")
        #expect(
            replay.err.contains("tally replay: the log was replayed, but its checkpoint could not be written whole: ")
                && replay.err.hasSuffix(
                    "; the log is as it was (a replay only reads it), and the next open uses the newest sound checkpoint\n"
                ),
            "\(replay.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == before)
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
        // An offset past the log's end replays all of it, and says so.
        let beyond = runTally(["replay", "--data", directory.path, "--until", "1000"])
        #expect(beyond.code == .ok && beyond.out.contains(#""events": 12"#), "\(beyond)")
        #expect(
            beyond.err.contains(
                "tally replay: the log holds 12 events, fewer than --until 1000: all of them are replayed"),
            "\(beyond.err)")
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
        // With none included, `asOf` is the instant before the first event's ingest time, so it selects none
        // either (it was now, which selected every event).
        let none = runTally(["replay", "--data", twice.path, "--until", "0"])
        #expect(none.out.contains(#""events": 0"#), "\(none)")
        let noneAsOf = try #require(none.out.firstMatch(of: /"asOf": "([^"]+)"/).map { String($0.1) })
        let noneAgain = runTally(["replay", "--data", twice.path, "--until", noneAsOf])
        #expect(noneAgain.out.contains(#""events": 0"#), "\(noneAsOf): \(noneAgain.out.prefix(200))")
    }
}
