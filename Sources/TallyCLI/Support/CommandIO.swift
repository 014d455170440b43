import Glibc
import Synchronization
import TallyStorage

/// Where a command's output goes: the process's standard streams, or buffers in tests.
public final class CommandIO: Sendable {
    private enum Target: Sendable {
        case process
        case captured
    }

    private let target: Target
    private let captured = Mutex<(out: [UInt8], err: [UInt8])>(([], []))
    private let pending = Mutex<[UInt8]>([])
    /// The error of the first write to standard output that failed (a full disk, a closed pipe), if any.
    private let outputError = Mutex<Int32?>(nil)
    /// Text given as standard input, for tests.
    let standardInput: [UInt8]?
    /// Whether the process started with standard input closed (`<&-` under cron or a service manager):
    /// descriptor 0 then holds `/dev/null`, set there by ``process()`` before any file could take it.
    let standardInputWasClosed: Bool

    /// Output to the real standard output and error. Any of descriptors 0, 1 and 2 the process started
    /// without is opened on `/dev/null` first: else the next file or pipe opened would take its number,
    /// and standard input would read, or standard output write, that file instead.
    public static func process() -> CommandIO {
        var closed: [Int32] = []
        for descriptor: Int32 in 0...2 {
            guard case .failure(let failure) = Syscall.uninterrupted({ fcntl(descriptor, F_GETFD) }),
                failure.code == EBADF
            else { continue }
            // The lowest free number: `descriptor` itself, since the ones below it are open by now.
            _ = Syscall.uninterrupted { open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY) }
            closed.append(descriptor)
        }
        return CommandIO(target: .process, standardInput: nil, standardInputWasClosed: closed.contains(0))
    }

    /// Output captured in memory, with `input` as standard input.
    public static func captured(input: String = "") -> CommandIO {
        CommandIO(target: .captured, standardInput: Array(input.utf8), standardInputWasClosed: false)
    }

    /// Whether this is the process's own input and output (not a test's buffers): only then may a command
    /// change process-wide state such as signal handlers.
    var isProcess: Bool { target == .process }

    private init(target: Target, standardInput: [UInt8]?, standardInputWasClosed: Bool) {
        self.target = target
        self.standardInput = standardInput
        self.standardInputWasClosed = standardInputWasClosed
    }

    /// Everything written to standard output (captured mode).
    public var output: String { captured.withLock { String(decoding: $0.out, as: UTF8.self) } }
    /// Everything written to standard error (captured mode).
    public var errorOutput: String { captured.withLock { String(decoding: $0.err, as: UTF8.self) } }

    /// Writes a line of text to standard output.
    func print(_ text: String) {
        writeOut(Array((text + "\n").utf8))
    }

    /// Writes bytes to standard output, buffering up to 256 KiB.
    func writeOut(_ bytes: [UInt8]) {
        switch target {
        case .captured:
            captured.withLock { $0.out += bytes }
        case .process:
            let full = pending.withLock { pending -> [UInt8]? in
                pending += bytes
                guard pending.count >= 256 << 10 else { return nil }
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            if let full { writeStandardOutput(full) }
        }
    }

    /// Why standard output could not be written, once a write to it failed: output was lost, so the
    /// command must not report success.
    public var outputFailure: (code: Int32, reason: String)? {
        outputError.withLock { code in code.map { ($0, Errno($0).description) } }
    }

    private func writeStandardOutput(_ bytes: [UInt8]) {
        guard outputError.withLock({ $0 == nil }) else { return }
        if let failure = bytes.withUnsafeBytes({ Syscall.writeAll(1, $0) }) {
            outputError.withLock { $0 = $0 ?? failure.code }
        }
    }

    /// Writes a line to standard error, unbuffered.
    func printError(_ text: String) {
        flush()
        let bytes = Array((text + "\n").utf8)
        switch target {
        case .captured: captured.withLock { $0.err += bytes }
        // A failure is dropped: standard error is where it would be reported.
        case .process: bytes.withUnsafeBytes { StandardError.write($0) }
        }
    }

    /// Writes out anything buffered.
    public func flush() {
        guard case .process = target else { return }
        let bytes = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        if !bytes.isEmpty { writeStandardOutput(bytes) }
    }
}
