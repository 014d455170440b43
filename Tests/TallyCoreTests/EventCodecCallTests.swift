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
                time: Timestamp(microseconds: Int64(random.below(Int(Timestamp.max.microseconds)))),
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

    /// A record whose checksum holds can still carry values no event is given (a record not written by
    /// Tally): times outside the years 0001-9999, negative bytes, a duration that is not a finite number of
    /// at least 0. Both readers refuse them, so a replay never computes with them.
    @Test func valuesNoEventCarriesAreRefusedByBothReaders() throws {
        let call = Event(
            id: "c", tenantId: TenantID(high: 1, low: 2), time: Timestamp(microseconds: 1_700_000_000_000_000),
            payload: .apiCall(APICall(keyId: "k", status: 200, bytes: 10, durationMs: 1.5)))
        let record = EventCodec.encode(call, ingestTime: Timestamp(microseconds: 1_700_000_000_000_001))
        #expect(record.withUnsafeBytes { EventCodec.scanCall($0) } != nil)
        func patched(at offset: Int, _ value: UInt64) -> [UInt8] {
            var bytes = record
            withUnsafeBytes(of: value.littleEndian) { for i in 0..<8 { bytes[offset + i] = $0[i] } }
            return bytes
        }
        let badTimes: [Int64] = [
            .max, .min, Timestamp.max.microseconds + 1, Timestamp.min.microseconds - 1,
        ]
        var refused: [[UInt8]] = []
        for time in badTimes {
            refused.append(patched(at: 2, UInt64(bitPattern: time)))  // ingest time
            refused.append(patched(at: 10, UInt64(bitPattern: time)))  // event time
        }
        // The two fixed fields end the record: bytes, then duration.
        refused.append(patched(at: record.count - 16, UInt64(bitPattern: -1)))
        for duration in [Double.nan, .infinity, -1, -.infinity] {
            refused.append(patched(at: record.count - 8, duration.bitPattern))
        }
        for bytes in refused {
            #expect(bytes.withUnsafeBytes { EventCodec.scanCall($0) } == nil)
            #expect(throws: CodecError.self) { try bytes.withUnsafeBytes { try EventCodec.readCall($0) } }
            #expect(throws: CodecError.self) { try EventCodec.decode(bytes) }
        }
        // The extremes themselves are events' times.
        for time in [Timestamp.max.microseconds, Timestamp.min.microseconds] {
            let bytes = patched(at: 10, UInt64(bitPattern: time))
            #expect(bytes.withUnsafeBytes { EventCodec.scanCall($0)?.header.time.microseconds } == time)
            #expect(try EventCodec.decode(bytes).event.time.microseconds == time)
        }
        // Other types: expiry times and storage figures out of the JSON decoder's bounds.
        let tenant = TenantID(high: 1, low: 2)
        let now = Timestamp(microseconds: 1_700_000_000_000_000)
        for payload: EventPayload in [
            .keyCreated(keyId: "k", name: nil, expiresAt: Timestamp(microseconds: .max)),
            .credentialCreated(credentialId: "c", expiresAt: Timestamp(microseconds: .min)),
            .storageChanged(deltaBytes: .max), .storageChanged(deltaBytes: .min),
            .storageChanged(deltaBytes: (1 << 60) + 1), .storageMeasured(usedBytes: -1),
            .storageMeasured(usedBytes: (1 << 60) + 1),
        ] {
            let bytes = EventCodec.encode(
                Event(id: "e", tenantId: tenant, time: now, payload: payload), ingestTime: now)
            #expect(throws: CodecError.self, "\(payload)") { try EventCodec.decode(bytes) }
        }
        for payload: EventPayload in [
            .storageChanged(deltaBytes: -(1 << 60)), .storageChanged(deltaBytes: 1 << 60),
            .storageMeasured(usedBytes: 1 << 60),
        ] {
            let bytes = EventCodec.encode(
                Event(id: "e", tenantId: tenant, time: now, payload: payload), ingestTime: now)
            #expect(try EventCodec.decode(bytes).event.payload == payload)
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
                time: Timestamp(microseconds: Int64(random.below(Int(Timestamp.max.microseconds)))), payload: .apiCall(call))
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
