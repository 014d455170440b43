import TallyCore
import TallyEngine
import TallyStorage

/// `tally dump`: prints stored events as NDJSON with their offsets.
struct DumpCommand {
    static let spec = CommandSpec(
        name: "dump",
        summary: "Print stored events as NDJSON, one per line, with their offsets and ingest times.",
        usage: "[options]",
        details: """
            Reads the store without changing it. Filters combine (all must match). Ranges are half-open:
            --from/--to select event times with FROM <= time < TO; --from-offset/--to-offset select offsets
            with FROM <= offset < TO.

            Exit codes: 0 ok; 1 the store cannot be read; 2 usage; 3 the store is damaged.
            """,
        options: [
            StoreLocation.option,
            .init(name: "tenant", valueName: "UUID", help: "Only this tenant's events."),
            .init(
                name: "type", valueName: "TYPE",
                help: "Only events of this type (repeat or comma-separate for several).", repeatable: true),
            .init(name: "from", valueName: "TIME", help: "Only events at or after this RFC 3339 time."),
            .init(name: "to", valueName: "TIME", help: "Only events before this RFC 3339 time."),
            .init(name: "from-offset", valueName: "N", help: "Start at this offset."),
            .init(name: "to-offset", valueName: "N", help: "Stop before this offset."),
        ],
        positionalCount: 0...0
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        var tenant: TenantID?
        if let text = arguments.value("tenant") {
            guard let parsed = TenantID(text) else {
                throw UsageError("--tenant must be a UUID, got \"\(text)\"", command: spec.name)
            }
            tenant = parsed
        }
        var types: Set<EventType>?
        if let values = arguments.values["type"] {
            var selected: Set<EventType> = []
            // An empty item (`key.created,`, `a,,b`) is a typo to name, not something to skip; a value of
            // commas alone names no type at all (below).
            for value in values where !value.allSatisfy({ $0 == "," }) {
                guard !value.split(separator: ",", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                    throw UsageError(
                        "--type: an empty item in \"\(value)\"; separate event types with single commas",
                        command: spec.name)
                }
            }
            for name in values.flatMap({ $0.split(separator: ",") }) {
                guard let type = EventType(rawValue: String(name)) else {
                    throw UsageError(
                        "--type: unknown event type \"\(name)\" (expected one of: \(EventType.wireNames))",
                        command: spec.name)
                }
                selected.insert(type)
            }
            guard !selected.isEmpty else {
                throw UsageError(
                    "--type needs at least one event type (expected one of: \(EventType.wireNames))", command: spec.name
                )
            }
            types = selected
        }
        let from = try CommandOptions.time(arguments, "from", roundingUp: true, command: spec.name)
        let to = try CommandOptions.time(arguments, "to", roundingUp: true, command: spec.name)
        let fromOffset = try CommandOptions.offset(arguments, "from-offset", command: spec.name) ?? 0
        let toOffset = try CommandOptions.offset(arguments, "to-offset", command: spec.name)
        // An empty range is a mistake (the bounds swapped, most likely), not a question whose answer is nothing.
        if let from, let to, from >= to {
            throw UsageError(
                "--from \(from) is not before --to \(to): FROM <= time < TO selects nothing", command: spec.name)
        }
        if let toOffset, fromOffset >= toOffset {
            // Without --from-offset, the range starts at 0: say so rather than name an option not given.
            let start =
                arguments.value("from-offset") == nil
                ? "--to-offset 0 selects nothing (FROM <= offset < TO, and --from-offset is 0 when not given)"
                : "--from-offset \(fromOffset) is not below --to-offset \(toOffset): FROM <= offset < TO selects nothing"
            throw UsageError(start, command: spec.name)
        }

        let directory = try StoreLocation.existingStore(arguments)
        var configuration = StoreConfiguration()
        configuration.log = { io.printError("tally: \($0)") }
        // The events the newest checkpoint covers were acknowledged: damage among them, or a log that ends
        // before them, is refused (exit 3) rather than dumped short as a torn tail. Read before the log is
        // opened: a server that checkpoints meanwhile only covers events already in the log.
        configuration.acknowledgedOffset = try Engine.acknowledgedOffset(directory: directory)
        let store = try SegmentStore(directory: directory, configuration: configuration, readOnly: true)
        var writer = JSONWriter(reservingCapacity: 1 << 20)
        try store.forEachRecord(from: fromOffset, to: toOffset) { offset, record in
            let header: EventCodec.Header
            do throws(CodecError) {
                header = try EventCodec.decodeHeader(record)
            } catch {
                throw StorageError.undecodable(at: offset, error.reason)
            }
            if let tenant, header.tenantId != tenant { return true }
            if let types, !types.contains(header.type) { return true }
            if let from, header.time < from { return true }
            if let to, header.time >= to { return true }
            let decoded: (event: Event, ingestTime: Timestamp)
            do throws(CodecError) {
                decoded = try EventCodec.decode(record)
            } catch {
                throw StorageError.undecodable(at: offset, error.reason)
            }
            EventJSONEncoder.write(
                StoredEvent(offset: offset, ingestTime: decoded.ingestTime, event: decoded.event),
                to: &writer)
            writer.writeRaw("\n")
            if writer.bytes.count >= 1 << 20 {
                io.writeOut(writer.bytes)
                writer = JSONWriter(reservingCapacity: 1 << 20)
                // A closed pipe (`| head`) ends the dump; the failure is reported on the way out.
                if io.outputFailure != nil { return false }
            }
            return true
        }
        io.writeOut(writer.bytes)
        return .ok
    }
}
