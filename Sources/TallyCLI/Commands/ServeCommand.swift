import Dispatch
import Glibc
import Synchronization
import TallyAPI
import TallyCore
import TallyEngine
import TallyHTTP
import TallyStorage

/// `tally serve`: the HTTP API over the store.
struct ServeCommand {
    static let spec = CommandSpec(
        name: "serve",
        summary: "Serve the HTTP API (ingest, stats, tenants, health, metrics, OpenAPI) over the store.",
        usage: "[options]",
        details: """
            Every endpoint but /healthz, /metrics and /openapi.json needs a bearer token (see `tally token`).
            Without a configured secret, the first start creates <store>/jwt-secret (mode 0600) and prints the
            command that mints an admin token. SIGINT, SIGTERM or SIGHUP stop accepting, finish requests in
            flight (for up to 10 s), write a checkpoint and exit 0; a second signal stops at once (exit 128 + its
            number). One JSON line per request goes to standard error.

            Exit codes: 0 stopped cleanly; 1 failure (port in use, store locked); 2 usage; 3 damaged store.
            """,
        options: [
            StoreLocation.option, JWTSecret.option, JWTSecret.previousOption,
            .init(name: "host", valueName: "ADDRESS", help: "IPv4 address to listen on (default 127.0.0.1)."),
            .init(name: "port", valueName: "PORT", help: "TCP port (default 8080; 0 picks a free one)."),
            .init(
                name: "durability", valueName: "POLICY",
                help: "always (default), interval[:MS] (MS 1 to 3600000, default 100) or never."),
            .init(
                name: "event-loops", valueName: "N", help: "Event-loop threads (default: one per core; at most 256)."),
            .init(
                name: "max-body-bytes", valueName: "N",
                help:
                    "Largest request body, and largest gzip body once decompressed (default 16777216, at most 33554432)."
            ),
            .init(
                name: "header-timeout", valueName: "SECONDS",
                help: "Time to send a request's headers from its first byte, else 408 (default 10, at most 86400)."),
            .init(
                name: "body-timeout", valueName: "SECONDS",
                help: "Time to send the whole body once the headers are in, else 408 (default 60, at most 86400)."),
            .init(
                name: "idle-timeout", valueName: "SECONDS",
                help: "Close a connection with no request and no write progress this long (default 60, at most 86400)."),
            .init(
                name: "max-connections", valueName: "N",
                help: "Open connections; more are closed at once (default 10000)."),
            .init(
                name: "max-buffered-body-bytes", valueName: "N",
                help:
                    "Request body bytes held in memory across all connections; a body beyond it gets 503 and Retry-After (default 1073741824)."
            ),
            .init(
                name: "max-unsent-response-bytes", valueName: "N",
                help:
                    "Response bytes held for clients that do not read them; beyond it, connections stalled over a second are closed (default 1073741824)."
            ),
            .init(
                name: "backdate-limit", valueName: "DURATION",
                help:
                    "Oldest event time accepted, and the dedup window (default 35d, at most 330d; such as 90s, 30m, 12h, 7d)."
            ),
            CommandOptions.futureLimitOption,
            .init(
                name: "checkpoint-every", valueName: "N",
                help:
                    "Write a checkpoint once N events arrived since the last, and at least as many as the dedup window holds ids (default 5000000; checked every second)."
            ),
            .init(
                name: "checkpoint-interval", valueName: "DURATION",
                help:
                    "Write a checkpoint this long after the last if any event arrived (default 5m; such as 90s, 30m; at most 3650d)."
            ),
            .init(
                name: "scrub-interval", valueName: "DURATION",
                help:
                    "Re-read the whole log in the background to find damage: first at start, then this long after each pass ends (default 24h, at most 365d; off for none)."
            ),
            .init(
                name: "scrub-rate", valueName: "MIB",
                help: "The most MiB per second the background scrub reads (default 64, at most 1048576)."),
        ],
        positionalCount: 0...0
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        let directory = try StoreLocation.storeToWrite(arguments)
        var http = HTTPServerConfiguration()
        http.host = arguments.value("host") ?? "127.0.0.1"
        // Checked before the store is opened or a secret created: a typo changes nothing on disk.
        var address = in_addr()
        guard inet_pton(AF_INET, http.host, &address) == 1 else {
            throw UsageError(
                "--host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0, got \"\(http.host)\"", command: spec.name)
        }
        if let text = arguments.value("port") {
            guard CommandOptions.isWholeNumber(text), let port = Int(text), (0...65535).contains(port) else {
                throw UsageError("--port must be 0-65535, got \"\(text)\"", command: spec.name)
            }
            http.port = port
        }
        http.eventLoops = try CommandOptions.positiveInt(
            arguments, "event-loops", default: http.eventLoops, maximum: 256, about: " (one per core is the default)",
            command: spec.name)
        // One event's record must fit a frame of the log (half its 64 MiB cap, as the engine writes them),
        // and a body bounds its largest event.
        http.limits.maxBodyBytes = try CommandOptions.positiveInt(
            arguments, "max-body-bytes", default: http.limits.maxBodyBytes,
            maximum: Int(SegmentFormat.maxFramePayload) / 2, about: " (32 MiB)", command: spec.name)
        // Every body Tally takes is required (events, a tenant to create or patch): a POST or PATCH without
        // framing is an HTTP/1.0 client's body the server cannot delimit, or a forgotten body, and 411 says
        // which header is missing where reading no body would answer "empty input". Other methods take no
        // body here: a PUT is told it is not allowed (405), whatever its framing.
        http.limits.lengthRequiredMethods = [.post, .patch]
        for (name, timeout) in [
            ("header-timeout", \HTTPServerConfiguration.headerTimeout),
            ("body-timeout", \HTTPServerConfiguration.bodyTimeout),
            ("idle-timeout", \HTTPServerConfiguration.idleTimeout),
        ] {
            if arguments.value(name) != nil {
                http[keyPath: timeout] = .seconds(
                    try CommandOptions.positiveInt(arguments, name, default: 1, maximum: 86_400, command: spec.name))
            }
        }
        http.maxConnections = try CommandOptions.positiveInt(
            arguments, "max-connections", default: http.maxConnections,
            command: spec.name)
        http.maxBufferedBodyBytes = try CommandOptions.positiveInt(
            arguments, "max-buffered-body-bytes", default: http.maxBufferedBodyBytes, command: spec.name)
        http.maxUnsentResponseBytes = try CommandOptions.positiveInt(
            arguments, "max-unsent-response-bytes", default: http.maxUnsentResponseBytes, command: spec.name)
        var configuration = EngineConfiguration()
        configuration.store.durability = try CommandOptions.durability(arguments, command: spec.name)
        configuration.backdateLimitMicroseconds =
            try CommandOptions.duration(
                arguments, "backdate-limit", default: configuration.backdateLimitMicroseconds / 1_000_000,
                maximum: EngineConfiguration.maximumBackdateLimitMicroseconds / 1_000_000, command: spec.name)
            * 1_000_000
        configuration.futureLimitMicroseconds = try CommandOptions.futureLimit(arguments, command: spec.name)
        configuration.checkpointEveryEvents = UInt64(
            try CommandOptions.positiveInt(
                arguments, "checkpoint-every", default: Int(configuration.checkpointEveryEvents), command: spec.name))
        configuration.checkpointEverySeconds = try CommandOptions.duration(
            arguments, "checkpoint-interval", default: configuration.checkpointEverySeconds, command: spec.name)
        configuration.scrub = try scrubConfiguration(arguments)
        // Scrubbed once the server listens: a start that fails says why, and nothing about the log's health.
        configuration.scrubStartsWhenOpened = false
        configuration.store.log = { io.printError("tally: \($0)") }

        // Connections and the store share the open-file limit: take all the hard limit allows.
        DescriptorLimit.raise()
        // A configured secret that cannot be read stops the start before a store is opened or created.
        let configuredSecret = try JWTSecret.configured(arguments)
        let previousSecret = try JWTSecret.previous(arguments)
        // The address is taken before the store is opened: a port in use stops the start before a long
        // replay, and before the store is touched (a torn tail cut off, a directory created). Until the
        // server listens, connections to it are refused.
        let listener: HTTPListener
        do {
            listener = try HTTPListener(host: http.host, port: http.port)
        } catch {
            io.printError("tally serve: \(error)")
            return .failure
        }
        // The directories the store's open is about to create (the store's and any parent missing): a failed
        // start removes them again.
        let created = missingDirectories(directory)
        // A log long past its last checkpoint takes a while to replay: the wait is announced, then timed.
        let opening = MonotonicClock.nanoseconds()
        io.printError("tally: opening the store \(directory)")
        io.flush()
        let engine = try Engine(directory: directory, configuration: configuration)
        let covered = engine.gauges.checkpoints.coveredEvents
        io.printError(
            "tally: store open in \(Self.milliseconds(since: opening)) ms: \(engine.eventCount) events, "
                + "\(covered) from a checkpoint and \(engine.eventCount - min(covered, engine.eventCount)) replayed from the log"
        )
        let secret: (secret: [UInt8], source: JWTSecret.Source, created: Bool)
        do {
            secret =
                try configuredSecret.map { ($0.secret, $0.source, false) }
                ?? JWTSecret.load(arguments, storeDirectory: directory, create: true)
            // (A secret this start created is random: only a configured or stored one can equal it.)
            if let previousSecret {
                try JWTSecret.checkDistinct(previous: previousSecret, current: secret.source, secret: secret.secret)
            }
        } catch {
            try? engine.close()
            removeUnusedStore(created)
            throw error
        }
        if !secret.created, let warning = JWTSecret.permissionWarning(secret.source) {
            io.printError("tally: warning: \(warning)")
        }
        if let previousSecret, let warning = JWTSecret.permissionWarning(previousSecret.source) {
            io.printError("tally: warning: \(warning)")
        }
        let running = RunningServer()
        let handler = TallyAPIHandler(
            engine: engine,
            authenticator: JWTAuthenticator(
                secret: secret.secret, previousSecrets: previousSecret.map { [$0.secret] } ?? []),
            limits: http.limits, serverGauges: { running.gauges }, bodyWorkers: http.eventLoops)
        let server: HTTPServer
        do {
            server = try HTTPServer(listener: listener, configuration: http, handler: handler)
        } catch {
            try? engine.close()
            // A start that fails (another server listening on the port since it was bound) leaves no secret
            // it made: the next start's is the one whose minting command it prints.
            if secret.created, let path = secret.source.path { unlink(path) }
            removeUnusedStore(created)
            io.printError("tally serve: \(error)")
            return .failure
        }
        running.server = server
        engine.startScrubbing()
        if secret.created {
            io.printError("tally: no JWT secret was configured; created \(secret.source) (mode 0600)")
        }
        // The command names the secret the server uses, so the token it mints is one the server accepts.
        // Paths are absolute and quoted, so the command works as printed from any directory.
        let source: String
        let store = ShellCommand.quoted(ShellCommand.absolute(directory))
        if let file = arguments.value("jwt-secret-file") {
            source = "--jwt-secret-file \(ShellCommand.quoted(ShellCommand.absolute(file)))"
        } else if secret.source == .environment {
            source = "--data \(store) (with the same TALLY_JWT_SECRET set)"
        } else {
            source = "--data \(store)"
        }
        if server.maxConnections < http.maxConnections, let limit = DescriptorLimit.current {
            io.printError(
                "tally: warning: the open-file limit (ulimit -n \(limit)) leaves room for \(server.maxConnections) "
                    + "connections, not --max-connections \(http.maxConnections), after "
                    + "\(DescriptorLimit.reserved(limit: limit, eventLoops: http.eventLoops)) kept for the store "
                    + "and the event loops; more are closed at once "
                    + "(raise the hard limit to serve more)")
        }
        if let previousSecret {
            io.printError(
                "tally: tokens signed with the previous secret (\(previousSecret.source)) are accepted too; "
                    + "tally_auth_previous_secret_requests_total counts them: once it stops rising, restart without it")
        }
        // Printed once the server listens: a start that fails (port in use) names no command to use.
        io.printError("tally: mint an admin token with: \(ShellCommand.tally) token --role super_admin \(source)")
        io.printError(
            "tally: listening on http://\(http.host):\(server.port) (store \(directory), durability \(configuration.store.durability), \(engine.eventCount) events)"
        )
        io.flush()
        let watch = SignalWaiter.waitForTermination(
            secondSignalMessage:
                "tally: a second signal: stopping at once, without the drain or a checkpoint (every acknowledged event is in the log; the next start replays what no checkpoint covers)"
        )
        io.printError("tally: stopping: finishing requests in flight (a second signal stops at once)")
        server.shutdown()
        try engine.close()
        withExtendedLifetime(watch) {}
        io.printError(
            engine.eventCount == 0
                ? "tally: stopped; no events, so no checkpoint"
                : "tally: stopped; a checkpoint covers all \(engine.eventCount) events")
        return .ok
    }

    /// Whole milliseconds since `start` (monotonic nanoseconds).
    private static func milliseconds(since start: UInt64) -> UInt64 {
        (MonotonicClock.nanoseconds() &- start) / 1_000_000
    }

    /// The background scrub `--scrub-interval` and `--scrub-rate` ask for, or `nil` for `--scrub-interval off`.
    static func scrubConfiguration(_ arguments: ParsedArguments) throws(UsageError) -> LogScrubber.Configuration? {
        var scrub = LogScrubber.Configuration()
        if arguments.value("scrub-interval") == "off" {
            guard arguments.value("scrub-rate") == nil else {
                throw UsageError("--scrub-rate has no effect with --scrub-interval off", command: spec.name)
            }
            return nil
        }
        scrub.intervalSeconds = try CommandOptions.duration(
            arguments, "scrub-interval", default: scrub.intervalSeconds, maximum: LogScrubber.longestIntervalSeconds,
            or: "off", command: spec.name)
        let mebibytes = try CommandOptions.positiveInt(
            arguments, "scrub-rate", default: Int(scrub.bytesPerSecond >> 20), maximum: 1 << 20,
            about: " (MiB per second)", command: spec.name)
        scrub.bytesPerSecond = Int64(mebibytes) << 20
        return scrub
    }

    /// `directory` and its parents up to the first that exists, deepest first; empty when `directory` exists.
    private static func missingDirectories(_ directory: String) -> [String] {
        var missing: [String] = []
        var path = directory
        while !path.isEmpty, path != "/", access(path, F_OK) != 0 {
            missing.append(path)
            guard let slash = path.lastIndex(of: "/") else { break }
            path = String(path[..<slash])
        }
        return missing
    }

    /// Removes the store a failed start created, and the parents it created on the way (`created`, deepest
    /// first, from ``missingDirectories(_:)``), so a mistyped `--port` leaves no directory behind. Only the
    /// entries a new store starts with are removed, and only while empty (`rmdir` refuses otherwise): a
    /// store that holds anything is never touched, nor is a directory that existed before.
    private static func removeUnusedStore(_ created: [String]) {
        guard let directory = created.first else { return }
        unlink(directory + "/LOCK")
        rmdir(directory + "/segments")
        rmdir(directory + "/checkpoints")
        for path in created { rmdir(path) }
    }
}
