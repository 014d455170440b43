import Foundation

/// Starts dedicated threads (kept out of `main.swift`, whose closures would inherit `@MainActor`).
enum WriterThread {
    /// Starts a named thread running `body`.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }
}
