/// One API request made with a tenant's key.
public struct APICall: Sendable, Equatable {
    /// The API key that made the call.
    public var keyId: String
    /// The HTTP status answered, 100–599.
    public var status: UInt16
    /// Bytes transferred, when reported.
    public var bytes: Int64?
    /// Request duration in milliseconds, when reported.
    public var durationMs: Double?
    /// The OAuth client on whose behalf the call was made, when any.
    public var oauthClientId: String?

    /// Creates an API call record.
    public init(
        keyId: String, status: UInt16, bytes: Int64? = nil, durationMs: Double? = nil,
        oauthClientId: String? = nil
    ) {
        self.keyId = keyId
        self.status = status
        self.bytes = bytes
        self.durationMs = durationMs
        self.oauthClientId = oauthClientId
    }
}
