/// When an append counts as done.
public enum DurabilityPolicy: Sendable, Equatable, CustomStringConvertible {
    /// `fdatasync` before the append returns. Concurrent appends share one sync (group commit).
    case always
    /// Appends return once written to the OS; the writer syncs at least every `milliseconds`.
    /// A machine crash can lose up to that window of acknowledged batches.
    case interval(milliseconds: Int)
    /// Never sync except when sealing a segment and closing. For tests and benchmarks only.
    case never

    /// The longest interval `interval:N` accepts: one hour.
    public static let maximumIntervalMilliseconds = 3_600_000

    /// Parses `always`, `never`, `interval` (100 ms) or `interval:N` (N milliseconds, 1 to
    /// ``maximumIntervalMilliseconds``).
    /// - Returns: `nil` for any other text.
    public init?(parsing text: String) {
        switch text {
        case "always": self = .always
        case "never": self = .never
        case "interval": self = .interval(milliseconds: 100)
        default:
            guard text.hasPrefix("interval:"), let milliseconds = Int(text.dropFirst(9)),
                milliseconds > 0, milliseconds <= DurabilityPolicy.maximumIntervalMilliseconds
            else {
                return nil
            }
            self = .interval(milliseconds: milliseconds)
        }
    }

    /// The text ``init(parsing:)`` reads back: `always`, `never` or `interval:N`.
    public var description: String {
        switch self {
        case .always: "always"
        case .never: "never"
        case .interval(let milliseconds): "interval:\(milliseconds)"
        }
    }
}
