import TallyCore
import TallyTestSupport
import Testing

@Suite struct EventJSONDecoderTests {
    let decoder = EventJSONDecoder()
    let now = Timestamp(microseconds: 1_800_000_000_000_000)
    static let tenant = "3FA85F64-5717-4562-B3FC-2C963F66AFA6"

    func decode(_ text: String) throws -> Event {
        // As every decoder of events parses: whole numbers in any notation are integers, read from their digits.
        try decoder.decode(try JSONParser(limits: .init(wholeNumbersAsIntegers: true)).parse(text), receivedAt: now)
    }

    func rejection(_ text: String) throws -> String? {
        do {
            _ = try decode(text)
            return nil
        } catch let error as EventValidationError {
            return error.description
        }
    }

    /// The listed whitespace (which the OpenAPI pattern spells out) is exactly the scalars `isBlank` treats
    /// as blank: Unicode's `White_Space` property, every scalar checked.
    @Test func theListedWhitespaceIsExactlyUnicodesWhiteSpace() {
        let listed = Set(EventJSONDecoder.whitespaceScalars)
        let mismatched = (UInt32(0)...0x10FFFF).compactMap(Unicode.Scalar.init).filter {
            listed.contains($0) != EventJSONDecoder.isBlank(String($0))
        }
        #expect(mismatched.isEmpty, "\(mismatched.map { String($0.value, radix: 16) })")
        #expect(listed.count == 25)
    }

    @Test func decodesAnAPICallWithEveryField() throws {
        let event = try decode(
            """
            {"id":"e-1","type":"api.call","tenantId":"\(Self.tenant)","time":"2025-07-10T14:30:00Z",
             "data":{"keyId":"k1","status":429,"bytes":512,"durationMs":12.5,"oauthClientId":"oc"}}
            """)
        #expect(event.id == "e-1")
        #expect(event.tenantId.description == Self.tenant.lowercased())
        #expect(event.time == (try Timestamp(rfc3339: "2025-07-10T14:30:00Z")))
        #expect(
            event.payload
                == .apiCall(APICall(keyId: "k1", status: 429, bytes: 512, durationMs: 12.5, oauthClientId: "oc")))
    }

    @Test func timeDefaultsToReceiveTimeAndRoleToMember() throws {
        let event = try decode(#"{"id":"u","type":"user.created","tenantId":"\#(Self.tenant)","data":{"userId":"u1"}}"#)
        #expect(event.time == now)
        #expect(event.payload == .userCreated(userId: "u1", role: .member))
    }

    /// Every event written by the encoder decodes back to itself, so a dump can be imported again.
    @Test func encoderOutputDecodesToTheSameEvent() throws {
        for event in EventFixtures.everyType() {
            var writer = JSONWriter()
            EventJSONEncoder.write(StoredEvent(offset: 7, ingestTime: now, event: event), to: &writer)
            let again = try decoder.decode(try JSONParser().parse(writer.bytes), receivedAt: .min)
            #expect(again == event, "\(writer.string)")
        }
    }

    @Test(arguments: [
        (#"[1]"#, "event: must be a JSON object"),
        (#"{"type":"api.call","tenantId":"T","data":{}}"#, "id: is required"),
        (#"{"id":"","type":"api.call","tenantId":"T"}"#, "id: must be 1-128 printable ASCII characters"),
        (#"{"id":"é","type":"api.call","tenantId":"T"}"#, "id: must be 1-128 printable ASCII characters"),
        (#"{"id":7,"type":"api.call","tenantId":"T"}"#, "id: must be a string of 1-128 printable ASCII characters"),
        (#"{"id":"a","type":"api.cal","tenantId":"T"}"#, "type: unknown event type \"api.cal\""),
        (#"{"id":"a","type":"api.call","tenantId":"nope"}"#, "tenantId: must be a UUID"),
        (#"{"id":"a","type":"api.call","tenantId":"T","time":"yesterday"}"#, "time: must be RFC 3339"),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k"}}"#,
            "data.status: is required; must be an integer from 100 to 599"
        ),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k","status":99}}"#,
            "data.status: must be an integer from 100 to 599"
        ),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k","status":"200"}}"#,
            "data.status: must be an integer from 100 to 599"
        ),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200.5}}"#,
            "data.status: must be an integer from 100 to 599"
        ),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"bytes":-1}}"#,
            "data.bytes: must be an integer from 0 to 9223372036854775807 (2^63 - 1)"
        ),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"bytes":18446744073709551616}}"#,
            "data.bytes: must be an integer from 0 to 9223372036854775807 (2^63 - 1)"
        ),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"extra":1}}"#,
            "data.extra: unknown field for api.call"
        ),
        (#"{"id":"a","type":"api.call","tenantId":"T","color":"red"}"#, "color: unknown field for event"),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","":1}"#,
            "event: has a field with an empty name, which no event has"
        ),
        (
            #"{"id":"a","type":"api.call","tenantId":"T","data":{"keyId":"k","status":200,"":1}}"#,
            "data: has a field with an empty name, which no api.call has"
        ),
        (#"{"id":"a","type":"api.call","tenantId":"T","data":[]}"#, "data: must be an object"),
        (#"{"id":"a","type":"user.role_changed","tenantId":"T","data":{"userId":"u"}}"#, "data.role: is required"),
        (
            #"{"id":"a","type":"user.created","tenantId":"T","data":{"userId":"u","role":"owner"}}"#,
            "data.role: must be member or admin"
        ),
        (
            #"{"id":"a","type":"storage.measured","tenantId":"T","data":{"usedBytes":-5}}"#,
            "data.usedBytes: must be an integer of bytes from 0 to 2^60"
        ),
        (
            #"{"id":"a","type":"storage.measured","tenantId":"T","data":{"usedBytes":1152921504606846977}}"#,
            "data.usedBytes: must be an integer of bytes from 0 to 2^60"
        ),
        (
            #"{"id":"a","type":"storage.measured","tenantId":"T","data":{"usedBytes":9223372036854775807}}"#,
            "data.usedBytes: must be an integer of bytes from 0 to 2^60"
        ),
        (
            #"{"id":"a","type":"storage.changed","tenantId":"T","data":{"deltaBytes":-1152921504606846977}}"#,
            "data.deltaBytes: must be an integer of bytes from -2^60 to 2^60"
        ),
        (
            #"{"id":"a","type":"storage.changed","tenantId":"T","data":{"deltaBytes":9223372036854775807}}"#,
            "data.deltaBytes: must be an integer of bytes from -2^60 to 2^60"
        ),
        (#"{"id":"a","type":"tenant.created","tenantId":"T","data":{}}"#, "data.name: is required"),
        (
            #"{"id":"a","type":"tenant.created","tenantId":"T","data":{"name":"x","status":"gone"}}"#,
            "data.status: must be active, suspended or deleted"
        ),
        (
            #"{"id":"a","type":"tenant.created","tenantId":"T","data":{"name":"x","settings":{"mfa_required":"yes"}}}"#,
            "data.settings.mfa_required: must be a boolean"
        ),
        (
            #"{"id":"a","type":"tenant.created","tenantId":"T","data":{"name":"x","settings":{"mfa_methods":["sms","pigeon"]}}}"#,
            "data.settings.mfa_methods: may only contain"
        ),
        (
            #"{"id":"a","type":"tenant.created","tenantId":"T","data":{"name":"x","settings":{"session_timeout":0}}}"#,
            "data.settings.session_timeout: must be a whole number of minutes from 1 to 9223372036854775807"
        ),
        (
            #"{"id":"a","type":"tenant.created","tenantId":"T","data":{"name":"x","settings":{"storage_quota_mb":-1}}}"#,
            "data.settings.storage_quota_mb: must be a whole number of megabytes from 1 to 9223372036854775807"
        ),
        (#"{"id":"a","type":"tenant.updated","tenantId":"T","data":{}}"#, "data: must change at least one of"),
        (#"{"id":"a","type":"event.voided","tenantId":"T","data":{}}"#, "data.eventId: is required"),
        (
            #"{"id":"a","type":"key.created","tenantId":"T","data":{"keyId":"k","expiresAt":"2025-02-30T00:00:00Z"}}"#,
            "data.expiresAt: day 30 does not exist"
        ),
    ])
    func rejectsInvalidEventsNamingFieldAndRule(text: String, expected: String) throws {
        let message = try rejection(text.replacingOccurrences(of: "\"T\"", with: "\"\(Self.tenant)\""))
        #expect(message?.hasPrefix(expected) == true, "got \(message ?? "no error")")
    }

    @Test func storageFiguresUpToOneExbibyteEitherWayAreAccepted() throws {
        let limit: Int64 = 1 << 60
        let measured = try decode(
            #"{"id":"a","type":"storage.measured","tenantId":"\#(Self.tenant)","data":{"usedBytes":\#(limit)}}"#)
        #expect(measured.payload == .storageMeasured(usedBytes: limit))
        for delta in [limit, -limit] {
            let changed = try decode(
                #"{"id":"a","type":"storage.changed","tenantId":"\#(Self.tenant)","data":{"deltaBytes":\#(delta)}}"#)
            #expect(changed.payload == .storageChanged(deltaBytes: delta))
        }
    }

    /// Integer settings take whole numbers written with a fraction or exponent, as event fields do, and keep
    /// them as integers (so the quota reads as given); a fraction is still refused, however close to whole.
    @Test func integerSettingsTakeWholeNumbersInAnyNotation() throws {
        let event = try decode(
            #"{"id":"a","type":"tenant.created","tenantId":"\#(Self.tenant)","data":{"name":"x","settings":{"storage_quota_mb":5000.0,"session_timeout":3e1}}}"#
        )
        guard case .tenantCreated(let creation) = event.payload else {
            Issue.record("wrong payload \(event.payload)")
            return
        }
        #expect(
            creation.settings
                == JSONObject([
                    .init(key: "storage_quota_mb", value: .int(5000)), .init(key: "session_timeout", value: .int(30)),
                ]))
        #expect(TenantSettings.storageQuotaMB(creation.settings) == 5000)
        let fraction = try rejection(
            #"{"id":"a","type":"tenant.created","tenantId":"\#(Self.tenant)","data":{"name":"x","settings":{"storage_quota_mb":5000.5}}}"#
        )
        #expect(
            fraction
                == "data.settings.storage_quota_mb: must be a whole number of megabytes from 1 to 9223372036854775807")
        // Judged by the digits, not by the double they round to: these are not whole, though a double would
        // make 1, 4503599627370496 and 9007199254740994 of them.
        for number in ["0.99999999999999999", "1.00000000000000001", "4503599627370496.5", "9007199254740993.5"] {
            for (key, rule) in [
                ("storage_quota_mb", "must be a whole number of megabytes from 1 to 9223372036854775807"),
                ("session_timeout", "must be a whole number of minutes from 1 to 9223372036854775807"),
            ] {
                let refused = try rejection(
                    #"{"id":"a","type":"tenant.created","tenantId":"\#(Self.tenant)","data":{"name":"x","settings":{"\#(key)":\#(number)}}}"#
                )
                #expect(refused == "data.settings.\(key): \(rule)", "\(number)")
            }
        }
    }

    @Test func tenantUpdateCanClearPartnerAndRemoveSettings() throws {
        let event = try decode(
            """
            {"id":"a","type":"tenant.updated","tenantId":"\(Self.tenant)",
             "data":{"partnerId":null,"settings":{"mfa_required":null,"storage_quota_mb":500}}}
            """)
        guard case .tenantUpdated(let update) = event.payload else {
            Issue.record("wrong payload \(event.payload)")
            return
        }
        #expect(update.partnerId == .some(nil))
        var settings = JSONObject([.init(key: "mfa_required", value: .bool(true))])
        TenantSettings.merge(try #require(update.settings), into: &settings)
        #expect(settings == JSONObject([.init(key: "storage_quota_mb", value: .int(500))]))
        #expect(TenantSettings.storageQuotaMB(settings) == 500)
        #expect(TenantSettings.storageQuotaMB(JSONObject()) == 10_000)
    }
}
