import Glibc
import TallyStorage

/// Where the JWT signing secret comes from: `--jwt-secret-file`, else `$TALLY_JWT_SECRET`, else
/// `<store>/jwt-secret` (created with 32 random bytes written as 64 hexadecimal characters, mode 0600, when
/// the server starts without one). A file's key is its text, trailing whitespace trimmed: the 64 characters,
/// not the bytes they spell.
enum JWTSecret {
    static let option = CommandSpec.Option(
        name: "jwt-secret-file", valueName: "FILE",
        help:
            "File holding the HS256 secret (default: the secret itself in $TALLY_JWT_SECRET, not a path; else <store>/jwt-secret)."
    )

    static let previousOption = CommandSpec.Option(
        name: "jwt-previous-secret-file", valueName: "FILE",
        help:
            "File holding the secret being rotated out: tokens it signed are still accepted (default: the secret itself in $TALLY_JWT_PREVIOUS_SECRET, if set)."
    )

    /// The fewest bytes a secret may have: an HS256 key must be at least as long as the hash's output, 256
    /// bits (RFC 7518 §3.2). A shorter one, or one a person typed, can be guessed offline from a single token
    /// seen, and the guess mints any token (RFC 8725 §3.5).
    static let minimumBytes = 32

    /// What a secret too short is told: the rule, and a command that makes one.
    static let lengthRule =
        "must be at least \(minimumBytes) bytes (256 bits, as RFC 7518 §3.2 asks of an HS256 key): make one with `head -c 32 /dev/urandom | base64`"

    /// Why no secret could be had: what is wrong and what to do, as one line for the terminal.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Where a secret came from.
    enum Source: Equatable, CustomStringConvertible {
        /// `--jwt-secret-file`.
        case file(String)
        /// `$TALLY_JWT_SECRET`, holding the secret itself.
        case environment
        /// `<store>/jwt-secret`.
        case store(path: String)
        /// `$TALLY_JWT_PREVIOUS_SECRET`, holding the previous secret itself.
        case previousEnvironment

        /// The file it was read from, if any.
        var path: String? {
            switch self {
            case .file(let path), .store(let path): path
            case .environment, .previousEnvironment: nil
            }
        }

        var description: String {
            switch self {
            case .file(let path), .store(let path): path
            case .environment: "$TALLY_JWT_SECRET"
            case .previousEnvironment: "$TALLY_JWT_PREVIOUS_SECRET"
            }
        }
    }

    /// The secret given by `--jwt-secret-file` or `$TALLY_JWT_SECRET`, or `nil` when neither is: then the
    /// store's own secret is the one to use. Needs no store, so a wrong path is reported before one is opened.
    static func configured(_ arguments: ParsedArguments) throws(Failure) -> (secret: [UInt8], source: Source)? {
        try given(
            file: arguments.value("jwt-secret-file"), variable: "TALLY_JWT_SECRET", source: .environment, noun: "secret"
        )
    }

    /// The secret being rotated out, from `--jwt-previous-secret-file` or `$TALLY_JWT_PREVIOUS_SECRET` (read as
    /// the current one is), or `nil` when neither is given. Tokens it signed are still accepted, so clients
    /// can move to tokens of the new secret while the server already runs with it.
    static func previous(_ arguments: ParsedArguments) throws(Failure) -> (secret: [UInt8], source: Source)? {
        try given(
            file: arguments.value("jwt-previous-secret-file"), variable: "TALLY_JWT_PREVIOUS_SECRET",
            source: .previousEnvironment, noun: "previous secret")
    }

    /// A secret from `file` when one is named, else from the environment `variable` (`source`), else `nil`;
    /// at least ``minimumBytes``, or the `noun` is refused as too short.
    private static func given(file: String?, variable: String, source: Source, noun: String) throws(Failure) -> (
        secret: [UInt8], source: Source
    )? {
        if let file {
            let bytes = try readTrimmed(file)
            guard bytes.count >= minimumBytes else {
                throw Failure(description: "\(file): the \(noun) \(lengthRule)")
            }
            return (bytes, .file(file))
        }
        // Unset and empty are alike (`TALLY_JWT_SECRET= tally serve` uses the store's secret); otherwise the
        // variable is read as a file is: its text, trailing whitespace trimmed.
        if let value = getenv(variable), let text = String(validatingCString: value), !text.isEmpty {
            let bytes = trimmingTrailingWhitespace(Array(text.utf8))
            guard bytes.count >= minimumBytes else { throw Failure(description: "\(variable) \(lengthRule)") }
            return (bytes, source)
        }
        return nil
    }

    /// Refuses a previous secret that is the current one: the rotation it stands for did not happen (the
    /// new secret was not put in place), and tokens of the old secret would be accepted as current ones.
    static func checkDistinct(previous: (secret: [UInt8], source: Source), current: Source, secret: [UInt8])
        throws(Failure)
    {
        guard previous.secret == secret else { return }
        throw Failure(
            description:
                "the previous secret (\(previous.source)) is the current one (\(current)): put the new secret in place of the current one, and keep the old one as the previous"
        )
    }

    /// The secret, and where it came from.
    static func load(_ arguments: ParsedArguments, storeDirectory: String, create: Bool) throws(Failure) -> (
        secret: [UInt8], source: Source, created: Bool
    ) {
        if let (secret, source) = try configured(arguments) { return (secret, source, false) }
        var directoryStatus = stat()
        if stat(storeDirectory, &directoryStatus) == 0, directoryStatus.st_mode & S_IFMT != S_IFDIR {
            throw Failure(
                description:
                    "no store at \(storeDirectory): it is a file, not a directory; pass --data with the store's directory, or --jwt-secret-file"
            )
        }
        let path = storeDirectory + "/jwt-secret"
        let found = access(path, F_OK) == 0
        let lookup = errno
        // A link to nowhere is neither a secret to read nor a name to create one under: say which.
        var linkStatus = stat()
        if !found && lookup == ENOENT && lstat(path, &linkStatus) == 0 && linkStatus.st_mode & S_IFMT == S_IFLNK {
            throw Failure(
                description:
                    "\(path) is a symbolic link to a file that does not exist: restore its target, or remove the link to have `tally serve` create a new secret"
            )
        }
        // A secret that cannot be looked for (a store directory this user may not search, a link that loops)
        // is not a missing one.
        if !found && lookup != ENOENT && lookup != ENOTDIR {
            throw Failure(
                description:
                    "cannot read \(path): \(String(cString: strerror(lookup))); fix its permissions or path, or pass --jwt-secret-file"
            )
        }
        if found {
            let bytes = try readTrimmed(path, storeOwned: true)
            guard bytes.count >= minimumBytes else {
                throw Failure(
                    description:
                        "\(path): the secret must be at least \(minimumBytes) bytes (256 bits, as RFC 7518 §3.2 asks of an HS256 key): remove the file and start `tally serve` to create a new one"
                )
            }
            return (bytes, .store(path: path), false)
        }
        guard create else {
            throw Failure(
                description:
                    "no JWT secret: pass --jwt-secret-file, set TALLY_JWT_SECRET, or start `tally serve` once to create \(path)"
            )
        }
        if case .failure(let failure) = Syscall.uninterrupted({ mkdir(storeDirectory, 0o755) }), failure.code != EEXIST
        {
            throw Failure(description: "cannot create \(storeDirectory): \(failure)")
        }
        var random = SystemRandomNumberGenerator()
        let hex = (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &random), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        try writeNew(path, Array(hex.utf8), directory: storeDirectory)
        return (Array(hex.utf8), .store(path: path), true)
    }

    /// A warning when the secret's file lets other users read or write it (anyone who reads it can mint any
    /// token; anyone who writes it can swap the key), or `nil` (also for `$TALLY_JWT_SECRET`, not a file).
    /// Not refused: mounted secrets are often 0644 inside a container that runs nothing else.
    static func permissionWarning(_ source: Source) -> String? {
        var status = stat()
        guard let path = source.path, stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { return nil }
        let mode = String(status.st_mode & 0o777, radix: 8)
        return
            "\(path) is open to other users (mode 0\(mode)): anyone who can read it can mint tokens; `chmod 600 \(path)`"
    }

    /// Copies `<source>/jwt-secret` to `<destination>/jwt-secret` (mode 0600), so tokens stay valid for a
    /// store salvaged from another. Returns whether there was one to copy.
    static func copy(fromStore source: String, toStore destination: String) throws(Failure) -> Bool {
        let from = source + "/jwt-secret"
        let to = destination + "/jwt-secret"
        guard access(from, F_OK) == 0 else {
            let code = errno
            // A secret that is there but cannot be read must not be left behind unsaid: the copy's next
            // start would make a new one, and every token minted so far would stop working.
            guard code == ENOENT || code == ENOTDIR else {
                throw Failure(description: "cannot read \(from): \(String(cString: strerror(code)))")
            }
            return false
        }
        let secret = try readTrimmed(from, storeOwned: true)
        try writeNew(to, secret, directory: destination)
        return true
    }

    /// Creates `path` (mode 0600) holding `bytes`, whole or not at all as far as a crash can tell: written to
    /// a temporary file and synced, linked into place (which fails, as `O_EXCL` would, if `path` appeared
    /// meanwhile; renamed where the file system has no hard links, the store's lock keeping other writers
    /// out), then the directory synced. A crash never leaves a short secret that the next start would
    /// refuse, nor a created secret that a power cut takes back after tokens were minted with it.
    private static func writeNew(_ path: String, _ bytes: [UInt8], directory: String) throws(Failure) {
        let temporary = path + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = try check("create \(temporary)") {
            open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        do throws(Failure) {
            defer { close(descriptor) }
            if let failure = bytes.withUnsafeBytes({ Syscall.writeAll(descriptor, $0) }) {
                throw Failure(description: "cannot write \(temporary): \(failure)")
            }
            _ = try check("sync \(temporary)") { fsync(descriptor) }
            switch Syscall.uninterrupted({ link(temporary, path) }) {
            case .success: break
            case .failure(let failure) where [EPERM, ENOTSUP, EOPNOTSUPP, ENOSYS].contains(failure.code):
                _ = try check("rename \(temporary) to \(path)") { rename(temporary, path) }
            case .failure(let failure):
                throw Failure(description: "cannot link \(temporary) to \(path): \(failure)")
            }
        } catch {
            unlink(temporary)
            throw error
        }
        // Removed before the directory is synced, so no crash leaves it behind once the secret is in place.
        unlink(temporary)
        let folder = try check("sync \(directory)") { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(folder) }
        _ = try check("sync \(directory)") { fsync(folder) }
    }

    /// The text of the secret file at `path`, trailing whitespace trimmed. The store's own secret
    /// (`storeOwned`) is a file `tally serve` wrote: anything else there is refused by name, checked on the
    /// descriptor opened without waiting (a FIFO would block the open until something wrote to it). A
    /// `--jwt-secret-file` may be a pipe (`<(vault read …)`), so it is read as it comes.
    private static func readTrimmed(_ path: String, storeOwned: Bool = false) throws(Failure) -> [UInt8] {
        let descriptor = try check("read \(path)") {
            open(path, O_RDONLY | O_CLOEXEC | (storeOwned ? O_NONBLOCK : 0))
        }
        defer { close(descriptor) }
        var status = stat()
        if storeOwned, fstat(descriptor, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            throw Failure(
                description:
                    "\(path) is not a regular file but a \(PosixFileSystem.kindName(status.st_mode & S_IFMT)): move it away to have `tally serve` create a new secret, or pass --jwt-secret-file"
            )
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            // A directory opens but cannot be read: never take that for an empty secret.
            let count = try check("read \(path)") {
                chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 4096) }
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 1 << 16 { throw Failure(description: "\(path) is too large for a secret") }
        }
        return trimmingTrailingWhitespace(bytes)
    }

    /// `bytes` without its trailing ASCII whitespace (space, tab, line feed, vertical tab, form feed, carriage
    /// return), as a shell's `$(cat file)` or another service reading the same file would take it.
    static func trimmingTrailingWhitespace(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x20 || (0x09...0x0D).contains(bytes[end - 1]) { end -= 1 }
        return Array(bytes[0..<end])
    }

    /// Runs a system call through ``Syscall``, failing with "cannot `action`: reason".
    private static func check<T: BinaryInteger>(_ action: @autoclosure () -> String, _ call: () -> T) throws(Failure)
        -> T
    {
        switch Syscall.uninterrupted(call) {
        case .success(let result): return result
        case .failure(let failure): throw Failure(description: "cannot \(action()): \(failure)")
        }
    }
}
