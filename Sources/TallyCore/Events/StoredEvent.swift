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
