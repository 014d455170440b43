import Synchronization
import TallyStorage

/// Runs submitted work in the order it came, at most `width` items at once, each drain on a thread of its own:
/// started when work arrives and fewer than `width` run, ended when none waits. Not Dispatch's shared threads:
/// on a busy machine Dispatch ran such CPU-bound work one item at a time, whatever the width.
///
/// A body decoded off the event loops can inflate a 16 KB gzip body to the whole body limit and parse it
/// into several times that: with no bound on how many run at once, a burst of such bodies would hold all of
/// them in memory together. With one, at most `width` are decoded at a time (as many as there are event
/// loops, the bound the loops themselves gave when they decoded bodies), and the rest wait in order as the
/// bytes they arrived as, which the server's body budget already counts.
final class BoundedWorkQueue: Sendable {
    typealias Work = @Sendable () -> Void

    private struct State {
        /// Submitted work not yet started, from `head` on; taken slots are `nil`, so what a closure holds
        /// (a request's body) is freed once it has run.
        var waiting: [Work?] = []
        var head = 0
        /// How many drains are running (each on a thread of its own).
        var running = 0
    }

    /// The most items run at once.
    let width: Int
    private let state = Mutex(State())
    private let label: String

    /// - Parameters:
    ///   - label: Names the threads the work runs on.
    ///   - width: The most items run at once (at least 1).
    init(label: String, width: Int) {
        self.label = label
        self.width = max(1, width)
    }

    /// How many submitted items wait for their turn (not counting those running).
    var waitingCount: Int { state.withLock { $0.waiting.count - $0.head } }

    /// Queues `work`; it runs once every item submitted before it has started and fewer than ``width`` run.
    func submit(_ work: @escaping Work) {
        let startsDrain = state.withLock { state -> Bool in
            state.waiting.append(work)
            guard state.running < width else { return false }
            state.running += 1
            return true
        }
        guard startsDrain else { return }
        BackgroundThread.start(name: label) { self.drain() }
    }

    /// Runs waiting items one after another until none is left.
    private func drain() {
        while let work = next() { work() }
    }

    /// Takes the oldest waiting item, or, when none waits, ends this drain.
    private func next() -> Work? {
        state.withLock { state -> Work? in
            guard state.head < state.waiting.count else {
                state.waiting.removeAll(keepingCapacity: state.waiting.count <= 1024)
                state.head = 0
                state.running -= 1
                return nil
            }
            let work = state.waiting[state.head]
            state.waiting[state.head] = nil
            state.head += 1
            // Under steady load the list never empties: its taken front is dropped once it is half of it.
            if state.head >= 1024 && state.head * 2 >= state.waiting.count {
                state.waiting.removeFirst(state.head)
                state.head = 0
            }
            return work
        }
    }
}
