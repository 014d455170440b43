/// An API key's state and usage counters.
public struct KeyEntry: Sendable, Equatable {
    /// The key's lifecycle state; ``KeyState/unregistered`` until a `key.created`.
    public var state: KeyState = .unregistered
    /// The name given by `key.created`, if any.
    public var name: String?
    /// The expiry given by `key.created`; `nil` for a key that never expires or is unregistered.
    public var expiresAt: Timestamp?
    /// The event time of the `key.created`; `nil` while unregistered.
    public var createdAt: Timestamp?
    /// Calls made with the key, less voided ones.
    public var requests: Int64 = 0
    /// Of those, the calls answered 429.
    public var rateLimitHits: Int64 = 0
    /// Of those, the calls answered 400 or more other than 429.
    public var errors: Int64 = 0
    /// The time of the key's latest call, `nil` before any; a void does not move it back, but a key whose
    /// every call is voided has none again.
    public var lastUsed: Timestamp?

    /// Creates the entry of a key not seen before: unregistered, with no calls.
    public init() {}
}
