import Glibc
import Synchronization

/// The requests a handler has begun, so a test can wait for the server to reach one instead of sleeping.
final class StartedRequests: Sendable {
    private let names = Mutex<[String]>([])

    func note(_ name: String) {
        names.withLock { $0.append(name) }
    }

    /// Every name noted so far, in order.
    var all: [String] { names.withLock { $0 } }

    /// Waits (at most 10 s, a hang guard) until every one of `names` has begun.
    /// - Returns: Whether they all did.
    func wait(for expected: [String]) -> Bool {
        for _ in 0..<10_000 {
            if names.withLock({ seen in expected.allSatisfy { seen.contains($0) } }) { return true }
            usleep(1_000)
        }
        return false
    }
}
