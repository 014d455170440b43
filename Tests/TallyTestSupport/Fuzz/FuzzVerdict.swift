/// What one fuzz input did to the code under test. Shared by the seeded fuzz suites and the libFuzzer
/// harnesses in `Benchmarks/Fuzz/`, so both check exactly the same properties.
public enum FuzzVerdict: Sendable, Equatable {
    /// The input was valid and every property of a valid result held.
    case accepted
    /// The input was refused with a typed error; `stage` names which check refused it (for coverage counts).
    case rejected(stage: String)
    /// A property failed: a bug. The text says which property and how.
    case violated(String)

    /// The broken property, or `nil` when the input was handled correctly.
    public var violation: String? {
        if case .violated(let text) = self { return text }
        return nil
    }
}

/// Counts verdicts by kind, so a seeded suite can check it reached both the accepting and the rejecting paths.
public struct FuzzTally: Sendable {
    /// Inputs accepted.
    public private(set) var accepted = 0
    /// Inputs rejected, by stage.
    public private(set) var rejected: [String: Int] = [:]
    /// Broken properties with the input that broke them (the first few only).
    public private(set) var violations: [String] = []

    /// Creates an empty tally.
    public init() {}

    /// Records one verdict for `input`.
    public mutating func record(_ verdict: FuzzVerdict, input: [UInt8]) {
        switch verdict {
        case .accepted: accepted += 1
        case .rejected(let stage): rejected[stage, default: 0] += 1
        case .violated(let text):
            if violations.count < 5 { violations.append("\(text); input \(input)") }
        }
    }

    /// Inputs rejected at `stage`.
    public func rejections(_ stage: String) -> Int { rejected[stage, default: 0] }
}
