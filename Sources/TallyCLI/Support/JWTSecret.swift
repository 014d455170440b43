import Glibc

/// Where the JWT signing secret comes from: `--jwt-secret-file`, else `$TALLY_JWT_SECRET`, else
/// `<store>/jwt-secret` (created with 32 random bytes, mode 0600, when the server starts without one).
enum JWTSecret {
    static let option = CommandSpec.Option(
        name: "jwt-secret-file", valueName: "FILE",
        help:
            "File holding the HS256 secret (default: the secret itself in $TALLY_JWT_SECRET, not a path; else <store>/jwt-secret)."
    )

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The secret, and where it came from.
    static func load(_ arguments: ParsedArguments, storeDirectory: String, create: Bool) throws -> (
        secret: [UInt8], source: String, created: Bool
    ) {
        if let file = arguments.value("jwt-secret-file") {
            let bytes = try readTrimmed(file)
            guard bytes.count >= 16 else { throw Failure(description: "\(file): the secret must be at least 16 bytes") }
            return (bytes, file, false)
        }
        if let value = getenv("TALLY_JWT_SECRET"), let text = String(validatingCString: value), !text.isEmpty {
            guard text.utf8.count >= 16 else {
                throw Failure(description: "TALLY_JWT_SECRET must be at least 16 bytes")
            }
            return (Array(text.utf8), "$TALLY_JWT_SECRET", false)
        }
        let path = storeDirectory + "/jwt-secret"
        if access(path, F_OK) == 0 {
            let bytes = try readTrimmed(path)
            guard bytes.count >= 16 else {
                throw Failure(
                    description:
                        "\(path): the secret must be at least 16 bytes (remove the file and start `tally serve` to create a new one)"
                )
            }
            return (bytes, path, false)
        }
        guard create else {
            throw Failure(
                description:
                    "no JWT secret: pass --jwt-secret-file, set TALLY_JWT_SECRET, or start `tally serve` once to create \(path)"
            )
        }
        mkdir(storeDirectory, 0o755)
        var random = SystemRandomNumberGenerator()
        let hex = (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &random), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = hex.withCString { write(descriptor, $0, hex.utf8.count) }
        guard written == hex.utf8.count, fsync(descriptor) == 0 else {
            throw Failure(description: "cannot write \(path)")
        }
        return (Array(hex.utf8), path, true)
    }

    /// A warning when the secret's file lets other users read or write it (anyone who reads it can mint any
    /// token; anyone who writes it can swap the key), or `nil` (also for `$TALLY_JWT_SECRET`, not a file).
    /// Not refused: mounted secrets are often 0644 inside a container that runs nothing else.
    static func permissionWarning(_ path: String) -> String? {
        var status = stat()
        guard !path.hasPrefix("$"), stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { return nil }
        let mode = String(status.st_mode & 0o777, radix: 8)
        return
            "\(path) is open to other users (mode 0\(mode)): anyone who can read it can mint tokens; `chmod 600 \(path)`"
    }

    /// Copies `<source>/jwt-secret` to `<destination>/jwt-secret` (mode 0600), so tokens stay valid for a
    /// store salvaged from another. Returns whether there was one to copy.
    static func copy(fromStore source: String, toStore destination: String) throws -> Bool {
        let from = source + "/jwt-secret"
        let to = destination + "/jwt-secret"
        guard access(from, F_OK) == 0 else { return false }
        let secret = try readTrimmed(from)
        let descriptor = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot create \(to): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = secret.withUnsafeBytes { write(descriptor, $0.baseAddress, secret.count) }
        guard written == secret.count, fsync(descriptor) == 0 else { throw Failure(description: "cannot write \(to)") }
        return true
    }

    private static func readTrimmed(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 4096) }
            if count < 0 {
                if errno == EINTR { continue }
                // A directory opens but cannot be read: never take that for an empty secret.
                throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 1 << 16 { throw Failure(description: "\(path) is too large for a secret") }
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
        return bytes
    }
}
