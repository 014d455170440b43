import Foundation
import Synchronization
import TallyCore
import TallyStorage

/// The event log: checksums, record encoding, appends under each durability policy, sequential reads.
enum StorageBenchmarks {
    /// A realistic API-call event stream over 1,000 tenants and 10 keys each.
    static func events(_ count: Int) -> [Event] {
        let base = Timestamp(microseconds: 1_790_000_000_000_000)
        return (0..<count).map { index in
            let tenant = UInt64(index % 1000)
            return Event(
                id: "evt-\(index)-\(tenant)", tenantId: TenantID(high: 0x3FA8_5F64_5717_4562 ^ tenant, low: tenant),
                time: Timestamp(microseconds: base.microseconds + Int64(index)),
                payload: .apiCall(
                    APICall(
                        keyId: "key-\(index % 10)", status: index % 20 == 0 ? 429 : 200,
                        bytes: Int64(index % 5000), durationMs: 12.5)))
        }
    }

    static func batches(_ events: [Event], size: Int) -> [RecordBatch] {
        let ingest = Timestamp.now()
        return stride(from: 0, to: events.count, by: size).map { start in
            var batch = RecordBatch(reservingCapacity: size * 96)
            for event in events[start..<min(start + size, events.count)] {
                batch.appendRecord { EventCodec.encode(event, ingestTime: ingest, into: &$0) }
            }
            return batch
        }
    }

    static func crc(_ options: BenchmarkSuite.Options) {
        let bytes = [UInt8](repeating: 0xA5, count: 64 << 20)
        let method = CRC32C.usesHardware ? "SSE4.2 instruction, three lanes" : "slice-by-8"
        let rate = Measure.median(options.repetitions) {
            var sink: UInt32 = 0
            let seconds = Measure.seconds { sink ^= CRC32C.checksum(bytes) }
            if sink == 1 { print("") }
            return Double(bytes.count) / seconds / 1e9
        }
        Measure.row("CRC32C", rate, "GB/s", "64 MiB buffer (bound by memory), \(method)")
        // A frame of 1,000 events is about 77 KiB and is checked right after it is read, in cache.
        let frame = Array(bytes[0..<(77 << 10)])
        let inCache = Measure.median(options.repetitions) {
            var sink: UInt32 = 0
            let seconds = frame.withUnsafeBytes { frame in
                Measure.seconds { for _ in 0..<2_000 { sink ^= CRC32C.checksum(frame) } }
            }
            if sink == 1 { print("") }
            return Double(frame.count * 2_000) / seconds / 1e9
        }
        Measure.row(
            "CRC32C, one frame", inCache, "GB/s", "77 KiB buffer (in cache, as replay checks frames), \(method)")
        let portable = Measure.median(options.repetitions) {
            var sink: UInt32 = 0
            let seconds = Measure.seconds { sink ^= bytes.withUnsafeBytes { CRC32C.portableChecksum($0) } }
            if sink == 1 { print("") }
            return Double(bytes.count) / seconds / 1e9
        }
        Measure.row("CRC32C slice-by-8 (portable)", portable, "GB/s", "64 MiB buffer")
    }

    static func codec(_ options: BenchmarkSuite.Options) {
        let sample = events(options.quick ? 200_000 : 1_000_000)
        var encodedBytes = 0
        let encodeRate = Measure.median(options.repetitions) {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(sample.count * 100)
            let seconds = Measure.seconds {
                for event in sample { EventCodec.encode(event, ingestTime: .min, into: &buffer) }
            }
            encodedBytes = buffer.count
            return Double(sample.count) / seconds
        }
        Measure.row(
            "encode api.call records", encodeRate, "events/s",
            "\(encodedBytes / sample.count) bytes per record")
        let records = sample.map { EventCodec.encode($0, ingestTime: .min) }
        let decodeRate = Measure.median(options.repetitions) {
            var sink = 0
            let seconds = Measure.seconds {
                for record in records {
                    if let decoded = try? EventCodec.decode(record) { sink &+= decoded.event.id.utf8.count }
                }
            }
            if sink == 0 { print("") }
            return Double(records.count) / seconds
        }
        Measure.row("decode api.call records", decodeRate, "events/s")
    }

    static func append(_ options: BenchmarkSuite.Options) throws {
        let policies: [DurabilityPolicy] = [.always, .interval(milliseconds: 10), .never]
        for batchSize in [1, 100, 1000] {
            for policy in policies {
                let count = eventCount(batchSize: batchSize, policy: policy, quick: options.quick)
                let prepared = batches(events(count), size: batchSize)
                let bytes = prepared.reduce(0) { $0 + $1.payload.count }
                var rates: [Double] = []
                for _ in 0..<options.repetitions {
                    let directory = try scratch(options, "append")
                    defer { try? FileManager.default.removeItem(atPath: directory) }
                    let store = try SegmentStore(directory: directory, configuration: quiet(policy))
                    let seconds = try Measure.seconds {
                        for batch in prepared { try store.append(batch) }
                    }
                    try store.close()
                    rates.append(seconds)
                }
                rates.sort()
                let seconds = rates[rates.count / 2]
                Measure.row(
                    "append, batch \(batchSize), \(policy)", Double(count) / seconds, "events/s",
                    String(format: "%.1f MB/s; %d events, one appender", Double(bytes) / seconds / 1e6, count))
            }
        }
        // Group commit: many appenders of single events share each fdatasync.
        let writers = 16
        let perWriter = options.quick ? 500 : 2000
        let prepared = batches(events(writers * perWriter), size: 1)
        let rate = try Measure.median(options.repetitions) {
            let directory = try scratch(options, "group")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let store = try SegmentStore(directory: directory, configuration: quiet(.always))
            // Real threads: concurrentPerform would run only one iteration per core.
            let done = DispatchGroup()
            let failures = Atomic<Int>(0)
            let seconds = Measure.seconds {
                for writer in 0..<writers {
                    done.enter()
                    Thread.detachNewThread {
                        for index in stride(from: writer, to: prepared.count, by: writers) {
                            do { try store.append(prepared[index]) } catch {
                                if failures.add(1, ordering: .relaxed).oldValue == 0 {
                                    print("group commit: an append failed: \(error)")
                                }
                            }
                        }
                        done.leave()
                    }
                }
                done.wait()
            }
            try store.close()
            // A rate over appends that failed would claim throughput that stored nothing.
            if failures.load(ordering: .relaxed) > 0 {
                print("group commit: \(failures.load(ordering: .relaxed)) appends failed; no figure reported")
                exit(1)
            }
            return Double(prepared.count) / seconds
        }
        Measure.row("append, batch 1, always, \(writers) concurrent appenders", rate, "events/s", "group commit")
    }

    static func read(_ options: BenchmarkSuite.Options) throws {
        let count = options.quick ? 2_000_000 : 10_000_000
        let directory = try scratch(options, "read")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SegmentStore(directory: directory, configuration: quiet(.never))
        let chunk = 100_000
        var totalBytes = 0
        for start in stride(from: 0, to: count, by: chunk) {
            let part = batches(
                events(chunk).enumerated().map { index, event in
                    var event = event
                    event.id = "evt-\(start + index)"
                    return event
                }, size: 1000)
            for batch in part {
                totalBytes += batch.payload.count
                try store.append(batch)
            }
        }
        try store.close()
        let reader = try SegmentStore(directory: directory, configuration: quiet(.never), readOnly: true)
        let segments = reader.state.segments
        let fileBytes = segments.reduce(Int64(0)) { $0 + $1.readableBytes }
        let rawSeconds = try Measure.median(options.repetitions) {
            var seen = 0
            let seconds = try Measure.seconds {
                try reader.forEachRecord { _, record in
                    seen &+= record.count
                    return true
                }
            }
            return seconds
        }
        Measure.row(
            "full read, records (checksummed)", Double(count) / rawSeconds, "events/s",
            String(
                format: "%.2f GB/s; %d events, %d segments, %.0f MB", Double(fileBytes) / rawSeconds / 1e9,
                count, segments.count, Double(fileBytes) / 1e6))
        let decodedSeconds = try Measure.median(options.repetitions) {
            var seen = 0
            return try Measure.seconds {
                try reader.forEachEvent { stored in
                    seen &+= Int(stored.offset & 1)
                    return true
                }
            }
        }
        Measure.row(
            "full read, decoded events", Double(count) / decodedSeconds, "events/s",
            String(format: "%.2f GB/s", Double(fileBytes) / decodedSeconds / 1e9))
        // The background scrub's pass with no pace: what `--scrub-rate` leaves room under.
        let scrubSeconds = Measure.median(options.repetitions) {
            var report: SegmentStore.ScrubReport?
            let seconds = Measure.seconds { report = reader.scrub { _ in true } }
            guard let report, report.problems.isEmpty, report.bytesChecked == fileBytes else {
                print("scrub: \(String(describing: report)) of \(fileBytes) bytes; no figure reported")
                exit(1)
            }
            return seconds
        }
        Measure.row(
            "scrub pass, unpaced", Double(count) / scrubSeconds, "events/s",
            String(
                format: "%.2f GB/s; the default pace, 64 MiB/s, is %.1f%% of it",
                Double(fileBytes) / scrubSeconds / 1e9, Double(64 << 20) / (Double(fileBytes) / scrubSeconds) * 100))
        let reopen = try Measure.median(options.repetitions) {
            try Measure.seconds {
                _ = try SegmentStore(directory: directory, configuration: quiet(.never), readOnly: true)
            }
        }
        Measure.row(
            "open with full verification", reopen * 1000, "ms",
            String(format: "%.2f GB/s", Double(fileBytes) / reopen / 1e9))
    }

    private static func eventCount(batchSize: Int, policy: DurabilityPolicy, quick: Bool) -> Int {
        let base: Int
        switch (batchSize, policy) {
        case (1, .always): base = 2_000
        case (1, _): base = 100_000
        case (100, .always): base = 200_000
        default: base = 1_000_000
        }
        return quick ? max(base / 5, batchSize) : base
    }

    private static func quiet(_ policy: DurabilityPolicy) -> StoreConfiguration {
        var configuration = StoreConfiguration(durability: policy)
        configuration.log = { _ in }
        return configuration
    }

    private static func scratch(_ options: BenchmarkSuite.Options, _ label: String) throws -> String {
        let path = options.directory + "/tally-bench-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
