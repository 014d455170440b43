import Glibc

/// Where the store lives when `--data` is not given.
enum StoreLocation {
    /// The default store: `$TALLY_DATA` if set, else `data/store` under the current directory (the
    /// repository's git-ignored store).
    static var defaultDirectory: String {
        if let value = getenv("TALLY_DATA"), let text = String(validatingCString: value), !text.isEmpty {
            return text
        }
        return "data/store"
    }

    /// The store directory for a command's arguments.
    static func directory(_ arguments: ParsedArguments) -> String {
        arguments.value("data") ?? defaultDirectory
    }

    /// The shared `--data` option.
    static let option = CommandSpec.Option(name: "data", valueName: "DIR",
                                           help: "The store directory (default: $TALLY_DATA or data/store).")
}
