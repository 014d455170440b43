import TallyTestSupport
import Testing

@testable import TallyCore

/// ``EventDocumentDecoder`` must answer exactly as parsing the whole document and decoding each event does,
/// while reading the common `api.call` shape itself (``APICallScanner``).
@Suite("Event document decoder")
struct EventDocumentDecoderTests {
    static let receivedAt = Timestamp(microseconds: 1_752_000_000_000_000)
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    /// `api.call` events in the shapes clients send: every member order, optional members, fractions, spacing.
    static let calls: [String] = [
        #"{"id":"e1","type":"api.call","tenantId":"\#(tenant)","data":{"keyId":"k1","status":200}}"#,
        #"{"type":"api.call","data":{"status":429,"keyId":"key-2"},"tenantId":"\#(tenant)","id":"e2"}"#,
        #"{"id":"gen-1-95","type":"api.call","tenantId":"\#(tenant)","time":"2026-10-10T02:49:08.505093Z","data":{"keyId":"key-6","status":500,"bytes":38650,"durationMs":277.0}}"#,
        #"{"id":"e3","type":"api.call","tenantId":"3FA85F64-5717-4562-B3FC-2C963F66AFA6","time":"2025-07-10T16:30:00+02:00","data":{"keyId":"k","status":100,"bytes":0,"durationMs":0,"oauthClientId":"client-1"}}"#,
        "{\n \"id\" : \"e4\" ,\t\"type\" :\"api.call\",\r\n\"tenantId\":\"\(tenant)\", \"data\" : { \"keyId\" : \"k\" , \"status\" : 599 , \"durationMs\" : 12.125 } } ",
        #"{"id":"e5","type":"api.call","tenantId":"\#(tenant)","data":{"keyId":"k","status":404,"bytes":999999999999999999,"durationMs":0.1}}"#,
        #"{"offset":7,"ingestTime":"2025-07-10T14:30:00Z","id":"e6","type":"api.call","tenantId":"\#(tenant)","time":"2025-07-10T14:30:00Z","data":{"keyId":"k","status":201}}"#,
        #"{"id":"\#(String(repeating: "x", count: 128))","type":"api.call","tenantId":"\#(tenant)","data":{"keyId":"~!#$%&'()*+,-./:;<=>?@[]^_`{|} ","status":200}}"#,
    ]

    /// What the general path answers: the whole document parsed, then each event decoded.
    enum Answer: Equatable {
        case malformed(JSONParseError)
        case events([Result<Event, EventValidationError>])
    }

    /// The general path: the whole document parsed, then each event decoded. A repeated key makes only its
    /// event invalid: the document is parsed again keeping repeated keys, and each event that repeats one is
    /// refused, naming the first (an object's own keys before those nested in it, in document order).
    static func reference(_ bytes: [UInt8], single: Bool = false) -> Answer {
        var value: JSONValue
        var repeats = false
        do {
            // Events read whole numbers as integers, however written (`200.0`, `2e2`).
            value = try JSONParser(limits: .init(wholeNumbersAsIntegers: true)).parse(bytes)
        } catch  where error.kind == .duplicateKey {
            do {
                value = try JSONParser(limits: .init(rejectDuplicateKeys: false, wholeNumbersAsIntegers: true)).parse(
                    bytes)
                repeats = true
            } catch {
                return .malformed(error)
            }
        } catch {
            return .malformed(error)
        }
        func repeated(_ value: JSONValue, _ path: String) -> String? {
            switch value {
            case .object(let object):
                let keys = object.map { Array($0.key.utf8) }
                for (index, key) in keys.enumerated() where keys[..<index].contains(key) {
                    let name = String(decoding: key, as: UTF8.self)
                    return path.isEmpty ? name : "\(path).\(name)"
                }
                for member in object {
                    if let found = repeated(member.value, path.isEmpty ? member.key : "\(path).\(member.key)") {
                        return found
                    }
                }
                return nil
            case .array(let items):
                for (index, item) in items.enumerated() {
                    if let found = repeated(item, "\(path)[\(index)]") { return found }
                }
                return nil
            default:
                return nil
            }
        }
        let decode = { (value: JSONValue) -> Result<Event, EventValidationError> in
            if repeats, let path = repeated(value, "") {
                return .failure(EventValidationError(field: path, rule: "appears more than once (give each key once)"))
            }
            return Result { () throws(EventValidationError) in
                try EventJSONDecoder().decode(value, receivedAt: receivedAt)
            }
        }
        if !single, case .array(let items) = value {
            return .events(items.map(decode))
        }
        return .events([decode(value)])
    }

    static func decoded(_ bytes: [UInt8], single: Bool = false, parser: JSONParser = JSONParser()) -> Answer {
        let decoder = EventDocumentDecoder(parser: parser)
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONParseError) in
                single
                    ? [try decoder.decodeEvent(buffer, receivedAt: receivedAt)]
                    : try decoder.decodeEvents(buffer, receivedAt: receivedAt)
            }
        }
        switch result {
        case .success(let events): return .events(events)
        case .failure(let error): return .malformed(error)
        }
    }

    static func scanned(_ text: String) -> Event? {
        Array(text.utf8).withUnsafeBytes { buffer in
            var scanner = APICallScanner(input: buffer, index: 0)
            return scanner.scanEvent(receivedAt: receivedAt)
        }
    }

    /// Compares both paths on `input`, as one document of events and as a single event.
    static func mismatch(_ input: [UInt8]) -> String? {
        for single in [false, true] {
            let expected = reference(input, single: single)
            let actual = decoded(input, single: single)
            if expected != actual {
                return "\(single ? "single" : "document") \(String(decoding: input, as: UTF8.self))\n"
                    + "expected \(expected)\nactual   \(actual)"
            }
        }
        return nil
    }

    /// Integer fields take whole numbers however written, exactly, and refuse what is not whole, even when
    /// a Double would round it to a whole number (`0.99999999999999999`, `1e-400`), and what is out of range
    /// however written.
    @Test func integerFieldsTakeWholeNumbersExactlyAndNothingRoundedToThem() throws {
        func storage(_ literal: String) -> Answer {
            Self.decoded(
                Array(
                    #"{"id":"s","type":"storage.changed","tenantId":"\#(Self.tenant)","data":{"deltaBytes":\#(literal)}}"#
                        .utf8), single: true)
        }
        func call(_ status: String) -> Answer {
            Self.decoded(
                Array(
                    #"{"id":"c","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k","status":\#(status)}}"#
                        .utf8), single: true)
        }
        guard case .events(let exact) = storage("9007199254740993.0"), case .success(let event)? = exact.first else {
            Issue.record("9007199254740993.0 was refused")
            return
        }
        #expect(event.payload == .storageChanged(deltaBytes: 9_007_199_254_740_993))
        for literal in ["1.152921504606847e18", "0.5", "1e-400", "-1e-400"] {
            guard case .events(let refused) = storage(literal), case .failure(let error)? = refused.first else {
                Issue.record("\(literal) was accepted")
                continue
            }
            #expect(error.field == "data.deltaBytes", "\(literal)")
        }
        for status in ["200.0", "2e2", "2.00E2"] {
            guard case .events(let accepted) = call(status), case .success(let event)? = accepted.first else {
                Issue.record("status \(status) was refused")
                continue
            }
            #expect(event.payload == .apiCall(APICall(keyId: "k", status: 200)), "\(status)")
        }
        for status in ["199.99999999999999999", "200.5"] {
            guard case .events(let refused) = call(status), case .failure? = refused.first else {
                Issue.record("status \(status) was accepted")
                continue
            }
        }
    }

    @Test func theScannerReadsEveryCommonShapeAsTheDecoderDoes() throws {
        for text in Self.calls {
            let event = try #require(Self.scanned(text), "\(text)")
            #expect(.events([.success(event)]) == Self.reference(Array(text.utf8)), "\(text)")
        }
        let full = try #require(Self.scanned(Self.calls[3]))
        #expect(full.tenantId.description == Self.tenant)
        #expect(full.time == (try Timestamp(rfc3339: "2025-07-10T14:30:00Z")))
        #expect(
            full.payload
                == .apiCall(APICall(keyId: "k", status: 100, bytes: 0, durationMs: 0, oauthClientId: "client-1")))
        #expect(Self.scanned(Self.calls[0])?.time == Self.receivedAt)
        #expect(Self.scanned(Self.calls[4])?.payload == .apiCall(APICall(keyId: "k", status: 599, durationMs: 12.125)))
    }

    /// Each of these is left to the general path, which accepts some and rejects others.
    @Test(arguments: [
        #"{"id":"e\u0031","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200}}"#,
        #"{"id":"é","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","time":null,"data":{"keyId":"k","status":200}}"#,
        #"{"id":"e","type":"key.created","tenantId":"T","data":{"keyId":"k"}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"extra":1}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200},"id":"f"}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200.0}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":2e2}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"bytes":-0}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"bytes":1234567890123456789}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"durationMs":0.1234567890123456789}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":600}}"#,
        #"{"id":"","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200}}"#,
        "{\"id\":\"e\u{7F}\",\"type\":\"api.call\",\"tenantId\":\"T\",\"data\":{\"keyId\":\"k\",\"status\":200}}",
        #"{"id":"e","type":"api.call","tenantId":"T","time":"2025-02-30T00:00:00Z","data":{"keyId":"k","status":200}}"#,
        #"{"id":"e","type":"api.call","tenantId":"3fa85f64-5717-4562-b3fc-2c963f66afa","data":{"keyId":"k","status":200}}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200},}"#,
        #"{"id":"e","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200} x"#,
        #"{}"#,
    ])
    func theScannerDeclinesWhatItDoesNotRead(_ template: String) {
        let text = template.replacingOccurrences(of: #""T""#, with: "\"\(Self.tenant)\"")
        #expect(Self.scanned(text) == nil)
        #expect(Self.mismatch(Array(text.utf8)) == nil)
    }

    @Test func arraysMixScannedAndGeneralEventsInOrder() throws {
        let key = #"{"id":"k1","type":"key.created","tenantId":"\#(Self.tenant)","data":{"keyId":"k1","name":"CI"}}"#
        let invalid = #"{"id":"bad","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k1","status":700}}"#
        let text =
            "[" + [Self.calls[0], key, invalid, Self.calls[1], "7", Self.calls[2]].joined(separator: ",\n") + "]"
        guard case .events(let events) = Self.decoded(Array(text.utf8)) else {
            Issue.record("the document was rejected")
            return
        }
        #expect(events.count == 6)
        #expect(events.map { (try? $0.get())?.id } == ["e1", "k1", nil, "e2", nil, "gen-1-95"])
        #expect(Self.mismatch(Array(text.utf8)) == nil)
        #expect(Self.decoded(Array("[]".utf8)) == .events([]))
        #expect(Self.decoded(Array(" [ ] \n".utf8)) == .events([]))
    }

    /// Keys are told apart by their bytes, as the parser and decoder tell them: canonically equivalent keys
    /// (which Swift's `String` compares equal) are two keys, so an event that holds them is not refused
    /// because another event of the document repeats a key.
    @Test func canonicallyEquivalentKeysAreDistinct() throws {
        let composed =
            #"{"id":"a","type":"tenant.updated","tenantId":"\#(Self.tenant)","data":{"settings":{"caf\#u{E9}":1,"cafe\#u{301}":2,"\#u{212A}":3,"K":4}}}"#
        let repeating =
            #"{"id":"b","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k","status":200},"id":"c"}"#
        guard case .events(let events) = Self.decoded(Array("[\(composed),\(repeating)]".utf8)) else {
            Issue.record("the document was rejected")
            return
        }
        #expect(events.count == 2)
        #expect((try? events[0].get())?.id == "a", "\(events[0])")
        #expect(throws: EventValidationError.self) { try events[1].get() }
        let path = EventDocumentDecoder.repeatedKeyPath(
            in: try JSONParser(limits: .init(rejectDuplicateKeys: false)).parse(
                Array(#"{"s":{"caf\#u{E9}":1,"cafe\#u{301}":2,"x":1,"x":2}}"#.utf8)))
        #expect(path == [.key("s"), .key("x")])
    }

    /// Malformed arrays and elements give the whole-document parser's error, at the same offset.
    @Test(arguments: [
        "[", "[,]", "[1,]", "[{},", "[{}]x", "[{} {}]", "[]]", "[\(calls[0])", "[\(calls[0]),",
        "[\(calls[0]),{\"a\":}]",
        "[\(calls[0]) \(calls[1])]", "[\(calls[0])]]", "[\(calls[0]),\"\u{1}\"]", "", "  ", "{", "[1,[2,{\"a\":[}]]",
    ])
    func malformedDocumentsGiveTheParsersError(_ text: String) {
        guard case .malformed = Self.reference(Array(text.utf8)) else {
            Issue.record("\(text) is not malformed")
            return
        }
        #expect(Self.mismatch(Array(text.utf8)) == nil)
    }

    @Test func nestingLimitsMatchTheParser() {
        let deep = "[" + Self.calls[0] + ",[[[[1]]]]]"
        for depth in 0...6 {
            let parser = JSONParser(limits: .init(maxDepth: depth))
            let expected: Answer
            do {
                let value = try parser.parse(Array(deep.utf8))
                guard case .array(let items) = value else { return }
                expected = .events(
                    items.map { item in
                        Result { () throws(EventValidationError) in
                            try EventJSONDecoder().decode(item, receivedAt: Self.receivedAt)
                        }
                    })
            } catch {
                expected = .malformed(error)
            }
            let actual = Self.decoded(Array(deep.utf8), parser: parser)
            #expect(actual == expected, "maxDepth \(depth)")
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func byteMutationsAnswerAsTheGeneralPath(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let corpus = Self.calls.map { Array($0.utf8) } + EventJSONFuzzTests.corpus
        let mutator = FuzzMutator(interesting: FuzzMutator().interesting + EventJSONFuzzTests.grammar, corpus: corpus)
        var accepted = 0
        for round in 0..<1500 {
            var input = mutator.mutate(random.pick(Array(corpus.prefix(Self.calls.count))), &random)
            if round % 2 == 1 {
                let others = (0..<random.below(4)).map { _ in random.pick(corpus) }
                input =
                    Array("[".utf8) + ([input] + others).shuffled(using: &random).joined(separator: Array(",".utf8))
                    + Array("]".utf8)
            }
            if let mismatch = Self.mismatch(input) {
                Issue.record("\(mismatch)")
                return
            }
            if case .events(let events) = Self.reference(input), events.contains(where: { (try? $0.get()) != nil }) {
                accepted += 1
            }
        }
        #expect(accepted > 50)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func structuralMutationsAnswerAsTheGeneralPath(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let values = try Self.calls.map { try JSONParser().parse($0) }
        let others = try EventJSONFuzzTests.corpus.map { try JSONParser().parse($0) }
        for round in 0..<1500 {
            var input = EventValueMutator.mutate(random.pick(values), &random)
            if round % 2 == 1 {
                var writer = JSONWriter()
                writer.write(.array((0..<random.below(3)).map { _ in random.pick(others) }))
                let list = writer.bytes
                input =
                    list.count == 2
                    ? Array("[".utf8) + input + Array("]".utf8)
                    : Array("[".utf8) + input + Array(",".utf8) + list.dropFirst()
            }
            if let mismatch = Self.mismatch(input) {
                Issue.record("\(mismatch)")
                return
            }
        }
    }
}
