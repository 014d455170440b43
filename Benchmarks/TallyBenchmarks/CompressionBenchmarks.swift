import Foundation
import TallyCompression
import TallyTestSupport

/// gzip request bodies: decompression of NDJSON compressed by the system's `gzip` at levels 1, 6 and 9, and
/// CRC-32 alone. Rates are decompressed (output) bytes per second, in MB of 10^6 bytes.
enum CompressionBenchmarks {
    /// About 16 MiB (the default largest body) of NDJSON: `data/sample-events.ndjson` repeated, so matches are
    /// as local as in a real batch.
    static func ndjson() -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../data/sample-events.ndjson")
        var sample = (try? Array(Data(contentsOf: url))) ?? []
        if sample.isEmpty {
            sample = Array(
                (0..<4000).map { index in
                    #"{"id":"evt-\#(index)","type":"api.call","tenantId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","data":{"keyId":"key-\#(index % 10)","status":200,"bytes":\#(index * 37 % 5000)}}"#
                        + "\n"
                }.joined().utf8)
        }
        var data: [UInt8] = []
        data.reserveCapacity(16 << 20)
        while data.count + sample.count <= 16 << 20 { data += sample }
        return data
    }

    /// `gzip -<level>` of the data, or `nil` when no gzip binary is installed.
    static func systemGzip(_ data: [UInt8], level: Int) -> [UInt8]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-\(level)", "-c", "-n"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        guard (try? process.run()) != nil else { return nil }
        let writer = Thread {
            input.fileHandleForWriting.write(Data(data))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let compressed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? Array(compressed) : nil
    }

    static func run(_ options: BenchmarkSuite.Options) {
        let data = ndjson()
        let size = String(format: "%.1f MiB", Double(data.count) / 1_048_576)
        for level in [1, 6, 9] {
            let compressed: [UInt8]
            let source: String
            if let made = systemGzip(data, level: level) {
                compressed = made
                source = "gzip -\(level)"
            } else {
                compressed = DeflateTestEncoder.gzip(data)
                source = "test encoder (no gzip binary)"
            }
            let decoder = GzipDecoder(maxOutputBytes: 16 << 20)
            let rate = Measure.median(options.repetitions) {
                var produced = 0
                let seconds = Measure.seconds {
                    produced = (try? decoder.decode(compressed).count) ?? 0
                }
                guard produced == data.count else {
                    print("gzip benchmark: decoding failed")
                    exit(1)
                }
                return Double(produced) / seconds / 1e6
            }
            let ratio = String(format: "%.1f", Double(data.count) / Double(compressed.count))
            Measure.row(
                "gzip decode, NDJSON, \(source)", rate, "MB/s",
                "\(size) of sample events, ratio \(ratio):1, CRC-32 and ISIZE checked")
        }
        emptyBlocks(options)
        let crcRate = Measure.median(options.repetitions) {
            var sink: UInt32 = 0
            let seconds = Measure.seconds { sink ^= CRC32.checksum(data) }
            if sink == 1 { print("") }
            return Double(data.count) / seconds / 1e6
        }
        Measure.row(
            "CRC-32 (gzip)", crcRate, "MB/s",
            "\(size), \(CRC32.usesFolding ? "folded with carry-less multiplies" : "slice-by-8")")
    }

    /// About 16 MiB of gzip holding nothing but empty dynamic-Huffman blocks, each with a table header to
    /// build: the costliest input per byte a client can send, since each 11.6 bytes rebuild three tables.
    static func emptyDynamicBlocks() -> (gzip: [UInt8], blocks: Int) {
        let blocks = Int(Double(16 << 20) / 11.5)  // 1,458,888 blocks of 93 bits: 16.2 MiB
        return (DeflateTestEncoder.wrapGzip(DeflateTestEncoder.emptyDynamicBlocks(blocks), crc: 0, length: 0), blocks)
    }

    /// Decodes ``emptyDynamicBlocks()`` under a 16 MiB limit, reporting the time a request of it would hold
    /// an event loop; a body the decoder refuses reports how soon it refused.
    static func emptyBlocks(_ options: BenchmarkSuite.Options) {
        let (gzip, blocks) = emptyDynamicBlocks()
        let decoder = GzipDecoder(maxOutputBytes: 16 << 20)
        var outcome = ""
        let milliseconds = Measure.median(options.repetitions) {
            let seconds = Measure.seconds {
                do throws(InflateError) {
                    outcome = "decoded, \(try decoder.decode(gzip).count) bytes"
                } catch {
                    outcome = "refused: \(error.code)"
                }
            }
            return seconds * 1e3
        }
        Measure.row(
            "gzip decode, empty dynamic blocks", milliseconds, "ms",
            "\(blocks) blocks in \(String(format: "%.1f MiB", Double(gzip.count) / 1_048_576)); \(outcome)")
    }
}
