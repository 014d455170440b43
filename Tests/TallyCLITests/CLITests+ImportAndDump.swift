import Foundation
import TallyCore
import TallyTestSupport
import Testing

extension CLITests {
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

    /// An import that stored events older than the dedup window says how many, since no later import
    /// remembers them: the second import of the same input stores exactly those again, and says so too.
    @Test func importSaysHowManyEventsAreOlderThanTheWindow() throws {
        let directory = TemporaryDirectory()
        let now = Timestamp.now().microseconds
        let day: Int64 = 86_400_000_000
        let lines = [(1, "recent"), (40, "old"), (60, "older")].map { days, id in
            let time = Timestamp(microseconds: now - Int64(days) * day).rfc3339(fractionDigits: 0)
            return
                #"{"id":"\#(id)","type":"api.call","tenantId":"\#(Self.tenant)","time":"\#(time)","data":{"keyId":"k","status":200}}"#
        }
        // Older than the window by less than the rest of its hour: the dedup index keeps ids to the hour, so
        // this one is still remembered, and not counted among those a later import would store again.
        let hour: Int64 = 3_600_000_000
        let edge = Timestamp(microseconds: (now - 35 * day) / hour * hour + 1_000_000).rfc3339(fractionDigits: 0)
        let edgeLine =
            #"{"id":"edge","type":"api.call","tenantId":"\#(Self.tenant)","time":"\#(edge)","data":{"keyId":"k","status":200}}"#
        let input = (lines + [edgeLine]).joined(separator: "\n") + "\n"
        let first = runTally(["import", "--data", directory.path, "-"], input: input)
        #expect(first.code == .ok, "\(first)")
        #expect(
            first.err.contains(
                "tally import: 2 of the 4 events imported are older than the dedup window (35 days): no later import remembers them"
            ), "\(first.err)")
        let second = runTally(["import", "--data", directory.path, "-"], input: input)
        #expect(second.out.contains("imported 2 events (offsets 4-5); 2 duplicates;"), "\(second.out)")
        #expect(
            second.err.contains("tally import: all 2 events imported are older than the dedup window"), "\(second.err)")
        // Nothing old, nothing said.
        let fresh = TemporaryDirectory()
        let recent = runTally(["import", "--data", fresh.path, "-"], input: lines[0] + "\n")
        #expect(recent.code == .ok && !recent.err.contains("older than the dedup window"), "\(recent)")
    }

    /// A gzip file or a JSON array given to import is told what it is and how to import it, on its first
    /// line, instead of only failing to parse.
    @Test func anInputThatIsNoNDJSONIsToldWhatItIs() throws {
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        let events = [event("a1", time: "2026-11-02T10:00:00Z"), event("a2", time: "2026-11-02T10:00:01Z")]
        let compressed = directory.appending("events.ndjson.gz")
        try StoreTestSupport.write(
            DeflateTestEncoder.gzip(Array((events.joined(separator: "\n") + "\n").utf8)), to: compressed)
        let gzip = runTally(["import", "--data", store, compressed])
        #expect(gzip.code == .failure)
        #expect(
            gzip.err.contains(
                "line 1: the input is gzip-compressed (it starts with gzip's bytes 1f 8b), and import reads NDJSON text: decompress it first (`gzip -dc \(compressed) | "
            ), "\(gzip.err)")
        for array in ["[" + events.joined(separator: ",") + "]", "[\n" + events.joined(separator: ",\n") + "\n]"] {
            let refused = runTally(["import", "--data", store, "-"], input: array + "\n")
            #expect(refused.code == .failure)
            #expect(
                refused.err.contains(
                    "line 1: a JSON array, and import reads NDJSON, one event per line: convert it first (`jq -c '.[]' the input | "
                ), "\(refused.err)")
        }
        // Any other first line is judged as an event.
        let plain = runTally(["import", "--data", store, "-"], input: "{\n")
        #expect(plain.err.contains("line 1: invalid JSON"), "\(plain.err)")
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
        // Times are kept to the microsecond: a bound with finer digits keeps FROM <= time < TO exact by moving
        // up to the next microsecond, whichever bound it is.
        #expect(ids(["--from", "2026-11-01T23:59:59.9999991Z", "--to", "2026-11-02T00:00:00.0000001Z"]) == ["b"])
        #expect(ids(["--from", "2026-11-02T00:00:00.0000001Z", "--to", "2026-11-04T00:00:00Z"]) == ["c"])
        #expect(ids(["--from", "2026-11-03T00:00:00Z", "--to", "2026-11-03T00:00:00.0000001Z"]) == ["c"])
        #expect(ids(["--from-offset", "1", "--to-offset", "3"]) == ["b", "c"])
        #expect(ids(["--tenant", Self.tenant, "--from-offset", "2"]) == ["c", "d", "e"])
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

    /// A file-size limit (`ulimit -f`) fails the write (EFBIG) instead of killing the process with SIGXFSZ,
    /// and an import whose store failed stops reading its input there: it reports what it has, and the
    /// command to import the rest from the first line not stored; every event it imported stays.
    @Test func aFileSizeLimitFailsTheImportWithAResumePointInsteadOfKillingIt() throws {
        let binary = try #require(Self.executable(), "tally executable not found next to the tests")
        let directory = TemporaryDirectory()
        let input = directory.appending("events.ndjson")
        // About 740 KB of log, against a limit of 256 KB (512 blocks of 512 bytes).
        let lines = (0..<12_000).map {
            event("e\($0)", data: #"{"keyId":"key-\#($0 % 50)","status":200,"bytes":\#($0)}"#)
        }
        try StoreTestSupport.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: input)
        let store = directory.appending("store")
        // Spawned with SIGXFSZ at its default action (this test process may ignore it, and ignored signals
        // are inherited), as a service manager starts the server.
        let (status, signal) = try Self.spawnWithDefaultSignals(
            "/bin/sh",
            [
                "sh", "-c", #"ulimit -f 512 && exec "$0" import --data "$1" --batch-size 500 "$2" >"$3" 2>"$4""#,
                binary, store, input, directory.appending("out"), directory.appending("err"),
            ])
        let message = String(decoding: try StoreTestSupport.bytes(directory.appending("err")), as: UTF8.self)
        let printed = String(decoding: try StoreTestSupport.bytes(directory.appending("out")), as: UTF8.self)
        #expect(signal == nil, "killed by signal \(signal ?? 0)")
        #expect(status == 1)
        #expect(message.contains("File too large"), "\(message.suffix(600))")
        let resume = try #require(
            message.firstMatch(of: #/import again from line (\d+) /#).flatMap { Int($0.1) }, "\(message.suffix(600))")
        let summary = try #require(
            printed.firstMatch(of: #/imported (\d+) events/#).flatMap { Int($0.1) }, "\(printed)")
        #expect(resume == summary + 1, "\(printed) \(message.suffix(600))")
        #expect(message.contains("the input was not read from line"), "\(message.suffix(600))")
        #expect(
            message.components(separatedBy: "\n").filter { $0.contains(": not stored: ") }.count < 2_000,
            "the lines after the failure are not each reported")
        // What was imported is there, and the rest imports from the line named.
        let rest = lines[(resume - 1)...].joined(separator: "\n")
        let resumed = runTally(["import", "--data", store, "-"], input: rest)
        #expect(resumed.code == .ok, "\(resumed.err.prefix(300))")
        #expect(runTally(["dump", "--data", store]).out.split(separator: "\n").count == 12_000)
    }

    /// Runs `path` with `arguments` (the first being its name) to its end, every signal at its default action,
    /// whatever this process ignores.
    /// - Returns: Its exit status, or the signal that ended it.
    static func spawnWithDefaultSignals(_ path: String, _ arguments: [String]) throws -> (
        status: Int32?, signal: Int32?
    ) {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        var child: pid_t = 0
        let started = posix_spawn(&child, path, nil, &attributes, &pointers, environ)
        guard started == 0 else { throw LoopbackClient.ClientError(message: "posix_spawn failed: \(started)") }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import.
        let signal = status & 0x7F
        return signal == 0 ? ((status >> 8) & 0xFF, nil) : (nil, signal)
    }
}
