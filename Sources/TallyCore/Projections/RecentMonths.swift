/// The API-call counts of the three latest months seen, held inline so a stats read of "this month" and
/// "last month" needs no hash lookup. ``TenantProjection/apiCallsByMonth`` stays the full record.
public struct RecentMonths: Sendable, Equatable {
    /// Month indices (``Timestamp/monthIndex``), `Int.min` when unused.
    public var months: (Int, Int, Int) = (Int.min, Int.min, Int.min)
    /// Calls in the month at the same position.
    public var calls: (Int64, Int64, Int64) = (0, 0, 0)

    public init() {}

    public static func == (lhs: RecentMonths, rhs: RecentMonths) -> Bool {
        lhs.months == rhs.months && lhs.calls == rhs.calls
    }

    /// The cached count for `month`, or `nil` when the month is not among the three.
    @inline(__always)
    public func calls(in month: Int) -> Int64? {
        if months.0 == month { return calls.0 }
        if months.1 == month { return calls.1 }
        if months.2 == month { return calls.2 }
        return nil
    }

    /// Records a month's new total, keeping the three latest months.
    public mutating func update(month: Int, total: Int64) {
        if months.0 == month { calls.0 = total; return }
        if months.1 == month { calls.1 = total; return }
        if months.2 == month { calls.2 = total; return }
        // Replace the oldest slot if this month is newer than it.
        if months.0 <= months.1 && months.0 <= months.2 {
            if month > months.0 { (months.0, calls.0) = (month, total) }
        } else if months.1 <= months.2 {
            if month > months.1 { (months.1, calls.1) = (month, total) }
        } else if month > months.2 {
            (months.2, calls.2) = (month, total)
        }
    }
}
