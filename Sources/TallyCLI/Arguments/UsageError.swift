/// A mistake in how a command was invoked; exits with ``ExitCode/usage``.
struct UsageError: Error, Sendable, CustomStringConvertible {
    var message: String
    var command: String?

    init(_ message: String, command: String? = nil) {
        self.message = message
        self.command = command
    }

    var description: String {
        let hint = command.map { "run `tally \($0) --help` for usage" } ?? "run `tally --help` for usage"
        return "\(message); \(hint)"
    }
}
