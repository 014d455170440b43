import Dispatch
import Synchronization
import TallyCore
import TallyEngine

/// Keeps a few import batches in the engine at once, so the next batch is decoded while earlier ones are
/// written, synced and applied, and reports each batch's rejected lines in line order once it is answered.
struct ImportPipeline {
    /// Batches in the engine at once, at most this many.
    static let window = 4

    private let engine: Engine
    private let io: CommandIO
    private let slots = DispatchSemaphore(value: ImportPipeline.window)
    /// Each answered batch's outcomes, by submission number.
    private let answers = Answers()
    /// What each submitted batch needs for its report: its line numbers and the lines rejected before it.
    private var waiting: [Int: (lines: [Int], times: [Timestamp?], notes: [(line: Int, message: String)])] = [:]
    private var submitted = 0
    private var reported = 0

    private(set) var imported = 0
    private(set) var duplicates = 0
    private(set) var rejected = 0
    private(set) var failed = 0
    /// Lines whose events the store failed to confirm, with the offset each was given (if any): reported
    /// once the store is closed and its log's end can tell which of them reached it.
    private(set) var failures: [(line: Int, offset: UInt64?, reason: String)] = []
    private(set) var firstOffset: UInt64?
    private(set) var lastOffset: UInt64?
    /// Accepted events timed before ``windowStart``, to the hour, as the dedup index forgets them: the next
    /// import of them would store them again.
    private(set) var importedBeforeWindow = 0
    /// Where the dedup window starts: events timed before it are not remembered across imports.
    let windowStart: Timestamp

    init(engine: Engine, io: CommandIO, windowStart: Timestamp) {
        self.engine = engine
        self.io = io
        self.windowStart = windowStart
    }

    /// Hands a batch to the engine (waiting while the window is full) and reports every batch answered so far.
    mutating func submit(
        _ batch: [Result<Event, EventValidationError>], lines: [Int],
        notes: [(line: Int, message: String)]
    ) {
        guard !batch.isEmpty || !notes.isEmpty else { return }
        let number = submitted
        submitted += 1
        waiting[number] = (lines, batch.map { try? $0.get().time }, notes)
        if batch.isEmpty {
            answers.outcomes.withLock { $0[number] = [] }
        } else {
            slots.wait()
            let answers = answers
            let slots = slots
            engine.ingest(batch, mode: .backfill) { outcomes in
                answers.outcomes.withLock { $0[number] = outcomes }
                slots.signal()
            }
        }
        reportAnswered()
    }

    /// Waits for every batch and reports the rest.
    mutating func finish() {
        for _ in 0..<ImportPipeline.window { slots.wait() }
        reportAnswered()
        for _ in 0..<ImportPipeline.window { slots.signal() }
    }

    /// Reports answered batches in submission order, stopping at the first one still in the engine.
    private mutating func reportAnswered() {
        while reported < submitted, let outcomes = answers.outcomes.withLock({ $0.removeValue(forKey: reported) }) {
            let (lines, times, notes) = waiting.removeValue(forKey: reported) ?? ([], [], [])
            var messages = notes
            for (index, (line, outcome)) in zip(lines, outcomes).enumerated() {
                switch outcome {
                case .accepted(let offset):
                    imported += 1
                    // Counted by the dedup index's own rule (to the hour): an event in the window's first
                    // hour is still remembered.
                    if let time = times[index], !DedupIndex.remembers(time, cutoff: windowStart) {
                        importedBeforeWindow += 1
                    }
                    if firstOffset == nil { firstOffset = offset }
                    lastOffset = offset
                case .duplicate:
                    duplicates += 1
                case .rejected(let reason):
                    rejected += 1
                    messages.append((line, reason))
                case .failed(let reason, let offset):
                    failed += 1
                    failures.append((line, offset, reason))
                }
            }
            for message in messages.sorted(by: { $0.line < $1.line }) {
                io.printError("line \(message.line): \(message.message)")
            }
            reported += 1
        }
    }

    /// Outcomes of submitted batches by submission number: filled on the engine's writer thread, taken on
    /// the importing one.
    private final class Answers: Sendable {
        let outcomes = Mutex<[Int: [IngestOutcome]]>([:])
    }
}
