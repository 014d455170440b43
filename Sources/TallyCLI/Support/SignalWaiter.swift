import Dispatch
import Glibc
import Synchronization
import TallyStorage

/// The signals that stop `tally serve`: SIGINT (Ctrl-C), SIGTERM (a service manager) and SIGHUP (the
/// terminal it ran in went away), each a clean stop the first time; a second one, from an operator who will
/// not wait out the drain, ends the process at once.
enum SignalWaiter {
    /// The signals that ask for a stop.
    static let stopSignals = [SIGINT, SIGTERM, SIGHUP]

    /// Blocks until one of ``stopSignals`` arrives. From then on, while the caller holds the returned
    /// ``Watch``, another one writes `message` to standard error and ends the process with exit code
    /// 128 + its number, without waiting for anything.
    /// - Parameter message: What a second signal says before the process ends.
    /// - Returns: The watch on the signals: hold it until the stop is done.
    static func waitForTermination(secondSignalMessage message: String) -> Watch {
        for number in stopSignals { signal(number, SIG_IGN) }
        signal(SIGPIPE, SIG_IGN)
        let received = Received()
        let done = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "tally-signals")
        let watching = stopSignals.map { number -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                let first = received.signal.withLock { signal -> Bool in
                    guard signal == nil else { return false }
                    signal = number
                    return true
                }
                if first {
                    done.signal()
                } else {
                    StandardError.write(message + "\n")
                    _exit(128 + number)
                }
            }
            source.resume()
            return source
        }
        done.wait()
        return Watch(sources: watching)
    }

    /// The sources watching the stop signals: while it lives, a second signal still ends the process.
    final class Watch {
        private let sources: [DispatchSourceSignal]

        init(sources: [DispatchSourceSignal]) {
            self.sources = sources
        }

        deinit {
            for source in sources { source.cancel() }
        }
    }

    /// The first stop signal, set once by the signal queue.
    private final class Received: Sendable {
        let signal = Mutex<Int32?>(nil)
    }
}
