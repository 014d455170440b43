import TallyCore

/// What happened to one event of an ingested batch.
public enum IngestOutcome: Sendable, Equatable {
    /// Stored durably at this offset and counted.
    case accepted(offset: UInt64)
    /// Already accepted earlier (or earlier in the same batch) at this offset; not stored again.
    case duplicate(offset: UInt64)
    /// Refused; the reason names the field and rule, or the window or void rule broken.
    case rejected(reason: String)
    /// Valid, but the store failed before it became durable; nothing is acknowledged. Retry after restart.
    /// `offset` is the one it was given, when it was accepted before the failure (`nil` for a duplicate, or
    /// once the store refuses appends): a write can fail after some frames of the batch reached the log, so
    /// the event may be there, and only the log's end after a reopen tells (``Engine`` live ingest
    /// deduplicates a retry either way; `tally import` of old events must not import those again).
    case failed(reason: String, offset: UInt64? = nil)
}
