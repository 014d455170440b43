import Glibc
import TallyCore
import TallyEngine
import TallyStorage

/// `tally import FILE|-`: appends NDJSON events to the store in batches.
struct ImportCommand {
    static let spec = CommandSpec(
        name: "import",
        summary: "Append NDJSON events (one JSON event per line) from a file or standard input to the store.",
        usage: "[options] FILE|-",
        details: """
            Events go through the engine in batches, like live ingest: each is accepted, reported as a
            duplicate, or rejected. Each rejected line is reported on standard error with its line number and
            reason and does not stop the others. Blank lines are skipped. Events without "time" get the time of
            import. `offset` and `ingestTime` fields (as `tally dump` prints them) are ignored.

            Import is the backfill path: it accepts event times of any age (live ingest only those within the
            server's backdate limit, 35 days by default). Duplicates are caught exactly as in live ingest for
            events whose time is inside the dedup window. Within one import, the events it accepted that are
            older than the window are remembered too (the latest 4,194,304, or --remember N): a repeat later in
            the file (the same id, with a time less than the window away) is a duplicate, and an event.voided
            finds its target imported earlier, so a `tally dump` imports again with its voids. Across imports,
            events older than the window are not remembered: importing the same old events twice counts them
            twice (the import says how many of the events it stored are that old). The window is the one the
            newest checkpoint records (the server's --backdate-limit), else 35 days. An event more than 5
            minutes ahead of the clock is rejected unless --future-limit takes it (a dump of a server run with a
            wider --future-limit needs as wide a one).

            SIGINT (Ctrl-C) or SIGTERM stops the import at the line it has reached: the lines read before it
            are imported and summed up, and the line to resume from is named (a second signal ends the
            process at once; every batch already acknowledged is in the log either way).

            An import that does not read its whole input (killed, stopped, cut short by a failure) leaves
            <store>/backfill-unfinished, and the next import takes up its run: the events stored since it
            began are remembered, so importing the same input again, or the rest of it, stores none of them
            twice and its voids find their targets. The marker goes once an import reads its whole input.

            Exit codes: 0 no line rejected (duplicates are fine); 1 some lines rejected or the import failed;
            2 usage; 3 the store is damaged; 130 stopped by SIGINT or SIGTERM.
            """,
        options: [
            StoreLocation.option,
            .init(
                name: "batch-size", valueName: "N", help: "Events per appended batch (default 1000, at most 1000000)."),
            .init(
                name: "durability", valueName: "POLICY",
                help: "always (default), interval[:MS] (MS 1 to 3600000, default 100) or never."),
            CommandOptions.futureLimitOption,
            .init(
                name: "remember", valueName: "N",
                help:
                    "Older-than-window events remembered for duplicates and voids (default 4194304, at most 268435456; about 64 bytes each)."
            ),
        ],
        positionalCount: 1...1
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        let batchSize = try CommandOptions.positiveInt(
            arguments, "batch-size", default: 1000, maximum: 1_000_000, command: spec.name)
        let futureLimit = try CommandOptions.futureLimit(arguments, command: spec.name)
        let remembered = try CommandOptions.positiveInt(
            arguments, "remember", default: EngineConfiguration().backfillRememberedIds, maximum: 1 << 28,
            command: spec.name)
        var configuration = StoreConfiguration()
        configuration.durability = try CommandOptions.durability(arguments, command: spec.name)
        configuration.log = { io.printError("tally: \($0)") }
        let source = arguments.positionals[0]
        // SIGINT or SIGTERM ends the input where it stands: what was read is imported and summed up, and the
        // line to resume from is named (exit 130), instead of the import dying between two batches.
        let interruptible = io.isProcess && Interruption.install()
        let interruptDescriptor = interruptible ? Interruption.descriptor : nil
        var lines: LineReader
        if source == "-" {
            if let input = io.standardInput {
                lines = LineReader(bytes: input)
            } else {
                guard !io.standardInputWasClosed else {
                    io.printError("tally import: standard input is closed: pipe the NDJSON in, or give a file")
                    return .failure
                }
                var status = stat()
                if fstat(0, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
                    io.printError("tally import: standard input is a directory: give an NDJSON file, or pipe one in")
                    return .failure
                }
                lines = LineReader(descriptor: 0, closeWhenDone: false, interruptDescriptor: interruptDescriptor)
            }
        } else {
            let descriptor = open(source, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                io.printError("tally import: cannot open \(source): \(String(cString: strerror(errno)))")
                return .failure
            }
            // Refused before a store is created for it.
            var status = stat()
            if fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
                Glibc.close(descriptor)
                io.printError("tally import: \(source) is a directory: give an NDJSON file, or - for standard input")
                return .failure
            }
            lines = LineReader(descriptor: descriptor, closeWhenDone: true, interruptDescriptor: interruptDescriptor)
        }
        let directory = try StoreLocation.storeToWrite(arguments)
        let rest = Resume(source: source, directory: directory, options: Resume.options(arguments))
        var engineConfiguration = EngineConfiguration()
        engineConfiguration.store = configuration
        engineConfiguration.backfillRememberedIds = remembered
        engineConfiguration.futureLimitMicroseconds = futureLimit
        // The server's dedup window, as its newest checkpoint records it: a narrower one would forget ids the
        // server remembers, in the checkpoint this import leaves behind.
        if let window = Engine.recordedDedupWindow(directory: directory) {
            engineConfiguration.backdateLimitMicroseconds = window
        }
        let engine = try Engine(directory: directory, configuration: engineConfiguration)
        defer { try? engine.close() }
        // An import that did not read its whole input (killed, stopped, cut short) left its marker: this one
        // takes up its run, so the same input imported again, or the rest of it, is stored once.
        let start = try engine.beginBackfill()
        if let resumed = start.resumed {
            io.printError(
                "tally import: an earlier import begun at offset \(start.offset) did not read its whole input; this one takes it up: the \(counted(resumed.read, "event")) stored from that offset on are remembered (\(resumed.remembered) of them older than the dedup window), so none is stored twice and voids find their targets"
            )
        }

        let decoder = EventDocumentDecoder()
        var batch: [Result<Event, EventValidationError>] = []
        var batchLines: [Int] = []
        // Lines rejected before the engine (too long, not JSON), reported in line order with the batch
        // they fall in.
        var notes: [(line: Int, message: String)] = []
        var rejected = 0
        // Lines that hold (or should hold) an event; blank ones are skipped and counted apart.
        var lineCount = 0
        var blankLines = 0
        let window = engineConfiguration.backdateLimitMicroseconds
        var pipeline = ImportPipeline(
            engine: engine, io: io, windowStart: Timestamp(microseconds: Timestamp.now().microseconds - window))
        // A read that fails midway (a reset socket, an I/O error) ends the input there: the lines read whole
        // before it are still imported and summed up, so that nobody imports them again to be safe.
        var readFailure: StorageError?
        // The signal that stopped the input early, and the first line not taken.
        var stoppedBy: (signal: Int32, resume: Int)?
        // The first line left unread because the store failed: it takes no more events, and reading the rest
        // of a large input only to report each line as not stored would help nobody.
        var unreadFrom: Int?
        reading: while true {
            let next: LineReader.Line?
            do throws(StorageError) {
                next = try lines.next()
            } catch {
                readFailure = error
                break
            }
            guard let line = next else { break }
            // A file never makes the reader wait, so the signal is looked for here too.
            if interruptible, let signal = Interruption.signal {
                // This line is not taken: the import resumes at it.
                stoppedBy = (signal, resume: lines.lineNumber)
                break
            }
            lineCount += 1
            switch line {
            case .tooLong(let number):
                rejected += 1
                notes.append((number, "longer than \(lines.maxLineLength) bytes"))
            case .text(let number, let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                    lineCount -= 1
                    blankLines += 1
                    continue
                }
                // A first line that shows the input is no NDJSON (gzip, a JSON array) says what it is instead
                // of only failing to parse.
                if lineCount == 1, let misfit = Self.misfit(firstLine: bytes, source: source, directory: directory) {
                    rejected += 1
                    notes.append((number, misfit))
                    continue
                }
                do {
                    let event = try bytes.withUnsafeBytes { buffer throws(JSONParseError) in
                        try decoder.decodeEvent(buffer, receivedAt: Timestamp.now())
                    }
                    batch.append(event)
                } catch let error as JSONParseError {
                    rejected += 1
                    notes.append((number, "invalid JSON: \(error.messageWithinLine)"))
                    continue
                }
                batchLines.append(number)
                if batch.count >= batchSize {
                    pipeline.submit(batch, lines: batchLines, notes: notes)
                    batch.removeAll(keepingCapacity: true)
                    batchLines.removeAll(keepingCapacity: true)
                    notes.removeAll(keepingCapacity: true)
                    if engine.store.failure != nil {
                        unreadFrom = lines.lineNumber + 1
                        break reading
                    }
                }
            }
        }
        if lines.interrupted, let signal = Interruption.signal {
            stoppedBy = (signal, resume: lines.lineNumber + 1)
        }
        pipeline.submit(batch, lines: batchLines, notes: notes)
        pipeline.finish()
        // Synced and checkpointed before the summary: a failure here is the command's, reported after the
        // summary, which says what the engine took before it.
        var closeFailure: (any Error)?
        // The whole input read and every batch stored: once synced, the run is complete and its marker goes,
        // before the close gives up the store's lock (so no other import takes up a finished run).
        if stoppedBy == nil && readFailure == nil && unreadFrom == nil && pipeline.failures.isEmpty {
            do {
                try engine.store.sync()
                try engine.finishBackfill()
            } catch {
                closeFailure = error
            }
        }
        do { try engine.close() } catch { closeFailure = closeFailure ?? error }
        rejected += pipeline.rejected
        let failed = pipeline.failed
        let (imported, duplicates, firstOffset, lastOffset) =
            (pipeline.imported, pipeline.duplicates, pipeline.firstOffset, pipeline.lastOffset)
        let offsets =
            firstOffset.map { first in
                let last = lastOffset ?? first
                return last == first ? " (offset \(first))" : " (offsets \(first)-\(last))"
            } ?? ""
        io.print(
            "imported \(counted(imported, "event"))\(offsets); \(counted(duplicates, "duplicate")); rejected \(rejected) of \(counted(lineCount, "line"))"
                + (failed == 0 ? "" : "; \(failed) not confirmed (see below)")
                + (blankLines == 0 ? "" : "; \(blankLines) blank \(blankLines == 1 ? "line" : "lines") skipped")
        )
        if pipeline.importedBeforeWindow > 0 {
            let count = pipeline.importedBeforeWindow
            let which =
                count == imported
                ? (count == 1 ? "the event imported is" : "all \(count) events imported are")
                : "\(count) of the \(imported) events imported are"
            io.printError(
                "tally import: \(which) older than the dedup window (\(EngineConfiguration.describe(window))): no later import remembers them, so importing them again would store them twice; import each file once per store"
            )
        }
        if !pipeline.failures.isEmpty || unreadFrom != nil {
            // A full disk fails a write and leaves the frames before it whole; any other failure (a sync's)
            // leaves them unknown.
            let full = (closeFailure as? StorageError)?.code == .noSpace
            reportUnconfirmed(
                pipeline.failures, unreadFrom: unreadFrom, directory: directory, rest: rest, writeFailedOnly: full,
                io: io)
        }
        if let readFailure {
            let resume = lines.lineNumber + 1
            io.printError(
                "tally import: \(readFailure.message) after line \(lines.lineNumber): the lines before it are accounted for above; once the cause is fixed, import the rest from line \(resume) \(rest.hint(from: resume))"
            )
        }
        if let stoppedBy {
            io.printError(
                "tally import: stopped by \(Interruption.name(stoppedBy.signal)) after line \(stoppedBy.resume - 1): the lines before it are accounted for above; import the rest from line \(stoppedBy.resume) \(rest.hint(from: stoppedBy.resume))"
            )
        }
        if let closeFailure {
            // Say where the imported events stand, so that nobody imports them again to be safe: events older
            // than the dedup window would then be counted twice.
            if imported > 0 {
                let standing =
                    configuration.durability == .always
                    ? "are in the log: each batch was synced before it was counted"
                    : "were written to the log; under durability \(configuration.durability) the close syncs them, and it failed (below): run `tally verify --data \(ShellCommand.quoted(directory))` to see what is there"
                io.printError(
                    "tally import: the \(imported) imported events \(standing); do not import them again (events older than the dedup window would be counted twice)"
                )
            }
            throw closeFailure
        }
        if stoppedBy != nil { return .interrupted }
        return rejected + failed == 0 && readFailure == nil && unreadFrom == nil ? .ok : .failure
    }

    /// What the input's first line shows it is, when that is not NDJSON: gzip-compressed bytes, or the start
    /// of a JSON array; `nil` for anything else (a line is then judged as an event).
    static func misfit(firstLine bytes: ArraySlice<UInt8>, source: String, directory: String) -> String? {
        let importing = "\(ShellCommand.tally) import --data \(ShellCommand.quoted(ShellCommand.absolute(directory))) -"
        let input = source == "-" ? "the input" : ShellCommand.quoted(source)
        if bytes.starts(with: [0x1F, 0x8B]) {
            return
                "the input is gzip-compressed (it starts with gzip's bytes 1f 8b), and import reads NDJSON text: decompress it first (`gzip -dc \(input) | \(importing)`)"
        }
        if bytes.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "[") {
            return
                "a JSON array, and import reads NDJSON, one event per line: convert it first (`jq -c '.[]' \(input) | \(importing)`)"
        }
        return nil
    }

    /// How to import the rest of an input from a given line: the same input, store and options.
    struct Resume {
        /// The input: a file, or `-` for standard input.
        var source: String
        /// The store imported into.
        var directory: String
        /// The options given that shape the import (`--batch-size`, `--durability`, `--future-limit`,
        /// `--remember`), as name and value.
        var options: [(name: String, value: String)] = []

        /// The options `arguments` gave that the rest of the import must repeat.
        static func options(_ arguments: ParsedArguments) -> [(name: String, value: String)] {
            ["batch-size", "durability", "future-limit", "remember"].compactMap { name in
                arguments.value(name).map { (name, $0) }
            }
        }

        /// The command, in backquotes and parentheses, that imports the input from `line` on.
        func hint(from line: Int) -> String {
            let flags = options.map { " --\($0.name) \(ShellCommand.quoted($0.value))" }.joined()
            let importing =
                "\(ShellCommand.tally) import --data \(ShellCommand.quoted(ShellCommand.absolute(directory)))\(flags) -"
            guard source != "-" else { return "(`tail -n +\(line)` of the same input, piped to `\(importing)`)" }
            return "(`tail -n +\(line) \(ShellCommand.quoted(ShellCommand.absolute(source))) | \(importing)`)"
        }
    }

    /// Reports the lines the store failed to confirm. A write can fail after some of a batch's frames
    /// reached the log, and those events are counted by the next open: calling them "not stored" would have
    /// them imported twice, since old events are not deduplicated. The log's end, read once the store is
    /// closed, tells which frames are there. When the disk filled (`writeFailedOnly`), those were written
    /// whole and the next open syncs them; after a failed sync, the kernel may have dropped their pages from
    /// the write-back, so they are there as read now but may not survive a machine restart: checked, not
    /// counted on. Lines from `unreadFrom` on were left unread once the store failed: the import resumes at
    /// the first line not in the log, at the latest there.
    static func reportUnconfirmed(
        _ failures: [(line: Int, offset: UInt64?, reason: String)], unreadFrom: Int? = nil, directory: String,
        rest: Resume, writeFailedOnly: Bool, io: CommandIO
    ) {
        let logEnd: UInt64?
        do {
            let reader = try SegmentStore(directory: directory, readOnly: true)
            logEnd = reader.nextOffset
            try? reader.close()
        } catch {
            logEnd = nil
        }
        let failures = failures.sorted { $0.line < $1.line }
        let firstOffset = failures.compactMap(\.offset).min()
        let store = ShellCommand.quoted(directory)
        let dump =
            firstOffset.map { "`tally dump --data \(store) --from-offset \($0)`" } ?? "`tally dump --data \(store)`"
        guard let logEnd else {
            for failure in failures {
                io.printError("line \(failure.line): not confirmed: \(failure.reason)")
            }
            io.printError(
                "tally import: the store failed and its log cannot be read to tell which of these \(failures.count) lines reached it; \(dump) shows what did: import only the lines whose events are missing"
                    + (unreadFrom.map { ", then the rest from line \($0) \(rest.hint(from: $0))" } ?? "")
            )
            return
        }
        let inLog = failures.filter { $0.offset.map { $0 < logEnd } ?? false }
        for failure in failures {
            guard let offset = failure.offset, offset < logEnd else {
                io.printError("line \(failure.line): not stored: \(failure.reason)")
                continue
            }
            io.printError(
                writeFailedOnly
                    ? "line \(failure.line): in the log at offset \(offset), written before the disk filled (the next open syncs it): do not import it again"
                    : "line \(failure.line): in the log at offset \(offset) as read now, though its sync failed (\(failure.reason)): it may not survive a machine restart, so check it with \(dump) before importing it again"
            )
        }
        let lastInLog = inLog.last?.line ?? 0
        let resume = [failures.first(where: { $0.line > lastInLog })?.line, unreadFrom].compactMap { $0 }.min()
        var summary =
            "tally import: the store failed; its log ends at offset \(logEnd), holding \(inLog.count) of the \(failures.count) events not confirmed"
        if let unreadFrom { summary += ", and the input was not read from line \(unreadFrom) on" }
        if let resume {
            summary +=
                ": once the cause is fixed, import again from line \(resume) \(rest.hint(from: resume))"
            if !inLog.isEmpty && !writeFailedOnly { summary += ", and check the lines before it with \(dump)" }
        } else {
            summary +=
                writeFailedOnly ? ": import none of them again" : ": check them with \(dump) before importing any again"
        }
        io.printError(summary)
    }
}
