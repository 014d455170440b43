import Foundation
import TallyCore
import TallyEngine
import TallyStorage
import TallyTestSupport
import Testing

/// A long random stream applied to the engine gives exactly the counters of a recomputation over the list.
@Suite struct ReferenceModelTests {
    static let now = Timestamp(microseconds: 1_794_744_000_000_000)  // 2026-11-15T12:00:00Z

    static func configuration() -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.store = StoreTestSupport.configuration(segmentSize: 64 << 10)
        configuration.clock = { now }
        return configuration
    }

    /// Random events over three tenants, small entity pools (so lifecycle events collide and arrive out of
    /// order), times across the October/November boundary, duplicates, voids and out-of-window times.
    static func randomStream(count: Int, seed: UInt64) -> [Event] {
        var random = SplitMix64(seed: seed)
        let tenants = (0..<3).map { TenantID(high: 0xAAAA_0000 + UInt64($0), low: UInt64($0) * 77) }
        var events: [Event] = []
        let day: Int64 = 86_400_000_000
        for index in 0..<count {
            let tenant = random.pick(tenants)
            // Mostly inside the window; some too old, some too far ahead.
            var offset = -Int64(random.next() % UInt64(34 * day))
            if random.chance(1, in: 40) { offset = -36 * day }
            if random.chance(1, in: 60) { offset = 10 * 60_000_000 }
            let time = Timestamp(microseconds: now.microseconds + offset)
            if random.chance(1, in: 12), let earlier = events.randomElement(using: &random) {
                events.append(earlier)  // an exact retry
                continue
            }
            let key = "k\(random.below(7))"
            let user = "u\(random.below(6))"
            let credential = "c\(random.below(5))"
            let expiry =
                random.chance(1, in: 2)
                ? nil
                : Timestamp(microseconds: now.microseconds + Int64(random.below(20)) * day - 10 * day)
            let payload: EventPayload
            switch random.below(20) {
            case 0..<7:
                payload = .apiCall(
                    APICall(
                        keyId: key, status: random.pick([200, 201, 204, 400, 404, 429, 500]),
                        bytes: Int64(random.below(1000))))
            case 7: payload = .keyCreated(keyId: key, name: "key \(key)", expiresAt: expiry)
            case 8: payload = .keyRevoked(keyId: key)
            case 9: payload = .userCreated(userId: user, role: random.chance(1, in: 3) ? .admin : .member)
            case 10: payload = .userRoleChanged(userId: user, role: random.chance(1, in: 2) ? .admin : .member)
            case 11:
                payload = random.pick([
                    .userDeactivated(userId: user), .userActivated(userId: user), .userDeleted(userId: user),
                ])
            case 12: payload = .credentialCreated(credentialId: credential, expiresAt: expiry)
            case 13:
                payload = random.pick([
                    .credentialExpired(credentialId: credential), .credentialRevoked(credentialId: credential),
                ])
            case 14:
                payload = random.pick([
                    .oauthClientCreated(clientId: "o\(random.below(3))"),
                    .oauthClientDisabled(clientId: "o\(random.below(3))"),
                ])
            case 15:
                payload =
                    random.chance(1, in: 4)
                    ? .storageMeasured(usedBytes: Int64(random.below(5000)) << 20)
                    : .storageChanged(deltaBytes: Int64(random.below(400) - 150) << 20)
            case 16:
                payload = random.pick([
                    .tenantCreated(
                        TenantCreation(
                            name: "Tenant \(random.below(100))",
                            settings: JSONObject([
                                .init(key: "storage_quota_mb", value: .int(Int64(1 + random.below(9000))))
                            ]))),
                    .tenantUpdated(TenantUpdate(name: "Renamed \(random.below(100))")),
                    .tenantUpdated(
                        TenantUpdate(
                            settings: JSONObject([
                                .init(key: "storage_quota_mb", value: .int(Int64(1 + random.below(9000))))
                            ]))),
                ])
            default:
                let target =
                    events.isEmpty || random.chance(1, in: 8)
                    ? "missing-\(index)"
                    : events[random.below(events.count)].id
                payload = .eventVoided(eventId: target, reason: nil)
            }
            events.append(Event(id: "e\(index)", tenantId: tenant, time: time, payload: payload))
        }
        return events
    }

    static func compare(_ engine: Engine, _ model: ReferenceModel, tenants: Set<TenantID>) {
        for tenant in tenants {
            let expected = model.tenantStats(tenant)
            var actual = engine.tenantStats(tenant, now: now)
            actual?.status = .active
            actual?.tenantName = expected?.tenantName
            #expect(actual == expected, "tenant \(tenant)")
            #expect(engine.tenantStats(tenant, now: now)?.tenantName == expected?.tenantName)
            let keys = engine.keyStats(tenant, now: now)
            let usage = model.keyUsage(tenant)
            #expect(keys?.totalRequests ?? 0 == usage.requests)
            #expect(keys?.rateLimitHits ?? 0 == usage.limited)
            #expect(keys?.errors ?? 0 == usage.errors)
            #expect(keys?.mostRecentlyUsed.map(\.keyId) ?? [] == usage.recent)
        }
    }

    /// Ingests `steps` one by one into a fresh engine and the model, expecting each one's storage (MB) after
    /// it from both, with a checkpoint after the third; then the same projections after a reopen and a full
    /// replay.
    func expectStorage(after steps: [(Event, Int64)], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let directory = TemporaryDirectory()
        var model = ReferenceModel(now: Self.now)
        let engine = try Engine(directory: directory.path, configuration: Self.configuration())
        for (index, (step, megabytes)) in steps.enumerated() {
            let tenant = step.tenantId
            #expect(engine.ingest([.success(step)]) == [model.ingest(step)], sourceLocation: sourceLocation)
            #expect(
                engine.tenantStats(tenant, now: Self.now)?.usage.storageUsedMB == megabytes, "after \(step.id)",
                sourceLocation: sourceLocation)
            #expect(
                model.tenantStats(tenant)?.usage.storageUsedMB == megabytes, "model after \(step.id)",
                sourceLocation: sourceLocation)
            if index == 2 { try engine.checkpoint() }
        }
        let live = engine.projectionSnapshot
        try engine.close()
        let reopened = try Engine(directory: directory.path, configuration: Self.configuration())
        #expect(reopened.projectionSnapshot == live, sourceLocation: sourceLocation)
        try reopened.close()
        #expect(
            try Engine.rebuild(directory: directory.path, configuration: Self.configuration()).state == live,
            sourceLocation: sourceLocation)
    }

    /// A void retracts exactly what its `storage.changed` still contributes: nothing when the latest
    /// measurement is timed after it, the whole delta otherwise (a change at the measurement's own time counts
    /// on top of it). Live, from a checkpoint and in a full replay, as the model recomputes it.
    @Test func aStorageVoidRetractsOnlyWhatTheLatestMeasurementDoesNotCover() throws {
        let megabyte: Int64 = 1 << 20
        let steps: [(Event, Int64)] = [
            (storageEvent("s1", hoursAgo: 3, .storageChanged(deltaBytes: 100 * megabyte)), 100),
            (storageEvent("m1", hoursAgo: 2, .storageMeasured(usedBytes: 500 * megabyte)), 500),
            (storageEvent("s2", hoursAgo: 1, .storageChanged(deltaBytes: 30 * megabyte)), 530),
            (storageEvent("v1", hoursAgo: 0, .eventVoided(eventId: "s1", reason: nil)), 530),
            (storageEvent("v2", hoursAgo: 0, .eventVoided(eventId: "s2", reason: nil)), 500),
            (storageEvent("s3", hoursAgo: 2, .storageChanged(deltaBytes: -20 * megabyte)), 480),
            (storageEvent("v3", hoursAgo: 0, .eventVoided(eventId: "s3", reason: nil)), 500),
            (storageEvent("s4", hoursAgo: 2, .storageChanged(deltaBytes: 7 * megabyte)), 507),
            (storageEvent("v4", hoursAgo: 0, .eventVoided(eventId: "s4", reason: nil)), 500),
        ]
        try expectStorage(after: steps)
    }

    /// A void never moves a key's last use back while the key has other calls; a key whose every call is
    /// voided has not been used, so it leaves the recent keys and the next most recent takes its place. Live,
    /// as the model recomputes it, from a checkpoint and in a full replay.
    @Test func aKeyWhoseEveryCallIsVoidedLeavesTheRecentKeys() throws {
        let directory = TemporaryDirectory()
        var model = ReferenceModel(now: Self.now)
        let engine = try Engine(directory: directory.path, configuration: Self.configuration())
        let tenant = EventFixtures.tenant
        func minutesAgo(_ minutes: Int64) -> Timestamp {
            Timestamp(microseconds: Self.now.microseconds - minutes * 60_000_000)
        }
        func call(_ id: String, _ key: String, _ minutes: Int64) -> Event {
            Event(
                id: id, tenantId: tenant, time: minutesAgo(minutes), payload: .apiCall(APICall(keyId: key, status: 200))
            )
        }
        func void(_ target: String) -> Event {
            Event(
                id: "v-" + target, tenantId: tenant, time: Self.now, payload: .eventVoided(eventId: target, reason: nil)
            )
        }
        let steps: [(Event, [String])] = [
            (call("c1", "k1", 60), ["k1"]), (call("c2", "k2", 50), ["k2", "k1"]),
            (call("c3", "k3", 40), ["k3", "k2", "k1"]), (call("c4", "k4", 30), ["k4", "k3", "k2", "k1"]),
            (call("c5", "k5", 20), ["k5", "k4", "k3", "k2", "k1"]),
            (call("c6", "k6", 10), ["k6", "k5", "k4", "k3", "k2"]),
            (call("c7", "k5", 5), ["k5", "k6", "k4", "k3", "k2"]),
            // k5 still has a call: its last use stays where the voided one put it.
            (void("c7"), ["k5", "k6", "k4", "k3", "k2"]),
            // k6 has none left: k1 takes its place at the end.
            (void("c6"), ["k5", "k4", "k3", "k2", "k1"]),
            // A call older than every listed key's last use does not make the list.
            (call("c8", "k6", 90), ["k5", "k4", "k3", "k2", "k1"]),
            // k6 fills the place k2 frees; then a list with no key left to fill a freed place closes up.
            (void("c2"), ["k5", "k4", "k3", "k1", "k6"]), (void("c5"), ["k4", "k3", "k1", "k6"]),
        ]
        for (index, (event, recent)) in steps.enumerated() {
            #expect(engine.ingest([.success(event)]) == [model.ingest(event)], "\(event.id)")
            let keys = engine.keyStats(tenant, now: Self.now)
            #expect(keys?.mostRecentlyUsed.map(\.keyId) == recent, "after \(event.id)")
            #expect(model.keyUsage(tenant).recent == recent, "model after \(event.id)")
            if index == 5 { try engine.checkpoint() }
        }
        func lastUse(_ key: String) -> Timestamp? { engine.read { $0.tenants[tenant]?.keys[key]?.lastUsed } }
        #expect(lastUse("k6") == minutesAgo(90), "its one call left")
        #expect(lastUse("k2") == nil && engine.read { $0.tenants[tenant]?.keys["k2"]?.requests } == 0, "no call left")
        #expect(lastUse("k5") == nil, "both its calls voided")
        let live = engine.projectionSnapshot
        try engine.close()
        let reopened = try Engine(directory: directory.path, configuration: Self.configuration())
        #expect(reopened.projectionSnapshot == live)
        try reopened.close()
        #expect(try Engine.rebuild(directory: directory.path, configuration: Self.configuration()).state == live)
    }

    /// A storage event of the test tenant, `hoursAgo` hours before now.
    func storageEvent(_ id: String, hoursAgo: Int64, _ payload: EventPayload) -> Event {
        Event(
            id: id, tenantId: EventFixtures.tenant,
            time: Timestamp(microseconds: Self.now.microseconds - hoursAgo * 3_600_000_000), payload: payload)
    }

    /// Storage events timed before the latest measurement change nothing, whenever they arrive: the
    /// measurement covers them, an older measurement included, and voiding such a change takes nothing back.
    /// A measurement that arrives after changes timed later than it keeps them on top. Live, from a checkpoint
    /// and in a full replay, as the model recomputes it.
    @Test func storageIsTheLatestMeasurementPlusTheChangesTimedAfterIt() throws {
        let megabyte: Int64 = 1 << 20
        let steps: [(Event, Int64)] = [
            (storageEvent("m-now", hoursAgo: 1, .storageMeasured(usedBytes: 5120 * megabyte)), 5120),
            (storageEvent("m-old", hoursAgo: 48, .storageMeasured(usedBytes: 1024 * megabyte)), 5120),
            (storageEvent("c-old", hoursAgo: 24, .storageChanged(deltaBytes: 100 * megabyte)), 5120),
            (storageEvent("v-old", hoursAgo: 0, .eventVoided(eventId: "c-old", reason: nil)), 5120),
            (storageEvent("c-new", hoursAgo: 0, .storageChanged(deltaBytes: 10 * megabyte)), 5130),
            (storageEvent("m-mid", hoursAgo: 1, .storageMeasured(usedBytes: 2048 * megabyte)), 2058),
            (storageEvent("v-new", hoursAgo: 0, .eventVoided(eventId: "c-new", reason: nil)), 2048),
        ]
        try expectStorage(after: steps)
    }

    /// The backfill case: a measurement of 30 days ago arriving after a change of an hour ago keeps the change
    /// on top, and later changes between them count too. Live, from a checkpoint and in a full replay.
    @Test func aBackfilledMeasurementKeepsTheLaterChanges() throws {
        let megabyte: Int64 = 1 << 20
        let steps: [(Event, Int64)] = [
            (storageEvent("c-recent", hoursAgo: 1, .storageChanged(deltaBytes: 5120 * megabyte)), 5120),
            (storageEvent("m-backfill", hoursAgo: 30 * 24, .storageMeasured(usedBytes: 1024 * megabyte)), 6144),
            (storageEvent("c-between", hoursAgo: 10 * 24, .storageChanged(deltaBytes: 100 * megabyte)), 6244),
            (storageEvent("c-before", hoursAgo: 32 * 24, .storageChanged(deltaBytes: 7 * megabyte)), 6244),
            (storageEvent("v-recent", hoursAgo: 0, .eventVoided(eventId: "c-recent", reason: nil)), 1124),
            (storageEvent("m-newer", hoursAgo: 5 * 24, .storageMeasured(usedBytes: 2000 * megabyte)), 2000),
        ]
        try expectStorage(after: steps)
    }

    /// Past the bucket limit, a late measurement inside a merged bucket counts from the bucket's start; the
    /// buckets and both times survive a checkpoint and a full replay unchanged.
    @Test func mergedStorageBucketsSurviveACheckpointAndAReplay() throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path, configuration: Self.configuration())
        var events = (0..<Int64(StorageHistory.bucketLimit)).map {
            storageEvent("c\($0)", hoursAgo: 200 - 10 * $0, .storageChanged(deltaBytes: 1 << 20))
        }
        events.append(storageEvent("c-near", hoursAgo: 200 - 10 * 5 - 1, .storageChanged(deltaBytes: 1 << 20)))
        // Inside the bucket of c5 and c-near: counts as taken at c5's time, keeping both.
        events.append(storageEvent("m-late", hoursAgo: 200 - 10 * 5 - 1, .storageMeasured(usedBytes: 100 << 20)))
        #expect(
            engine.ingest(events.map { .success($0) }).allSatisfy { if case .accepted = $0 { true } else { false } })
        let storage = try #require(engine.projectionSnapshot.tenants[EventFixtures.tenant]?.storage)
        #expect(storage.measuredTime != storage.coveredBefore, "the measurement fell inside a merged bucket")
        #expect(engine.tenantStats(EventFixtures.tenant, now: Self.now)?.usage.storageUsedMB == Int64(100 + 12))
        _ = try engine.checkpoint()
        let live = engine.projectionSnapshot
        try engine.close()
        // Reopened from the checkpoint itself (none ignored), then rebuilt without it.
        let logs = LogCollector()
        var logged = Self.configuration()
        logged.store.log = { logs.append($0) }
        let reopened = try Engine(directory: directory.path, configuration: logged)
        #expect(reopened.projectionSnapshot == live)
        #expect(logs.all.isEmpty, "\(logs.all)")
        try reopened.close()
        #expect(try Engine.rebuild(directory: directory.path, configuration: Self.configuration()).state == live)
    }

    /// A tenant record's times never run backwards: changes that arrive late (timed before the record's
    /// latest change) still apply, but `updated_at` stays at the latest time and `deleted_at` is no earlier
    /// than it.
    @Test func aTenantRecordsTimesNeverRunBackwards() throws {
        let directory = TemporaryDirectory()
        let tenant = EventFixtures.tenant
        func event(_ id: String, daysAgo: Int64, _ payload: EventPayload) -> Event {
            Event(
                id: id, tenantId: tenant,
                time: Timestamp(microseconds: Self.now.microseconds - daysAgo * 86_400_000_000), payload: payload)
        }
        let engine = try Engine(directory: directory.path, configuration: Self.configuration())
        defer { try? engine.close() }
        let created = event("tc", daysAgo: 4, .tenantCreated(TenantCreation(name: "Acme")))
        let renamed = event("tu", daysAgo: 14, .tenantUpdated(TenantUpdate(name: "Acme Two")))
        let deleted = event("td", daysAgo: 19, .tenantDeleted)
        for step in [created, renamed, deleted] {
            #expect(engine.ingest([.success(step)]).allSatisfy { if case .accepted = $0 { true } else { false } })
        }
        let record = engine.read { state in
            state.tenants.index(forKey: tenant).map { state.tenants[position: $0] }
        }
        #expect(record?.name == "Acme Two", "a late change still applies")
        #expect(record?.status == .deleted)
        #expect(record?.createdAt == created.time)
        #expect(record?.updatedAt == created.time, "not the late changes' earlier times")
        #expect(record?.deletedAt == created.time)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomStreamMatchesRecomputation(seed: UInt64) throws {
        let directory = TemporaryDirectory()
        let stream = Self.randomStream(count: 3000, seed: seed)
        var model = ReferenceModel(now: Self.now)
        var random = SplitMix64(seed: seed &* 31)
        var engine: Engine? = try Engine(directory: directory.path, configuration: Self.configuration())
        var index = 0
        var counts = (accepted: 0, duplicate: 0, rejected: 0)
        while index < stream.count {
            let size = 1 + random.below(60)
            let slice = Array(stream[index..<min(index + size, stream.count)])
            index += slice.count
            let outcomes = try #require(engine).ingest(slice.map { .success($0) })
            for (event, outcome) in zip(slice, outcomes) {
                let expected = model.ingest(event)
                switch (outcome, expected) {
                case (.accepted(let a), .accepted(let b)):
                    #expect(a == b)
                    counts.accepted += 1
                case (.duplicate(let a), .duplicate(let b)):
                    #expect(a == b)
                    counts.duplicate += 1
                case (.rejected, .rejected): counts.rejected += 1
                default: Issue.record("event \(event.id): engine \(outcome), model \(expected)")
                }
            }
            // Checkpoint and reopen at random points: the engine must rebuild the same state from the
            // newest checkpoint plus the log after it.
            if random.chance(1, in: 10) { try engine?.checkpoint() }
            if random.chance(1, in: 15) {
                try engine?.close()
                engine = nil
                engine = try Engine(directory: directory.path, configuration: Self.configuration())
            }
        }
        #expect(counts.accepted > 1500 && counts.duplicate > 100 && counts.rejected > 100)
        let tenants = Set(stream.map(\.tenantId))
        Self.compare(try #require(engine), model, tenants: tenants)
        let live = try #require(engine).projectionSnapshot
        try engine?.close()
        engine = nil
        // From the final checkpoint.
        let reopened = try Engine(directory: directory.path, configuration: Self.configuration())
        Self.compare(reopened, model, tenants: tenants)
        #expect(reopened.projectionSnapshot == live)
        try reopened.close()
        // A full replay from offset 0, with every checkpoint gone.
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints")) {
            try FileManager.default.removeItem(atPath: directory.appending("checkpoints/" + name))
        }
        let replayed = try Engine(directory: directory.path, configuration: Self.configuration())
        Self.compare(replayed, model, tenants: tenants)
        #expect(replayed.projectionSnapshot == live)
        try replayed.close()
    }
}
