import Glibc
import Synchronization
import TallyCore
import TallyEngine
import TallyStorage

/// `tally replay`: rebuilds every projection from offset 0.
struct ReplayCommand {
    static let spec = CommandSpec(
        name: "replay",
        summary: "Rebuild all projections from the log, write a fresh checkpoint, and print a summary.",
        usage: "[options]",
        details: """
            Shows progress (events/s, percentage, ETA) on standard error: a live line on a terminal (erased when it
            ends), a line every few seconds otherwise. Takes the write lock (stop the server first).

            --verify rebuilds up to the newest checkpoint's offset without the lock and compares: exit 1 naming
            the first differing tenant and field when they differ.
            --until TIME|OFFSET rebuilds the state as it stood then (events ingested at or before TIME, or the
            first OFFSET events) and prints every tenant's stats as of then, touching nothing; with --tenant,
            that tenant's only (exit 1 when it had no events by then).
            The dedup index is rebuilt for the window the newest checkpoint records (the server's
            --backdate-limit), else 35 days.

            Exit codes: 0 ok (and, with --verify, equal); 1 failure, a difference, or no events for --tenant;
            2 usage; 3 damaged store.
            """,
        options: [
            StoreLocation.option,
            .init(name: "verify", valueName: nil, help: "Compare a rebuild with the newest checkpoint."),
            .init(
                name: "until", valueName: "TIME|OFFSET", help: "Rebuild the state as of a time or offset and print it."),
            .init(name: "tenant", valueName: "UUID", help: "With --until: print only this tenant."),
        ],
        positionalCount: 0...0
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        if arguments.value("tenant") != nil && arguments.value("until") == nil {
            throw UsageError("--tenant only applies with --until", command: spec.name)
        }
        if arguments.flags.contains("verify") && arguments.value("until") != nil {
            throw UsageError("--verify and --until do different things: give one of them", command: spec.name)
        }
        // Arguments are checked before the store: a malformed one is a usage error (exit 2) wherever the store is.
        var limit: ReplayLimit?
        if let until = arguments.value("until") {
            // Plain digits are an offset (no sign, as every number the commands take); a time has a zone.
            if CommandOptions.isWholeNumber(until) {
                guard let offset = UInt64(until) else {
                    throw UsageError(
                        "--until: an offset is at most \(UInt64.max), got \"\(until)\"", command: spec.name)
                }
                limit = .offset(offset)
            } else {
                do {
                    limit = .ingestTime(try Timestamp(rfc3339: until))
                } catch {
                    throw UsageError(
                        "--until must be an RFC 3339 time, such as 2025-07-10T14:30:00Z, or an offset: \(error.reason), got \"\(until)\"",
                        command: spec.name)
                }
            }
        }
        var only: TenantID?
        if let text = arguments.value("tenant") {
            guard let tenant = TenantID(text) else {
                throw UsageError("--tenant must be a UUID, got \"\(text)\"", command: spec.name)
            }
            only = tenant
        }
        let directory = try StoreLocation.existingStore(arguments)
        var configuration = EngineConfiguration()
        configuration.store.log = { io.printError("tally: \($0)") }
        // The server's dedup window, as its newest checkpoint records it (see `tally import`).
        if let window = Engine.recordedDedupWindow(directory: directory) {
            configuration.backdateLimitMicroseconds = window
        }
        let progress = Progress(io: io)
        let started = MonotonicClock.nanoseconds()

        if let until = arguments.value("until"), let limit {
            let rebuilt = try Engine.rebuild(
                directory: directory, configuration: configuration, limit: limit, progress: progress.report)
            progress.finish()
            let asOf: Timestamp
            if case .ingestTime(let time) = limit {
                asOf = time
            } else if let last = rebuilt.lastIngestTime {
                asOf = last
            } else {
                // None included (`--until 0`): the instant before the first event's ingest time, which given
                // back as `--until` selects none as well; now, for an empty log.
                let first = try Engine.rebuild(directory: directory, configuration: configuration, limit: .offset(1))
                asOf = first.lastIngestTime.map { Timestamp(microseconds: $0.microseconds - 1) } ?? Timestamp.now()
            }
            if case .offset(let offset) = limit, offset > rebuilt.state.nextOffset {
                io.printError(
                    "tally replay: the log holds \(rebuilt.state.nextOffset) events, fewer than --until \(offset): all of them are replayed"
                )
            }
            if let only, rebuilt.state.tenants[only] == nil {
                io.printError("tally replay: no events for tenant \(only) up to \(until)")
                return .failure
            }
            let tenants = rebuilt.state.tenants.keys.sorted().filter { only == nil || $0 == only }
            let stats = tenants.compactMap { tenant in
                rebuilt.state.tenants[tenant].map { TenantStats($0, tenantId: tenant, now: asOf).json }
            }
            var object = JSONObject()
            object.set("until", .string(until))
            object.set("asOf", .string(asOf.rfc3339(fractionDigits: 6)))
            object.set("events", .int(Int64(rebuilt.state.nextOffset)))
            object.set("tenants", .array(stats))
            io.print(PrettyJSON.format(.object(object)))
            return .ok
        }

        if arguments.flags.contains("verify") {
            // Listed before the open picks one: a server running meanwhile only commits later ones, which
            // are no concern of this check (and which the open may not have seen).
            let listed = try Engine.checkpointOffsets(directory: directory)
            guard let checkpoint = try Engine.newestCheckpoint(directory: directory, configuration: configuration)
            else {
                // None could be used: damaged ones are damage (3), not a store that has none yet.
                if let unusable = reportUnusableCheckpoints(listed, newerThan: nil, directory: directory, io: io) {
                    io.printError(
                        "tally replay: no checkpoint could be used to verify against; run `tally verify` (`tally replay` would replace them)"
                    )
                    return unusable
                }
                io.printError(
                    "tally replay: no checkpoint to verify against (run `tally replay` or stop a server cleanly first)")
                return .failure
            }
            let rebuilt = try Engine.rebuild(
                directory: directory, configuration: configuration,
                limit: .offset(checkpoint.nextOffset), progress: progress.report)
            progress.finish()
            if let difference = rebuilt.state.firstDifference(from: checkpoint) {
                io.print("DIFFERENT: rebuilt state vs checkpoint at offset \(checkpoint.nextOffset): \(difference)")
                return .failure
            }
            io.print(
                "verified: a rebuild of \(checkpoint.nextOffset) events matches the checkpoint (\(counted(checkpoint.tenants.count, "tenant")))"
            )
            // The match was with the newest checkpoint that could be used: a newer one that is damaged (not
            // merely written by another projection version) fails the verification all the same.
            if let unusable = reportUnusableCheckpoints(
                listed, newerThan: checkpoint.nextOffset, directory: directory, io: io)
            {
                io.printError(
                    "tally replay: the newest checkpoint could not be used, so the rebuild was compared with an older one; run `tally verify`"
                )
                return unusable
            }
            return .ok
        }

        var replayed = started
        var rebuilt = false
        let state: ProjectionState
        do {
            state = try Engine.rebuildAndCheckpoint(
                directory: directory, configuration: configuration, progress: progress.report
            ) {
                replayed = MonotonicClock.nanoseconds()
                rebuilt = true
                progress.finish()
            }
        } catch var failure as StorageError where rebuilt {
            // The rebuild was done; writing its checkpoint failed (a full disk, say): said as such.
            failure.message =
                "the log was replayed, but its checkpoint could not be written whole: \(failure.message); the log is as it was (a replay only reads it), and the next open uses the newest sound checkpoint"
            throw failure
        }
        let seconds = Double(replayed - started) / 1e9
        let checkpointSeconds = Double(MonotonicClock.nanoseconds() - replayed) / 1e9
        let rate = seconds > 0 ? Double(state.nextOffset) / seconds : 0
        io.print(
            "replayed \(state.nextOffset) events for \(state.tenants.count) tenants in \(Int(seconds * 1000)) ms (\(Int(rate)) events/s); "
                + "wrote checkpoint at offset \(state.nextOffset) in \(Int(checkpointSeconds * 1000)) ms")
        return .ok
    }

    /// Prints `DAMAGED: checkpoints/…: reason` (or `CANNOT BE READ: …`) for each of the `listed` checkpoints
    /// newer than `offset` (every one, for `nil`) that an open passed over, other than one merely written by
    /// another projection version; returns the exit code they call for (3 for damage, 1 when they only could
    /// not be read), or `nil` when there is none.
    private static func reportUnusableCheckpoints(
        _ listed: [UInt64], newerThan offset: UInt64?, directory: String, io: CommandIO
    ) -> ExitCode? {
        let newer = listed.filter { candidate in offset.map { candidate > $0 } ?? true }
        let checks = Engine.checkCheckpoints(directory: directory, offsets: newer, logEnd: .max, logSalt: { _ in nil })
        // A newer build's checkpoint is no damage (a rollback leaves one), but the events after the one
        // compared went unchecked: said on standard output, where the verdict is.
        for check in checks where check.isNewer {
            io.print(
                "NOT COMPARED: checkpoints/\(check.name): \(check.problem ?? "written by a newer projection version"); the events after the checkpoint compared were not checked"
            )
        }
        let unusable = checks.filter { !$0.isOutdated && !$0.isSuperseded }
        // Any one the open passed over is unusable, whether or not this check names why (one taken of
        // another log, say, which needs the log's salts to tell).
        for check in unusable {
            io.print(
                (check.isUnreadable ? "CANNOT BE READ" : "DAMAGED") + ": checkpoints/\(check.name): "
                    + (check.problem ?? "an open could not use it (see the warning above)"))
        }
        guard !unusable.isEmpty else { return nil }
        return unusable.allSatisfy(\.isUnreadable) ? .failure : .damagedStore
    }

    /// Progress on standard error: a rewritten line on a terminal, periodic plain lines otherwise, the first
    /// one interval after the start (a replay shorter than that prints none). Reports come from the replay's
    /// threads, so the printing state sits behind a lock. The rate counts from the first report, not from the
    /// start: opening the store and reading the checkpoint before the first event would otherwise drag the
    /// first lines' rate down and their ETA up.
    final class Progress: Sendable {
        let io: CommandIO
        let terminal: Bool
        let clock: @Sendable () -> UInt64
        /// When a line was last printed (the start, before the first), whether one is left unfinished on the
        /// terminal, and the first report's time and offset, which the rate counts from.
        private let printed: Mutex<(last: UInt64, onTerminal: Bool, first: (time: UInt64, offset: UInt64)?)>

        /// - Parameters:
        ///   - io: Where the lines go: a live line on a terminal, else a line every 5 s.
        ///   - clock: Monotonic nanoseconds (tests pass their own).
        init(io: CommandIO, clock: @escaping @Sendable () -> UInt64 = { MonotonicClock.nanoseconds() }) {
            self.io = io
            self.clock = clock
            // Captured output (tests) is never a terminal, whatever the test process's standard error is.
            terminal = io.isProcess && isatty(2) == 1
            printed = Mutex((clock(), false, nil))
        }

        func report(_ offset: UInt64, _ total: UInt64) {
            let now = clock()
            let since = printed.withLock { state -> (time: UInt64, offset: UInt64)? in
                guard let first = state.first else {
                    state.first = (now, offset)
                    return nil
                }
                // A report whose clock reading is older than the last line's (threads race) is skipped.
                guard now > state.last, now - state.last >= (terminal ? 200_000_000 : 5_000_000_000),
                    now > first.time, offset >= first.offset
                else { return nil }
                state.last = now
                state.onTerminal = state.onTerminal || terminal
                return first
            }
            guard let since else { return }
            let rate = Double(offset - since.offset) / (Double(now - since.time) / 1e9)
            let percent = total > 0 ? Double(offset) * 100 / Double(total) : 100
            let eta = rate > 0 ? Double(total - min(offset, total)) / rate : 0
            let line =
                "replay: \(offset)/\(total) events (\(Int(percent))%), \(Int(rate)) events/s, ETA \(Int(eta.rounded()))s"
            if terminal {
                StandardError.write("\r" + line + "   ")
            } else {
                io.printError(line)
            }
        }

        func finish() {
            let unfinished = printed.withLock { state -> Bool in
                defer { state.onTerminal = false }
                return state.onTerminal
            }
            // The live line is erased rather than left at its last percentage (92% of a finished replay):
            // the summary that follows says what was done.
            if unfinished { StandardError.write("\r\u{1B}[K") }
        }
    }
}
