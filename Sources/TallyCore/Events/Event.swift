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

/// An event as it sits in the log: with the offset and ingest time the store stamped on it.
public struct StoredEvent: Sendable, Equatable {
    /// The event's position in the log: dense and increasing from 0.
    public var offset: UInt64
    /// When Tally accepted the event.
    public var ingestTime: Timestamp
    /// The event itself.
    public var event: Event
    /// For an `event.voided`: the offset of the event it retracts, as decided at ingest, so a replay applies
    /// the void whatever the target's age. `nil` for other types and for voids written before Tally stored it.
    public var voidTarget: UInt64?

    /// Creates a stored event.
    public init(offset: UInt64, ingestTime: Timestamp, event: Event, voidTarget: UInt64? = nil) {
        self.offset = offset
        self.ingestTime = ingestTime
        self.event = event
        self.voidTarget = voidTarget
    }
}
