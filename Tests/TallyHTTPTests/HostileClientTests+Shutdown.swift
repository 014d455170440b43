import Dispatch
import Glibc
import TallyTestSupport
import Testing

@testable import TallyHTTP

extension HostileClientTests {
    /// An answer that comes after the drain deadline is dropped: the loop's wake descriptor is closed by
    /// then, and its number may belong to a file opened since (a store's next segment, say), which a
    /// wake-up would write 8 bytes into.
    @Test func anAnswerAfterTheDrainDeadlineWritesIntoNoDescriptor() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) { $0.drainTimeout = .milliseconds(50) }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(eventually { handler.heldCount == 1 })
        server.shutdown()
        // The lowest free numbers, those the loops just closed among them, now name these files.
        let directory = TemporaryDirectory()
        let files = (0..<64).map { index in
            Glibc.open("\(directory.path)/file-\(index)", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        }
        defer { for file in files where file >= 0 { Glibc.close(file) } }
        #expect(files.allSatisfy { $0 >= 0 })
        #expect(handler.releaseOne())
        for (index, file) in files.enumerated() where file >= 0 {
            var status = stat()
            fstat(file, &status)
            #expect(status.st_size == 0, "file-\(index) (descriptor \(file)) was written into")
        }
    }

    /// A request the drain deadline cuts off is closed unanswered, and the server says so: such a request
    /// leaves no line of its own, and the stop would otherwise read as clean. A drain that ends with every
    /// connection idle says nothing.
    @Test func aRequestTheDrainCutsOffIsReported() throws {
        let log = LogCollector()
        let handler = HostileTestHandler()
        let server = try startServer(handler) {
            $0.drainTimeout = .milliseconds(200)
            $0.bodyTimeout = .seconds(30)
            $0.log = { log.append($0) }
        }
        let idle = try LoopbackClient(port: server.port)
        #expect(try idle.request("GET", "/ok").status == 200)
        let client = try LoopbackClient(port: server.port)
        try client.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
        usleep(100_000)
        server.shutdown()
        #expect(
            log.all.contains {
                $0.contains("ran out with 1 connection of an event loop mid-request")
                    && $0.contains("closed unanswered")
            }, "\(log.all)")
        #expect(client.readUntilClosed().isEmpty)

        let quiet = LogCollector()
        let calm = try startServer(handler) { $0.log = { quiet.append($0) } }
        #expect(try LoopbackClient(port: calm.port).request("GET", "/ok").status == 200)
        calm.shutdown()
        #expect(!quiet.all.contains { $0.contains("mid-request") }, "\(quiet.all)")
    }

    /// A second shutdown does nothing: closing the listener's number again would close whatever file holds
    /// that number by then.
    @Test func aSecondShutdownClosesNoDescriptor() throws {
        let server = try startServer()
        server.shutdown()
        let directory = TemporaryDirectory()
        let files = (0..<64).map { index in
            Glibc.open("\(directory.path)/file-\(index)", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        }
        defer { for file in files where file >= 0 { Glibc.close(file) } }
        server.shutdown()
        for file in files { #expect(fcntl(file, F_GETFD) >= 0, "descriptor \(file) was closed") }
    }

    /// A drain timeout too long to add to the clock (an operator's "wait for ever") is a deadline at the
    /// end of time, not a trap: shutdown still ends as soon as the last connection has its answer.
    @Test func aDrainTimeoutBeyondTheClocksRangeStillDrains() throws {
        let handler = HostileTestHandler()
        let server = try startServer(handler) { $0.drainTimeout = .seconds(Int64.max) }
        let client = try LoopbackClient(port: server.port)
        try client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(eventually { handler.heldCount == 1 })
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            server.shutdown()
            finished.signal()
        }
        #expect(
            finished.wait(timeout: .now() + 0.2) == .timedOut, "the drain ended before the held request was answered")
        #expect(handler.releaseOne())
        let response = try client.readResponse()
        #expect(response.status == 200 && response.text == "held")
        #expect(finished.wait(timeout: .now() + 10) == .success)
    }
}
