/// An API key's lifecycle state.
public enum KeyState: UInt8, Sendable {
    /// Seen in `api.call` events but never created.
    case unregistered
    /// Registered by `key.created` and not revoked (it may be past its `expiresAt`).
    case active
    /// Revoked by `key.revoked`; it keeps its counters.
    case revoked
}
