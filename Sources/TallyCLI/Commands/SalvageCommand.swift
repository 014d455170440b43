import Glibc
import TallyEngine
import TallyStorage

/// `tally salvage`: copies every valid frame of a damaged store into a new store.
struct SalvageCommand {
    static let spec = CommandSpec(
        name: "salvage",
        summary: "Copy every valid frame of a damaged store into a new store and report what could not be copied.",
        usage: "--out DIR [options]",
        details: """
            Reads the store given by --data without changing it (no lock, no truncation). Each segment is read
            frame by frame; after a damaged frame the search resumes at the next frame whose checksum holds.
            Records keep their order but get new, dense offsets in the new store. Checkpoints are not copied:
            the new store's projections are rebuilt from its log when it is first opened (or by
            `tally replay --data DIR`). The JWT secret file is copied when the store has one.

            The new store is written to a sibling directory (DIR.partial-N) and renamed to DIR once it is
            complete and synced: a failed salvage leaves nothing at DIR, and a killed one leaves only the
            DIR.partial-N directory, which can be removed.

            Every region that could not be copied is printed with its file, bytes, the original offsets it
            held (when the frames around it tell) and why. A torn tail (taken for an interrupted write, which
            under durability `always` held nothing acknowledged; under `interval` or `never`, batches answered
            since the last sync may have been in it) is listed but not counted as a loss.

            Exit codes: 0 everything was copied; 1 no store at --data, or the new store could not be written; 2 usage;
            3 some records could not be copied (listed).
            """,
        options: [
            StoreLocation.option,
            .init(
                name: "out", valueName: "DIR",
                help:
                    "Where to write the new store: a new or empty directory, outside the damaged store and not a mount point (required)."
            ),
        ],
        positionalCount: 0...0
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        guard let out = arguments.value("out"), !out.isEmpty else {
            throw UsageError("--out DIR is required: the directory for the new store", command: spec.name)
        }
        let source = try StoreLocation.existingStore(arguments)
        let destination = try Self.destination(out, source: source)
        // The events the newest checkpoint covers were acknowledged: none of them is a torn tail.
        var copiedSecret = false
        let report = try StoreSalvager(
            from: source, to: destination, acknowledgedOffset: try Engine.acknowledgedOffset(directory: source)
        ).salvage(
            progress: { name in io.printError("tally salvage: reading segments/\(name)") },
            beforePublishing: { partial throws(StorageError) in
                // Copied before the new store appears at --out, so it never appears without its secret.
                do {
                    copiedSecret = try JWTSecret.copy(fromStore: source, toStore: partial)
                } catch {
                    throw StorageError(.io, "cannot copy the JWT secret: \(error)", path: source + "/jwt-secret")
                }
            })
        for loss in report.losses { io.print("NOT COPIED: \(loss)") }
        for directory in report.directoriesSkipped {
            io.print(
                "SKIPPED: \(directory): a directory, not a segment file (every open of the damaged store refuses it)")
        }
        io.print(
            "copied \(counted(Int(clamping: report.recordsCopied), "record")) from \(counted(report.framesCopied, "frame")) in \(counted(report.segmentsRead, "segment")) of \(source) into \(out)"
                + (copiedSecret ? " (with its jwt-secret)" : ""))
        let lost = report.losses.filter(\.losesRecords)
        if lost.isEmpty {
            let harmless = report.losses.filter { !$0.isTornTail }.count
            let torn = report.losses.contains(where: \.isTornTail) ? " but the torn tail listed above" : ""
            io.print(
                (harmless == 0
                    ? "nothing was lost\(torn)"
                    : "no records were lost\(torn) (the \(counted(harmless, "damaged region")) held none)")
                    + "; check the new store with `tally verify --data \(ShellCommand.quoted(out))`")
            return .ok
        }
        let known = lost.compactMap(\.offsets).reduce(0) { $0 + $1.count }
        let unknown = lost.contains { $0.offsets == nil }
        io.print(
            "LOST: \(counted(lost.count, "damaged region")), \(known) records"
                + (unknown ? " plus an unknown number at the end of the log" : "")
                + "; check the new store with `tally verify --data \(ShellCommand.quoted(out))`, then `tally replay --data \(ShellCommand.quoted(out))`"
        )
        return .damagedStore
    }

    /// Where the new store goes, links resolved, checked before anything is read: not inside the damaged store
    /// (which salvage only reads: a store written into its `segments/` would leave it unopenable), and, when it
    /// exists, an empty directory that is not a mount point (the new store is built beside it and renamed onto
    /// it, which a mount point cannot take).
    /// - Throws: ``UsageError`` naming what is wrong and what to give instead.
    static func destination(_ out: String, source: String) throws -> String {
        let resolved = resolvedPath(out)
        let store = ShellCommand.absolute(source)
        if resolved == store || resolved.hasPrefix(store == "/" ? "/" : store + "/") {
            throw UsageError(
                "--out \(out) is \(resolved == store ? "the store being copied itself" : "inside the store being copied, \(source)"): salvage only reads that store; give a new directory outside it",
                command: spec.name)
        }
        var status = stat()
        guard stat(resolved, &status) == 0 else { return resolved }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw UsageError(
                "--out \(out) exists and is not a directory: give a new or empty directory", command: spec.name)
        }
        var parent = stat()
        if stat(resolved + "/..", &parent) == 0, parent.st_dev != status.st_dev {
            throw UsageError(
                "--out \(out) is a mount point: salvage builds the new store beside it and renames it into place, which a mount point cannot take; give a new directory inside it, such as \(ShellCommand.quoted(out + "/store"))",
                command: spec.name)
        }
        // One that cannot be listed passes here: the salvage itself then fails on it, saying why.
        guard (try? PosixFileSystem().contentsOfDirectory(resolved))?.isEmpty ?? true else {
            throw UsageError(
                "--out \(out) is not empty: salvage writes a new store into a new or empty directory",
                command: spec.name)
        }
        return resolved
    }

    /// `path` absolute with every link resolved, as far as it exists; the components that do not exist yet
    /// follow with `.` dropped and `..` taking off the component before it, as creating them one by one
    /// would (`new/../x` inside an existing directory is `x` there, though `new` does not exist yet), and a
    /// component that exists again after a `..` resolved as a link.
    static func resolvedPath(_ path: String) -> String {
        var head = path
        var rest: [Substring] = []
        while true {
            if let resolved = realpath(head.isEmpty ? "." : head, nil) {
                defer { free(resolved) }
                var current = String(cString: resolved)
                for component in rest.reversed() {
                    switch component {
                    case "", ".": continue
                    case "..":
                        let parent = current.split(separator: "/").dropLast()
                        current = "/" + parent.joined(separator: "/")
                    default:
                        current = (current == "/" ? "" : current) + "/" + component
                        // Back in existing directories (after a `..`), links count again.
                        if let linked = realpath(current, nil) {
                            current = String(cString: linked)
                            free(linked)
                        }
                    }
                }
                return current
            }
            // Not even the working directory resolves (it was removed, say): the path as given.
            guard !head.isEmpty && head != "/" else { return path }
            var trimmed = Substring(head)
            while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            guard let slash = trimmed.lastIndex(of: "/") else {
                rest.append(trimmed)
                head = ""
                continue
            }
            rest.append(trimmed[trimmed.index(after: slash)...])
            head = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        }
    }
}
