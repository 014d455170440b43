import Glibc
import TallyEngine
import TallyStorage

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
    /// - Throws: ``UsageError`` for an empty `--data` (which would put the store at the root).
    static func directory(_ arguments: ParsedArguments) throws(UsageError) -> String {
        guard let given = arguments.value("data") else { return defaultDirectory }
        guard !given.isEmpty else { throw UsageError("--data must name a directory, got an empty value", command: nil) }
        return given
    }

    /// The store directory for a command that opens it for writing and creates it when missing.
    /// - Throws: ``UsageError`` as ``directory(_:)``; ``StorageError`` (`invalidArgument`, exit 1) when the
    ///   path names something other than a directory.
    static func storeToWrite(_ arguments: ParsedArguments) throws -> String {
        let directory = try directory(arguments)
        var status = stat()
        if stat(directory, &status) == 0, status.st_mode & S_IFMT != S_IFDIR {
            throw StorageError(
                .invalidArgument,
                "cannot keep a store at \(directory): it is a file, not a directory; pass --data with a directory (new or holding a store)",
                path: directory)
        }
        // A store that cannot be looked into is not a missing one: never start a new log inside it.
        for path in [directory, directory + "/segments"] where stat(path, &status) != 0 {
            let code = errno
            if code != ENOENT && code != ENOTDIR { throw unreadable(directory, code) }
        }
        try refuseLostLog(directory)
        try refuseSegmentsFile(directory)
        return directory
    }

    /// Throws when `segments` is there but is not a directory: no log can be read from or added to it.
    private static func refuseSegmentsFile(_ directory: String) throws {
        var status = stat()
        guard stat(directory + "/segments", &status) == 0, status.st_mode & S_IFMT != S_IFDIR else { return }
        throw StorageError(
            .invalidArgument,
            "no store at \(directory): its segments/ is a file, not a directory; move the file away, or pass --data with another directory",
            path: directory + "/segments")
    }

    /// Throws when the store has checkpoints of events but no `segments/` directory: it lost its log, and
    /// neither a read nor a new, empty log may pass for it. Goes by the checkpoints' file names, so a
    /// damaged or outdated checkpoint counts too.
    private static func refuseLostLog(_ directory: String) throws {
        var status = stat()
        // A file named `segments` is no log either.
        guard stat(directory + "/segments", &status) != 0 || status.st_mode & S_IFMT != S_IFDIR else { return }
        let offsets: [UInt64]
        do {
            offsets = try Engine.checkpointOffsets(directory: directory)
        } catch {
            // Checkpoints that cannot be listed may cover events: never start an empty log beside them.
            throw StorageError(
                .io,
                "the store at \(directory) has no segments/ directory and its checkpoints/ cannot be listed (\(error)); make checkpoints/ a readable directory first",
                path: directory + "/checkpoints")
        }
        guard let offset = offsets.first, offset > 0 else { return }
        throw StorageError(
            .corrupt,
            "the store at \(directory) has no segments/ directory, yet a checkpoint covers \(offset) events: acknowledged log data is missing; restore segments/ from a backup",
            path: directory)
    }

    /// The store directory for a command that reads or rebuilds an existing store (it never creates one).
    /// - Throws: ``UsageError`` as ``directory(_:)``; ``StorageError`` (`invalidArgument`, exit 1) when the
    ///   directory holds no store.
    static func existingStore(_ arguments: ParsedArguments) throws -> String {
        let directory = try directory(arguments)
        var status = stat()
        guard stat(directory, &status) == 0 else {
            let code = errno
            guard code == ENOENT || code == ENOTDIR else { throw unreadable(directory, code) }
            throw StorageError(
                .invalidArgument,
                code == ENOTDIR
                    ? "no store at \(directory): a file stands where its path needs a directory"
                    : "no store at \(directory): the directory does not exist\(relativeHint(directory))",
                path: directory)
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw StorageError(
                .invalidArgument, "no store at \(directory): it is a file, not a directory", path: directory)
        }
        let segmentsFound = stat(directory + "/segments", &status) == 0
        let lookup = errno
        if !segmentsFound && lookup != ENOENT && lookup != ENOTDIR { throw unreadable(directory, lookup) }
        guard segmentsFound, status.st_mode & S_IFMT == S_IFDIR else {
            // Checkpoints without a log are a store that lost its log, not a directory holding none.
            try refuseLostLog(directory)
            try refuseSegmentsFile(directory)
            throw StorageError(
                .invalidArgument, "no store at \(directory): it has no segments/ directory", path: directory)
        }
        return directory
    }

    /// The error for a store that is there but cannot be looked into (`EACCES`, say): not "no store".
    private static func unreadable(_ directory: String, _ code: Int32) -> StorageError {
        StorageError(
            .io,
            "cannot read the store at \(directory): \(String(cString: strerror(code))); fix its permissions or path, or pass --data with another store",
            path: directory)
    }

    /// For a relative store path that is missing: where it was looked for, and how to point elsewhere.
    static func relativeHint(_ directory: String) -> String {
        guard !directory.hasPrefix("/"), let here = currentDirectory() else { return "" }
        return
            " (\(directory) is relative to the current directory, \(here): run from the directory that holds it, or give the store's absolute path with --data)"
    }

    /// The current directory, or `nil` when it cannot be read.
    static func currentDirectory() -> String? {
        guard let path = getcwd(nil, 0) else { return nil }
        defer { free(path) }
        return String(cString: path)
    }

    /// The shared `--data` option.
    static let option = CommandSpec.Option(
        name: "data", valueName: "DIR",
        help: "The store directory (default: $TALLY_DATA or data/store).")
}
