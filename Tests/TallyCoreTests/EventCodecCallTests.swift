import TallyTestSupport
import Testing

@testable import TallyCore

/// The pointer-based `api.call` encoder must write exactly the bytes of the field-by-field one, and replay's
/// single-pass reader must read exactly what the checked reader reads.
@Suite struct EventCodecCallTests {
    @Test func writesTheBytesOfTheFieldByFieldEncoder() throws {
        var random = SplitMix64(seed: 0xCA11)
        func text(_ length: Int) -> String {
            String(decoding: (0..<length).map { _ in UInt8(0x21 + random.below(94)) }, as: UTF8.self)
        }
        let lengths = [1, 7, 15, 16, 127, 128, 200]
        for round in 0..<2_000 {
            var call = APICall(keyId: text(random.pick(lengths)), status: UInt16(100 + random.below(500)))
            if random.chance(1, in: 2) {
                call.bytes = random.chance(1, in: 4) ? Int64.max : Int64(random.below(1 << 20))
            }
            if random.chance(1, in: 2) { call.durationMs = Double(random.below(100_000)) / 8 }
            if random.chance(1, in: 3) { call.oauthClientId = text(random.pick(lengths)) }
            if round % 100 == 0 { call.keyId = "ключ-\(round)" }
            let event = Event(
                id: text(random.pick(lengths)),
                tenantId: TenantID(high: random.next(), low: random.next()),
                time: Timestamp(microseconds: Int64(bitPattern: random.next() >> 1)),
                payload: .apiCall(call))
            let ingestTime = Timestamp(microseconds: Int64(random.below(1 << 40)))
            var prefix: [UInt8] = round % 2 == 0 ? [] : [9, 9, 9]
            var expected = prefix
            EventCodec.encodeFields(event, ingestTime: ingestTime, into: &expected)
            EventCodec.encode(event, ingestTime: ingestTime, into: &prefix)
            #expect(prefix == expected, "round \(round)")
            let decoded = try EventCodec.decode(Array(prefix.dropFirst(round % 2 == 0 ? 0 : 3)))
            #expect(decoded.event == event && decoded.ingestTime == ingestTime)
        }
    }

    /// Replay's single-pass reader of the common `api.call` shape takes only records the checked reader reads
    /// the same way, and every record of that shape; whatever it passes on, the checked reader reads or refuses.
    @Test func scannedCallsAgreeWithTheCheckedReader() throws {
        var random = SplitMix64(seed: 0x5CA1)
        func text(_ length: Int) -> String {
            String(decoding: (0..<length).map { _ in UInt8(0x21 + random.below(94)) }, as: UTF8.self)
        }
        func parts(_ view: EventCodec.CallView) -> [[UInt8]] {
            [
                Array(view.id), Array(view.keyId), [UInt8(view.status & 0xFF), UInt8(view.status >> 8)],
                EventCodec.encode(
                    Event(
                        id: "x", tenantId: view.header.tenantId, time: view.header.time,
                        payload: .storageChanged(deltaBytes: 0)), ingestTime: view.header.ingestTime),
            ]
        }
        let lengths = [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 127, 128]
        var scanned = 0
        for round in 0..<3_000 {
            var call = APICall(keyId: text(random.pick(lengths)), status: UInt16(100 + random.below(500)))
            if random.chance(1, in: 2) { call.bytes = Int64(random.below(1 << 20)) }
            if random.chance(1, in: 2) { call.durationMs = Double(random.below(100_000)) / 8 }
            if random.chance(1, in: 3) {
                call.oauthClientId = random.chance(1, in: 8) ? "clé-\(round)" : text(random.pick(lengths))
            }
            if random.chance(1, in: 10) { call.keyId = "ключ-\(round)" }
            let id = random.chance(1, in: 10) ? "événement-\(round)" : text(random.pick(lengths))
            let event = Event(
                id: id, tenantId: TenantID(high: random.next(), low: random.next()),
                time: Timestamp(microseconds: Int64(bitPattern: random.next() >> 1)), payload: .apiCall(call))
            var record = EventCodec.encode(event, ingestTime: Timestamp(microseconds: Int64(random.below(1 << 40))))
            let plain = [id, call.keyId, call.oauthClientId ?? ""].allSatisfy {
                $0.utf8.count < 128 && $0.utf8.allSatisfy { $0 < 0x80 }
            }
            try record.withUnsafeBytes { bytes in
                let checked = try EventCodec.readCall(bytes)
                let fast = EventCodec.scanCall(bytes)
                #expect((fast != nil) == plain, "round \(round)")
                if let fast {
                    #expect(parts(fast) == parts(checked), "round \(round)")
                    scanned += 1
                }
            }
            // Damaged copies: a changed byte, a cut, a byte too many.
            switch round % 3 {
            case 0: record[random.below(record.count)] = UInt8(truncatingIfNeeded: random.next())
            case 1: record.removeLast(1 + random.below(min(record.count, 12)))
            default: record.append(UInt8(truncatingIfNeeded: random.next()))
            }
            record.withUnsafeBytes { bytes in
                guard bytes.count > 1, bytes[1] == EventType.apiCall.code, let fast = EventCodec.scanCall(bytes) else {
                    return
                }
                let checked = Result { () throws(CodecError) in try EventCodec.readCall(bytes) }
                guard case .success(let view) = checked else {
                    Issue.record("round \(round): scanned a record the checked reader refuses: \(checked)")
                    return
                }
                #expect(parts(fast) == parts(view), "round \(round)")
            }
        }
        #expect(scanned > 1_000)
    }

    @Test(arguments: [0, 1, 127, 128, 16_383, 16_384, UInt64(UInt32.max), UInt64.max] as [UInt64])
    func varintSizesMatchTheWriter(value: UInt64) {
        var writer = BinaryWriter(bytes: [])
        writer.writeVarint(value)
        #expect(EventCodec.varintSize(value) == writer.bytes.count)
    }
}
