/// A key in the recently-used list, with the time that placed it there.
///
/// The key is held by its position in the tenant's ``KeyTable`` (keys are kept in first-seen order and never
/// move), so keeping the list current on every call moves two plain words per entry and compares integers.
public struct RecentKey: Sendable, Equatable, BitwiseCopyable {
    /// The key's position in ``TenantProjection/keys``; its id is `keys.id(at: keyPosition)`.
    public var keyPosition: Int
    /// The time of the key's latest call.
    public var lastUsed: Timestamp

    /// Creates an entry for the key at `keyPosition`, last used at `lastUsed`.
    public init(keyPosition: Int, lastUsed: Timestamp) {
        self.keyPosition = keyPosition
        self.lastUsed = lastUsed
    }
}
