import Foundation
import Synchronization
import TallyCore
import TallyEngine
import TallyStorage
import TallyTestSupport
import Testing

/// The backdate and future limits are configurable; the dedup window follows the backdate limit.
@Suite struct EngineWindowTests {
    static let now = ReferenceModelTests.now
    static let hour: Int64 = 3_600_000_000
    static let call = EventPayload.apiCall(APICall(keyId: "k", status: 200))

    /// The reference configuration on a clock the test moves.
    static func configuration(_ clock: TestClock) -> EngineConfiguration {
        var configuration = ReferenceModelTests.configuration()
        configuration.clock = clock.reading
        return configuration
    }

    /// An event of the fixture tenant.
    static func event(_ id: String, _ payload: EventPayload = call, at time: Timestamp = now) -> Result<
        Event, EventValidationError
    > {
        .success(Event(id: id, tenantId: EventFixtures.tenant, time: time, payload: payload))
    }

    @Test func configuredLimitsRejectWithTheirDurationsAndBoundTheDedupWindow() throws {
        let directory = TemporaryDirectory()
        var configuration = ReferenceModelTests.configuration()
        configuration.backdateLimitMicroseconds = 120_000_000
        configuration.futureLimitMicroseconds = 90_000_000
        let now = ReferenceModelTests.now
        let engine = try Engine(directory: directory.path, configuration: configuration)
        func call(_ id: String, secondsAgo: Int64) -> Result<Event, EventValidationError> {
            .success(
                Event(
                    id: id, tenantId: EventFixtures.tenant,
                    time: Timestamp(microseconds: now.microseconds - secondsAgo * 1_000_000),
                    payload: .apiCall(APICall(keyId: "k", status: 200))))
        }
        let outcomes = engine.ingest([
            call("old", secondsAgo: 121), call("edge", secondsAgo: 119), call("ahead", secondsAgo: -91),
        ])
        #expect(
            outcomes[0]
                == .rejected(reason: "time: older than the backdate limit (2 minutes); use `tally import` to backfill"))
        #expect(outcomes[1] == .accepted(offset: 0))
        if case .rejected(let reason) = outcomes[2] {
            #expect(reason.hasPrefix("time: more than 90 seconds ahead of the server clock"))
        } else {
            Issue.record("an event 91 s ahead was \(outcomes[2])")
        }
        #expect(engine.ingest([call("edge", secondsAgo: 119)]) == [.duplicate(offset: 0)])
        try engine.close()
    }

    /// A retry of an event stored just inside the backdate limit, arriving once its time has left it, is
    /// answered as a duplicate of the stored event, not rejected (which would tell the client it was not
    /// stored); a new id at that time is still rejected.
    @Test func aRetryPastTheBackdateLimitIsADuplicateNotARejection() throws {
        let directory = TemporaryDirectory()
        let clock = TestClock(Self.now)
        var configuration = Self.configuration(clock)
        configuration.backdateLimitMicroseconds = 120_000_000
        let engine = try Engine(directory: directory.path, configuration: configuration)
        let time = Timestamp(microseconds: Self.now.microseconds - 116_000_000)
        #expect(engine.ingest([Self.event("edge", at: time)]) == [.accepted(offset: 0)])
        clock.advance(microseconds: 6_000_000)
        #expect(
            engine.ingest([Self.event("edge", at: time), Self.event("new", at: time)]) == [
                .duplicate(offset: 0),
                .rejected(reason: "time: older than the backdate limit (2 minutes); use `tally import` to backfill"),
            ])
        try engine.close()
    }

    /// At the longest windows allowed, an id from either edge is still a duplicate after a checkpoint and
    /// reopen (which prunes the dedup index). Raising the maxima past what the index's wrapping hours can
    /// tell apart makes the old ids look expired here.
    @Test func theLongestAllowedWindowStillDeduplicatesAcrossAReopen() throws {
        let directory = TemporaryDirectory()
        var configuration = ReferenceModelTests.configuration()
        configuration.backdateLimitMicroseconds = EngineConfiguration.maximumBackdateLimitMicroseconds
        configuration.futureLimitMicroseconds = EngineConfiguration.maximumFutureLimitMicroseconds
        let now = ReferenceModelTests.now
        let hour: Int64 = 3_600_000_000
        let ages = [
            configuration.backdateLimitMicroseconds - hour, 200 * 24 * hour, hour, 0,
            -(configuration.futureLimitMicroseconds - hour),
        ]
        let events = ages.enumerated().map { index, age in
            Result<Event, EventValidationError>.success(
                Event(
                    id: "edge-\(index)", tenantId: EventFixtures.tenant,
                    time: Timestamp(microseconds: now.microseconds - age),
                    payload: .apiCall(APICall(keyId: "k", status: 200))))
        }
        var engine = try Engine(directory: directory.path, configuration: configuration)
        #expect(engine.ingest(events) == (0..<UInt64(ages.count)).map { .accepted(offset: $0) })
        try engine.close()
        engine = try Engine(directory: directory.path, configuration: configuration)
        #expect(engine.ingest(events) == (0..<UInt64(ages.count)).map { .duplicate(offset: $0) })
        try engine.close()
    }

    /// A void keeps its effect in every later replay, however far the target has fallen behind the dedup
    /// window by then: the void's record carries the target's offset.
    @Test func aVoidOutlivesItsTargetsWindowInAFullReplay() throws {
        let directory = TemporaryDirectory()
        let (now, hour, tenant) = (Self.now, Self.hour, EventFixtures.tenant)
        let clock = TestClock(now)
        let configuration = Self.configuration(clock)
        let event = { (id: String, payload: EventPayload) in Self.event(id, payload) }
        var engine = try Engine(directory: directory.path, configuration: configuration)
        #expect(
            engine.ingest([
                event("c1", .apiCall(APICall(keyId: "k", status: 200))),
                event("c2", .apiCall(APICall(keyId: "k", status: 500))),
                event("s1", .storageChanged(deltaBytes: 3 << 20)),
            ]) == [.accepted(offset: 0), .accepted(offset: 1), .accepted(offset: 2)])
        clock.set(Timestamp(microseconds: now.microseconds + hour))
        #expect(
            engine.ingest([
                event("v1", .eventVoided(eventId: "c2", reason: "test traffic")),
                event("v2", .eventVoided(eventId: "s1", reason: nil)),
            ]) == [.accepted(offset: 3), .accepted(offset: 4)])
        let live = try #require(engine.tenantStats(tenant, now: now))
        #expect(live.usage.apiCallsThisMonth == 1 && live.usage.storageUsedMB == 0)
        try engine.close()
        // Forty days on, the calls are long out of the window; a full replay still retracts both voids.
        clock.set(Timestamp(microseconds: now.microseconds + 40 * 24 * hour))
        let rebuilt = try Engine.rebuild(directory: directory.path, configuration: configuration)
        let replayed = try #require(rebuilt.state.tenants[tenant])
        #expect(TenantStats(replayed, tenantId: tenant, now: now) == live)
        #expect(replayed.totalRequests == 1 && replayed.totalErrors == 0)
        try FileManager.default.removeItem(atPath: directory.path + "/checkpoints")
        engine = try Engine(directory: directory.path, configuration: configuration)
        #expect(engine.tenantStats(tenant, now: now) == live, "reopened without a checkpoint")
        try engine.close()
    }

    /// The window holds to the hour between prunes: an id that has left it is new again, and a void can no
    /// longer reach its old target, however many inserts remain before the next prune.
    @Test func idsLeaveTheWindowOnTimeWithoutWaitingForAPrune() throws {
        let directory = TemporaryDirectory()
        let now = Self.now
        let clock = TestClock(now)
        let configuration = Self.configuration(clock)
        let engine = try Engine(directory: directory.path, configuration: configuration)
        let event = { (id: String, payload: EventPayload) in Self.event(id, payload, at: clock.now) }
        let call = Self.call
        #expect(engine.ingest([event("c1", call), event("c2", call)]) == [.accepted(offset: 0), .accepted(offset: 1)])
        // At the window's very end the ids are still remembered; an hour later (event times are kept in whole
        // hours) they are not. The window once reached an hour further, up to 1 h 59 min past its end.
        let window = configuration.backdateLimitMicroseconds
        let hour: Int64 = 3_600_000_000
        clock.set(Timestamp(microseconds: now.microseconds + window))
        #expect(engine.ingest([event("c1", call)]) == [.duplicate(offset: 0)])
        clock.set(Timestamp(microseconds: now.microseconds + window + hour))
        #expect(engine.ingest([event("c1", call)]) == [.accepted(offset: 2)])
        let outcomes = engine.ingest([
            event("v2", .eventVoided(eventId: "c2", reason: nil)),
            event("v1", .eventVoided(eventId: "c1", reason: nil)),
        ])
        #expect(outcomes[1] == .accepted(offset: 3))
        guard case .rejected(let reason) = outcomes[0] else {
            Issue.record("a void of an id out of the window was \(outcomes[0])")
            return
        }
        #expect(reason.hasPrefix("data.eventId: no accepted event \"c2\""))
        #expect(engine.ingest([event("c1", call)]) == [.duplicate(offset: 2)])
        try engine.close()
    }

    /// Salvage renumbers what it copies, so a void's stored target offset may point at another record: the
    /// replay confirms the target by tenant and id and otherwise finds it through the window, as before.
    @Test func aSalvagedStoreAppliesItsVoidsDespiteRenumberedOffsets() throws {
        let directory = TemporaryDirectory()
        let (now, tenant, call) = (Self.now, EventFixtures.tenant, Self.call)
        let event = { (id: String, payload: EventPayload) in Self.event(id, payload) }
        let engine = try Engine(directory: directory.path, configuration: ReferenceModelTests.configuration())
        _ = engine.ingest([event("a0", call), event("a1", call)])
        _ = engine.ingest([event("c", call)])
        _ = engine.ingest([event("x", call)])
        #expect(engine.ingest([event("v", .eventVoided(eventId: "c", reason: nil))]) == [.accepted(offset: 4)])
        try engine.close()
        // Damage the first frame (offsets 0 and 1): the salvaged store holds c, x and the void at 0, 1, 2,
        // and the void's stored target (2) is now the void itself.
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        var bytes = try StoreTestSupport.bytes(segment)
        bytes[SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 3] ^= 0xFF
        try StoreTestSupport.write(bytes, to: segment)
        let salvaged = TemporaryDirectory()
        // As `tally salvage` does: the checkpoint written at close says the damaged records were acknowledged,
        // though no sync came between the frames of this `never` store (else the damage is a torn group write).
        let report = try StoreSalvager(
            from: directory.path, to: salvaged.appending("store"),
            acknowledgedOffset: try Engine.acknowledgedOffset(directory: directory.path)
        ).salvage()
        #expect(report.recordsCopied == 3)
        let reopened = try Engine(
            directory: salvaged.appending("store"), configuration: ReferenceModelTests.configuration())
        #expect(reopened.tenantStats(tenant, now: now)?.usage.apiCallsThisMonth == 1, "c stays voided, x counts")
        try reopened.close()
    }

    /// A server that runs for days with few inserts still prunes, once a day: its ids' hours (kept modulo
    /// 2^14) never stay long enough to wrap round and look current.
    @Test func theDedupIndexIsPrunedDailyWhateverTheInsertRate() throws {
        let directory = TemporaryDirectory()
        let now = Self.now
        let clock = TestClock(now)
        var configuration = Self.configuration(clock)
        configuration.backdateLimitMicroseconds = Self.hour
        let engine = try Engine(directory: directory.path, configuration: configuration)
        let call = { (id: String) in Self.event(id, at: clock.now) }
        _ = engine.ingest((0..<10).map { call("early-\($0)") })
        #expect(engine.rememberedIds == 10)
        clock.set(Timestamp(microseconds: now.microseconds + 2 * 86_400_000_000))
        _ = engine.ingest([call("late")])
        #expect(engine.rememberedIds == 1, "the ten ids of two days ago were pruned")
        try engine.close()
    }

    /// After an idle spell of about a year (hours are kept modulo 2^14, some 341 days each way), an id's
    /// hour would wrap round and look current: an id reused a year on is a new event, whether the engine
    /// ran through the spell or was reopened from its checkpoint after it.
    @Test(arguments: [false, true])
    func anIdReusedAfterAYearIdleIsNewLiveAndAfterAReopen(reopen: Bool) throws {
        let directory = TemporaryDirectory()
        let clock = TestClock(Self.now)
        let configuration = Self.configuration(clock)
        var engine = try Engine(directory: directory.path, configuration: configuration)
        // Ten days before the last event, so 380 days old once the clock moves 370 days on: 345 days past
        // the 35-day window's edge, beyond the 341 days (2^13 hours) that wrapped hours can tell apart.
        clock.advance(microseconds: -10 * 24 * Self.hour)
        #expect(engine.ingest([Self.event("reused", at: clock.now)]) == [.accepted(offset: 0)])
        clock.advance(microseconds: 10 * 24 * Self.hour)
        #expect(engine.ingest([Self.event("other", at: clock.now)]) == [.accepted(offset: 1)])
        #expect(engine.rememberedIds == 2)
        clock.advance(microseconds: 370 * 24 * Self.hour)
        if reopen {
            try engine.close()
            engine = try Engine(directory: directory.path, configuration: configuration)
        }
        #expect(
            engine.ingest([Self.event("reused", at: clock.now)]) == [.accepted(offset: 2)], "a year on, the id is new")
        #expect(engine.ingest([Self.event("reused", at: clock.now)]) == [.duplicate(offset: 2)])
        #expect(engine.rememberedIds == 1)
        try engine.close()
    }

    /// Ingest times never fall along the log, even when the clock steps back, so `--until TIME` replays
    /// exactly the events ingested by then.
    /// With 200-byte segments the third batch rolls the log, so the reopen finds an empty last segment and
    /// must look for the last ingest time in the segment before.
    @Test(arguments: [Int64(64 << 10), 200])
    func ingestTimesRiseWithOffsetsThroughAClockStepBack(segmentSize: Int64) throws {
        let directory = TemporaryDirectory()
        let now = Self.now
        let clock = TestClock(now)
        var configuration = Self.configuration(clock)
        configuration.store = StoreTestSupport.configuration(segmentSize: segmentSize)
        let engine = try Engine(directory: directory.path, configuration: configuration)
        let call = { (id: String) in Self.event(id, at: Timestamp(microseconds: now.microseconds - 60_000_000)) }
        _ = engine.ingest([call("a")])
        clock.set(Timestamp(microseconds: now.microseconds - 10_000_000))
        _ = engine.ingest([call("b")])
        clock.set(Timestamp(microseconds: now.microseconds + 5_000_000))
        _ = engine.ingest([call("c")])
        try engine.close()
        // The clock steps back again while the engine is down: the reopened engine goes on from the log.
        clock.set(Timestamp(microseconds: now.microseconds - 30_000_000))
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        _ = reopened.ingest([call("d")])
        try reopened.close()
        let store = try SegmentStore(
            directory: directory.path, configuration: StoreTestSupport.configuration(), readOnly: true)
        let times = try StoreTestSupport.readAll(store).map(\.ingestTime.microseconds)
        #expect(
            times == [now.microseconds, now.microseconds, now.microseconds + 5_000_000, now.microseconds + 5_000_000])
        let untilNow = try Engine.rebuild(
            directory: directory.path, configuration: configuration, limit: .ingestTime(now))
        #expect(untilNow.state.nextOffset == 2)
    }

    @Test func windowsBeyondTheMaximaAreRefusedBeforeTheStoreIsOpened() {
        let directory = TemporaryDirectory()
        var tooLong = ReferenceModelTests.configuration()
        tooLong.backdateLimitMicroseconds = EngineConfiguration.maximumBackdateLimitMicroseconds + 1_000_000
        var tooFar = ReferenceModelTests.configuration()
        tooFar.futureLimitMicroseconds = EngineConfiguration.maximumFutureLimitMicroseconds + 1_000_000
        var empty = ReferenceModelTests.configuration()
        empty.backdateLimitMicroseconds = 0
        var forgetful = ReferenceModelTests.configuration()
        forgetful.backfillRememberedIds = 0
        for (configuration, setting) in [
            (tooLong, "the backdate limit must be"), (tooFar, "the future limit must be"),
            (empty, "the backdate limit must be"), (forgetful, "a backfill must remember at least 1"),
        ] {
            #expect(throws: EngineConfiguration.InvalidSetting.self) { try configuration.validate() }
            do {
                _ = try Engine(directory: directory.path, configuration: configuration)
                Issue.record("opened with a setting out of range: \(setting)")
            } catch {
                #expect("\(error)".contains(setting), "\(error)")
            }
        }
        #expect(throws: Never.self) { try ReferenceModelTests.configuration().validate() }
        #expect(
            (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty == true,
            "nothing was created")
    }

    /// An id at the window's edge is remembered alike by the live engine, by an engine reopened from its
    /// checkpoint and by one that replays the whole log: the same re-sent events get the same answers. (The
    /// replay once kept ids to the microsecond while the live index keeps them to the hour.)
    @Test func theWindowsEdgeIsTheSameLiveFromACheckpointAndAfterAFullReplay() throws {
        let clock = TestClock(Self.now)
        let configuration = Self.configuration(clock)
        let live = TemporaryDirectory()
        let engine = try Engine(directory: live.path, configuration: configuration)
        let cutoff = Self.now.microseconds - configuration.backdateLimitMicroseconds
        let offsets: [Int64] = [8_000_000, -600_000_000, -5_400_000_000, -10_800_000_000, -100 * Self.hour]
        let events = offsets.enumerated().map { index, offset in
            Self.event("edge-\(index)", at: Timestamp(microseconds: cutoff + offset))
        }
        #expect(engine.ingest(events, mode: .backfill).allSatisfy { if case .accepted = $0 { true } else { false } })
        _ = try engine.checkpoint()
        let fromCheckpoint = TemporaryDirectory()
        let replayed = TemporaryDirectory()
        try StoreTestSupport.copyStore(live.path, to: fromCheckpoint.path)
        try StoreTestSupport.copyStore(live.path, to: replayed.path)
        try FileManager.default.removeItem(atPath: replayed.path + "/checkpoints")
        clock.set(Timestamp(microseconds: Self.now.microseconds + 12_000_000))

        func duplicates(_ outcomes: [IngestOutcome]) -> [Bool] {
            outcomes.map { if case .duplicate = $0 { true } else { false } }
        }
        // A backfill remembers its own events of any age: a new one starts afresh, as after a reopen.
        #expect(duplicates(engine.ingest(events, mode: .backfill)) == [true, true, true, true, true])
        engine.forgetBackfilledIds()
        let liveAnswers = duplicates(engine.ingest(events, mode: .backfill))
        try engine.close()
        for directory in [fromCheckpoint, replayed] {
            let reopened = try Engine(directory: directory.path, configuration: configuration)
            #expect(duplicates(reopened.ingest(events, mode: .backfill)) == liveAnswers, "\(directory.path)")
            try reopened.close()
        }
        #expect(liveAnswers.first == true, "an id 8 s inside the window when sent is still remembered 12 s later")
        #expect(liveAnswers.last == false, "an id 100 hours older than the window is not remembered")
    }

    /// A backfilled event near the window's edge is remembered by both the window and the backfill's own
    /// ids: a live void marks it voided in both, so once the event has left the window a backfilled void of
    /// it is refused as already voided, not counted a second time.
    @Test func aVoidMarksABackfilledEventInBothIndexes() throws {
        let clock = TestClock(Self.now)
        let configuration = Self.configuration(clock)
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path, configuration: configuration)
        let nearEdge = Timestamp(
            microseconds: Self.now.microseconds - configuration.backdateLimitMicroseconds + Self.hour)
        #expect(engine.ingest([Self.event("edge", at: nearEdge)], mode: .backfill) == [.accepted(offset: 0)])
        #expect(
            engine.ingest([Self.event("v1", .eventVoided(eventId: "edge", reason: nil))]) == [.accepted(offset: 1)])
        clock.set(Timestamp(microseconds: Self.now.microseconds + 5 * Self.hour))
        let again = engine.ingest(
            [Self.event("v2", .eventVoided(eventId: "edge", reason: nil), at: clock.reading())], mode: .backfill)
        #expect(again == [.rejected(reason: "data.eventId: \"edge\" is already voided")])
        #expect(engine.keyStats(EventFixtures.tenant, now: clock.reading())?.totalRequests == 0)
        try engine.close()
    }

    /// A backfilled event older than the window whose id a recent event reused is a new event, not a repeat
    /// of the recent one (live ingest would have taken both, in either order); one less than a window from
    /// the recent event is a repeat. A backfilled void of the old event retracts it, not the recent one, and
    /// an engine reopened from its checkpoint or replaying the whole log agrees on what is voided.
    @Test func anOldEventWhoseIdARecentOneReusedIsNewToABackfill() throws {
        let clock = TestClock(Self.now)
        let configuration = Self.configuration(clock)
        let live = TemporaryDirectory()
        let engine = try Engine(directory: live.path, configuration: configuration)
        func daysAgo(_ days: Int64) -> Timestamp {
            Timestamp(microseconds: Self.now.microseconds - days * 24 * Self.hour)
        }
        let void = { (id: String, time: Timestamp) in
            Self.event(id, .eventVoided(eventId: "inv-7", reason: nil), at: time)
        }
        #expect(engine.ingest([Self.event("inv-7", at: daysAgo(2))]) == [.accepted(offset: 0)])
        #expect(engine.ingest([Self.event("inv-7", at: daysAgo(300))], mode: .backfill) == [.accepted(offset: 1)])
        #expect(engine.ingest([Self.event("inv-7", at: daysAgo(36))], mode: .backfill) == [.duplicate(offset: 0)])
        #expect(engine.ingest([void("void-old", daysAgo(299))], mode: .backfill) == [.accepted(offset: 2)])
        #expect(engine.keyStats(EventFixtures.tenant)?.totalRequests == 1)
        _ = try engine.checkpoint()
        try engine.close()
        let replayed = TemporaryDirectory()
        try StoreTestSupport.copyStore(live.path, to: replayed.path)
        try FileManager.default.removeItem(atPath: replayed.path + "/checkpoints")
        for directory in [live, replayed] {
            let reopened = try Engine(directory: directory.path, configuration: configuration)
            #expect(reopened.ingest([void("void-new", daysAgo(1))]) == [.accepted(offset: 3)], "\(directory.path)")
            #expect(
                reopened.ingest([void("void-again", daysAgo(1))])
                    == [.rejected(reason: "data.eventId: \"inv-7\" is already voided")], "\(directory.path)")
            #expect(reopened.ingest([Self.event("inv-7", at: daysAgo(2))]) == [.duplicate(offset: 0)])
            #expect(reopened.keyStats(EventFixtures.tenant)?.totalRequests == 0)
            try reopened.close()
        }
    }

    /// One import may bring several old events under one id, each more than a window from the others (the
    /// id was reused after leaving the window): a resend of any of them is a duplicate, not only of the
    /// latest, and a void retracts the one nearest its own time; a reopened engine agrees.
    @Test func oldEventsReusingAnIdAreEachRememberedByTheImport() throws {
        let directory = TemporaryDirectory()
        let configuration = Self.configuration(TestClock(Self.now))
        let engine = try Engine(directory: directory.path, configuration: configuration)
        func daysAgo(_ days: Int64) -> Timestamp {
            Timestamp(microseconds: Self.now.microseconds - days * 24 * Self.hour)
        }
        func call(_ key: String, _ days: Int64) -> Result<Event, EventValidationError> {
            Self.event("X1", .apiCall(APICall(keyId: key, status: 200)), at: daysAgo(days))
        }
        func void(_ id: String, _ days: Int64) -> Result<Event, EventValidationError> {
            Self.event(id, .eventVoided(eventId: "X1", reason: nil), at: daysAgo(days))
        }
        #expect(
            engine.ingest([call("june", 300), call("sept", 208)], mode: .backfill) == [
                .accepted(offset: 0), .accepted(offset: 1),
            ])
        #expect(
            engine.ingest([call("june", 300), call("sept", 208)], mode: .backfill) == [
                .duplicate(offset: 0), .duplicate(offset: 1),
            ])
        #expect(engine.ingest([void("v-june", 299)], mode: .backfill) == [.accepted(offset: 2)])
        func requests(_ engine: Engine) -> [String: Int64] {
            Dictionary(
                uniqueKeysWithValues: (engine.keyStats(EventFixtures.tenant)?.mostRecentlyUsed ?? []).map {
                    ($0.keyId, $0.requests)
                })
        }
        // A key whose calls are all voided leaves the list.
        #expect(requests(engine) == ["sept": 1])
        #expect(engine.ingest([void("v-sept", 207)], mode: .backfill) == [.accepted(offset: 3)])
        #expect(
            engine.ingest([void("v-again", 206)], mode: .backfill)
                == [.rejected(reason: "data.eventId: \"X1\" is already voided")])
        #expect(requests(engine) == [:])
        #expect(engine.keyStats(EventFixtures.tenant)?.totalRequests == 0)
        try engine.close()
        let reopened = try Engine(directory: directory.path, configuration: configuration)
        #expect(requests(reopened) == [:])
        #expect(reopened.keyStats(EventFixtures.tenant)?.totalRequests == 0)
        try reopened.close()
    }

    /// A backfilled void older than the window finds an event in the window further than a window from it
    /// when the same import brought that event ("a target of any age imported earlier in it"), but not one
    /// an earlier run stored: that is a recent event that reused the id of an event this run never saw.
    @Test func anOldVoidFindsAFarTargetOnlyWhenTheImportBroughtIt() throws {
        let directory = TemporaryDirectory()
        let configuration = Self.configuration(TestClock(Self.now))
        func daysAgo(_ days: Int64) -> Timestamp {
            Timestamp(microseconds: Self.now.microseconds - days * 24 * Self.hour)
        }
        let engine = try Engine(directory: directory.path, configuration: configuration)
        #expect(engine.ingest([Self.event("N1", at: daysAgo(5))], mode: .backfill) == [.accepted(offset: 0)])
        #expect(
            engine.ingest(
                [Self.event("VN", .eventVoided(eventId: "N1", reason: nil), at: daysAgo(55))], mode: .backfill)
                == [.accepted(offset: 1)])
        #expect(engine.keyStats(EventFixtures.tenant)?.totalRequests == 0)
        #expect(engine.ingest([Self.event("N2", at: daysAgo(5))], mode: .backfill) == [.accepted(offset: 2)])
        engine.forgetBackfilledIds()
        let refused = engine.ingest(
            [Self.event("VN2", .eventVoided(eventId: "N2", reason: nil), at: daysAgo(55))], mode: .backfill)
        guard case .rejected(let reason) = refused.first else {
            Issue.record("the void was not rejected: \(refused)")
            return
        }
        #expect(reason.hasPrefix("data.eventId: no accepted event \"N2\""))
        #expect(engine.keyStats(EventFixtures.tenant)?.totalRequests == 1)
        try engine.close()
    }

    /// A checkpoint whose dedup index was kept for a narrower window than the engine's (written by a
    /// command run with another backdate limit) is not used: the engine rebuilds from the log, and an id
    /// inside its own window is still a duplicate.
    @Test func aCheckpointWithANarrowerDedupWindowIsRebuiltFromTheLog() throws {
        let directory = TemporaryDirectory()
        let log = LogCollector()
        var wide = Self.configuration(TestClock(Self.now))
        wide.backdateLimitMicroseconds = 100 * 24 * Self.hour
        wide.store.log = { log.append($0) }
        var narrow = wide
        narrow.backdateLimitMicroseconds = 35 * 24 * Self.hour
        let old = Self.event("fifty-days-old", at: Timestamp(microseconds: Self.now.microseconds - 50 * 24 * Self.hour))
        do {
            let engine = try Engine(directory: directory.path, configuration: wide)
            #expect(engine.ingest([old]) == [.accepted(offset: 0)])
            try engine.close()
        }
        #expect(Engine.recordedDedupWindow(directory: directory.path) == wide.backdateLimitMicroseconds)
        do {
            let engine = try Engine(directory: directory.path, configuration: narrow)
            #expect(engine.ingest([Self.event("recent")], mode: .backfill) == [.accepted(offset: 1)])
            try engine.close()
        }
        #expect(Engine.recordedDedupWindow(directory: directory.path) == narrow.backdateLimitMicroseconds)
        let engine = try Engine(directory: directory.path, configuration: wide)
        #expect(engine.ingest([old]) == [.duplicate(offset: 0)])
        try engine.close()
        #expect(
            log.all.contains {
                $0.contains("its dedup index remembers ids for 35 days, this engine's backdate limit is 100 days")
            },
            "\(log.all)")
        #expect(Engine.recordedDedupWindow(directory: directory.path) == wide.backdateLimitMicroseconds)
    }

    @Test func durationsAreDescribedInTheirLargestWholeUnit() {
        #expect(EngineConfiguration.describe(35 * 86_400_000_000) == "35 days")
        #expect(EngineConfiguration.describe(86_400_000_000) == "1 day")
        #expect(EngineConfiguration.describe(300_000_000) == "5 minutes")
        #expect(EngineConfiguration.describe(90_000_000) == "90 seconds")
        #expect(EngineConfiguration.describe(7_200_000_000) == "2 hours")
        #expect(EngineConfiguration.describe(1_000_000) == "1 second")
    }

    @Test func countsAreDescribedWithTheirThousandsSeparated() {
        #expect(EngineConfiguration.describe(count: 0) == "0")
        #expect(EngineConfiguration.describe(count: 999) == "999")
        #expect(EngineConfiguration.describe(count: 1000) == "1,000")
        #expect(EngineConfiguration.describe(count: 4_194_304) == "4,194,304")
        #expect(EngineConfiguration.describe(count: -123_456) == "-123,456")
        #expect(EngineConfiguration.describe(count: Int.min) == "-9,223,372,036,854,775,808")
    }
}
