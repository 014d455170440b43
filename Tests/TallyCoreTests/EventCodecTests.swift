import TallyCore
import TallyTestSupport
import Testing

@Suite struct EventCodecTests {
    @Test func roundTripsEveryEventType() throws {
        let events = EventFixtures.everyType()
        #expect(Set(events.map(\.type)) == Set(EventType.allCases))
        for event in events {
            let ingest = Timestamp(microseconds: 42)
            let decoded = try EventCodec.decode(EventCodec.encode(event, ingestTime: ingest))
            #expect(decoded.event == event)
            #expect(decoded.ingestTime == ingest)
        }
    }

    @Test func headerCanBeReadAlone() throws {
        let event = EventFixtures.everyType()[1]
        let record = EventCodec.encode(event, ingestTime: Timestamp(microseconds: 9))
        let header = try record.withUnsafeBytes { try EventCodec.decodeHeader($0) }
        #expect(
            header
                == EventCodec.Header(
                    type: .apiCall, ingestTime: Timestamp(microseconds: 9), time: event.time,
                    tenantId: event.tenantId))
    }

    @Test func everyTruncationIsAnErrorNotACrash() {
        for event in EventFixtures.everyType() {
            let record = EventCodec.encode(event, ingestTime: .min)
            for length in 0..<record.count {
                #expect(throws: CodecError.self) { try EventCodec.decode(Array(record[..<length])) }
            }
            #expect(throws: CodecError.self) { try EventCodec.decode(record + [0]) }
        }
    }

    @Test func randomAndMutatedBytesNeverCrash() {
        var random = SplitMix64(seed: 99)
        let records = EventFixtures.everyType().map { EventCodec.encode($0, ingestTime: .min) }
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if bytes.count > 1, round % 4 == 0 {
                    bytes[0] = 1
                    bytes[1] = UInt8(1 + random.next() % 19)
                }
            } else {
                bytes = records[Int(random.next() % UInt64(records.count))]
                for _ in 0..<Int(1 + random.next() % 3) {
                    let index = Int(random.next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(truncatingIfNeeded: 1 << (random.next() % 8))
                }
            }
            _ = try? EventCodec.decode(bytes)
        }
    }

    @Test func rejectsUnknownVersionAndType() {
        var record = EventCodec.encode(EventFixtures.everyType()[0], ingestTime: .min)
        record[0] = 2
        #expect(throws: CodecError.self) { try EventCodec.decode(record) }
        record[0] = EventCodec.formatVersion
        record[1] = 200
        #expect(throws: CodecError.self) { try EventCodec.decode(record) }
    }

    @Test func typeCodesAreStable() {
        #expect(EventType.apiCall.code == 1)
        #expect(EventType.eventVoided.code == 19)
        for type in EventType.allCases { #expect(EventType(code: type.code) == type) }
        #expect(EventType(code: 0) == nil && EventType(code: 20) == nil)
    }
    /// A void's record carries its target's offset; records written before that field decode with none,
    /// and the offset is the only difference between the two.
    @Test func aVoidRecordCarriesItsTargetsOffset() throws {
        let void = Event(
            id: "v", tenantId: EventFixtures.tenant, time: Timestamp(microseconds: 1_794_744_000_000_000),
            payload: .eventVoided(eventId: "c-1", reason: "refund"))
        let ingest = Timestamp(microseconds: 1_794_744_000_000_001)
        for target in [UInt64(0), 41, UInt64.max] {
            let bytes = EventCodec.encode(void, ingestTime: ingest, voidTarget: target)
            let stored = try bytes.withUnsafeBytes { try EventCodec.decodeStored($0, offset: 7) }
            #expect(stored == StoredEvent(offset: 7, ingestTime: ingest, event: void, voidTarget: target))
            #expect(try EventCodec.decode(bytes).event == void)
        }
        let older = EventCodec.encode(void, ingestTime: ingest)
        #expect(try older.withUnsafeBytes { try EventCodec.decodeStored($0, offset: 7) }.voidTarget == nil)
        #expect(EventCodec.encode(void, ingestTime: ingest, voidTarget: 41).count == older.count + 8)
        // Other types ignore a target.
        let call = EventFixtures.apiCalls(count: 1)[0]
        #expect(
            EventCodec.encode(call, ingestTime: ingest, voidTarget: 3) == EventCodec.encode(call, ingestTime: ingest))
    }
}
