/// What a tenant's storage figure is made of, by event time: the latest measurement and the changes timed
/// at or after it, so the figure is the same whatever order the events arrived in.
///
/// A `storage.measured` is the whole figure at its time; a `storage.changed` moves it from its time on. So the
/// figure is the latest measurement by event time plus every change timed at or after it. A change timed
/// before that measurement is covered by it and changes nothing; a measurement that arrives after changes
/// timed later than it keeps them on top. To do that without keeping every change, the changes timed at or
/// after the measurement are kept as at most ``bucketLimit`` buckets, each the sum of the changes in a span of
/// event times. A bucket of changes all at one time is exact; when the buckets overflow, the two with the
/// shortest gap between them merge. A late measurement timed inside a merged bucket's span cannot tell the
/// changes before it from those after: it counts as taken at the start of that span, so the whole bucket stays
/// in the figure.
public struct StorageHistory: Sendable, Equatable {
    /// The sum of the changes timed from `first` to `last` (both included).
    public struct Bucket: Sendable, Equatable {
        /// The earliest event time of a change in the bucket.
        public var first: Timestamp
        /// The latest event time of a change in the bucket.
        public var last: Timestamp
        /// The changes' deltas added up, in bytes (held at `Int64`'s bounds).
        public var sum: Int64

        /// A bucket of the given span and sum.
        public init(first: Timestamp, last: Timestamp, sum: Int64) {
            self.first = first
            self.last = last
            self.sum = sum
        }
    }

    /// The most buckets kept: 16 buckets of 24 bytes at most per tenant.
    public static let bucketLimit = 16

    /// The changes timed at or after ``coveredBefore`` (all of them before any measurement), in time order,
    /// with disjoint spans.
    public private(set) var buckets: [Bucket] = []
    /// The event time of the latest measurement by event time, if any: an older measurement changes nothing.
    public private(set) var measuredTime: Timestamp?
    /// Changes timed before this are covered by the latest measurement: the measurement's time, or the start
    /// of the merged bucket it fell inside.
    public private(set) var coveredBefore: Timestamp?

    /// An empty history: no measurement, no change.
    public init() {}

    /// Restores a history from its parts (as a checkpoint stores them).
    /// - Parameters:
    ///   - buckets: Buckets in time order with disjoint spans, at most ``bucketLimit``.
    ///   - measuredTime: The latest measurement's event time.
    ///   - coveredBefore: The time before which changes are covered.
    package init(buckets: [Bucket], measuredTime: Timestamp?, coveredBefore: Timestamp?) {
        self.buckets = buckets
        self.measuredTime = measuredTime
        self.coveredBefore = coveredBefore
    }

    /// Whether a change at `time` is covered by the latest measurement, which already counts it.
    public func isCovered(_ time: Timestamp) -> Bool {
        coveredBefore.map { time < $0 } ?? false
    }

    /// Records a `storage.changed`.
    /// - Parameters:
    ///   - time: The change's event time.
    ///   - delta: The change in bytes.
    /// - Returns: `true` when the change moves the figure by its delta; `false` when a measurement covers it.
    public mutating func recordChange(at time: Timestamp, delta: Int64) -> Bool {
        guard !isCovered(time) else { return false }
        var index = buckets.count
        while index > 0 && buckets[index - 1].first > time { index -= 1 }
        if index > 0 && buckets[index - 1].last >= time {
            buckets[index - 1].sum = TenantProjection.saturating(buckets[index - 1].sum, plus: delta)
            return true
        }
        let added = Bucket(first: time, last: time, sum: delta)
        if buckets.count < Self.bucketLimit {
            buckets.insert(added, at: index)
        } else {
            insertMerging(added, at: index)
        }
        return true
    }

    /// Inserts `added` at `index` into full buckets, merging the two neighbours with the shortest gap between
    /// them among all of them, `added` included (the earliest pair on a tie), so the sparse spans stay apart.
    /// Nothing is inserted before something is merged, so the array never grows past the limit.
    private mutating func insertMerging(_ added: Bucket, at index: Int) {
        // The buckets as they would stand with `added` inserted.
        func bucket(_ position: Int) -> Bucket {
            position < index ? buckets[position] : position == index ? added : buckets[position - 1]
        }
        var closest = 0
        var shortest = Int64.max
        for position in 0..<buckets.count {
            let (gap, overflow) = bucket(position + 1).first.microseconds.subtractingReportingOverflow(
                bucket(position).last.microseconds)
            if !overflow && gap < shortest {
                shortest = gap
                closest = position
            }
        }
        if closest == index - 1 {
            buckets[index - 1].last = added.last
            buckets[index - 1].sum = TenantProjection.saturating(buckets[index - 1].sum, plus: added.sum)
        } else if closest == index {
            buckets[index].first = added.first
            buckets[index].sum = TenantProjection.saturating(buckets[index].sum, plus: added.sum)
        } else {
            // Two existing buckets merge; `added` then takes the place freed.
            let left = closest < index ? closest : closest - 1
            let later = buckets.remove(at: left + 1)
            buckets[left].last = later.last
            buckets[left].sum = TenantProjection.saturating(buckets[left].sum, plus: later.sum)
            buckets.insert(added, at: closest < index ? index - 1 : index)
        }
    }

    /// Records a `storage.measured`.
    /// - Parameters:
    ///   - time: The measurement's event time.
    ///   - usedBytes: The bytes measured.
    /// - Returns: The new figure (the measurement plus the changes timed at or after it), or `nil` when a
    ///   later measurement was already recorded and this one changes nothing.
    public mutating func recordMeasurement(at time: Timestamp, usedBytes: Int64) -> Int64? {
        if let measuredTime, time < measuredTime { return nil }
        var covered = time
        if let straddled = buckets.first(where: { $0.first < time && time <= $0.last }) {
            covered = straddled.first
        }
        if buckets.last.map({ $0.first < covered }) ?? true {
            buckets = []  // frees the storage too
        } else {
            buckets.removeAll { $0.first < covered }
        }
        measuredTime = time
        coveredBefore = covered
        return buckets.reduce(usedBytes) { TenantProjection.saturating($0, plus: $1.sum) }
    }

    /// Records the void of a `storage.changed`.
    /// - Parameters:
    ///   - time: The voided change's event time.
    ///   - delta: The voided change in bytes.
    /// - Returns: `true` when the figure drops by the delta; `false` when a measurement covers the change, so it
    ///   is no longer in the figure.
    public mutating func retractChange(at time: Timestamp, delta: Int64) -> Bool {
        guard !isCovered(time) else { return false }
        if let index = buckets.firstIndex(where: { $0.first <= time && time <= $0.last }) {
            buckets[index].sum = TenantProjection.saturating(buckets[index].sum, minus: delta)
        }
        return true
    }
}
