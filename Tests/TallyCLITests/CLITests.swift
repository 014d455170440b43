import Foundation
import TallyCLI
import TallyCore
import TallyEngine
import TallyStorage
import TallyTestSupport
import Testing

@Suite struct CLITests {
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    func event(
        _ id: String, _ type: String = "api.call", time: String = "2026-11-02T10:00:00Z",
        data: String = #"{"keyId":"k1","status":200}"#, tenant: String = tenant
    ) -> String {
        #"{"id":"\#(id)","type":"\#(type)","tenantId":"\#(tenant)","time":"\#(time)","data":\#(data)}"#
    }

    /// A directory given as the input is refused by name before any store is created for it.
    @Test func importOfADirectoryIsRefusedBeforeAStoreIsMade() throws {
        let directory = TemporaryDirectory()
        let store = directory.appending("new-store")
        let result = runTally(["import", "--data", store, directory.path])
        #expect(result.code == .failure)
        #expect(result.err.contains("tally import: \(directory.path) is a directory"), "\(result.err)")
        #expect(!FileManager.default.fileExists(atPath: store))
    }

    @Test func importReportsBadLinesByNumberAndKeepsTheGoodOnes() throws {
        let directory = TemporaryDirectory()
        let input = [
            event("a"),
            "{not json",
            event("b", "api.calls"),
            "",
            event("c", data: #"{"keyId":"k1","status":700}"#),
            event("d", "key.created", data: #"{"keyId":"k9","name":"CI"}"#),
        ].joined(separator: "\n")
        let result = runTally(["import", "--data", directory.path, "-"], input: input)
        #expect(result.code == .failure)
        #expect(
            result.out.contains(
                "imported 2 events (offsets 0-1); 0 duplicates; rejected 3 of 5 lines; 1 blank line skipped"))
        #expect(result.err.contains("line 2: invalid JSON: unexpected byte 'n' at column 2 (byte 1)"), "\(result.err)")
        #expect(result.err.contains("line 3: type: unknown event type \"api.calls\""))
        #expect(result.err.contains("line 5: data.status: must be an integer from 100 to 599"))
        let dump = runTally(["dump", "--data", directory.path])
        #expect(dump.code == .ok)
        let lines = dump.out.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix(#"{"offset":0,"ingestTime":""#))
        #expect(lines[0].contains(#""id":"a","type":"api.call""#))
        #expect(lines[1].contains(#""offset":1"#) && lines[1].contains(#""name":"CI""#))
    }

    /// With several batches in the engine at once, rejected lines are still reported in line order, and
    /// repeats across batches are still caught as duplicates.
    @Test func importReportsLinesInOrderWithBatchesInFlight() throws {
        let directory = TemporaryDirectory()
        var input: [String] = []
        var expectedErrors: [Int] = []
        for number in 1...60 {
            switch number % 7 {
            case 3:
                input.append("{broken \(number)")
                expectedErrors.append(number)
            case 5:
                input.append(event("x\(number)", data: #"{"keyId":"k1","status":99}"#))
                expectedErrors.append(number)
            case 6:
                input.append(event("e\(number - 2)"))
            default:
                input.append(event("e\(number)"))
            }
        }
        let result = runTally(
            ["import", "--data", directory.path, "--batch-size", "3", "-"], input: input.joined(separator: "\n"))
        #expect(result.code == .failure)
        let reported = result.err.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("line ") else { return nil }
            return Int(line.dropFirst(5).prefix { $0 != ":" })
        }
        #expect(reported == expectedErrors)
        let duplicates = (1...60).filter { $0 % 7 == 6 }.count
        let accepted = 60 - expectedErrors.count - duplicates
        #expect(
            result.out.contains(
                "imported \(accepted) events (offsets 0-\(accepted - 1)); \(duplicates) duplicates; rejected \(expectedErrors.count) of 60 lines"
            ))
    }

    @Test func importFromAFileInSmallBatchesThenDumpRoundTrips() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("events.ndjson")
        let events = (0..<25).map { event("e\($0)", time: "2026-11-0\($0 % 9 + 1)T10:00:00Z") }
        try events.joined(separator: "\r\n").write(toFile: file, atomically: true, encoding: .utf8)
        let store = directory.appending("store")
        let first = runTally(["import", "--data", store, "--batch-size", "4", file])
        #expect(first.code == .ok, "\(first.err)")
        #expect(first.out.contains("imported 25 events (offsets 0-24)"))
        // A dump imports again as the same events.
        let dump = runTally(["dump", "--data", store]).out
        let copy = directory.appending("copy")
        #expect(runTally(["import", "--data", copy, "-"], input: dump).code == .ok)
        let again = runTally(["dump", "--data", copy]).out
        func withoutIngestTime(_ text: String) -> [String] {
            text.split(separator: "\n").map {
                String(
                    $0.replacingOccurrences(
                        of: #""ingestTime":"[^"]*""#, with: "",
                        options: .regularExpression))
            }
        }
        #expect(withoutIngestTime(again) == withoutIngestTime(dump))
    }

    @Test func dumpFiltersByTenantTypeTimeAndOffset() throws {
        let directory = TemporaryDirectory()
        let other = "9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48"
        let input = [
            event("a", time: "2026-11-01T00:00:00Z"),
            event("b", time: "2026-11-02T00:00:00Z", tenant: other),
            event("c", "key.revoked", time: "2026-11-03T00:00:00Z", data: #"{"keyId":"k1"}"#),
            event("d", time: "2026-11-04T00:00:00Z"),
            event("e", "key.created", time: "2026-11-05T00:00:00Z", data: #"{"keyId":"k2"}"#),
        ].joined(separator: "\n")
        #expect(runTally(["import", "--data", directory.path, "-"], input: input).code == .ok)
        func ids(_ arguments: [String]) -> [String] {
            let result = runTally(["dump", "--data", directory.path] + arguments)
            return result.out.split(separator: "\n").compactMap { line in
                line.range(of: #""id":"[a-z]""#, options: .regularExpression).map {
                    String(line[$0].dropFirst(6).dropLast())
                }
            }
        }
        #expect(ids([]) == ["a", "b", "c", "d", "e"])
        #expect(ids(["--tenant", other.uppercased()]) == ["b"])
        #expect(ids(["--type", "key.revoked,key.created"]) == ["c", "e"])
        #expect(ids(["--type", "key.revoked", "--type", "api.call"]) == ["a", "b", "c", "d"])
        #expect(ids(["--from", "2026-11-02T00:00:00Z", "--to", "2026-11-04T00:00:00Z"]) == ["b", "c"])
        #expect(ids(["--from-offset", "1", "--to-offset", "3"]) == ["b", "c"])
        #expect(ids(["--tenant", Self.tenant, "--from-offset", "2"]) == ["c", "d", "e"])
    }

    @Test(arguments: [
        ["dump", "--type", "api.calls"], ["dump", "--tenant", "x"], ["dump", "--from", "monday"],
        ["dump", "--from-offset", "-1"], ["import"], ["import", "a", "b"], ["import", "--batch-size", "0", "-"],
        ["import", "--durability", "sometimes", "-"], ["verify", "--nope"], ["verify", "extra"], ["frobnicate"], [],
        ["serve", "--body-timeout", "0"], ["serve", "--header-timeout", "soon"], ["serve", "--idle-timeout", "-5"],
        ["serve", "--max-connections", "0"], ["serve", "--backdate-limit", "35"], ["serve", "--future-limit", "5x"],
        ["serve", "--backdate-limit", "0d"], ["token", "--role", "ingest", "--ttl", "forever"], ["salvage", "--out"],
        // Past the dedup index's reach (hours kept modulo 2^14) and past a day ahead.
        ["serve", "--backdate-limit", "331d"], ["serve", "--backdate-limit", "8000h"],
        ["serve", "--future-limit", "25h"],
        ["serve", "--durability", "interval:3600001"], ["import", "--durability", "interval:20000000000000", "-"],
        // An empty store path would put the store at the root.
        ["import", "--data", "", "-"], ["salvage", "--out", ""], ["token", "--data", "", "--role", "ingest"],
        ["token", "--role", "member"],
        ["token", "--role", "ingest", "--role", "tenant_admin"],
        // Options that do not apply together, an address that is not one, help for no command.
        ["replay", "--tenant", "3fa85f64-5717-4562-b3fc-2c963f66afa6"], ["replay", "--verify", "--until", "1"],
        ["serve", "--host", "notanip"], ["help", "nosuch"], ["serve", "--max-body-bytes", "33554433"],
        ["serve", "--checkpoint-every", "0"], ["serve", "--checkpoint-interval", "0s"],
        ["serve", "--checkpoint-interval", "300"],
        ["serve", "--scrub-interval", "0s"], ["serve", "--scrub-interval", "never"], ["serve", "--scrub-rate", "0"],
        ["serve", "--scrub-rate", "1048577"], ["serve", "--scrub-interval", "off", "--scrub-rate", "8"],
        ["serve", "--scrub-interval", "366d"],
        // One value given twice ("the last wins" would silently drop a filter), no type at all, absurd loops.
        [
            "dump", "--tenant", "3fa85f64-5717-4562-b3fc-2c963f66afa6", "--tenant",
            "9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48",
        ],
        ["dump", "--data", "a", "--data", "b"],
        ["stats", "--at=2026-01-01T00:00:00Z", "--at", "2026-02-01T00:00:00Z", "3fa85f64-5717-4562-b3fc-2c963f66afa6"],
        ["dump", "--type", ""], ["dump", "--type", ","], ["serve", "--event-loops", "100000"],
        // Ranges that select nothing, and values past any use.
        ["dump", "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-01T00:00:00Z"],
        ["dump", "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-01T00:00:00Z"],
        ["dump", "--from-offset", "10", "--to-offset", "5"], ["import", "--batch-size", "1000001", "-"],
        ["import", "--remember", "268435457", "-"], ["serve", "--header-timeout", "86401"],
        ["serve", "--idle-timeout", "9223372036854775807"], ["token", "--jwt-secret-file", "", "--role", "ingest"],
    ])
    func usageErrorsExitWithTwo(arguments: [String]) {
        let result = runTally(arguments)
        #expect(result.code == .usage)
        #expect(!result.err.isEmpty || result.out.contains("Usage"))
    }

    /// A shared option's usage error points at the command's own help, as every other usage error does.
    @Test func anEmptyStorePathPointsAtTheCommandsHelp() {
        for command in ["serve", "verify", "dump"] {
            let result = runTally([command, "--data", ""])
            #expect(result.code == .usage)
            #expect(
                result.err.contains(
                    "tally \(command): --data must name a directory, got an empty value; run `tally \(command) --help`"),
                "\(result.err)")
        }
    }

    /// A usage error names the value it refuses, and the command's usage line when the arguments are wrong.
    @Test(arguments: [
        (["stats", "--tenant", "x"], "unknown option --tenant (usage: tally stats [options] TENANT)"),
        (["stats"], "expected 1 argument(s), got 0 (usage: tally stats [options] TENANT)"),
        (["serve", "--port", "99999"], #"--port must be 0-65535, got "99999""#),
        (["serve", "--scrub-interval", "never"], #"like 90s, 30m, 12h or 7d (or off), got "never""#),
        (["dump", "--from", "monday"], #"--from: must be RFC 3339, such as 2025-07-10T14:30:00Z, got "monday""#),
        (["replay", "--until", "1", "--tenant", "xyz"], #"--tenant must be a UUID, got "xyz""#),
        (["token", "--role", "ingest", "--tenant", "xyz"], #"--tenant must be a UUID, got "xyz""#),
        (["replay", "--until", "yesterday"], "an RFC 3339 time, such as 2025-07-10T14:30:00Z, or an offset"),
        (["serve", "--body-timeout", "99999999999999999999"], "must be a whole number from 1 to 86400"),
        (["salvage", "--out", ""], "--out must name a directory, got an empty value"),
        (
            ["token", "--role", "ingest", "--jwt-secret-file", ""],
            "--jwt-secret-file must name a file, got an empty value"
        ),
        (["dump", "--from-offset", "3", "--to-offset", "3"], "selects nothing"),
    ])
    func usageErrorsNameWhatTheyRefuse(arguments: [String], message: String) {
        let result = runTally(arguments)
        #expect(result.code == .usage)
        #expect(result.err.contains(message), "\(result.err)")
    }

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

    /// A well-formed duration past the limit is told the limit, not the format; any 64-bit seed is taken.
    @Test func durationsPastTheLimitNameItAndEverySeedIsTaken() {
        let long = runTally(["token", "--role", "ingest", "--ttl", "3651d"])
        #expect(long.code == .usage)
        #expect(long.err.contains("--ttl must be at most 3650 days, got \"3651d\""), "\(long.err)")
        let hours = runTally(["serve", "--backdate-limit", "8000h"])
        #expect(hours.err.contains("--backdate-limit must be at most 330 days"), "\(hours.err)")
        let malformed = runTally(["token", "--role", "ingest", "--ttl", "0s"])
        #expect(malformed.err.contains("must be a positive whole number with a unit, like 90s"), "\(malformed.err)")
        for seed in ["0", "18446744073709551615"] {
            let generated = runTally(["generate", "--tenants", "1", "--events", "1", "--seed", seed])
            #expect(generated.code == .ok, "\(generated.err)")
            #expect(generated.out.contains("\"id\":\"gen-\(seed)-1\""))
        }
        let negative = runTally(["generate", "--seed", "-1"])
        #expect(negative.code == .usage)
        #expect(negative.err.contains("--seed must be a whole number from 0 to 18446744073709551615"))
    }

    /// `tally --version` names the store formats this build writes and reads.
    @Test func theVersionNamesTheStoreFormats() {
        for arguments in [["--version"], ["version"]] {
            let result = runTally(arguments)
            #expect(result.code == .ok)
            #expect(
                result.out == "tally: segment format 2 (reads 1-2), projection version \(Engine.projectionVersion)\n")
        }
        #expect(runTally(["--version", "x"]).code == .usage)
    }

    @Test func everyCommandHasHelp() {
        for command in ["import", "verify", "dump", "stats", "key-stats", "replay"] {
            let result = runTally([command, "--help"])
            #expect(result.code == .ok)
            #expect(result.out.contains("Usage: tally \(command)"))
            #expect(result.out.contains("--data DIR"))
            #expect(result.out.contains("Exit codes"))
        }
        #expect(runTally(["--help"]).out.contains("Commands:"))
        #expect(runTally(["help", "dump"]).out.contains("--from-offset"))
        let serve = runTally(["serve", "--help"]).out
        for option in [
            "--header-timeout SECONDS", "--body-timeout SECONDS", "--idle-timeout SECONDS", "--max-connections N",
        ] {
            #expect(serve.contains(option))
        }
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
        #expect(clean.out.contains("copied 30 records in 3 frames from 1 segments"))

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
        #expect(damaged.out.contains("copied 20 records in 2 frames"))
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
            runTally(["salvage", "--data", directory.path, "--out", out.appending("salvaged")]).code == .failure,
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

    /// A secret shorter than 16 bytes is refused wherever it comes from (a file named by the option, the
    /// store's own file, the environment), with exit 1 and where it came from; no token is minted with it.
    @Test func aShortSecretIsRefusedWhereverItComesFrom() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("secret")
        try StoreTestSupport.write(Array("short\n".utf8), to: file)
        let named = runTally(["token", "--role", "ingest", "--jwt-secret-file", file])
        #expect(named.code == .failure && named.out.isEmpty)
        #expect(named.err.contains("\(file): the secret must be at least 16 bytes"), "\(named.err)")
        let store = directory.appending("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        try StoreTestSupport.write(Array("0123456789abcde".utf8), to: store + "/jwt-secret")
        let stored = runTally(["token", "--role", "ingest", "--data", store])
        #expect(stored.code == .failure && stored.out.isEmpty)
        #expect(stored.err.contains("\(store)/jwt-secret: the secret must be at least 16 bytes"), "\(stored.err)")
        try StoreTestSupport.write(Array("0123456789abcdef".utf8), to: store + "/jwt-secret")
        #expect(runTally(["token", "--role", "ingest", "--data", store]).code == .ok, "16 bytes is enough")
        let folder = runTally(["token", "--role", "ingest", "--jwt-secret-file", directory.path])
        #expect(
            folder.code == .failure && folder.err.contains("cannot read \(directory.path): Is a directory"),
            "\(folder.err)")

        let (status, message) = try Self.launch(
            ["token", "--role", "ingest", "--data", store], environment: ["TALLY_JWT_SECRET": "too-short"])
        #expect(status == 1 && message.contains("TALLY_JWT_SECRET must be at least 16 bytes"), "\(message)")
    }

    /// A store's `jwt-secret` that is a link to nowhere is named as such, by `token` and `serve` alike, rather
    /// than failing to create a secret where a name already is.
    @Test func aDanglingSecretLinkIsNamed() throws {
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        #expect(symlink(directory.appending("gone"), store + "/jwt-secret") == 0)
        for command in [["token", "--role", "ingest"], ["serve", "--port", "0"]] {
            let result = runTally(command + ["--data", store])
            #expect(result.code == .failure, "\(command): \(result)")
            #expect(
                result.err.contains("\(store)/jwt-secret is a symbolic link to a file that does not exist"),
                "\(command): \(result.err)")
        }
        // A link that loops cannot be read: it is named as such, not as missing, and salvage will not leave
        // it behind unsaid (its copy would start with a new secret, and every token would stop working).
        #expect(unlink(store + "/jwt-secret") == 0 && symlink(store + "/jwt-secret", store + "/jwt-secret") == 0)
        _ = runTally(["import", "--data", store, "-"], input: "")
        let looped = runTally(["token", "--role", "ingest", "--data", store])
        #expect(
            looped.code == .failure
                && looped.err.contains("cannot read \(store)/jwt-secret: Too many levels of symbolic links"),
            "\(looped.err)")
        let salvaged = runTally(["salvage", "--data", store, "--out", directory.appending("copy")])
        #expect(
            salvaged.code == .failure && salvaged.err.contains("cannot read \(store)/jwt-secret"), "\(salvaged.err)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("copy")))
    }

    /// Roles outside the server's set are refused by name.
    @Test func tokenRefusesRolesTheServerDoesNotKnow() {
        let result = runTally(["token", "--role", "admin", "--jwt-secret-file", "/dev/null"])
        #expect(result.code == .usage)
        #expect(result.err.contains("unknown role admin (expected one of: super_admin, tenant_admin, member, ingest)"))
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

    /// However many tenants a short span holds, no generated event lies in the future, and the stream
    /// imports with nothing rejected.
    @Test func generateKeepsEveryTimeInThePastForManyTenants() throws {
        let generated = runTally(["generate", "--tenants", "600", "--events", "200", "--days", "1", "--seed", "4"])
        #expect(generated.code == .ok)
        let now = Timestamp.now()
        var latest = Timestamp(microseconds: .min)
        for line in generated.out.split(separator: "\n") {
            guard case .object(let object) = try JSONParser().parse(Array(line.utf8)),
                case .string(let text)? = object["time"]
            else {
                Issue.record("no time in \(line)")
                continue
            }
            latest = max(latest, try Timestamp(rfc3339: text))
        }
        #expect(latest <= now)
        let directory = TemporaryDirectory()
        let imported = runTally(["import", "--data", directory.path, "-"], input: generated.out)
        #expect(imported.code == .ok, "\(imported.err.prefix(300))")
        #expect(imported.out.contains("rejected 0 of"))
    }

    /// The real executable: exit codes and the default store location.
    @Test func theExecutableExitsWithDocumentedCodes() throws {
        let binary = try #require(Self.executable(), "tally executable not found next to the tests")
        let directory = TemporaryDirectory()
        func launch(_ arguments: [String], stdin: String? = nil) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            if let stdin { pipe.fileHandleForWriting.write(Data(stdin.utf8)) }
            try pipe.fileHandleForWriting.close()
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(try launch(["import", "-"], stdin: event("a")) == 0)
        #expect(
            FileManager.default.fileExists(atPath: directory.appending("data/store/segments")),
            "default store is data/store")
        #expect(try launch(["import", "-"], stdin: "garbage") == 1)
        #expect(try launch(["dump", "--what"]) == 2)
        #expect(try launch(["verify"]) == 0)
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.appending("data/store")).first)
        var bytes = try StoreTestSupport.bytes(segment)
        bytes[5] ^= 1
        try StoreTestSupport.write(bytes, to: segment)
        #expect(try launch(["verify"]) == 3)
        // Output that cannot be written is a failure, not a success with nothing in the file.
        let full = Process()
        full.executableURL = URL(fileURLWithPath: binary)
        full.arguments = ["generate", "--events", "10"]
        let devFull = FileHandle(forWritingAtPath: "/dev/full")
        #expect(devFull != nil, "/dev/full is missing")
        full.standardOutput = devFull
        let errors = Pipe()
        full.standardError = errors
        try full.run()
        full.waitUntilExit()
        #expect(full.terminationStatus == 1)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("cannot write to standard output"))
    }

    /// `tally import -` started with standard input closed (`<&-`, as cron or a service manager may)
    /// fails at once, naming it, instead of waiting forever on whatever took descriptor 0; no store is made.
    @Test func importFromAClosedStandardInputFailsInsteadOfHanging() throws {
        let binary = try #require(Self.executable(), "tally executable not found next to the tests")
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec \"$0\" import --data \"$1\" - <&-", binary, store]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        if finished.wait(timeout: .now() + 20) == .timedOut {
            process.terminate()
            Issue.record("tally import - with standard input closed did not finish")
            return
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 1)
        #expect(message.contains("standard input is closed"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: store))
    }

    /// Runs the real executable to its end.
    /// - Parameters:
    ///   - arguments: The command line after `tally`.
    ///   - environment: The whole environment it gets (`nil`: this process's).
    /// - Returns: Its exit status and what it wrote to standard error.
    static func launch(_ arguments: [String], environment: [String: String]? = nil) throws -> (
        status: Int32, errors: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(executable(), "tally executable not found"))
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, message)
    }

    static func executable() -> String? {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [besideTests.appendingPathComponent("tally").path]
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        candidates.append(root.appendingPathComponent(".build/debug/tally").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
