/// One segment as readers see it.
public struct SegmentEntry: Sendable, Equatable {
    /// The offset of its first record.
    public var firstOffset: UInt64
    /// Its file name inside `segments/`.
    public var fileName: String
    /// Bytes readers may read (acknowledged frames only).
    public var readableBytes: Int64
    /// One past its last acknowledged record.
    public var nextOffset: UInt64
    /// Whether it ends with a seal frame.
    public var sealed: Bool
}
