/// The process exit codes every `tally` command uses.
public enum ExitCode: Int32, Sendable {
    /// Success.
    case ok = 0
    /// The command failed: an I/O error, a locked store, rejected input lines.
    case failure = 1
    /// The command was invoked wrongly: unknown option, missing argument.
    case usage = 2
    /// The store is damaged (anything but a torn tail); run `tally verify`.
    case damagedStore = 3
    /// A long-running command stopped early by SIGINT or SIGTERM, after reporting what it did (128 + SIGINT,
    /// as shells report an interrupted command).
    case interrupted = 130
}
