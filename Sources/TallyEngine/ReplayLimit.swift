import TallyCore

/// Where a replay stops, to rebuild the state as it stood at some point.
public enum ReplayLimit: Sendable, Equatable {
    /// Apply offsets below this one (the state when the log held this many events).
    case offset(UInt64)
    /// Apply events ingested at or before this time.
    case ingestTime(Timestamp)
}
