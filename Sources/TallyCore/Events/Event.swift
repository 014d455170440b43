/// One usage or lifecycle fact reported by a platform, as validated and stored by Tally.
public struct Event: Sendable, Equatable {
    /// Client-chosen idempotency key: 1–128 printable ASCII characters, unique per tenant.
    public var id: String
    /// The tenant the event belongs to.
    public var tenantId: TenantID
    /// When the event happened (defaults to the time Tally received it).
    public var time: Timestamp
    /// The type-specific fields.
    public var payload: EventPayload

    /// The event's type, derived from its payload.
    public var type: EventType { payload.type }

    /// Creates an event.
    public init(id: String, tenantId: TenantID, time: Timestamp, payload: EventPayload) {
        self.id = id
        self.tenantId = tenantId
        self.time = time
        self.payload = payload
    }
}
