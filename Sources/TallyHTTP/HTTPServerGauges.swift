/// What an ``HTTPServer`` holds right now, and the connections it has shed since it started, for a metrics
/// page.
public struct HTTPServerGauges: Sendable, Equatable {
    /// Open client connections.
    public var openConnections: Int
    /// Request body bytes held, from each request's head until its handler answered
    /// (see ``HTTPServerConfiguration/maxBufferedBodyBytes``).
    public var bufferedBodyBytes: Int
    /// Response bytes written by the server that clients have not read yet
    /// (see ``HTTPServerConfiguration/maxUnsentResponseBytes``).
    public var unsentResponseBytes: Int
    /// Connections closed as soon as accepted because the most the server takes were open
    /// (see ``HTTPServer/maxConnections``), since it started.
    public var refusedAtLimit: Int
    /// Connections closed as soon as accepted because the process had run out of file descriptors, since
    /// the server started.
    public var refusedWithoutDescriptors: Int
    /// Connections closed because their clients left answers unread while the server held more unsent bytes
    /// than ``HTTPServerConfiguration/maxUnsentResponseBytes``, since it started.
    public var closedStalled: Int

    /// Creates gauges with the given values.
    public init(
        openConnections: Int = 0, bufferedBodyBytes: Int = 0, unsentResponseBytes: Int = 0,
        refusedAtLimit: Int = 0, refusedWithoutDescriptors: Int = 0, closedStalled: Int = 0
    ) {
        self.openConnections = openConnections
        self.bufferedBodyBytes = bufferedBodyBytes
        self.unsentResponseBytes = unsentResponseBytes
        self.refusedAtLimit = refusedAtLimit
        self.refusedWithoutDescriptors = refusedWithoutDescriptors
        self.closedStalled = closedStalled
    }
}
