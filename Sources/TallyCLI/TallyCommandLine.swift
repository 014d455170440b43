import Glibc
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
            text += "  \(command.spec.name)" + String(repeating: " ", count: width - command.spec.name.count + 2)
                + command.spec.summary + "\n"
        }
        text += """

            Run `tally COMMAND --help` for a command's options.
            Exit codes: 0 ok, 1 failure, 2 usage error, 3 damaged store.

            """
        return text
    }

    /// Runs the process's command line and exits.
    public static func main() -> Never {
        let io = CommandIO.process()
        let code = run(Array(CommandLine.arguments.dropFirst()), io: io)
        io.flush()
        exit(code.rawValue)
    }

    /// Runs one command line.
    /// - Parameters:
    ///   - arguments: The arguments after the program name.
    ///   - io: Where output goes.
    /// - Returns: The exit code.
    public static func run(_ arguments: [String], io: CommandIO) -> ExitCode {
        guard let name = arguments.first, name != "--help", name != "-h", name != "help" || arguments.count == 1 else {
            if arguments.count == 2, arguments[0] == "help", let command = commands.first(where: { $0.spec.name == arguments[1] }) {
                io.writeOut(Array(command.spec.helpText.utf8))
                return .ok
            }
            io.writeOut(Array(helpText.utf8))
            return arguments.isEmpty ? .usage : .ok
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
        } catch let error as UsageError {
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
