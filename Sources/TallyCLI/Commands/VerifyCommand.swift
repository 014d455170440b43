import TallyEngine
import TallyStorage

/// `tally verify`: checks every segment byte by byte, and every checkpoint, and reports what is damaged where.
struct VerifyCommand {
    static let spec = CommandSpec(
        name: "verify",
        summary: "Check every segment and checkpoint of the store and print what is damaged, where.",
        usage: "[options]",
        details: """
            Reads the store without changing it (it may run while a server writes the store). Every header,
            frame checksum, record framing, offset sequence and seal is checked, and every record decoded as a
            replay decodes it.
            A torn tail (an interrupted final write, which the next writer truncates) is reported but is not
            damage. Every checkpoint is read whole: its checksums, its projection version, and the log holding
            every event it covers. A damaged checkpoint is damage (an open ignores it and uses an older one or
            a full replay); an intact one that covers more events than the log holds means the log is missing
            or damaged acknowledged events, also damage, and every open refuses the store; one taken of
            another store's log is damage; one written by another projection version (after an upgrade) is
            reported, not counted as damage.

            Exit codes: 0 no damage; 1 the store, or a checkpoint, cannot be read (so it was not all checked);
            2 usage; 3 damage found.
            """,
        options: [StoreLocation.option],
        positionalCount: 0...0
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        let directory = try StoreLocation.existingStore(arguments)
        // Checkpoints are listed before the log is measured: one a running server commits meanwhile covers
        // events the measurement may not include, and is left for the next run.
        let checkpointOffsets = try Engine.checkpointOffsets(directory: directory)
        // Read once, before the log is measured, for the same reason: a later reading may name a checkpoint
        // committed after the measurement, a floor the measured log cannot meet.
        let floor = try Engine.acknowledgedOffset(directory: directory)
        // Each segment's line is written out as soon as it is checked: a large store takes seconds.
        let report = try StoreVerifier(directory: directory, acknowledgedOffset: floor).verify { segment in
            Self.printSegment(segment, io: io)
            io.flush()
        }
        for problem in report.storeProblems { io.print("store: DAMAGED: \(problem)") }
        for name in report.ignoredNames {
            io.print("segments/\(name): ignored: not a segment file (no .seg name), so no command reads it")
        }
        let checkpoints = Engine.checkCheckpoints(
            directory: directory, offsets: checkpointOffsets, logEnd: report.logEnd
        ) { offset in
            report.segments.last { $0.firstOffset <= offset && offset < $0.nextOffset }?.salt
        }
        var damagedCheckpoints = 0
        var unreadableCheckpoints = 0
        for checkpoint in checkpoints {
            let name = "checkpoints/\(checkpoint.name)"
            if checkpoint.isSuperseded {
                io.print("\(name): removed while verify ran (a newer checkpoint superseded it)")
            } else if let problem = checkpoint.problem {
                if checkpoint.isOutdated {
                    io.print(
                        "\(name): \(checkpoint.isNewer ? "newer" : "outdated"): \(problem) (not damage: ignored on open, which rebuilds from the log; the next checkpoint supersedes it)"
                    )
                } else if checkpoint.isUnreadable {
                    unreadableCheckpoints += 1
                    io.print(
                        "\(name): CANNOT BE READ: \(problem) (check its permissions; its contents were not checked)")
                } else if checkpoint.isBeyondLog {
                    // The checkpoint is intact: the log is what lacks the events it covers.
                    damagedCheckpoints += 1
                    let cause =
                        report.isDamaged ? "the log's damage above hides the rest" : "acknowledged log data is missing"
                    io.print(
                        "\(name): intact, yet it \(problem): \(cause) "
                            + "(every open refuses the store: `tally salvage --out DIR` copies what the log still holds)"
                    )
                } else {
                    damagedCheckpoints += 1
                    io.print(
                        "\(name): DAMAGED: \(problem) (ignored on open: an older checkpoint or a full replay is used)")
                }
            } else if let offset = checkpoint.offset {
                io.print(
                    "\(name): ok, covers \(offset) events, \(checkpoint.tenants ?? 0) tenants, "
                        + "\(checkpoint.rememberedIds ?? 0) remembered ids, dedup window "
                        + EngineConfiguration.describe(checkpoint.dedupWindowMicroseconds ?? 0))
            }
        }
        // The newest checkpoint's name says how many events were acknowledged even when its header cannot
        // be read: a log that ends before that has lost them, as every open says.
        if report.logEnd < floor && !checkpoints.contains(where: \.isBeyondLog) {
            damagedCheckpoints += 1
            io.print(
                "store: DAMAGED: the log ends at offset \(report.logEnd), but the newest checkpoint's name says \(floor) events were acknowledged: offsets \(report.logEnd)-\(floor - 1) are missing (every open refuses the store: `tally salvage --out DIR` copies what the log still holds)"
            )
        }
        let damaged = report.isDamaged || damagedCheckpoints > 0
        let verdict = damaged ? "DAMAGED" : unreadableCheckpoints > 0 ? "INCOMPLETE" : "ok"
        io.print(
            "\(verdict): \(counted(report.segments.count, "segment")), \(counted(Int(clamping: report.recordCount), "record"))"
                + (report.logEnd != report.recordCount
                    ? " readable of the log's \(report.logEnd) (\(report.logEnd - min(report.recordCount, report.logEnd)) missing or behind damage; `tally salvage` copies every readable frame)"
                    : "")
                + ", \(counted(checkpoints.count, "checkpoint")) checked in \(directory)")
        // Damage found is damage (3) even if something else could not be read; what could not be read,
        // alone, is a failure to check (1), not a finding.
        return damaged ? .damagedStore : unreadableCheckpoints > 0 ? .failure : .ok
    }

    /// Prints one segment's verdict: ok, a torn tail, damage (and where valid frames resume), records this
    /// build cannot decode.
    static func printSegment(_ segment: StoreVerifier.SegmentReport, io: CommandIO) {
        if let undecodable = segment.undecodable {
            io.print(
                "\(segment.fileName): DAMAGED: \(counted(undecodable.count, "record")) in valid frames cannot be decoded by this build, "
                    + "the first at offset \(undecodable.firstOffset): \(undecodable.reason) (a replay stops there; if a newer tally wrote the store, use it)"
            )
            if segment.damage == nil { return }
        }
        let range =
            segment.nextOffset > segment.firstOffset
            ? "offsets \(segment.firstOffset)-\(segment.nextOffset - 1)" : "no records"
        // A segment of an older format is named, so an operator sees which ones predate an upgrade.
        let format =
            segment.formatVersion.map { $0 == SegmentFormat.version ? "" : ", format version \($0)" } ?? ""
        let state = (segment.sealed ? "sealed" : "open") + format
        guard let damage = segment.damage else {
            io.print("\(segment.fileName): ok, \(range), \(segment.sizeBytes) bytes, \(state)")
            return
        }
        if segment.isTornTail, damage.byteOffset == 0, segment.sizeBytes <= Int64(SegmentFormat.headerSize) {
            // As open names it: not a frame cut short, but the file of a segment start a crash cut short.
            io.print(
                "\(segment.fileName): header never completed (\(segment.sizeBytes) bytes: a crash while the segment was being created, before it held any record; the next writer removes it)"
            )
            return
        }
        if segment.isTornTail {
            io.print(
                "\(segment.fileName): torn tail at byte \(damage.byteOffset) (\(segment.sizeBytes - damage.byteOffset) bytes taken for an interrupted write, which under durability `always` held nothing acknowledged; the next writer truncates it), \(range) intact"
            )
            return
        }
        var line =
            "\(segment.fileName): DAMAGED at byte \(damage.byteOffset): \(damage.reason); \(range) readable before it"
        if let resume = segment.resumesAtByte { line += "; valid frames resume at byte \(resume)" }
        io.print(line)
    }
}
