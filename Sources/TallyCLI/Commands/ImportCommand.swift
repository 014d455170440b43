import Glibc
import TallyCore
import TallyStorage

/// `tally import FILE|-`: appends NDJSON events to the store in batches.
struct ImportCommand {
    static let spec = CommandSpec(
        name: "import",
        summary: "Append NDJSON events (one JSON event per line) from a file or standard input to the store.",
        usage: "[options] FILE|-",
        details: """
            Valid lines are appended in batches; each invalid line is reported on standard error with its line
            number and reason and does not stop the others. Blank lines are skipped. Events without "time"
            get the time of import. `offset` and `ingestTime` fields (as `tally dump` prints them) are ignored,
            so a dump can be imported again. Import is the backfill path: it accepts events of any age.

            Exit codes: 0 every line imported; 1 some lines rejected or the import failed; 2 usage;
            3 the store is damaged.
            """,
        options: [
            StoreLocation.option,
            .init(name: "batch-size", valueName: "N", help: "Events per appended batch (default 1000)."),
            .init(name: "durability", valueName: "POLICY", help: "always (default), interval[:MS] or never."),
        ],
        positionalCount: 1...1
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        let batchSize = try CommandOptions.positiveInt(arguments, "batch-size", default: 1000, command: spec.name)
        var configuration = StoreConfiguration()
        configuration.durability = try CommandOptions.durability(arguments, command: spec.name)
        configuration.log = { io.printError("tally: \($0)") }
        let source = arguments.positionals[0]
        var lines: LineReader
        if source == "-" {
            if let input = io.standardInput {
                lines = LineReader(bytes: input)
            } else {
                lines = LineReader(descriptor: 0, closeWhenDone: false)
            }
        } else {
            let descriptor = open(source, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                io.printError("tally import: cannot open \(source): \(String(cString: strerror(errno)))")
                return .failure
            }
            lines = LineReader(descriptor: descriptor, closeWhenDone: true)
        }
        let store = try SegmentStore(directory: StoreLocation.directory(arguments), configuration: configuration)
        defer { try? store.close() }

        let parser = JSONParser()
        let decoder = EventJSONDecoder()
        var batch = RecordBatch(reservingCapacity: batchSize * 128)
        var imported = 0
        var rejected = 0
        var lineCount = 0
        var firstOffset: UInt64?
        var lastOffset: UInt64?
        func flush() throws {
            guard !batch.isEmpty else { return }
            let range = try store.append(batch)
            imported += range.count
            if firstOffset == nil { firstOffset = range.lowerBound }
            lastOffset = range.upperBound - 1
            batch = RecordBatch(reservingCapacity: batchSize * 128)
        }
        while let line = try lines.next() {
            lineCount += 1
            switch line {
            case .tooLong(let number):
                rejected += 1
                io.printError("line \(number): longer than \(LineReader.maxLineLength) bytes")
            case .text(let number, let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let now = Timestamp.now()
                do {
                    let value = try bytes.withUnsafeBytes { buffer throws(JSONParseError) in try parser.parse(buffer) }
                    let event = try decoder.decode(value, receivedAt: now)
                    batch.appendRecord { EventCodec.encode(event, ingestTime: now, into: &$0) }
                } catch let error as JSONParseError {
                    rejected += 1
                    io.printError("line \(number): invalid JSON: \(error.message)")
                } catch let error as EventValidationError {
                    rejected += 1
                    io.printError("line \(number): \(error)")
                }
                if batch.count >= batchSize || batch.payload.count >= 32 << 20 { try flush() }
            }
        }
        try flush()
        let offsets = firstOffset.map { first in " (offsets \(first)-\(lastOffset ?? first))" } ?? ""
        io.print("imported \(imported) events\(offsets); rejected \(rejected) of \(lineCount) lines")
        return rejected == 0 ? .ok : .failure
    }
}
