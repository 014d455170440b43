/// What readers may see: the segments and the end of the acknowledged log.
public struct LogState: Sendable, Equatable {
    /// Every segment, oldest first.
    public var segments: [SegmentEntry]
    /// One past the last acknowledged offset (the number of records in the log).
    public var nextOffset: UInt64
}
