import TallyTestSupport
import Testing

@testable import TallyCore

/// Reading stats from a projection: figures derived at read time.
@Suite struct TenantStatsTests {
    static let now = Timestamp(microseconds: 1_794_744_000_000_000)

    static func stats(storedBytes: Int64) -> TenantStats {
        var projection = TenantProjection()
        projection.apply(
            Event(id: "s", tenantId: EventFixtures.tenant, time: now, payload: .storageMeasured(usedBytes: storedBytes))
        )
        return TenantStats(projection, tenantId: EventFixtures.tenant, now: now)
    }

    /// Storage is shown in whole megabytes (MiB), rounded up: never below what is stored.
    @Test(
        arguments: [
            (0, 0), (1, 1), (524_288, 1), (1_048_576, 1), (1_048_577, 2), (1_572_863, 2),
            (1 << 60, 1 << 40),
            // Values no live event may carry, but a log may hold (an older version, `tally import` of a dump):
            // the read must not trap at the top of the range.
            (Int64.max, 1 << 43), (Int64.max - (1 << 20) + 2, 1 << 43), (Int64.max - (1 << 20) + 1, (1 << 43) - 1),
        ] as [(Int64, Int64)])
    func storageRoundsUpToWholeMegabytesWithoutOverflow(bytes: Int64, megabytes: Int64) {
        #expect(Self.stats(storedBytes: bytes).usage.storageUsedMB == megabytes)
    }

    /// Keys add up like credentials: total = active + revoked; a key past its expiry is neither, so it
    /// leaves the total (the API-key stats count it as expired).
    @Test func keysPastTheirExpiryLeaveTheTenantsKeyTotal() {
        var projection = TenantProjection()
        let past = Timestamp(microseconds: Self.now.microseconds - 86_400_000_000)
        let future = Timestamp(microseconds: Self.now.microseconds + 86_400_000_000)
        for (id, expiry) in [("k1", nil), ("k2", past), ("k3", future), ("k4", past)] as [(String, Timestamp?)] {
            projection.apply(
                Event(
                    id: "c-" + id, tenantId: EventFixtures.tenant, time: past,
                    payload: .keyCreated(keyId: id, name: nil, expiresAt: expiry)))
        }
        // Revoked before its expiry: revoked, whenever the revocation arrives.
        let beforeExpiry = Timestamp(microseconds: past.microseconds - 1)
        projection.apply(
            Event(id: "r-k4", tenantId: EventFixtures.tenant, time: beforeExpiry, payload: .keyRevoked(keyId: "k4")))
        let keys = TenantStats(projection, tenantId: EventFixtures.tenant, now: Self.now).apiKeys
        #expect(keys == TenantStats.APIKeys(total: 3, active: 2, revoked: 1))
        #expect(KeyStats(projection, tenantId: EventFixtures.tenant, now: Self.now).expiredKeys == 1)
    }

    /// A key revoked at or after its expiry (by the revocation's time) had expired already: it stays expired,
    /// out of the tenant's key counts, as an expired credential revoked leaves the credential counts.
    @Test(arguments: [0, 1, 86_400_000_000] as [Int64])
    func revokingAnExpiredKeyLeavesItExpired(after: Int64) {
        var projection = TenantProjection()
        let expiry = Timestamp(microseconds: Self.now.microseconds - 86_400_000_000)
        let created = Timestamp(microseconds: expiry.microseconds - 86_400_000_000)
        projection.apply(
            Event(
                id: "c-k1", tenantId: EventFixtures.tenant, time: created,
                payload: .keyCreated(keyId: "k1", name: nil, expiresAt: expiry)))
        projection.apply(
            Event(
                id: "r-k1", tenantId: EventFixtures.tenant, time: Timestamp(microseconds: expiry.microseconds + after),
                payload: .keyRevoked(keyId: "k1")))
        let keys = TenantStats(projection, tenantId: EventFixtures.tenant, now: Self.now).apiKeys
        #expect(keys == TenantStats.APIKeys(total: 0, active: 0, revoked: 0))
        let keyStats = KeyStats(projection, tenantId: EventFixtures.tenant, now: Self.now)
        #expect(keyStats.totalKeys == 1 && keyStats.expiredKeys == 1 && keyStats.revokedKeys == 0)
    }

    /// A key or credential is expired from its `expiresAt` on, that very microsecond included (as a JWT's
    /// `exp` is read), and active one microsecond before it; both stats read the same instant alike.
    @Test(arguments: [(0, true), (1, false), (-1, true)] as [(Int64, Bool)])
    func expiryCountsFromItsVeryMicrosecond(offset: Int64, expired: Bool) {
        var projection = TenantProjection()
        let expiry = Timestamp(microseconds: Self.now.microseconds + offset)
        let created = Timestamp(microseconds: Self.now.microseconds - 86_400_000_000)
        projection.apply(
            Event(
                id: "k", tenantId: EventFixtures.tenant, time: created,
                payload: .keyCreated(keyId: "k1", name: nil, expiresAt: expiry)))
        projection.apply(
            Event(
                id: "c", tenantId: EventFixtures.tenant, time: created,
                payload: .credentialCreated(credentialId: "c1", expiresAt: expiry)))
        let stats = TenantStats(projection, tenantId: EventFixtures.tenant, now: Self.now)
        let keyStats = KeyStats(projection, tenantId: EventFixtures.tenant, now: Self.now)
        #expect(
            stats.credentials == TenantStats.Credentials(total: 1, active: expired ? 0 : 1, expired: expired ? 1 : 0))
        #expect(stats.apiKeys.active == (expired ? 0 : 1))
        #expect(keyStats.expiredKeys == (expired ? 1 : 0) && keyStats.activeKeys == (expired ? 0 : 1))
    }

    /// Storage used holds at 8 EiB instead of wrapping round to a negative figure that reads as 0 MB, and a
    /// void's retraction holds at the bounds too.
    @Test func storageSaturatesInsteadOfWrapping() {
        var projection = TenantProjection()
        let exbibyte: Int64 = 1 << 60
        for index in 0..<9 {
            projection.apply(
                Event(
                    id: "s\(index)", tenantId: EventFixtures.tenant, time: Self.now,
                    payload: .storageChanged(deltaBytes: exbibyte)))
        }
        #expect(projection.storageBytes == .max)
        #expect(
            TenantStats(projection, tenantId: EventFixtures.tenant, now: Self.now).usage.storageUsedMB == Int64.max
                / (1 << 20) + 1)
        #expect(TenantProjection.saturating(.min + 5, plus: -exbibyte) == .min)
        #expect(TenantProjection.saturating(.max - 5, minus: -exbibyte) == .max)
        #expect(TenantProjection.saturating(.min, minus: exbibyte) == .min)
        #expect(TenantProjection.saturating(10, minus: .min) == .max)
        #expect(TenantProjection.saturating(10, plus: -3) == 7 && TenantProjection.saturating(10, minus: 3) == 7)
    }

    @Test func negativeStorageReadsAsZero() {
        var projection = TenantProjection()
        projection.apply(
            Event(
                id: "d", tenantId: EventFixtures.tenant, time: Self.now,
                payload: .storageChanged(deltaBytes: -5_000_000)))
        #expect(TenantStats(projection, tenantId: EventFixtures.tenant, now: Self.now).usage.storageUsedMB == 0)
    }
}
