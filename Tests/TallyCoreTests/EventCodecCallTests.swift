import Testing
@testable import TallyCore
import TallyTestSupport

/// The pointer-based `api.call` encoder must write exactly the bytes of the field-by-field one.
@Suite struct EventCodecCallTests {
    @Test func writesTheBytesOfTheFieldByFieldEncoder() throws {
        var random = SplitMix64(seed: 0xCA11)
        func text(_ length: Int) -> String {
            String(decoding: (0..<length).map { _ in UInt8(0x21 + random.below(94)) }, as: UTF8.self)
        }
        let lengths = [1, 7, 15, 16, 127, 128, 200]
        for round in 0..<2_000 {
            var call = APICall(keyId: text(random.pick(lengths)), status: UInt16(100 + random.below(500)))
            if random.chance(1, in: 2) { call.bytes = random.chance(1, in: 4) ? Int64.max : Int64(random.below(1 << 20)) }
            if random.chance(1, in: 2) { call.durationMs = Double(random.below(100_000)) / 8 }
            if random.chance(1, in: 3) { call.oauthClientId = text(random.pick(lengths)) }
            if round % 100 == 0 { call.keyId = "ключ-\(round)" }
            let event = Event(id: text(random.pick(lengths)),
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

    @Test(arguments: [0, 1, 127, 128, 16_383, 16_384, UInt64(UInt32.max), UInt64.max] as [UInt64])
    func varintSizesMatchTheWriter(value: UInt64) {
        var writer = BinaryWriter(bytes: [])
        writer.writeVarint(value)
        #expect(EventCodec.varintSize(value) == writer.bytes.count)
    }
}
