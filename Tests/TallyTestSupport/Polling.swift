import Glibc

/// Waiting for something a background thread does, without a timing assertion.
public enum Polling {
    /// Checks `condition` every 10 ms until it holds or `seconds` pass (a generous bound, for a loaded
    /// machine: only a condition that never comes true waits it out).
    /// - Returns: Whether the condition held.
    public static func until(seconds: Int = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<(seconds * 100) {
            if try condition() { return true }
            usleep(10_000)
        }
        return try condition()
    }
}
