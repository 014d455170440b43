/// Where events come from, which decides the time window they must fall in.
public enum IngestMode: Sendable {
    /// Live traffic: event times from the backdate limit in the past to the future limit ahead.
    case live
    /// Backfill (`tally import`): any past time, the same future limit; the events it accepts are also
    /// remembered whatever their times, until ``Engine/forgetBackfilledIds()`` or the engine closes, so a
    /// repeat is a duplicate and a void finds an old target.
    case backfill
}
