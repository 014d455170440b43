import TallyCore
import TallyTestSupport
import Testing

@Suite struct RecentMonthsTests {
    /// Calls in random months, in random order, with retractions: every month's count read through the
    /// projection equals a plain per-month count, whichever months stayed inline and which spilled.
    @Test func projectionCountsMatchAPlainCount() {
        var random = SplitMix64(seed: 41)
        var projection = TenantProjection()
        var reference: [Int: Int64] = [:]
        let base = Timestamp(microseconds: 1_700_000_000_000_000)
        var counted: [Event] = []
        for index in 0..<5_000 {
            if !counted.isEmpty, random.chance(1, in: 6) {
                let target = counted.remove(at: random.below(counted.count))
                projection.apply(
                    Event(
                        id: "v\(index)", tenantId: target.tenantId, time: target.time,
                        payload: .eventVoided(eventId: target.id, reason: nil)), voidedTarget: target)
                reference[target.time.monthIndex, default: 0] -= 1
                continue
            }
            let days = Int64(random.below(400))
            let time = Timestamp(microseconds: base.microseconds + days * 86_400_000_000)
            let event = Event(
                id: "c\(index)", tenantId: TenantID(high: 1, low: 1), time: time,
                payload: .apiCall(APICall(keyId: "k", status: 200)))
            projection.apply(event)
            counted.append(event)
            reference[time.monthIndex, default: 0] += 1
        }
        let months = reference.keys
        for month in (months.min() ?? 0) - 2...(months.max() ?? 0) + 2 {
            #expect(projection.callsIn(month: month) == reference[month, default: 0], "month \(month)")
        }
        // Months held inline are never also in the full record.
        for month in [
            projection.recentMonths.months.0, projection.recentMonths.months.1, projection.recentMonths.months.2,
        ] {
            #expect(projection.apiCallsByMonth[month] == nil)
        }
    }

    /// A month newer than the oldest slot but never seen counts 0 without a lookup; one older asks the record.
    @Test func answersForUnseenMonths() {
        var months = RecentMonths()
        #expect(months.calls(in: 100) == 0)
        #expect(months.update(month: 100, total: 5) == nil)
        #expect(months.update(month: 102, total: 1) == nil)
        #expect(months.update(month: 90, total: 2) == nil)
        #expect(months.calls(in: 101) == 0)
        #expect(months.calls(in: 89) == nil)
        let spilled = months.update(month: 103, total: 4)
        #expect(spilled?.month == 90 && spilled?.calls == 2)
        let old = months.update(month: 95, total: 7)
        #expect(old?.month == 95 && old?.calls == 7)
        #expect(months.calls(in: 100) == 5)
    }
}
