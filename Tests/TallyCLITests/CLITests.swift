import Foundation
import TallyEngine
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
        // The argument an option took as its value is named: `--batch-size` swallowed the file.
        (
            ["import", "--batch-size", "in.ndjson"],
            #"expected 1 argument(s), got 0; --batch-size took the last argument, "in.ndjson", as its N"#
        ),
        (["serve", "--port", "99999"], #"--port must be 0-65535, got "99999""#),
        (["serve", "--scrub-interval", "never"], #"like 90s, 30m, 12h or 7d (or off), got "never""#),
        (["dump", "--from", "monday"], #"--from: must be RFC 3339, such as 2025-07-10T14:30:00Z, got "monday""#),
        (["replay", "--until", "1", "--tenant", "xyz"], #"--tenant must be a UUID, got "xyz""#),
        (["token", "--role", "ingest", "--tenant", "xyz"], #"--tenant must be a UUID, got "xyz""#),
        (["replay", "--until", "yesterday"], "an RFC 3339 time, such as 2025-07-10T14:30:00Z, or an offset"),
        // An offset is plain digits, as every number the commands take; one past the largest is told the limit.
        (["replay", "--until", "+5"], #"or an offset: "#),
        // A time that is almost one says what is wrong with it.
        (
            ["replay", "--until", "2026-13-01T00:00:00Z"],
            #"or an offset: month must be 01-12, got "2026-13-01T00:00:00Z""#
        ),
        (["replay", "--until", "18446744073709551616"], #"--until: an offset is at most 18446744073709551615"#),
        (["dump", "--from-offset", "18446744073709551616"], #"--from-offset must be at most 18446744073709551615"#),
        (["dump", "--to-offset", "-1"], #"--to-offset must be an offset (a whole number from 0), got "-1""#),
        (
            ["serve", "--body-timeout", "99999999999999999999"],
            #"--body-timeout must be at most 86400, got "99999999999999999999""#
        ),
        (["serve", "--body-timeout", "+5"], #"--body-timeout must be a whole number from 1 to 86400, got "+5""#),
        (["generate", "--tenants", "9999999999999999999"], #"--tenants must be at most 10000000"#),
        (["generate", "--tenants", "10000001"], #"--tenants must be at most 10000000, got "10000001""#),
        (["serve", "--event-loops", "99999999999999999999"], #"--event-loops must be at most 256 (one per core"#),
        (
            ["serve", "--event-loops", "257"],
            #"--event-loops must be at most 256 (one per core is the default), got "257""#
        ),
        (["serve", "--max-body-bytes", "99999999999999999999"], "--max-body-bytes must be at most 33554432 (32 MiB)"),
        (["serve", "--scrub-rate", "1048577"], "--scrub-rate must be at most 1048576 (MiB per second)"),
        (["generate", "--days", "36501"], "--days must be at most 36500 (100 years)"),
        (["serve", "--data", "-h"], "--data needs a value (DIR), got the option -h"),
        (["token", "--role", "ingest", "--ttl", "99999999999999999999d"], #"--ttl must be at most 3650 days"#),
        // A value option followed by another option forgot its value: the option is not taken for it.
        (
            ["import", "--data", "--batch-size", "10", "events.ndjson"],
            "--data needs a value (DIR), got the option --batch-size; a value that starts with -- (or is -h) is given as --data=VALUE"
        ),
        (["generate", "--seed", "--tenants", "3"], "--seed needs a value (S), got the option --tenants"),
        (["dump", "--type", "key.created,"], #"--type: an empty item in "key.created,""#),
        (["token", "--role", ""], #"unknown role "" (expected"#),
        ([], "tally: no command given"),
        (["--help", "extra"], "tally --help: takes no arguments (got extra)"),
        (["help", "dump", "extra"], "tally help: takes one command (got 2 arguments)"),
        (["help", "dump extra"], "tally help: no command 'dump extra'"),
        (["salvage", "--out", ""], "--out must name a directory, got an empty value"),
        (
            ["token", "--role", "ingest", "--jwt-secret-file", ""],
            "--jwt-secret-file must name a file, got an empty value"
        ),
        (["dump", "--from-offset", "3", "--to-offset", "3"], "--from-offset 3 is not below --to-offset 3"),
        (
            ["dump", "--to-offset", "0"],
            "--to-offset 0 selects nothing (FROM <= offset < TO, and --from-offset is 0 when not given)"
        ),
    ])
    func usageErrorsNameWhatTheyRefuse(arguments: [String], message: String) {
        let result = runTally(arguments)
        #expect(result.code == .usage)
        #expect(result.err.contains(message), "\(result.err)")
    }

    /// A well-formed duration past the limit is told the limit, not the format; any 64-bit seed is taken.
    @Test func durationsPastTheLimitNameItAndEverySeedIsTaken() throws {
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
            #expect(generated.out.contains(try Regex("\"id\":\"gen-\(seed)-[0-9a-f]{8}-1\"")))
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
        for arguments in [["help", "--help"], ["help", "-h"], ["-h"]] {
            let help = runTally(arguments)
            #expect(help.code == .ok && help.out.contains("Commands:"), "\(arguments)")
        }
        // No command at all is a usage error: its help goes to standard error, not into `> file`.
        let bare = runTally([])
        #expect(bare.code == .usage && bare.out.isEmpty && bare.err.contains("Commands:"))
        let serve = runTally(["serve", "--help"]).out
        for option in [
            "--header-timeout SECONDS", "--body-timeout SECONDS", "--idle-timeout SECONDS", "--max-connections N",
        ] {
            #expect(serve.contains(option))
        }
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
        // Output that cannot be written is a failure, not a success with nothing in the file; the first failed
        // write ends the run (a stream of 2^63 events would otherwise be made to the end, unwritten).
        let full = Process()
        full.executableURL = URL(fileURLWithPath: binary)
        full.arguments = ["generate", "--events", "9223372036854775807"]
        let devFull = FileHandle(forWritingAtPath: "/dev/full")
        #expect(devFull != nil, "/dev/full is missing")
        full.standardOutput = devFull
        let errors = Pipe()
        full.standardError = errors
        try full.run()
        // A hang guard, not a timing: without the stop it runs for centuries.
        if !Polling.until(seconds: 120, { !full.isRunning }) {
            full.terminate()
            Issue.record("generate went on after its output failed")
        }
        full.waitUntilExit()
        #expect(full.terminationStatus == 1)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("cannot write to standard output"))
    }

    /// Runs the `tally` executable to its end with `environment` in place of this process's (`nil`: this
    /// process's), for what ``runTally(_:input:)`` cannot give: a real exit status and environment variables.
    /// Spawned through ``ChildProcess``, not Foundation's `Process`, which now and then crashes the test run.
    /// - Returns: The exit status (the signal's number when one ended it), standard error and standard output.
    static func launch(_ arguments: [String], environment: [String: String]? = nil) throws -> (
        status: Int32, errors: String, output: String
    ) {
        let binary = try #require(executable(), "tally executable not found")
        let outcome = try ChildProcess.run(binary, arguments, environment: environment)
        return (
            outcome.exitStatus ?? outcome.signal ?? -1, String(decoding: outcome.errors, as: UTF8.self),
            String(decoding: outcome.output, as: UTF8.self)
        )
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
