import Foundation
import Synchronization
import TallyCore
import TallyStorage

/// Helpers for tests that write real segment files.
public enum StoreTestSupport {
    /// Encodes events into one batch.
    public static func batch(_ events: [Event], ingestTime: Timestamp = Timestamp(microseconds: 1)) -> RecordBatch {
        var batch = RecordBatch()
        for event in events {
            batch.appendRecord { EventCodec.encode(event, ingestTime: ingestTime, into: &$0) }
        }
        return batch
    }

    /// Appends `events` to `store` in batches of `size` (the last may be shorter), one frame each.
    public static func append(_ events: [Event], to store: SegmentStore, batchesOf size: Int) throws {
        for start in stride(from: 0, to: events.count, by: size) {
            _ = try store.append(batch(Array(events[start..<min(start + size, events.count)])))
        }
    }

    /// Every acknowledged event, in order.
    public static func readAll(_ store: SegmentStore, from start: UInt64 = 0) throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        try store.forEachEvent(from: start) {
            events.append($0)
            return true
        }
        return events
    }

    /// A configuration with the given policy and segment size whose log lines are collected in `log`.
    public static func configuration(
        durability: DurabilityPolicy = .never, segmentSize: Int64 = 128 << 20,
        log: LogCollector = LogCollector()
    ) -> StoreConfiguration {
        var configuration = StoreConfiguration(durability: durability, segmentSizeLimit: segmentSize)
        configuration.log = { log.append($0) }
        return configuration
    }

    /// The segment files of a store, sorted.
    public static func segmentPaths(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/segments")
            .filter { $0.hasSuffix(".seg") }.sorted().map { directory + "/segments/" + $0 }
    }

    /// Reads a whole file.
    public static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Replaces a whole file.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The headers of a segment file's frames, in order, from its header to its end or to the first frame
    /// header that runs past it (checksums are not checked).
    public static func frameHeaders(_ bytes: [UInt8]) -> [SegmentFormat.FrameHeader] {
        bytes.withUnsafeBytes { raw in
            var headers: [SegmentFormat.FrameHeader] = []
            var position = SegmentFormat.headerSize
            while position + SegmentFormat.frameHeaderSize <= raw.count {
                let frame = SegmentFormat.decodeFrameHeader(UnsafeRawBufferPointer(rebasing: raw[position...]))
                headers.append(frame)
                position += frame.frameSize
            }
            return headers
        }
    }

    /// Copies a store directory.
    public static func copyStore(_ source: String, to destination: String) throws {
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }
}

/// Collects log lines from a store.
public final class LogCollector: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    public func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    public var all: [String] { lines.withLock { $0 } }
}
