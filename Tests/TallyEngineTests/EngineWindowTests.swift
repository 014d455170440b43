import Foundation
import Testing
import TallyCore
import TallyEngine
import TallyTestSupport

/// The backdate and future limits are configurable; the dedup window follows the backdate limit.
@Suite struct EngineWindowTests {
    @Test func configuredLimitsRejectWithTheirDurationsAndBoundTheDedupWindow() throws {
        let directory = TemporaryDirectory()
        var configuration = ReferenceModelTests.configuration()
        configuration.backdateLimitMicroseconds = 120_000_000
        configuration.futureLimitMicroseconds = 90_000_000
        let now = ReferenceModelTests.now
        let engine = try Engine(directory: directory.path, configuration: configuration)
        func call(_ id: String, secondsAgo: Int64) -> Result<Event, EventValidationError> {
            .success(Event(id: id, tenantId: EventFixtures.tenant, time: Timestamp(microseconds: now.microseconds - secondsAgo * 1_000_000),
                           payload: .apiCall(APICall(keyId: "k", status: 200))))
        }
        let outcomes = engine.ingest([call("old", secondsAgo: 121), call("edge", secondsAgo: 119), call("ahead", secondsAgo: -91)])
        #expect(outcomes[0] == .rejected(reason: "time: older than the backdate limit (2 minutes); use `tally import` to backfill"))
        #expect(outcomes[1] == .accepted(offset: 0))
        if case .rejected(let reason) = outcomes[2] {
            #expect(reason.hasPrefix("time: more than 90 seconds ahead of the server clock"))
        } else {
            Issue.record("an event 91 s ahead was \(outcomes[2])")
        }
        #expect(engine.ingest([call("edge", secondsAgo: 119)]) == [.duplicate(offset: 0)])
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
        let ages = [configuration.backdateLimitMicroseconds - hour, 200 * 24 * hour, hour, 0,
                    -(configuration.futureLimitMicroseconds - hour)]
        let events = ages.enumerated().map { index, age in
            Result<Event, EventValidationError>.success(Event(
                id: "edge-\(index)", tenantId: EventFixtures.tenant, time: Timestamp(microseconds: now.microseconds - age),
                payload: .apiCall(APICall(keyId: "k", status: 200))))
        }
        var engine = try Engine(directory: directory.path, configuration: configuration)
        #expect(engine.ingest(events) == (0..<UInt64(ages.count)).map { .accepted(offset: $0) })
        try engine.close()
        engine = try Engine(directory: directory.path, configuration: configuration)
        #expect(engine.ingest(events) == (0..<UInt64(ages.count)).map { .duplicate(offset: $0) })
        try engine.close()
    }

    @Test func windowsBeyondTheMaximaAreRefusedBeforeTheStoreIsOpened() {
        let directory = TemporaryDirectory()
        var tooLong = ReferenceModelTests.configuration()
        tooLong.backdateLimitMicroseconds = EngineConfiguration.maximumBackdateLimitMicroseconds + 1_000_000
        var tooFar = ReferenceModelTests.configuration()
        tooFar.futureLimitMicroseconds = EngineConfiguration.maximumFutureLimitMicroseconds + 1_000_000
        var empty = ReferenceModelTests.configuration()
        empty.backdateLimitMicroseconds = 0
        for (configuration, setting) in [(tooLong, "backdate"), (tooFar, "future"), (empty, "backdate")] {
            #expect(throws: EngineConfiguration.InvalidSetting.self) { try configuration.validate() }
            do {
                _ = try Engine(directory: directory.path, configuration: configuration)
                Issue.record("opened with the \(setting) limit out of range")
            } catch {
                #expect("\(error)".contains("the \(setting) limit must be"))
            }
        }
        #expect(throws: Never.self) { try ReferenceModelTests.configuration().validate() }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty == true, "nothing was created")
    }

    @Test func durationsAreDescribedInTheirLargestWholeUnit() {
        #expect(EngineConfiguration.describe(35 * 86_400_000_000) == "35 days")
        #expect(EngineConfiguration.describe(86_400_000_000) == "1 day")
        #expect(EngineConfiguration.describe(300_000_000) == "5 minutes")
        #expect(EngineConfiguration.describe(90_000_000) == "90 seconds")
        #expect(EngineConfiguration.describe(7_200_000_000) == "2 hours")
        #expect(EngineConfiguration.describe(1_000_000) == "1 second")
    }
}
