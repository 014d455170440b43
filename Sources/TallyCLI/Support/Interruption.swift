import CTallyShims
import Glibc

/// SIGINT and SIGTERM turned into a request to stop, for a command that must finish what it started (close
/// the store, print its summary) instead of dying between two batches.
///
/// After ``install()``, the first signal only sets ``signal`` and makes ``descriptor`` readable, so a
/// blocking read can wait on both; a second signal ends the process at once, as usual.
enum Interruption {
    /// Installs the handlers. Returns `false` when they could not be (the signals then keep their default
    /// action: the process ends at once).
    @discardableResult
    static func install() -> Bool { tally_interrupt_install() == 0 }

    /// The signal received (`SIGINT` or `SIGTERM`), or `nil`.
    static var signal: Int32? {
        let number = tally_interrupt_received()
        return number == 0 ? nil : number
    }

    /// A descriptor that turns readable once a signal was received, or `nil` before ``install()``.
    static var descriptor: Int32? {
        let descriptor = tally_interrupt_descriptor()
        return descriptor < 0 ? nil : descriptor
    }

    /// The signal's name, as a shell shows it.
    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}
