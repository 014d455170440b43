import TallyCore
import TallyTestSupport
import Testing

@Suite struct StorageHistoryTests {
    static let base = Timestamp(microseconds: 1_794_744_000_000_000)
    static let hour: Int64 = 3_600_000_000

    static func at(hours: Int64) -> Timestamp { Timestamp(microseconds: base.microseconds + hours * hour) }

    /// One storage event of a random stream: a change, a measurement or the void of an earlier change.
    enum Step {
        case change(id: Int, time: Timestamp, delta: Int64)
        case measure(time: Timestamp, used: Int64)
        case void(id: Int)
    }

    /// The figure by definition: the latest measurement by time (the later step on a tie) plus every change
    /// not voided timed at or after it.
    static func expectedFigure(_ steps: [Step]) -> Int64 {
        var measured: (time: Timestamp, used: Int64)?
        var voided: Set<Int> = []
        for step in steps {
            switch step {
            case .measure(let time, let used): if measured.map({ time >= $0.time }) ?? true { measured = (time, used) }
            case .void(let id): voided.insert(id)
            case .change: break
            }
        }
        var figure = measured?.used ?? 0
        for case .change(let id, let time, let delta) in steps
        where !voided.contains(id) && (measured.map { time >= $0.time } ?? true) {
            figure += delta
        }
        return figure
    }

    /// Applies the steps to a projection, as the engine would (a void carries its target).
    static func figure(_ steps: [Step]) -> (bytes: Int64, buckets: Int) {
        var projection = TenantProjection()
        var changes: [Int: Event] = [:]
        for (index, step) in steps.enumerated() {
            switch step {
            case .change(let id, let time, let delta):
                let event = Event(
                    id: "c\(id)", tenantId: EventFixtures.tenant, time: time,
                    payload: .storageChanged(deltaBytes: delta))
                changes[id] = event
                projection.apply(event)
            case .measure(let time, let used):
                projection.apply(
                    Event(
                        id: "m\(index)", tenantId: EventFixtures.tenant, time: time,
                        payload: .storageMeasured(usedBytes: used)))
            case .void(let id):
                projection.apply(
                    Event(
                        id: "v\(index)", tenantId: EventFixtures.tenant, time: base,
                        payload: .eventVoided(eventId: "c\(id)", reason: nil)),
                    voidedTarget: changes[id])
            }
        }
        return (projection.storageBytes, projection.storage.buckets.count)
    }

    /// Random changes, measurements and voids at up to 16 distinct times, in random arrival order: the figure
    /// is exactly the latest measurement by time plus the changes timed at or after it, and shuffling the
    /// changes and measurements (each void still after its change) does not move it.
    @Test func theFigureIsTheLatestMeasurementPlusLaterChangesInAnyOrder() {
        var random = SplitMix64(seed: 23)
        for round in 0..<400 {
            let times = (0..<StorageHistory.bucketLimit).map { _ in Self.at(hours: Int64(random.below(200))) }
            var steps: [Step] = []
            var changeIds: [Int] = []
            for index in 0..<(1 + random.below(40)) {
                switch random.below(10) {
                case 0..<5:
                    steps.append(
                        .change(id: index, time: random.pick(times), delta: Int64(random.below(2000) - 700)))
                    changeIds.append(index)
                case 5..<8: steps.append(.measure(time: random.pick(times), used: Int64(random.below(50_000))))
                default:
                    if let id = changeIds.randomElement(using: &random) {
                        changeIds.removeAll { $0 == id }
                        steps.append(.void(id: id))
                    }
                }
            }
            let (bytes, buckets) = Self.figure(steps)
            #expect(bytes == Self.expectedFigure(steps), "round \(round)")
            #expect(buckets <= StorageHistory.bucketLimit)
            // The same events in another arrival order: voids at the end, so each follows its change. A tie
            // between measurements is decided by arrival, so only streams without one are compared.
            let measuredTimes = steps.compactMap { step -> Timestamp? in
                if case .measure(let time, _) = step { return time }
                return nil
            }
            guard Set(measuredTimes).count == measuredTimes.count else { continue }
            var shuffled = steps.filter { if case .void = $0 { false } else { true } }.shuffled(using: &random)
            shuffled += steps.filter { if case .void = $0 { true } else { false } }
            #expect(Self.figure(shuffled).bytes == bytes, "round \(round) shuffled")
        }
    }

    /// Random changes over many more times than the limit, and measurements that drop the buckets before
    /// them: the buckets are always those of a plain model (insert the change's bucket, then merge the two
    /// closest neighbours, the earliest pair on a tie), in time order, and the array never holds more than the
    /// limit's worth of storage.
    @Test func mergingMatchesAPlainModelAndNeverGrowsTheArray() {
        var random = SplitMix64(seed: 61)
        for round in 0..<200 {
            var history = StorageHistory()
            var model: [StorageHistory.Bucket] = []
            var covered: Timestamp?
            // The storage the array got when it first held the limit's worth of buckets: it must never be
            // replaced by a larger one. (Its exact size is the allocator's: glibc may hand out a few bytes more
            // than asked, so a fixed bound on `capacity` failed now and then.)
            var fullCapacity: Int?
            for _ in 0..<(20 + random.below(80)) {
                let time = Self.at(hours: Int64(random.below(400)))
                if random.chance(1, in: 12) {
                    _ = history.recordMeasurement(at: time, usedBytes: 1)
                    // A measurement that drops every bucket frees the storage; the array starts afresh.
                    if history.buckets.capacity < StorageHistory.bucketLimit { fullCapacity = nil }
                    guard covered.map({ time >= $0 }) ?? true else { continue }
                    let start = model.first { $0.first < time && time <= $0.last }?.first ?? time
                    model.removeAll { $0.first < start }
                    covered = start
                    continue
                }
                let delta = Int64(random.below(1000)) - 300
                _ = history.recordChange(at: time, delta: delta)
                if let covered, time < covered { continue }
                if let index = model.firstIndex(where: { $0.first <= time && time <= $0.last }) {
                    model[index].sum += delta
                    continue
                }
                model.append(StorageHistory.Bucket(first: time, last: time, sum: delta))
                model.sort { $0.first < $1.first }
                if model.count > StorageHistory.bucketLimit {
                    let gaps = (0..<(model.count - 1)).map {
                        model[$0 + 1].first.microseconds - model[$0].last.microseconds
                    }
                    let closest = gaps.firstIndex(of: gaps.min() ?? 0) ?? 0
                    model[closest].last = model[closest + 1].last
                    model[closest].sum += model[closest + 1].sum
                    model.remove(at: closest + 1)
                }
                #expect(history.buckets == model, "round \(round)")
                #expect(history.buckets.count <= StorageHistory.bucketLimit, "round \(round)")
                if history.buckets.count == StorageHistory.bucketLimit, fullCapacity == nil {
                    fullCapacity = history.buckets.capacity
                }
                if let fullCapacity {
                    #expect(history.buckets.capacity == fullCapacity, "round \(round): the array was reallocated")
                }
                // A growth would double it.
                #expect(history.buckets.capacity < 2 * StorageHistory.bucketLimit, "round \(round)")
            }
        }
    }

    /// A measurement that arrives after changes timed later than it keeps them on top (the backfill case);
    /// changes timed before it, arriving before or after it, are covered; a void of a covered change takes
    /// nothing back.
    @Test func aLateMeasurementKeepsTheChangesTimedAfterIt() {
        let gibibyte: Int64 = 1 << 30
        var steps: [Step] = [.change(id: 1, time: Self.at(hours: 0), delta: 5 * gibibyte)]
        steps.append(.measure(time: Self.at(hours: -60 * 24), used: gibibyte))
        #expect(Self.figure(steps).bytes == 6 * gibibyte)
        steps.append(.change(id: 2, time: Self.at(hours: -61 * 24), delta: 100))
        #expect(Self.figure(steps).bytes == 6 * gibibyte)
        steps.append(.void(id: 2))
        #expect(Self.figure(steps).bytes == 6 * gibibyte)
        steps.append(.void(id: 1))
        #expect(Self.figure(steps).bytes == gibibyte)
    }

    /// Past the bucket limit the two closest buckets merge, and the count stays at the limit. A measurement
    /// before every bucket or after them all is still exact; one inside a merged span counts as taken at its
    /// start, so the merged changes all stay in the figure.
    @Test func overflowingBucketsMergeTheClosestPair() {
        var steps: [Step] = []
        // 16 changes a day apart, then one an hour after the fifth: it shares a bucket with it.
        for day in 0..<Int64(StorageHistory.bucketLimit) {
            steps.append(.change(id: Int(day), time: Self.at(hours: day * 24), delta: 1 << day))
        }
        steps.append(.change(id: 100, time: Self.at(hours: 4 * 24 + 1), delta: 1 << 20))
        var projection = TenantProjection()
        for case .change(let id, let time, let delta) in steps {
            projection.apply(
                Event(
                    id: "c\(id)", tenantId: EventFixtures.tenant, time: time,
                    payload: .storageChanged(deltaBytes: delta)))
        }
        #expect(projection.storage.buckets.count == StorageHistory.bucketLimit)
        #expect(
            projection.storage.buckets[4]
                == StorageHistory.Bucket(first: Self.at(hours: 96), last: Self.at(hours: 97), sum: (1 << 4) + (1 << 20))
        )
        let total = Self.expectedFigure(steps)
        #expect(projection.storageBytes == total)
        // Before every change, exact: all of them stay on top.
        #expect(Self.figure(steps + [.measure(time: Self.at(hours: -1), used: 7)]).bytes == 7 + total)
        // Between buckets, exact: the changes of days 0...4 (and the hour after) are covered.
        let afterFifth = steps + [.measure(time: Self.at(hours: 98), used: 7)]
        #expect(Self.figure(afterFifth).bytes == Self.expectedFigure(afterFifth))
        // Inside the merged span: taken at its start, so day 4 and the hour after both stay.
        let inside = Self.figure(steps + [.measure(time: Self.at(hours: 96 + 1), used: 7)]).bytes
        #expect(inside == 7 + total - ((1 << 4) - 1))
        // And a measurement after the last change leaves just itself.
        #expect(Self.figure(steps + [.measure(time: Self.at(hours: 24 * 16), used: 7)]).bytes == 7)
    }
}
