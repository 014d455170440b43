import TallyCore

/// Events of every type, for round-trip and storage tests.
public enum EventFixtures {
    public static let tenant = TenantID(high: 0x3FA8_5F64_5717_4562, low: 0xB3FC_2C96_3F66_AFA6)
    public static let time = Timestamp(microseconds: 1_752_157_800_123_456)

    /// One event per payload shape, including every optional field set and unset.
    public static func everyType(tenant: TenantID = tenant, time: Timestamp = time) -> [Event] {
        var settings = JSONObject()
        settings.members = [
            .init(key: "storage_quota_mb", value: .int(20_000)),
            .init(key: "mfa_required", value: .bool(true)),
            .init(key: "mfa_methods", value: .array([.string("totp"), .string("webauthn")])),
            .init(key: "password_policy", value: .object(JSONObject([.init(key: "min_length", value: .int(12))]))),
            .init(key: "ratio", value: .double(0.25)),
        ]
        let payloads: [EventPayload] = [
            .apiCall(APICall(keyId: "key-1", status: 200)),
            .apiCall(APICall(keyId: "key-1", status: 429, bytes: 512, durationMs: 12.5, oauthClientId: "client-7")),
            .keyCreated(keyId: "key-1", name: nil, expiresAt: nil),
            .keyCreated(keyId: "key-2", name: "CI key", expiresAt: Timestamp(microseconds: 1_800_000_000_000_000)),
            .keyRevoked(keyId: "key-2"),
            .userCreated(userId: "u-1", role: .member),
            .userCreated(userId: "u-2", role: .admin),
            .userRoleChanged(userId: "u-1", role: .admin),
            .userDeactivated(userId: "u-1"),
            .userActivated(userId: "u-1"),
            .userDeleted(userId: "u-2"),
            .credentialCreated(credentialId: "c-1", expiresAt: nil),
            .credentialCreated(credentialId: "c-2", expiresAt: Timestamp(microseconds: -5)),
            .credentialExpired(credentialId: "c-2"),
            .credentialRevoked(credentialId: "c-1"),
            .oauthClientCreated(clientId: "oc-1"),
            .oauthClientDisabled(clientId: "oc-1"),
            .storageChanged(deltaBytes: -4096),
            .storageMeasured(usedBytes: 1 << 40),
            .tenantCreated(TenantCreation(name: "Acme Corporation")),
            .tenantCreated(TenantCreation(name: "Acme 🚀", status: .suspended, partnerId: "p-9", settings: settings)),
            .tenantUpdated(TenantUpdate(name: "Acme Corp")),
            .tenantUpdated(TenantUpdate(status: .active, partnerId: .some(nil), settings: settings)),
            .tenantUpdated(TenantUpdate(partnerId: .some("p-10"))),
            .tenantDeleted,
            .eventVoided(eventId: "evt-1", reason: nil),
            .eventVoided(eventId: "evt-2", reason: "billed twice — see ticket #42"),
        ]
        return payloads.enumerated().map { index, payload in
            Event(
                id: "evt-\(index)", tenantId: tenant, time: Timestamp(microseconds: time.microseconds + Int64(index)),
                payload: payload)
        }
    }

    /// A deterministic stream of `count` API-call events spread over `tenants` tenants.
    public static func apiCalls(count: Int, tenants: Int = 3, seed: UInt64 = 1) -> [Event] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { index in
            let tenantNumber = UInt64(index % max(tenants, 1))
            let status: UInt16 = [200, 201, 404, 429, 500][Int(random.next() % 5)]
            return Event(
                id: "call-\(index)", tenantId: TenantID(high: 0x1000 + tenantNumber, low: tenantNumber),
                time: Timestamp(microseconds: time.microseconds + Int64(index) * 1000),
                payload: .apiCall(
                    APICall(
                        keyId: "key-\(random.next() % 10)", status: status,
                        bytes: Int64(random.next() % 10_000))))
        }
    }
}
