import TallyCore
import TallyEngine
import TallyStorage

/// Parsing of option values shared by several commands.
enum CommandOptions {
    /// A whole-number option from 1 to `maximum`; `about` follows the limit in the error for a larger one
    /// (such as ` (32 MiB)`).
    static func positiveInt(
        _ arguments: ParsedArguments, _ name: String, default value: Int, maximum: Int = .max, about: String = "",
        command: String
    ) throws(UsageError) -> Int {
        guard let text = arguments.value(name) else { return value }
        guard isWholeNumber(text), let number = Int(text), number > 0, number <= maximum else {
            // Digits alone, past the limit: the limit is what to learn, not the format.
            if isWholeNumber(text), text.contains(where: { $0 != "0" }) {
                throw UsageError(
                    "--\(name) must be at most \(maximum)\(about), got \"\(text)\"", command: command)
            }
            let range = maximum == .max ? "a positive integer" : "a whole number from 1 to \(maximum)"
            throw UsageError("--\(name) must be \(range), got \"\(text)\"", command: command)
        }
        return number
    }

    /// Whether `text` is ASCII digits alone: no sign, no spaces, however long.
    static func isWholeNumber<Text: StringProtocol>(_ text: Text) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    static func offset(_ arguments: ParsedArguments, _ name: String, command: String) throws(UsageError) -> UInt64? {
        guard let text = arguments.value(name) else { return nil }
        guard isWholeNumber(text), let number = UInt64(text) else {
            // Digits alone, past the limit: the limit is what to learn, not the format.
            let range = isWholeNumber(text) ? "at most \(UInt64.max)" : "an offset (a whole number from 0)"
            throw UsageError("--\(name) must be \(range), got \"\(text)\"", command: command)
        }
        return number
    }

    static func time(
        _ arguments: ParsedArguments, _ name: String, roundingUp: Bool = false, command: String
    ) throws(UsageError) -> Timestamp? {
        guard let text = arguments.value(name) else { return nil }
        let time: Timestamp
        do {
            time = try Timestamp(rfc3339: text)
        } catch {
            throw UsageError("--\(name): \(error.reason), got \"\(text)\"", command: command)
        }
        // Times are kept to the microsecond, finer digits cut: a bound that must keep out the microsecond
        // it falls inside (`FROM <= time`, `time < TO`) moves up to the next one.
        return roundingUp && hasSubMicrosecondDigits(text) ? Timestamp(microseconds: time.microseconds + 1) : time
    }

    /// Whether `text`'s fractional seconds go past the microsecond with a digit other than 0.
    static func hasSubMicrosecondDigits(_ text: String) -> Bool {
        guard let dot = text.firstIndex(of: ".") else { return false }
        return text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }.dropFirst(6).contains { $0 != "0" }
    }

    /// `--future-limit DURATION`, as `serve` and `import` take it.
    static let futureLimitOption = CommandSpec.Option(
        name: "future-limit", valueName: "DURATION",
        help: "How far ahead of the clock an event may be (default 5m, at most 1d).")

    /// `--future-limit` in microseconds: the engine's default when not given, at most its maximum.
    static func futureLimit(_ arguments: ParsedArguments, command: String) throws(UsageError) -> Int64 {
        try duration(
            arguments, "future-limit", default: EngineConfiguration().futureLimitMicroseconds / 1_000_000,
            maximum: EngineConfiguration.maximumFutureLimitMicroseconds / 1_000_000, command: command) * 1_000_000
    }

    /// A duration option such as `90s`, `30m`, `12h` or `7d` (at most `maximum` seconds, ten years unless
    /// given), in seconds.
    /// - Parameters:
    ///   - word: A word the option also takes instead of a duration (`off`), named in the error; the caller
    ///     reads it before asking for the duration.
    static func duration(
        _ arguments: ParsedArguments, _ name: String, default value: Int64,
        maximum: Int64 = 3650 * 86_400, or word: String? = nil, command: String
    ) throws(UsageError) -> Int64 {
        guard let text = arguments.value(name) else { return value }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let digits = text.dropLast()
        guard let unit = text.last, let multiplier = units[unit], isWholeNumber(digits),
            digits.contains(where: { $0 != "0" })
        else {
            let alternative = word.map { " (or \($0))" } ?? ""
            throw UsageError(
                "--\(name) must be a positive whole number with a unit, like 90s, 30m, 12h or 7d\(alternative), got \"\(text)\"",
                command: command)
        }
        guard let count = Int64(digits), count <= maximum / multiplier else {
            throw UsageError(
                "--\(name) must be at most \(EngineConfiguration.describe(maximum * 1_000_000)), got \"\(text)\"",
                command: command)
        }
        return count * multiplier
    }

    static func durability(_ arguments: ParsedArguments, command: String) throws(UsageError) -> DurabilityPolicy {
        guard let text = arguments.value("durability") else { return .always }
        guard let policy = DurabilityPolicy(parsing: text) else {
            throw UsageError(
                "--durability must be always, interval, interval:MS (1 to 3600000) or never, got \"\(text)\"",
                command: command)
        }
        return policy
    }
}
