import Foundation
import Glibc
import TallyAuth
import TallyCore
import TallyTestSupport

/// A real `tally serve` process on a loopback port, for the crash and soak drivers.
public final class ServerProcess {
    /// The `tally` executable.
    public let binary: String
    /// The store directory.
    public let directory: String
    /// The port it listens on (kept across restarts, so clients simply reconnect).
    public private(set) var port: Int
    /// Extra `serve` arguments (such as `--durability`).
    public let extraArguments: [String]
    /// Environment variables set for the server (and other commands run through ``run(_:)``) on top of
    /// this process's own.
    public let environment: [String: String]
    /// Where the server's standard error (its request log) goes; `nil` discards it.
    public var logPath: String?
    private var process: Process?
    private var hasStarted = false

    /// Prepares a server; ``start()`` runs it.
    /// - Parameters:
    ///   - binary: Path of the `tally` executable.
    ///   - directory: The store (`--data`).
    ///   - port: The port, or `nil` to pick a free one at the first start.
    ///   - environment: Variables added to the child processes' environment (such as `TALLY_JWT_SECRET`).
    public init(
        binary: String, directory: String, port: Int? = nil, extraArguments: [String] = [],
        environment: [String: String] = [:]
    ) {
        self.environment = environment
        self.binary = binary
        self.directory = directory
        self.port = port ?? 0
        self.extraArguments = extraArguments
    }

    /// A server given a fixed JWT secret through `TALLY_JWT_SECRET`, and a `super_admin` token signed with it
    /// that stays valid for `validFor` seconds.
    public static func withAdminToken(
        binary: String, directory: String, extraArguments: [String] = [],
        validFor: Int64
    ) -> (server: ServerProcess, token: String) {
        let secret = "tally-load-secret-0123456789abcdef"
        let token = JWTSigner(secret: Array(secret.utf8))
            .sign(JWTClaims(roles: ["super_admin"], expiresAt: Timestamp.now().seconds + validFor))
        let server = ServerProcess(
            binary: binary, directory: directory, extraArguments: extraArguments,
            environment: ["TALLY_JWT_SECRET": secret])
        return (server, token)
    }

    /// The running process's id.
    public var processIdentifier: Int32? { process?.processIdentifier }

    /// Starts the server and waits (up to 20 s) until `/healthz` answers 200.
    public func start() throws {
        for attempt in 0..<5 {
            // A restart keeps its port, so clients reconnect to it; a first start may move to another.
            if port == 0 || (!hasStarted && attempt > 0) { port = Self.freePort() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["serve", "--data", directory, "--port", String(port)] + extraArguments
            process.environment = childEnvironment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try logHandle() ?? FileHandle.nullDevice
            try process.run()
            for _ in 0..<400 {
                if !process.isRunning { break }
                if let client = try? LoopbackClient(port: port), let response = try? client.request("GET", "/healthz"),
                    response.status == 200
                {
                    self.process = process
                    hasStarted = true
                    return
                }
                usleep(50_000)
            }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            usleep(200_000)
        }
        throw LoopbackClient.ClientError(message: "tally serve did not start on port \(port) (\(binary))")
    }

    /// Kills the server with `signal` and waits for it; returns its exit status (or the signal).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM) -> Int32 {
        guard let process else { return 0 }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    /// The log file, created or appended to (a restart adds to the same log).
    private func logHandle() throws -> FileHandle? {
        guard let logPath else { return nil }
        if !FileManager.default.fileExists(atPath: logPath) {
            guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
                throw LoopbackClient.ClientError(message: "cannot create the server log \(logPath)")
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try handle.seekToEnd()
        return handle
    }

    private var childEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
    }

    /// The server's resident memory in bytes (from `/proc/PID/status`), or `nil` when not running.
    public var residentBytes: Int? {
        guard let pid = processIdentifier,
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }

    /// A port nothing listens on right now, outside the kernel's ephemeral range (`ip_local_port_range`)
    /// when it leaves room below it: a restart keeps its port, and while the server is down no client
    /// socket of this or another process can take that port as its local one.
    static func freePort() -> Int {
        let range = ephemeralPorts()
        if range.lowerBound > 11_024 {
            for _ in 0..<100 {
                let port = Int.random(in: 10_000..<range.lowerBound)
                if bound(port) != nil { return port }
            }
        }
        return bound(0) ?? Int.random(in: 20_000...30_000)
    }

    /// The kernel's ephemeral port range, or Linux's default when it cannot be read.
    static func ephemeralPorts() -> ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32_768...60_999 }
        return bounds[0]...bounds[1]
    }

    /// Binds a socket to `port` on 127.0.0.1 (0: the kernel's choice) and closes it.
    /// - Returns: The port bound, or `nil` when the bind failed.
    static func bound(_ port: Int) -> Int? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(descriptor, raw, length) == 0 && getsockname(descriptor, raw, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }

    /// Runs another `tally` command to completion; returns its exit code and standard output.
    public func run(_ arguments: [String]) throws -> (code: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = childEnvironment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
