/// The API-call counts of the three latest months seen, held inline so a stats read of "this month" and
/// "last month" needs no hash lookup, and a call in a current month needs no hash write.
///
/// The slots always hold the three latest distinct months that ever had a call (fewer while fewer were
/// seen), so a month newer than the oldest slot and not among them certainly had none. Months older than
/// every slot live in ``TenantProjection/apiCallsByMonth``; ``update(month:total:)`` hands over the month
/// that leaves the slots.
public struct RecentMonths: Sendable, Equatable {
    /// Month indices (``Timestamp/monthIndex``), `Int.min` when unused.
    public var months: (Int, Int, Int) = (Int.min, Int.min, Int.min)
    /// Calls in the month at the same position.
    public var calls: (Int64, Int64, Int64) = (0, 0, 0)

    /// Creates an empty record: no month seen yet.
    public init() {}

    /// Equal when the same months and counts sit in the same slots.
    public static func == (lhs: RecentMonths, rhs: RecentMonths) -> Bool {
        lhs.months == rhs.months && lhs.calls == rhs.calls
    }

    /// The oldest month held (`Int.min` while a slot is unused).
    @inline(__always)
    var oldest: Int { min(months.0, months.1, months.2) }

    /// The count for `month`: its slot's, 0 for a newer month never seen, or `nil` when the month is older
    /// than every slot (look in the full record).
    @inline(__always)
    public func calls(in month: Int) -> Int64? {
        if months.0 == month { return calls.0 }
        if months.1 == month { return calls.1 }
        if months.2 == month { return calls.2 }
        return month > oldest ? 0 : nil
    }

    /// Records a month's new total.
    /// - Returns: The month and total that now belong in the full record: the month pushed out of the
    ///   slots by a newer one, or `month` itself when it is older than every slot; `nil` when none.
    public mutating func update(month: Int, total: Int64) -> (month: Int, calls: Int64)? {
        if months.0 == month {
            calls.0 = total
            return nil
        }
        if months.1 == month {
            calls.1 = total
            return nil
        }
        if months.2 == month {
            calls.2 = total
            return nil
        }
        guard month > oldest else { return (month, total) }
        var evicted: (month: Int, calls: Int64)
        if months.0 <= months.1 && months.0 <= months.2 {
            evicted = (months.0, calls.0)
            (months.0, calls.0) = (month, total)
        } else if months.1 <= months.2 {
            evicted = (months.1, calls.1)
            (months.1, calls.1) = (month, total)
        } else {
            evicted = (months.2, calls.2)
            (months.2, calls.2) = (month, total)
        }
        return evicted.month == Int.min ? nil : evicted
    }
}
