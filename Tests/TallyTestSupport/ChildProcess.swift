import CTallyShims
import Foundation
import Glibc

/// Runs a program to completion with `posix_spawn`, its standard input given and its output and errors
/// captured, for tests that check a reference tool or the `tally` binary.
///
/// Not Foundation's `Process`: on Linux (swift-corelibs-foundation before its PR #5472, Swift 6.3.1 among
/// them) `Process.run()` now and then crashes the whole test run, reading past a directory entry while it
/// lists `/proc/self/fd` to close the child's descriptors. Here the child closes every descriptor past the
/// three standard ones (`posix_spawn_file_actions_addclosefrom_np`), and nothing is listed.
public enum ChildProcess {
    /// How a finished child ended, with what it wrote.
    public struct Outcome: Sendable {
        /// The exit status, when it exited.
        public var exitStatus: Int32?
        /// The signal that ended it, when one did.
        public var signal: Int32?
        /// Its standard output.
        public var output: [UInt8]
        /// Its standard error.
        public var errors: [UInt8]
    }

    /// Why a child could not be run.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `executable` with `arguments` (not including its name), writes `input` to its standard input and
    /// closes it, and waits for it to end, reading its output and errors meanwhile (so neither pipe fills).
    /// - Parameter environment: The child's environment, or `nil` for this process's own.
    public static func run(
        _ executable: String, _ arguments: [String], input: [UInt8] = [], environment: [String: String]? = nil
    ) throws -> Outcome {
        var pipes: [[Int32]] = []
        defer { for pipe in pipes { for end in pipe where end >= 0 { close(end) } } }
        for _ in 0..<3 {
            var ends: [Int32] = [-1, -1]
            // No close-on-exec needed: every child spawned here closes all but its three.
            guard pipe(&ends) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
            pipes.append(ends)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)
        tally_spawn_file_actions_addclosefrom(&actions, 3)
        // The child starts with no signal blocked and SIGPIPE at its default, whatever this thread has.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for argument in argv { free(argument) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) }
        defer { for variable in envp { free(variable) } }
        var child: pid_t = 0
        let spawned = (argv + [nil]).withUnsafeBufferPointer { arguments in
            (envp + [nil]).withUnsafeBufferPointer { variables in
                guard let arguments = arguments.baseAddress, let variables = variables.baseAddress else {
                    return EINVAL
                }
                return posix_spawn(
                    &child, executable, &actions, &attributes, UnsafeMutablePointer(mutating: arguments),
                    UnsafeMutablePointer(mutating: variables))
            }
        }
        guard spawned == 0 else { throw Failure(description: "posix_spawn \(executable): errno \(spawned)") }
        // The child's ends are its own now.
        for (pipe, end) in [(0, 0), (1, 1), (2, 1)] {
            close(pipes[pipe][end])
            pipes[pipe][end] = -1
        }
        var output: [UInt8] = []
        var errors: [UInt8] = []
        var written = 0
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while pipes[1][0] >= 0 || pipes[2][0] >= 0 || pipes[0][1] >= 0 {
            if pipes[0][1] >= 0 && written == input.count {
                close(pipes[0][1])
                pipes[0][1] = -1
                continue
            }
            var watched = [
                pollfd(fd: pipes[0][1], events: Int16(POLLOUT), revents: 0),
                pollfd(fd: pipes[1][0], events: Int16(POLLIN), revents: 0),
                pollfd(fd: pipes[2][0], events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&watched, 3, -1) >= 0 || errno == EINTR else {
                throw Failure(description: "poll: errno \(errno)")
            }
            if watched[0].revents != 0 {
                // A child that stopped reading makes the write fail with EPIPE: its SIGPIPE, which would end
                // the tests, is blocked on this thread meanwhile and taken back if it came.
                var pipeSignal = sigset_t()
                sigemptyset(&pipeSignal)
                sigaddset(&pipeSignal, SIGPIPE)
                var previous = sigset_t()
                pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
                // At most PIPE_BUF bytes, which a pipe ready for writing takes without blocking: a longer
                // write would wait for the child to read, while the child may wait for its output to be read.
                let count = input.withUnsafeBytes { bytes in
                    write(pipes[0][1], bytes.baseAddress.map { $0 + written }, min(bytes.count - written, 4_096))
                }
                let code = errno
                if count < 0 && code == EPIPE {
                    var now = timespec()
                    _ = sigtimedwait(&pipeSignal, nil, &now)
                }
                pthread_sigmask(SIG_SETMASK, &previous, nil)
                if count > 0 {
                    written += count
                } else if count < 0 && code != EINTR && code != EAGAIN {
                    // The child stopped reading (it exited, or closed its input): the rest is not wanted.
                    written = input.count
                }
            }
            for pipe in [1, 2] where watched[pipe].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(pipes[pipe][0], $0.baseAddress, $0.count) }
                if count > 0 {
                    if pipe == 1 { output += chunk[..<count] } else { errors += chunk[..<count] }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(pipes[pipe][0])
                    pipes[pipe][0] = -1
                }
            }
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(description: "waitpid: errno \(errno)") }
        }
        // WIFEXITED and WTERMSIG, which Glibc's macros spell for C alone.
        let signal = status & 0x7F
        return Outcome(
            exitStatus: signal == 0 ? (status >> 8) & 0xFF : nil, signal: signal == 0 ? nil : signal, output: output,
            errors: errors)
    }
}
