import TallyCore

/// Fuzz target: bytes as one JSON event, through ``JSONParser`` and ``EventJSONDecoder``.
///
/// Properties: every input is either malformed JSON (a ``JSONParseError`` with an in-bounds offset), an invalid
/// event (an ``EventValidationError`` naming a field and a rule), or a valid ``Event`` that round-trips through
/// the JSON encoder and the binary codec (``EventRoundTrip``).
public enum EventJSONFuzzTarget {
    /// The receive time given to events without a `time`.
    public static let receivedAt = Timestamp(microseconds: 1_752_157_800_000_000)

    /// Runs one input.
    /// - Parameter input: Candidate JSON bytes.
    /// - Returns: What happened.
    public static func check(_ input: [UInt8]) -> FuzzVerdict {
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONParser().parse(input)
        } catch {
            guard error.offset >= 0, error.offset <= input.count, !error.message.isEmpty else {
                return .violated("parse error out of bounds or without a message: \(error)")
            }
            return .rejected(stage: "json")
        }
        return check(value)
    }

    /// Runs one parsed value through the event decoder.
    /// - Parameter value: Any JSON value.
    /// - Returns: What happened.
    public static func check(_ value: JSONValue) -> FuzzVerdict {
        let event: Event
        do throws(EventValidationError) {
            event = try EventJSONDecoder().decode(value, receivedAt: receivedAt)
        } catch {
            // The field may be empty: an unknown member named "" is reported by its name.
            guard !error.rule.isEmpty else {
                return .violated("validation error without a rule: \(error)")
            }
            return .rejected(stage: "validation")
        }
        if let violation = EventRoundTrip.violation(event) { return .violated(violation) }
        return .accepted
    }

    /// Seed inputs: every fixture event as the encoder writes it, with and without offset and ingest time.
    public static func seeds() -> [[UInt8]] {
        EventFixtures.everyType().flatMap { event -> [[UInt8]] in
            var stored = JSONWriter()
            EventJSONEncoder.write(StoredEvent(offset: 3, ingestTime: receivedAt, event: event), to: &stored)
            var plain = JSONWriter()
            plain.write(EventJSONEncoder.jsonValue(event))
            return [stored.bytes, plain.bytes]
        }
    }
}
