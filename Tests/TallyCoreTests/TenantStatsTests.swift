import Testing
import TallyCore
import TallyTestSupport

/// Reading stats from a projection: figures derived at read time.
@Suite struct TenantStatsTests {
    static let now = Timestamp(microseconds: 1_794_744_000_000_000)

    static func stats(storedBytes: Int64) -> TenantStats {
        var projection = TenantProjection()
        projection.apply(Event(id: "s", tenantId: EventFixtures.tenant, time: now, payload: .storageMeasured(usedBytes: storedBytes)))
        return TenantStats(projection, tenantId: EventFixtures.tenant, now: now)
    }

    /// Storage is shown in whole megabytes, rounded to the nearest; a half rounds up.
    @Test(arguments: [
        (0, 0), (524_287, 0), (524_288, 1), (1_048_576, 1), (1_572_863, 1), (1_572_864, 2),
        (1 << 60, 1 << 40),
        // Values no live event may carry, but a log may hold (an older version, `tally import` of a dump):
        // the read must not trap at the top of the range.
        (Int64.max, 1 << 43), (Int64.max - (1 << 19) + 1, 1 << 43), (Int64.max - (1 << 19), (1 << 43) - 1),
    ] as [(Int64, Int64)])
    func storageRoundsToTheNearestMegabyteWithoutOverflow(bytes: Int64, megabytes: Int64) {
        #expect(Self.stats(storedBytes: bytes).usage.storageUsedMB == megabytes)
    }

    @Test func negativeStorageReadsAsZero() {
        var projection = TenantProjection()
        projection.apply(Event(id: "d", tenantId: EventFixtures.tenant, time: Self.now, payload: .storageChanged(deltaBytes: -5_000_000)))
        #expect(TenantStats(projection, tenantId: EventFixtures.tenant, now: Self.now).usage.storageUsedMB == 0)
    }
}
