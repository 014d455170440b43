import Foundation
import Glibc
import TallyTestSupport
import Testing

/// A `tally serve` process on a port the kernel picks (`--port 0`), read back from the line the server
/// prints once it listens. Released, it is killed, so a test that fails midway leaves no server running.
final class ServeProcess {
    let process: Process
    /// The port the server listens on.
    let port: Int
    /// The file receiving the server's standard error.
    let log: String
    private let ownsLog: Bool

    /// Starts the server and waits (up to 60 s, for a loaded machine) until it says it listens.
    /// - Parameters:
    ///   - directory: The store (`--data`).
    ///   - arguments: Extra `serve` options.
    ///   - log: A file to receive the server's standard error; a temporary one when `nil`.
    ///   - descriptorLimit: Soft and hard `RLIMIT_NOFILE` to start the server under (through `sh`'s
    ///     `ulimit`), or `nil` for this process's.
    init(_ directory: String, arguments: [String] = [], log: String? = nil, descriptorLimit: Int? = nil) throws {
        let binary = try #require(CLITests.executable(), "tally executable not found")
        self.log = log ?? NSTemporaryDirectory() + "tally-serve-\(UUID().uuidString).log"
        ownsLog = log == nil
        _ = FileManager.default.createFile(atPath: self.log, contents: nil)
        process = Process()
        let serve = ["serve", "--data", directory, "--port", "0"] + arguments
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments =
                ["-c", "ulimit -Sn \(descriptorLimit) && ulimit -Hn \(descriptorLimit) && exec \"$0\" \"$@\"", binary]
                + serve
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = serve
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: self.log))
        try process.run()
        var text = ""
        for _ in 0..<1200 {
            text = String(decoding: (try? StoreTestSupport.bytes(self.log)) ?? [], as: UTF8.self)
            if let port = Self.listeningPort(in: text) {
                self.port = port
                return
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        if ownsLog {
            try? FileManager.default.removeItem(atPath: self.log)
        }
        throw LoopbackClient.ClientError(message: "tally serve did not start listening: \(text)")
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        if ownsLog {
            try? FileManager.default.removeItem(atPath: log)
        }
    }

    /// Sends `signal` and waits for the process to end.
    /// - Returns: Its exit status.
    @discardableResult func stop(_ signal: Int32) -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, signal)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The port in the server's `tally: listening on http://HOST:PORT (…)` line, once it is printed whole.
    static func listeningPort(in text: String) -> Int? {
        guard let start = text.range(of: "tally: listening on http://") else { return nil }
        let rest = text[start.upperBound...]
        guard let end = rest.firstIndex(of: " "), let colon = rest[..<end].lastIndex(of: ":") else { return nil }
        return Int(rest[rest.index(after: colon)..<end])
    }
}
