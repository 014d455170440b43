import Foundation

/// Starts dedicated threads for long-running loops (the log writer, the checkpointer).
///
/// Kept out of `main.swift`, whose closures would inherit `@MainActor` and trap on another thread.
public enum BackgroundThread {
    /// Starts a named thread running `body`.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }
}
