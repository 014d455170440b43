import Foundation
import TallyAuth
import TallyCore
import TallyTestSupport
import Testing

extension CLITests {
    /// A secret shorter than 32 bytes (256 bits, RFC 7518 §3.2) is refused wherever it comes from (a file named by the option, the
    /// store's own file, the environment), with exit 1 and where it came from; no token is minted with it.
    @Test func aShortSecretIsRefusedWhereverItComesFrom() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("secret")
        try StoreTestSupport.write(Array("short\n".utf8), to: file)
        let named = runTally(["token", "--role", "ingest", "--jwt-secret-file", file])
        #expect(named.code == .failure && named.out.isEmpty)
        #expect(
            named.err.contains("\(file): the secret must be at least 32 bytes (256 bits, as RFC 7518 §3.2 asks")
                && named.err.contains("head -c 32 /dev/urandom | base64"), "\(named.err)")
        let store = directory.appending("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        try StoreTestSupport.write(Array("0123456789abcdef0123456789abcde".utf8), to: store + "/jwt-secret")
        let stored = runTally(["token", "--role", "ingest", "--data", store])
        #expect(stored.code == .failure && stored.out.isEmpty)
        #expect(stored.err.contains("\(store)/jwt-secret: the secret must be at least 32 bytes"), "\(stored.err)")
        try StoreTestSupport.write(Array("0123456789abcdef0123456789abcdef".utf8), to: store + "/jwt-secret")
        #expect(runTally(["token", "--role", "ingest", "--data", store]).code == .ok, "32 bytes is enough")
        let folder = runTally(["token", "--role", "ingest", "--jwt-secret-file", directory.path])
        #expect(
            folder.code == .failure && folder.err.contains("cannot read \(directory.path): Is a directory"),
            "\(folder.err)")

        let (status, message, _) = try Self.launch(
            ["token", "--role", "ingest", "--data", store],
            environment: ["TALLY_JWT_SECRET": "0123456789abcdef0123456789abcde"])
        #expect(status == 1 && message.contains("TALLY_JWT_SECRET must be at least 32 bytes"), "\(message)")
    }

    /// A store's `jwt-secret` that is not a regular file (a FIFO, which a read would wait on for ever) is
    /// refused by name, by `token` and `serve` alike.
    @Test(.timeLimit(.minutes(1))) func aSecretThatIsNotAFileIsRefusedNotWaitedOn() throws {
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        #expect(mkfifo(store + "/jwt-secret", 0o600) == 0)
        for command in [["token", "--role", "ingest"], ["serve", "--port", "0"]] {
            let result = runTally(command + ["--data", store])
            #expect(result.code == .failure, "\(command): \(result)")
            #expect(
                result.err.contains("\(store)/jwt-secret is not a regular file but a FIFO"), "\(command): \(result.err)"
            )
        }
        // Nor does a salvage of the store wait on it: it fails (exit 1) and leaves nothing behind.
        _ = runTally(["import", "--data", store, "-"], input: "")
        let out = TemporaryDirectory()
        let salvaged = runTally(["salvage", "--data", store, "--out", out.appending("copy")])
        #expect(salvaged.code == .failure, "\(salvaged)")
        #expect(salvaged.err.contains("is not a regular file but a FIFO"), "\(salvaged.err)")
        #expect(!FileManager.default.fileExists(atPath: out.appending("copy")))
    }

    /// A store's `jwt-secret` that is a link to nowhere is named as such, by `token` and `serve` alike, rather
    /// than failing to create a secret where a name already is.
    @Test func aDanglingSecretLinkIsNamed() throws {
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        #expect(symlink(directory.appending("gone"), store + "/jwt-secret") == 0)
        for command in [["token", "--role", "ingest"], ["serve", "--port", "0"]] {
            let result = runTally(command + ["--data", store])
            #expect(result.code == .failure, "\(command): \(result)")
            #expect(
                result.err.contains("\(store)/jwt-secret is a symbolic link to a file that does not exist"),
                "\(command): \(result.err)")
        }
        // A link that loops cannot be read: it is named as such, not as missing, and salvage will not leave
        // it behind unsaid (its copy would start with a new secret, and every token would stop working).
        #expect(unlink(store + "/jwt-secret") == 0 && symlink(store + "/jwt-secret", store + "/jwt-secret") == 0)
        _ = runTally(["import", "--data", store, "-"], input: "")
        let looped = runTally(["token", "--role", "ingest", "--data", store])
        #expect(
            looped.code == .failure
                && looped.err.contains("cannot read \(store)/jwt-secret: Too many levels of symbolic links"),
            "\(looped.err)")
        let salvaged = runTally(["salvage", "--data", store, "--out", directory.appending("copy")])
        #expect(
            salvaged.code == .failure && salvaged.err.contains("cannot read \(store)/jwt-secret"), "\(salvaged.err)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("copy")))
    }

    /// `token --data` naming a file says the store is no directory, as every other command does, rather than
    /// advising to start `serve` to create a secret under the file.
    @Test func tokenWithAFileForItsStoreSaysSo() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("not-a-store")
        try StoreTestSupport.write(Array("x".utf8), to: file)
        let result = runTally(["token", "--role", "ingest", "--data", file])
        #expect(result.code == .failure, "\(result)")
        #expect(result.err.contains("no store at \(file): it is a file, not a directory"), "\(result.err)")
        #expect(!result.err.contains("start `tally serve`"), "\(result.err)")
    }

    /// A secret's trailing whitespace is not part of it, whichever kind (tab, vertical tab, form feed, CR, LF,
    /// space) and wherever the secret comes from: the token verifies with the trimmed text, and a secret that
    /// trimming leaves short is refused.
    @Test func aSecretIsItsTextWithoutTrailingWhitespace() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("secret")
        let key = "0123456789abcdef0123456789abcdef"
        let verifier = JWTVerifier(secret: Array(key.utf8))
        func verifies(_ printed: String) -> Bool {
            (try? verifier.verify(Substring(printed.trimmingCharacters(in: .newlines)), now: Timestamp.now().seconds))
                != nil
        }
        try StoreTestSupport.write(Array((key + " \t\u{0B}\u{0C}\r\n").utf8), to: file)
        let trimmed = runTally(["token", "--role", "ingest", "--jwt-secret-file", file])
        #expect(trimmed.code == .ok && verifies(trimmed.out), "\(trimmed.err)")
        try StoreTestSupport.write(Array("0123456789abcdef0123456789abcde\t".utf8), to: file)
        let short = runTally(["token", "--role", "ingest", "--jwt-secret-file", file])
        #expect(short.code == .failure && short.err.contains("the secret must be at least 32 bytes"), "\(short.err)")

        let fromEnvironment = try Self.launch(
            ["token", "--role", "ingest", "--data", directory.path], environment: ["TALLY_JWT_SECRET": key + "\t\n"])
        #expect(fromEnvironment.status == 0 && verifies(fromEnvironment.output), "\(fromEnvironment.errors)")
        // Empty is unset: the store's own secret is used, and here there is none to use.
        let empty = try Self.launch(
            ["token", "--role", "ingest", "--data", directory.path], environment: ["TALLY_JWT_SECRET": ""])
        #expect(empty.status == 1 && empty.errors.contains("jwt-secret"), "\(empty.errors)")
    }

    /// `tally token` warns, as `tally serve` does, of a secret file other users may read (anyone who can
    /// read it can mint tokens), and mints all the same, the token alone on standard output.
    @Test func aSecretOpenToOtherUsersIsWarnedOfByToken() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("secret")
        try StoreTestSupport.write(Array("0123456789abcdef0123456789abcdef".utf8), to: file)
        #expect(chmod(file, 0o644) == 0)
        let open = runTally(["token", "--role", "ingest", "--jwt-secret-file", file])
        #expect(open.code == .ok && open.out.split(separator: "\n").count == 1)
        #expect(
            open.err.contains("tally: warning: \(file) is open to other users (mode 0644)")
                && open.err.contains("chmod 600"), "\(open.err)")
        #expect(chmod(file, 0o600) == 0)
        let closed = runTally(["token", "--role", "ingest", "--jwt-secret-file", file])
        #expect(closed.code == .ok && closed.err.isEmpty, "\(closed.err)")
    }

    /// `tally token` never prints a token longer than the server reads: a long `--subject` is a usage error.
    @Test func aTokenTheServerWouldRefuseForItsSizeIsNotMinted() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("secret")
        try StoreTestSupport.write(Array("0123456789abcdef0123456789abcdef".utf8), to: file)
        let fits = runTally(["token", "--role", "ingest", "--jwt-secret-file", file, "--subject", "s"])
        #expect(fits.code == .ok)
        let long = String(repeating: "s", count: JWTVerifier.maximumTokenByteCount)
        let tooLong = runTally(["token", "--role", "ingest", "--jwt-secret-file", file, "--subject", long])
        #expect(tooLong.code == .usage && tooLong.out.isEmpty)
        #expect(tooLong.err.contains("over the 8192 bytes the server accepts: shorten --subject"), "\(tooLong.err)")
    }

    /// A role given twice is granted once, and an empty `--subject` is a usage error.
    @Test func tokenGrantsARepeatedRoleOnceAndNeedsASubject() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("secret")
        let key = "0123456789abcdef0123456789abcdef"
        try StoreTestSupport.write(Array(key.utf8), to: file)
        let twice = runTally([
            "token", "--role", "ingest", "--role", "member", "--role", "ingest", "--jwt-secret-file", file, "--tenant",
            CLITests.tenant,
        ])
        #expect(twice.code == .ok, "\(twice.err)")
        let token = twice.out.trimmingCharacters(in: .newlines)
        #expect(
            (try? JWTVerifier(secret: Array(key.utf8)).verify(Substring(token), now: Timestamp.now().seconds)) != nil)
        // The payload as minted (the verifier drops repeats itself).
        let payload = try #require(token.split(separator: ".").dropFirst().first.flatMap { Base64URL.decode($0) })
        #expect(String(decoding: payload, as: UTF8.self).contains(#""roles":["ingest","member"]"#))
        let empty = runTally(["token", "--role", "ingest", "--jwt-secret-file", file, "--subject", ""])
        #expect(empty.code == .usage && empty.out.isEmpty)
        #expect(empty.err.contains("--subject must not be empty"), "\(empty.err)")
    }

    /// Roles outside the server's set are refused by name.
    @Test func tokenRefusesRolesTheServerDoesNotKnow() {
        let result = runTally(["token", "--role", "admin", "--jwt-secret-file", "/dev/null"])
        #expect(result.code == .usage)
        #expect(
            result.err.contains("unknown role \"admin\" (expected one of: super_admin, tenant_admin, member, ingest)"))
    }
}
