import Foundation
import Glibc
import Synchronization
import Testing

@testable import TallyStorage

@Suite struct StandardErrorTests {
    /// Lines written by several threads at once, in writes far larger than a pipe keeps whole (`PIPE_BUF`,
    /// 4,096 bytes), reach a slow reader of the pipe each in one piece, as a log shipper reading the
    /// server's request log needs them: a pipe that fills splits a large write between other writers'.
    @Test func concurrentWritesToAPipeNeverInterleave() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        defer { close(readEnd) }
        let received = Mutex<[UInt8]>([])
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 8_192)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                received.withLock { $0 += buffer[0..<count] }
                // Slow: the pipe fills, and each write goes out as the reader makes room.
                usleep(200)
            }
        }
        reader.start()
        let writers = 4
        let chunks = 12
        let linesPerChunk = 120
        let padding = 500
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let letter = Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(writer)))
            for chunk in 0..<chunks {
                var text = ""
                for line in 0..<linesPerChunk {
                    text += "\(writer):\(chunk):\(line):" + String(repeating: letter, count: padding) + "\n"
                }
                var bytes = Array(text.utf8)
                bytes.withUnsafeMutableBytes { StandardError.write(UnsafeRawBufferPointer($0), to: writeEnd) }
            }
        }
        close(writeEnd)
        while !reader.isFinished { usleep(1_000) }
        let lines = String(decoding: received.withLock { $0 }, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == writers * chunks * linesPerChunk)
        var spliced = 0
        for line in lines {
            let fields = line.split(separator: ":")
            guard fields.count == 4, let writer = Int(fields[0]), (0..<writers).contains(writer),
                fields[3].utf8.count == padding,
                fields[3].allSatisfy({ $0 == Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(writer))) })
            else {
                spliced += 1
                continue
            }
        }
        #expect(spliced == 0, "\(spliced) of \(lines.count) lines were spliced with another write")
    }
}
