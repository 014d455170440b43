/// Size limits and policy switches applied by ``HTTPRequestParser``.
///
/// All limits live in this one configuration value so a server can tune them in a single place.
public struct HTTPLimits: Sendable, Equatable {
    /// Maximum number of bytes in the request line plus header fields, counted up to (not including) the blank
    /// line that ends the header section. Exceeding it yields ``HTTPParseError/Code/headersTooLarge`` (431),
    /// or ``HTTPParseError/Code/targetTooLong`` (414) when the request line alone does.
    ///
    /// The same limit bounds a chunk-size line (400 when exceeded) and the chunked trailer section (431).
    public var maxHeaderBytes: Int

    /// Maximum body size in bytes: a larger `Content-Length`, or a chunked body whose decoded total grows beyond
    /// it, yields ``HTTPParseError/Code/bodyTooLarge`` (413).
    public var maxBodyBytes: Int

    /// Maximum number of header field lines. Exceeding it yields ``HTTPParseError/Code/headersTooLarge`` (431).
    public var maxHeaderCount: Int

    /// The methods whose requests must frame a body: one of them carrying neither `Content-Length` nor
    /// `Transfer-Encoding` is rejected with ``HTTPParseError/Code/lengthRequired`` (411). Any other request
    /// without framing has an empty body (the default, for every method: none is listed).
    public var lengthRequiredMethods: Set<HTTPMethod>

    /// Creates a set of limits.
    ///
    /// - Parameters:
    ///   - maxHeaderBytes: Maximum size of request line plus headers, in bytes. Defaults to 16 KiB.
    ///   - maxBodyBytes: Maximum body size, in bytes. Defaults to 16 MiB.
    ///   - maxHeaderCount: Maximum number of header field lines. Defaults to 100.
    ///   - lengthRequiredMethods: The methods whose requests without body framing are rejected with 411.
    ///     Defaults to none.
    public init(
        maxHeaderBytes: Int = 16 * 1024,
        maxBodyBytes: Int = 16 * 1024 * 1024,
        maxHeaderCount: Int = 100,
        lengthRequiredMethods: Set<HTTPMethod> = []
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderCount = maxHeaderCount
        self.lengthRequiredMethods = lengthRequiredMethods
    }
}
