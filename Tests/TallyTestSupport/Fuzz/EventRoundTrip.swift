import TallyCore

/// The round-trip properties every valid event must have: written as JSON (as `tally dump` and the API do)
/// it decodes to itself, and stored as a binary record it decodes to itself and re-encodes to the same bytes.
public enum EventRoundTrip {
    /// The ingest time stamped on records written by the check.
    static let ingestTime = Timestamp(microseconds: 1_752_157_800_654_321)

    /// Checks both round trips of `event`.
    /// - Parameter event: A valid event.
    /// - Returns: The broken property, or `nil` when both round trips hold.
    public static func violation(_ event: Event) -> String? {
        jsonViolation(event) ?? recordViolation(event)
    }

    static func jsonViolation(_ event: Event) -> String? {
        var writer = JSONWriter()
        EventJSONEncoder.write(StoredEvent(offset: 12, ingestTime: ingestTime, event: event), to: &writer)
        let again: Event
        do {
            again = try EventJSONDecoder().decode(try JSONParser().parse(writer.bytes), receivedAt: .min)
        } catch {
            return "the encoder's JSON for \(event) does not decode: \(error); JSON \(writer.string)"
        }
        guard again == event else { return "JSON round trip changed \(event) into \(again)" }
        return nil
    }

    static func recordViolation(_ event: Event) -> String? {
        let record = EventCodec.encode(event, ingestTime: ingestTime)
        let decoded: (event: Event, ingestTime: Timestamp)
        do throws(CodecError) {
            decoded = try EventCodec.decode(record)
        } catch {
            return "the binary record of \(event) does not decode: \(error)"
        }
        guard decoded.event == event, decoded.ingestTime == ingestTime else {
            return "binary round trip changed \(event) into \(decoded.event)"
        }
        return nil
    }
}
