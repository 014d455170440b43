/// Where and why a segment stops being valid.
public struct SegmentDamage: Sendable, Equatable, CustomStringConvertible {
    /// The byte position where the first invalid frame (or header) starts.
    public var byteOffset: Int64
    /// What is wrong there.
    public var reason: String
    /// The offset the next valid frame should have started with.
    public var expectedOffset: UInt64

    public var description: String { "\(reason) at byte \(byteOffset)" }
}
