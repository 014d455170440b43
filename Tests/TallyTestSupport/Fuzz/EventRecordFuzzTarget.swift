import TallyCore

/// Fuzz target: bytes as one stored binary record, through ``EventCodec``.
///
/// Properties: every input is either refused with a ``CodecError`` or decodes to an event that re-encodes to
/// exactly the input bytes (the format has one encoding per event, so a record cannot be altered and still
/// read as the same event), whose header agrees with ``EventCodec/decodeHeader(_:)``.
public enum EventRecordFuzzTarget {
    /// Runs one input.
    /// - Parameter input: Candidate record bytes.
    /// - Returns: What happened.
    public static func check(_ input: [UInt8]) -> FuzzVerdict {
        let decoded: (event: Event, ingestTime: Timestamp)
        do throws(CodecError) {
            decoded = try EventCodec.decode(input)
        } catch {
            guard !error.reason.isEmpty else { return .violated("codec error without a reason") }
            return .rejected(stage: "codec")
        }
        let again = EventCodec.encode(decoded.event, ingestTime: decoded.ingestTime)
        guard again == input else {
            return .violated("\(decoded.event) decoded from \(input.count) bytes re-encodes to different bytes \(again)")
        }
        let header = input.withUnsafeBytes { bytes in Result { () throws(CodecError) in try EventCodec.decodeHeader(bytes) } }
        let expected = EventCodec.Header(type: decoded.event.type, ingestTime: decoded.ingestTime,
                                         time: decoded.event.time, tenantId: decoded.event.tenantId)
        guard case .success(expected) = header else {
            return .violated("decodeHeader gave \(header), decode gave \(expected)")
        }
        return .accepted
    }

    /// Seed inputs: every fixture event as a record.
    public static func seeds() -> [[UInt8]] {
        EventFixtures.everyType().map { EventCodec.encode($0, ingestTime: EventFixtures.time) }
    }
}
