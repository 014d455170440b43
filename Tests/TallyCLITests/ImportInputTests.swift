import Foundation
import Glibc
import TallyCore
import TallyEngine
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyCLI

/// What `tally import` reads: lines up to the 64 MiB limit (longer ones rejected, however they arrive), and
/// an input that fails midway, whose lines read before the failure are imported and summed up.
@Suite struct ImportInputTests {
    /// The lines of `reader`, as `(number, length)` with `-1` for a line reported too long.
    static func lines(_ reader: inout LineReader) throws -> [(Int, Int)] {
        var lines: [(Int, Int)] = []
        while let line = try reader.next() {
            switch line {
            case .tooLong(let number): lines.append((number, -1))
            case .text(let number, let bytes): lines.append((number, bytes.count))
            }
        }
        return lines
    }

    /// A UTF-8 byte order mark before the first line is dropped, so its event imports; one anywhere else is
    /// left for the parser to name (it is not whitespace in JSON).
    @Test func aByteOrderMarkBeforeTheFirstLineIsDropped() throws {
        let directory = TemporaryDirectory()
        let event = { (id: String) in
            #"{"id":"\#(id)","type":"api.call","tenantId":"\#(CLITests.tenant)","time":"2026-11-02T10:00:00Z","data":{"keyId":"k1","status":200}}"#
        }
        let input = "\u{FEFF}" + event("first") + "\r\n" + "\u{FEFF}" + event("second") + "\n" + event("third")
        let result = runTally(["import", "--data", directory.path, "-"], input: input)
        #expect(result.code == .failure, "\(result.err)")
        #expect(result.out.contains("imported 2 events"), "\(result.out)")
        #expect(result.err.contains("line 2: invalid JSON: unexpected byte 0xEF at column 1"), "\(result.err)")
        var reader = LineReader(bytes: Array(("\u{FEFF}ab\n" + "\u{FEFF}cd").utf8))
        #expect(try Self.lines(&reader).map(\.1) == [2, 5])
    }

    /// A line over the limit is too long however it arrives: whole in memory, spread over many reads, or
    /// ending (with its newline) in the read that takes it past the limit. A small limit and small reads
    /// stand in for 64 MiB and 1 MiB.
    @Test func aLineOverTheLimitIsTooLongHoweverItArrives() throws {
        #expect(LineReader.maxLineLength == 64 << 20, "the README's limit")
        let limit = 1_000
        let over = [UInt8](repeating: 0x20, count: limit + 10)
        let exact = [UInt8](repeating: 0x20, count: limit)
        let far = [UInt8](repeating: 0x20, count: limit * 5)
        let bytes =
            exact + [0x0A] + over + [0x0D, 0x0A] + Array("ok".utf8) + [0x0A] + far + [0x0A] + exact
            + [0x0D] + [0x0A] + over
        let expected = [(1, limit), (2, -1), (3, 2), (4, -1), (5, limit), (6, -1)]
        var inMemory = LineReader(bytes: bytes, maxLineLength: limit)
        #expect(try Self.lines(&inMemory).elementsEqual(expected, by: ==))
        let directory = TemporaryDirectory()
        let path = directory.appending("long.ndjson")
        try StoreTestSupport.write(bytes, to: path)
        for chunk in [1, 7, 64, 999, 1_000, 1_001, 4_096] {
            let descriptor = open(path, O_RDONLY)
            try #require(descriptor >= 0)
            var fromFile = LineReader(
                descriptor: descriptor, closeWhenDone: true, maxLineLength: limit, chunkSize: chunk)
            let read = try Self.lines(&fromFile)
            #expect(read.elementsEqual(expected, by: ==), "reads of \(chunk): \(read)")
        }
    }

    /// Standard input is a TCP connection that sends 250 events and is then reset: the import takes the 250
    /// (its last batch was not yet full), says so, names the line to resume from, and exits 1.
    @Test func anInputThatFailsMidwayKeepsAndReportsWhatWasRead() throws {
        let binary = try #require(CLITests.executable(), "tally executable not found next to the tests")
        let directory = TemporaryDirectory()
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                try #require(bind(listener, raw, length) == 0 && listen(listener, 1) == 0)
                try #require(getsockname(listener, raw, &length) == 0)
            }
        }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
        }
        try #require(connected == 0)
        let server = accept(listener, nil, nil)
        try #require(server >= 0)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["import", "--data", directory.appending("store"), "--batch-size", "100", "-"]
        process.standardInput = FileHandle(fileDescriptor: server, closeOnDealloc: true)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let now = Int64(Date().timeIntervalSince1970)
        let lines = (0..<250).map { index in
            #"{"id":"r\#(index)","type":"api.call","tenantId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","time":"\#(Timestamp(seconds: now - 60).rfc3339())","data":{"keyId":"k","status":200}}"#
                + "\n"
        }.joined()
        _ = lines.withCString { send(client, $0, strlen($0), 0) }
        // Time for the import to read them; then a reset, not an end of input.
        usleep(1_000_000)
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        close(client)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(message)")
        #expect(printed.contains("imported 250 events (offsets 0-249)"), "\(printed)")
        #expect(message.contains("read failed") && message.contains("after line 250"), "\(message)")
        #expect(message.contains("import the rest from line 251"), "\(message)")
        let dump = runTally(["dump", "--data", directory.appending("store")])
        #expect(dump.out.split(separator: "\n").count == 250)
    }

    /// A reader waiting on a pipe stops when its interrupt descriptor turns readable: the whole lines it
    /// read are returned first, and a line whose newline never came is dropped.
    @Test func anInterruptStopsAWaitingReaderAfterItsWholeLines() throws {
        var input: [Int32] = [-1, -1]
        var interrupt: [Int32] = [-1, -1]
        try #require(pipe(&input) == 0 && pipe(&interrupt) == 0)
        defer { for descriptor in input + interrupt { close(descriptor) } }
        _ = "one\ntwo\npar".withCString { write(input[1], $0, strlen($0)) }
        var reader = LineReader(descriptor: input[0], closeWhenDone: false, interruptDescriptor: interrupt[0])
        var taken: [String] = []
        for _ in 0..<2 {
            if case .text(_, let bytes) = try reader.next() { taken.append(String(decoding: bytes, as: UTF8.self)) }
        }
        #expect(taken == ["one", "two"])
        _ = write(interrupt[1], "!", 1)
        let last = try reader.next()
        let (interrupted, lineNumber) = (reader.interrupted, reader.lineNumber)
        #expect(last == nil)
        #expect(interrupted)
        #expect(lineNumber == 2)
    }

    /// Waits up to 30 s for the log of `store` to hold `count` events, and returns how many it holds.
    static func waitForEvents(_ count: Int, in store: String) -> Int {
        var stored = 0
        for _ in 0..<600 where stored < count {
            usleep(50_000)
            stored =
                (try? SegmentStore(directory: store, readOnly: true)).map { reader in
                    defer { try? reader.close() }
                    return Int(reader.nextOffset)
                } ?? 0
        }
        return stored
    }

    /// SIGINT or SIGTERM while `tally import` waits for input: the lines read are imported and summed up,
    /// the line to resume from is named, and the exit code is 130.
    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalStopsAnImportWithItsSummary(signal: Int32) throws {
        let binary = try #require(CLITests.executable(), "tally executable not found next to the tests")
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["import", "--data", store, "--batch-size", "1", "-"]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let now = Int64(Date().timeIntervalSince1970)
        let lines =
            (0..<3).map { index in
                #"{"id":"s\#(index)","type":"api.call","tenantId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","time":"\#(Timestamp(seconds: now - 60).rfc3339())","data":{"keyId":"k","status":200}}"#
                    + "\n"
            }.joined() + #"{"id":"half"#
        input.fileHandleForWriting.write(Data(lines.utf8))
        // Each line is its own batch: once three are in the log, the import waits for more input.
        #expect(Self.waitForEvents(3, in: store) == 3)
        kill(process.processIdentifier, signal)
        var ended = false
        for _ in 0..<600 where !ended {
            usleep(50_000)
            ended = !process.isRunning
        }
        if !ended { kill(process.processIdentifier, SIGKILL) }
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(ended, "still running 30 s after the signal")
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(message)")
        #expect(printed.contains("imported 3 events (offsets 0-2); 0 duplicates; rejected 0 of 3 lines"), "\(printed)")
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        #expect(message.contains("stopped by \(name) after line 3"), "\(message)")
        #expect(
            message.contains("import the rest from line 4 (`tail -n +4` of the same input, piped to `"), "\(message)")
        #expect(message.contains(" import --data \(ShellCommand.absolute(store)) --batch-size 1 -`)"), "\(message)")
        #expect(runTally(["dump", "--data", store]).out.split(separator: "\n").count == 3)
        // The run did not read its whole input: its marker stays for the import of the rest to take up.
        #expect(FileManager.default.fileExists(atPath: store + "/" + BackfillMarker.fileName))
    }

    /// An import killed part-way (SIGKILL: no summary, no line to resume from) leaves its marker, and the
    /// next import takes up its run: the same input imported again stores none of the old events twice, and
    /// its voids find targets the killed run stored, as one import of the whole input would. Once an import
    /// reads its whole input, the marker goes.
    @Test func aKilledImportIsTakenUpByTheNext() throws {
        let binary = try #require(CLITests.executable(), "tally executable not found next to the tests")
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        let marker = store + "/" + BackfillMarker.fileName
        let old = Timestamp(seconds: Int64(Date().timeIntervalSince1970) - 60 * 86_400).rfc3339()
        let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        func call(_ id: String) -> String {
            #"{"id":"\#(id)","type":"api.call","tenantId":"\#(tenant)","time":"\#(old)","data":{"keyId":"k","status":200}}"#
        }
        func void(_ id: String) -> String {
            #"{"id":"v-\#(id)","type":"event.voided","tenantId":"\#(tenant)","time":"\#(old)","data":{"eventId":"\#(id)"}}"#
        }
        let calls = (0..<5).map { call("c\($0)") }
        let input = (calls + [void("c0"), void("c1"), call("c5")]).joined(separator: "\n") + "\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["import", "--data", store, "--batch-size", "1", "-"]
        let pipe = Pipe()
        process.standardInput = pipe
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        pipe.fileHandleForWriting.write(Data((calls.joined(separator: "\n") + "\n").utf8))
        #expect(Self.waitForEvents(5, in: store) == 5)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: marker), "the killed run's marker stays")

        let again = runTally(["import", "--data", store, "-"], input: input)
        #expect(again.code == .ok, "\(again.err)")
        #expect(
            again.err.contains(
                "an earlier import begun at offset 0 did not read its whole input; this one takes it up: the 5 events stored from that offset on are remembered (5 of them older than the dedup window)"
            ), "\(again.err)")
        #expect(
            again.out.contains("imported 3 events (offsets 5-7); 5 duplicates; rejected 0 of 8 lines"), "\(again.out)")
        let stats = runTally(["stats", "--data", store, tenant, "--at", old])
        #expect(stats.out.contains(#""apiCallsThisMonth": 4"#), "\(stats.out)")
        #expect(!FileManager.default.fileExists(atPath: marker), "a whole input read, the marker goes")
        // Without a marker, an import begins a run of its own: the old events are stored again, as documented.
        let third = runTally(["import", "--data", store, "-"], input: call("c0") + "\n")
        #expect(third.out.contains("imported 1 event"), "\(third.out)")
        #expect(!third.err.contains("takes it up"), "\(third.err)")

        // A marker that holds no offset is refused by name, the store untouched.
        try StoreTestSupport.write(Array("twelve\n".utf8), to: marker)
        let refused = runTally(["import", "--data", store, "-"], input: call("c9") + "\n")
        #expect(refused.code != .ok && refused.err.contains("\(marker) does not hold an offset"), "\(refused.err)")
        #expect(runTally(["dump", "--data", store]).out.split(separator: "\n").count == 9)
    }

    /// `tally generate | head -1`: once the pipe closes, the run ends (exit 1, the output could not be
    /// written) instead of writing 100 million events nobody reads. Waited for a minute at most.
    @Test func aClosedPipeEndsTheRun() throws {
        let binary = try #require(CLITests.executable(), "tally executable not found next to the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["generate", "--events", "100000000"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let first = output.fileHandleForReading.readData(ofLength: 100)
        #expect(!first.isEmpty)
        try output.fileHandleForReading.close()
        for _ in 0..<600 where process.isRunning { usleep(100_000) }
        let ended = !process.isRunning
        if !ended { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(ended, "still writing a minute after the pipe closed")
        #expect(process.terminationStatus == 1)
    }
}
