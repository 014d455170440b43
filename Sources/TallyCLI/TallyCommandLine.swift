import Glibc
import TallyEngine
import TallyStorage

/// The `tally` command line: dispatches to subcommands and maps errors to exit codes.
public enum TallyCommandLine {
    /// Every subcommand, in the order `tally --help` lists them.
    static let commands: [(spec: CommandSpec, run: @Sendable (ParsedArguments, CommandIO) throws -> ExitCode)] = [
        (ServeCommand.spec, ServeCommand.run),
        (TokenCommand.spec, TokenCommand.run),
        (ImportCommand.spec, ImportCommand.run),
        (GenerateCommand.spec, GenerateCommand.run),
        (VerifyCommand.spec, VerifyCommand.run),
        (DumpCommand.spec, DumpCommand.run),
        (StatsCommand.spec, StatsCommand.run),
        (StatsCommand.keySpec, StatsCommand.runKeys),
        (ReplayCommand.spec, ReplayCommand.run),
        (SalvageCommand.spec, SalvageCommand.run),
    ]

    /// The top-level help.
    static var helpText: String {
        var text = """
            tally: an event-sourced usage metering engine.

            Usage: tally COMMAND [options]

            Commands:

            """
        let width = commands.map(\.spec.name.count).max() ?? 0
        for command in commands {
            text +=
                "  \(command.spec.name)" + String(repeating: " ", count: width - command.spec.name.count + 2)
                + command.spec.summary + "\n"
        }
        text += """

            Run `tally COMMAND --help` for a command's options, `tally --version` for the store formats.
            Exit codes: 0 ok, 1 failure, 2 usage error, 3 damaged store, 130 import stopped by SIGINT or SIGTERM
            (serve stops cleanly with 0, or at once with 128 + N on a second signal; the other commands end by
            the signal, which a shell reports as 128 + N).

            """
        return text
    }

    /// What `tally --version` prints: the versions of the formats a store is written in, which decide what
    /// this build reads (the log) and what it rebuilds (checkpoints of another projection version).
    static var versionText: String {
        "tally: segment format \(SegmentFormat.version) (reads \(SegmentFormat.readableVersions.lowerBound)-\(SegmentFormat.readableVersions.upperBound)), projection version \(Engine.projectionVersion)"
    }

    /// Runs the process's command line and exits.
    public static func main() -> Never {
        // A closed pipe is a write error the command reports (exit 1), not a signal that kills it.
        signal(SIGPIPE, SIG_IGN)
        // A file-size limit (`ulimit -f`, systemd's `LimitFSIZE=`) is a write that fails with EFBIG, reported
        // as any failed write is (the server goes read-only and says why), not a signal that kills silently.
        signal(SIGXFSZ, SIG_IGN)
        let io = CommandIO.process()
        var code = run(Array(CommandLine.arguments.dropFirst()), io: io)
        io.flush()
        if let failure = io.outputFailure {
            // `tally dump > backup.ndjson` on a full disk must not look like it worked. A reader that
            // stopped early (`tally dump | head`) closed the pipe on purpose: no message, but no success.
            if failure.code != EPIPE {
                io.printError("tally: cannot write to standard output: \(failure.reason); the output is incomplete")
            }
            if code == .ok { code = .failure }
        }
        exit(code.rawValue)
    }

    /// Runs one command line.
    /// - Parameters:
    ///   - arguments: The arguments after the program name.
    ///   - io: Where output goes.
    /// - Returns: The exit code.
    public static func run(_ arguments: [String], io: CommandIO) -> ExitCode {
        guard let name = arguments.first else {
            // A usage error: the help goes where errors go, so `tally > file` does not look like output.
            io.printError("tally: no command given\n\n" + helpText.dropLast())
            return .usage
        }
        if name == "--version" || name == "version" {
            guard arguments.count == 1 else {
                io.printError("tally: \(name) takes no arguments; run `tally --help` for the list")
                return .usage
            }
            io.print(versionText)
            return .ok
        }
        if ["--help", "-h", "help"].contains(name) {
            // `tally help`, `tally help COMMAND`; `tally help --help` is the help too.
            let rest = Array(arguments.dropFirst())
            if rest.isEmpty || (name == "help" && rest.count == 1 && ["--help", "-h"].contains(rest[0])) {
                io.writeOut(Array(helpText.utf8))
                return .ok
            }
            guard name == "help" else {
                io.printError(
                    "tally \(name): takes no arguments (got \(ShellCommand.quoted(rest[0]))); run `tally help COMMAND` for a command's help"
                )
                return .usage
            }
            guard rest.count == 1 else {
                io.printError(
                    "tally help: takes one command (got \(rest.count) arguments); run `tally --help` for the list")
                return .usage
            }
            guard let command = commands.first(where: { $0.spec.name == rest[0] }) else {
                io.printError("tally help: no command \(ShellCommand.quoted(rest[0])); run `tally --help` for the list")
                return .usage
            }
            io.writeOut(Array(command.spec.helpText.utf8))
            return .ok
        }
        guard let command = commands.first(where: { $0.spec.name == name }) else {
            io.printError("tally: unknown command \"\(name)\"; run `tally --help` for the list")
            return .usage
        }
        do {
            let parsed = try ParsedArguments(Array(arguments.dropFirst()), spec: command.spec)
            if parsed.wantsHelp {
                io.writeOut(Array(command.spec.helpText.utf8))
                return .ok
            }
            return try command.run(parsed, io)
        } catch var error as UsageError {
            // A shared option's check (such as --data's) names no command: this one's help is the one to read.
            error.command = error.command ?? name
            io.printError("tally \(name): \(error)")
            return .usage
        } catch let error as StorageError {
            io.printError("tally \(name): \(error.message)")
            return error.code == .corrupt ? .damagedStore : .failure
        } catch {
            io.printError("tally \(name): \(error)")
            return .failure
        }
    }
}
