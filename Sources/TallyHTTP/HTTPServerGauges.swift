/// What an ``HTTPServer`` holds right now, for a metrics page.
public struct HTTPServerGauges: Sendable, Equatable {
    /// Open client connections.
    public var openConnections: Int
    /// Request body bytes held, from each request's head until its handler answered
    /// (see ``HTTPServerConfiguration/maxBufferedBodyBytes``).
    public var bufferedBodyBytes: Int
    /// Response bytes written by the server that clients have not read yet
    /// (see ``HTTPServerConfiguration/maxUnsentResponseBytes``).
    public var unsentResponseBytes: Int

    /// Creates gauges with the given values.
    public init(openConnections: Int = 0, bufferedBodyBytes: Int = 0, unsentResponseBytes: Int = 0) {
        self.openConnections = openConnections
        self.bufferedBodyBytes = bufferedBodyBytes
        self.unsentResponseBytes = unsentResponseBytes
    }
}
