import TallyCore
import TallyTestSupport

@testable import TallyEngine

/// Fuzz target: bytes as a checkpoint file, through ``CheckpointCodec``.
///
/// Properties: every input is refused with a ``CheckpointCodec/Problem`` or decodes to a state whose
/// re-encoding decodes to the same state (so a checkpoint written from any state the decoder can produce is
/// readable again).
enum CheckpointFuzzTarget {
    /// Runs one libFuzzer input. The first byte holds flags: bit 0 repairs the length and checksums first, so
    /// that mutations reach the payload decoder.
    static func check(_ input: [UInt8]) -> FuzzVerdict {
        guard let flags = input.first else { return .rejected(stage: "empty") }
        var bytes = Array(input.dropFirst())
        if flags & 1 != 0 { repairChecksums(&bytes) }
        return check(checkpoint: bytes)
    }

    /// Decodes one checkpoint and checks the result.
    static func check(checkpoint bytes: [UInt8]) -> FuzzVerdict {
        let decoded: CheckpointCodec.Decoded
        do throws(CheckpointCodec.Problem) {
            decoded = try CheckpointCodec.decode(bytes)
        } catch {
            if error.description.isEmpty { return .violated("a checkpoint problem without a description") }
            return .rejected(stage: error.description.contains("checksum") ? "checksum" : "decode")
        }
        let again: CheckpointCodec.Decoded
        do throws(CheckpointCodec.Problem) {
            again = try CheckpointCodec.decode(
                CheckpointCodec.encode(
                    decoded.state, dedup: decoded.dedup,
                    dedupWindowMicroseconds: decoded.dedupWindowMicroseconds))
        } catch {
            return .violated("a decoded checkpoint re-encodes to bytes that do not decode: \(error)")
        }
        guard again.dedup == decoded.dedup else { return .violated("the dedup index changed in a re-encoding") }
        guard again.dedupWindowMicroseconds == decoded.dedupWindowMicroseconds else {
            return .violated("the dedup window changed in a re-encoding")
        }
        // NaN never equals itself, so states holding a NaN setting are compared by everything else.
        guard again.state == decoded.state || holdsNaN(decoded.state) else {
            return .violated("the projections changed in a re-encoding")
        }
        return .accepted
    }

    private static func holdsNaN(_ state: ProjectionState) -> Bool {
        func holdsNaN(_ value: JSONValue) -> Bool {
            switch value {
            case .double(let number): number.isNaN
            case .array(let items): items.contains(where: holdsNaN)
            case .object(let object): object.contains { holdsNaN($0.value) }
            default: false
            }
        }
        return state.tenants.contains { tenant in tenant.value.settings.contains { holdsNaN($0.value) } }
    }

    /// Rewrites the payload length and both checksums to match the bytes.
    static func repairChecksums(_ bytes: inout [UInt8]) {
        guard bytes.count >= CheckpointCodec.headerSize else { return }
        let payloadLength = UInt64(bytes.count - CheckpointCodec.headerSize)
        for index in 0..<8 { bytes[20 + index] = UInt8(truncatingIfNeeded: payloadLength >> (8 * UInt64(index))) }
        let payloadChecksum = CRC32C.checksum(Array(bytes[CheckpointCodec.headerSize...]))
        for index in 0..<4 { bytes[28 + index] = UInt8(truncatingIfNeeded: payloadChecksum >> (8 * UInt32(index))) }
        let headerChecksum = CRC32C.checksum(Array(bytes[0..<(CheckpointCodec.headerSize - 4)]))
        let at = CheckpointCodec.headerSize - 4
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: headerChecksum >> (8 * UInt32(index))) }
    }

    /// A checkpoint of every fixture event type and some API calls over three tenants, with their dedup entries.
    static func seedCheckpoint() -> [UInt8] {
        var state = ProjectionState()
        var dedup = DedupIndex(minimumCapacity: 64)
        let events = EventFixtures.everyType() + EventFixtures.apiCalls(count: 30)
        for (offset, event) in events.enumerated() {
            state.apply(event, offset: UInt64(offset), voidedTarget: nil)
            dedup.insert(
                IdentityHash(tenant: event.tenantId, id: event.id), offset: UInt64(offset), time: event.time,
                voidable: event.type == .apiCall)
        }
        return CheckpointCodec.encode(state, dedup: dedup)
    }

    /// Seed inputs for libFuzzer: the seed checkpoint with and without the repair flag.
    static func seeds() -> [[UInt8]] {
        let checkpoint = seedCheckpoint()
        return [[0] + checkpoint, [1] + checkpoint]
    }
}
