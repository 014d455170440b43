import TallyCore

/// Fuzz target: bytes as one stored binary record, through ``EventCodec``.
///
/// Properties: every input is either refused with a ``CodecError`` or decodes to an event that re-encodes to
/// exactly the input bytes (the format has one encoding per event, so a record cannot be altered and still
/// read as the same event), whose header agrees with ``EventCodec/decodeHeader(_:)``. Replay's in-place
/// reader ``EventCodec/decodeCall(_:)`` accepts exactly the `api.call` records that decode does, with the
/// same parts, and no record of another type.
public enum EventRecordFuzzTarget {
    /// An `api.call` read in place, copied out of the record.
    struct CallParts: Equatable {
        var header: EventCodec.Header
        var id: [UInt8]
        var keyId: [UInt8]
        var status: UInt16
    }
    /// Runs one input.
    /// - Parameter input: Candidate record bytes.
    /// - Returns: What happened.
    public static func check(_ input: [UInt8]) -> FuzzVerdict {
        let call = input.withUnsafeBytes { bytes in
            Result { () throws(CodecError) in
                try EventCodec.decodeCall(bytes).map {
                    CallParts(header: $0.header, id: Array($0.id), keyId: Array($0.keyId), status: $0.status)
                }
            }
        }
        let decoded: (event: Event, ingestTime: Timestamp)
        do throws(CodecError) {
            decoded = try EventCodec.decode(input)
        } catch {
            guard !error.reason.isEmpty else { return .violated("codec error without a reason") }
            if case .success(let parts?) = call {
                return .violated("decodeCall accepted \(parts), decode refused: \(error)")
            }
            return .rejected(stage: "codec")
        }
        switch (decoded.event.payload, call) {
        case (.apiCall(let expected), .success(let parts?)):
            let wanted = CallParts(
                header: EventCodec.Header(
                    type: .apiCall, ingestTime: decoded.ingestTime, time: decoded.event.time,
                    tenantId: decoded.event.tenantId),
                id: Array(decoded.event.id.utf8), keyId: Array(expected.keyId.utf8), status: expected.status)
            guard parts == wanted else { return .violated("decodeCall gave \(parts), decode gave \(wanted)") }
        case (.apiCall, _):
            return .violated("decodeCall gave \(call) for an api.call that decodes")
        case (_, .success(nil)):
            break
        default:
            return .violated("decodeCall gave \(call) for a \(decoded.event.type.rawValue) record")
        }
        let again = EventCodec.encode(decoded.event, ingestTime: decoded.ingestTime)
        guard again == input else {
            return .violated(
                "\(decoded.event) decoded from \(input.count) bytes re-encodes to different bytes \(again)")
        }
        let header = input.withUnsafeBytes { bytes in
            Result { () throws(CodecError) in try EventCodec.decodeHeader(bytes) }
        }
        let expected = EventCodec.Header(
            type: decoded.event.type, ingestTime: decoded.ingestTime,
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
