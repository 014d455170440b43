import Foundation
import TallyCore
import TallyStorage

/// Fuzz target: bytes as segment files of a store, opened read-only and for writing, and read to the end.
///
/// Properties: opening either throws a ``StorageError`` or succeeds, and reading then yields events or throws a
/// ``StorageError``; read-only and read-write opens agree on the events; a store that opens for writing takes
/// a new batch after the recovered events and reads back both.
public final class SegmentFuzzTarget {
    /// A segment file to write into the store.
    public struct SegmentFile: Sendable {
        /// The file name inside `segments/`, such as `00000000000000000000.seg`.
        public var name: String
        /// The file's contents.
        public var bytes: [UInt8]

        /// Creates a segment file.
        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// Events and errors seen by one run.
    public struct Outcome {
        /// The verdict.
        public var verdict: FuzzVerdict
        /// The events read, when the store opened and read cleanly.
        public var events: [Event]?
    }

    private let scratch = TemporaryDirectory("tally-segment-fuzz")
    private let configuration: StoreConfiguration
    private let fileSystem = UnsyncedFileSystem()
    /// The event appended after a read-write open.
    static let probe = Event(
        id: "fuzz-probe", tenantId: EventFixtures.tenant, time: EventFixtures.time,
        payload: .apiCall(APICall(keyId: "probe", status: 200)))

    /// Creates a target that works in its own temporary directory.
    /// - Parameter readChunkSize: The store's read size; small values exercise reads across buffer edges.
    public init(readChunkSize: Int = 4 << 20) {
        var configuration = StoreTestSupport.configuration(durability: .never)
        configuration.log = { _ in }
        configuration.readChunkSize = readChunkSize
        self.configuration = configuration
    }

    /// Runs one libFuzzer input: the first byte holds flags (bit 0: repair checksums first), the rest is
    /// segment `00000000000000000000.seg`.
    public func check(_ input: [UInt8]) -> FuzzVerdict {
        guard let flags = input.first else { return .rejected(stage: "empty") }
        var bytes = Array(input.dropFirst())
        if flags & 1 != 0 { Self.repairChecksums(&bytes) }
        return run([SegmentFile(name: SegmentFormat.fileName(firstOffset: 0), bytes: bytes)]).verdict
    }

    /// Writes `segments` as the whole store, then opens and reads it both ways.
    public func run(_ segments: [SegmentFile]) -> Outcome {
        let directory = scratch.appending("store")
        do {
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory + "/segments", withIntermediateDirectories: true)
            for segment in segments {
                try StoreTestSupport.write(segment.bytes, to: directory + "/segments/" + segment.name)
            }
        } catch {
            return Outcome(verdict: .violated("could not write the store: \(error)"), events: nil)
        }
        let readOnly = read(directory, readOnly: true)
        let readWrite = read(directory, readOnly: false)
        switch (readOnly, readWrite) {
        case (.violated(let text), _), (_, .violated(let text)):
            return Outcome(verdict: .violated(text), events: nil)
        case (.failed(let stage), .failed):
            return Outcome(verdict: .rejected(stage: stage), events: nil)
        case (.read(let events), .read(let again)) where events == again:
            if let violation = appendAfterRecovery(directory, recovered: events) {
                return Outcome(verdict: .violated(violation), events: events)
            }
            return Outcome(verdict: .accepted, events: events)
        default:
            return Outcome(
                verdict: .violated("read-only open gave \(readOnly), read-write open gave \(readWrite)"), events: nil)
        }
    }

    private enum Read: CustomStringConvertible {
        case read([Event])
        case failed(stage: String)
        case violated(String)

        var description: String {
            switch self {
            case .read(let events): "\(events.count) events"
            case .failed(let stage): "failure at \(stage)"
            case .violated(let text): text
            }
        }
    }

    private func read(_ directory: String, readOnly: Bool) -> Read {
        let store: SegmentStore
        do throws(StorageError) {
            store = try SegmentStore(
                directory: directory, configuration: configuration, readOnly: readOnly,
                fileSystem: fileSystem)
        } catch {
            return error.message.isEmpty ? .violated("open failed without a message") : .failed(stage: "open")
        }
        defer { try? store.close() }
        do {
            let events = try StoreTestSupport.readAll(store).map(\.event)
            guard events.count == store.nextOffset else {
                return .violated("read \(events.count) events from a store whose next offset is \(store.nextOffset)")
            }
            return .read(events)
        } catch let error as StorageError {
            return error.code == .corrupt
                ? .failed(stage: "read") : .violated("read failed with \(error.code): \(error)")
        } catch {
            return .violated("read threw a \(type(of: error)), not a StorageError: \(error)")
        }
    }

    private func appendAfterRecovery(_ directory: String, recovered: [Event]) -> String? {
        do {
            let store = try SegmentStore(directory: directory, configuration: configuration, fileSystem: fileSystem)
            let offsets = try store.append(StoreTestSupport.batch([Self.probe]))
            try store.close()
            guard offsets == UInt64(recovered.count)..<UInt64(recovered.count + 1) else {
                return "the append after recovery got offsets \(offsets), expected \(recovered.count)"
            }
            let reopened = try SegmentStore(
                directory: directory, configuration: configuration, readOnly: true,
                fileSystem: fileSystem)
            let events = try StoreTestSupport.readAll(reopened).map(\.event)
            guard events == recovered + [Self.probe] else {
                return
                    "after recovery and one append the store holds \(events.count) events, not the \(recovered.count) recovered plus one"
            }
            return nil
        } catch {
            return "a store that opened cleanly failed to append and reopen: \(error)"
        }
    }

    /// Rewrites the header checksum, every frame checksum the layout lets it find, and a seal's whole-file
    /// checksum, so that mutations reach record framing and decoding instead of stopping at a checksum.
    public static func repairChecksums(_ bytes: inout [UInt8]) {
        guard bytes.count >= SegmentFormat.headerSize else { return }
        func store(_ value: UInt32, at position: Int) {
            for index in 0..<4 { bytes[position + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
        }
        func load32(_ position: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(bytes[position + $1]) << (8 * UInt32($1)) }
        }
        store(CRC32C.checksum(Array(bytes[0..<28])), at: 28)
        let salt = load32(12)
        var position = SegmentFormat.headerSize
        while position + SegmentFormat.frameHeaderSize <= bytes.count {
            let length = Int(load32(position))
            let end = position + SegmentFormat.frameHeaderSize + length
            guard length <= Int(SegmentFormat.maxFramePayload), end <= bytes.count else { return }
            if load32(position + 20) == SegmentFormat.FrameKind.seal.rawValue, length == SegmentFormat.sealPayloadSize {
                store(CRC32C.checksum(Array(bytes[0..<position])), at: position + SegmentFormat.frameHeaderSize + 8)
            }
            let checksum = bytes.withUnsafeBytes {
                SegmentFormat.frameChecksum(UnsafeRawBufferPointer(rebasing: $0[position..<end]), salt: salt)
            }
            store(checksum, at: position + 4)
            position = end
        }
    }

    /// The segment files of a small store holding ``EventFixtures/everyType(tenant:time:)`` in a few batches
    /// and several segments (the last one unsealed).
    public static func seedStore() throws -> [SegmentFile] {
        let directory = TemporaryDirectory("tally-segment-seed")
        let store = try SegmentStore(
            directory: directory.path,
            configuration: StoreTestSupport.configuration(durability: .never, segmentSize: 600),
            fileSystem: UnsyncedFileSystem())
        let events = EventFixtures.everyType()
        try StoreTestSupport.append(events, to: store, batchesOf: 4)
        try store.close()
        return try StoreTestSupport.segmentPaths(directory.path).map { path in
            SegmentFile(name: String(path.split(separator: "/").last ?? ""), bytes: try StoreTestSupport.bytes(path))
        }
    }

    /// Seed inputs for libFuzzer: the first segment of ``seedStore()``, with and without the repair flag.
    public static func seeds() -> [[UInt8]] {
        guard let first = try? seedStore().first?.bytes else { return [] }
        return [[0] + first, [1] + first]
    }
}
