import Glibc

/// A point in time, in whole microseconds since 1970-01-01T00:00:00Z.
///
/// Event times and ingest times are kept to the microsecond. Values are restricted to the years
/// 0001–9999 so that every timestamp has an RFC 3339 form.
public struct Timestamp: Sendable, BitwiseCopyable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since the Unix epoch (negative before 1970).
    public var microseconds: Int64

    /// The earliest representable instant, 0001-01-01T00:00:00Z.
    public static let min = Timestamp(microseconds: -62_135_596_800_000_000)
    /// The latest representable instant, 9999-12-31T23:59:59.999999Z.
    public static let max = Timestamp(microseconds: 253_402_300_799_999_999)

    /// Creates a timestamp from microseconds since the Unix epoch.
    /// - Parameter microseconds: Microseconds since 1970-01-01T00:00:00Z.
    @inlinable
    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// Creates a timestamp from whole seconds since the Unix epoch.
    /// - Parameter seconds: Seconds since 1970-01-01T00:00:00Z.
    public init(seconds: Int64) {
        self.microseconds = seconds &* 1_000_000
    }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microseconds < rhs.microseconds
    }

    /// Whole seconds since the epoch, rounded toward negative infinity.
    public var seconds: Int64 {
        microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
    }

    /// The calendar date and time of day in UTC.
    public var civil: CivilDateTime {
        let secs = seconds
        let micros = Int(microseconds - secs * 1_000_000)
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let secondOfDay = Int(secs - days * 86_400)
        let date = CivilDate(daysSinceEpoch: days)
        return CivilDateTime(
            date: date,
            hour: secondOfDay / 3600,
            minute: (secondOfDay / 60) % 60,
            second: secondOfDay % 60,
            microsecond: micros
        )
    }

    /// The UTC calendar month this instant falls in, as `year * 12 + (month - 1)`.
    ///
    /// Consecutive months have consecutive indices, so "last month" is `monthIndex - 1`.
    public var monthIndex: Int {
        let date = civil.date
        return date.year * 12 + (date.month - 1)
    }

    /// The UTC calendar month holding this instant: its ``monthIndex`` and the instants where it starts and
    /// where the next month starts, so callers can reuse the index for every time in between.
    public var calendarMonth: (index: Int, start: Timestamp, end: Timestamp) {
        let date = civil.date
        let first = CivilDate(year: date.year, month: date.month, day: 1).daysSinceEpoch
        let days = Int64(CivilDate.daysInMonth(year: date.year, month: date.month))
        return (
            date.year * 12 + (date.month - 1), Timestamp(microseconds: first * 86_400_000_000),
            Timestamp(microseconds: (first + days) * 86_400_000_000)
        )
    }

    /// Formats the timestamp as RFC 3339 in UTC, such as `2025-07-10T14:30:00.000000Z`.
    /// - Parameter fractionDigits: Digits after the decimal point: 0, 3 (milliseconds) or 6 (microseconds).
    /// - Returns: The formatted text.
    public func rfc3339(fractionDigits: Int = 6) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        appendRFC3339(to: &bytes, fractionDigits: fractionDigits)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the RFC 3339 form of ``rfc3339(fractionDigits:)`` as UTF-8, building no string: the
    /// form the JSON writer puts in responses.
    /// - Parameters:
    ///   - bytes: The buffer to append to.
    ///   - fractionDigits: Digits after the decimal point: 0, 3 (milliseconds) or 6 (microseconds).
    public func appendRFC3339(to bytes: inout [UInt8], fractionDigits: Int = 6) {
        let value = civil
        // Written into a buffer on the stack and appended once (responses write several per request).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var end = 0
            func put(_ byte: UInt8) {
                buffer[end] = byte
                end += 1
            }
            /// `number` (negative as 0) in decimal, zero-padded to at least `width` digits.
            func digits(_ number: Int, _ width: Int) {
                var remaining = Swift.max(0, number)
                var count = 1
                var scan = remaining
                while scan >= 10 {
                    scan /= 10
                    count += 1
                }
                count = Swift.max(count, width)
                var position = end + count - 1
                while position >= end {
                    buffer[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remaining % 10)
                    remaining /= 10
                    position -= 1
                }
                end += count
            }
            digits(value.date.year, 4)
            put(UInt8(ascii: "-"))
            digits(value.date.month, 2)
            put(UInt8(ascii: "-"))
            digits(value.date.day, 2)
            put(UInt8(ascii: "T"))
            digits(value.hour, 2)
            put(UInt8(ascii: ":"))
            digits(value.minute, 2)
            put(UInt8(ascii: ":"))
            digits(value.second, 2)
            switch fractionDigits {
            case 3:
                put(UInt8(ascii: "."))
                digits(value.microsecond / 1000, 3)
            case 6:
                put(UInt8(ascii: "."))
                digits(value.microsecond, 6)
            default:
                break
            }
            put(UInt8(ascii: "Z"))
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<end]))
        }
    }

    public var description: String { rfc3339() }
}

/// A date in the proleptic Gregorian calendar.
public struct CivilDate: Sendable, Hashable {
    /// The year, 1–9999 for representable timestamps.
    public var year: Int
    /// The month, 1–12.
    public var month: Int
    /// The day of the month, 1–31.
    public var day: Int

    /// Creates a date from its parts without validation.
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Creates the date that is `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    public init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        self.init(year: Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0)), month: Int(month), day: Int(day))
    }

    /// Days from 1970-01-01 to this date (Howard Hinnant's `days_from_civil`).
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The number of days in the given month.
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A UTC calendar date and time of day.
public struct CivilDateTime: Sendable, Hashable {
    /// The UTC calendar date.
    public var date: CivilDate
    /// The hour, 0–23.
    public var hour: Int
    /// The minute, 0–59.
    public var minute: Int
    /// The second, 0–59 (no leap seconds).
    public var second: Int
    /// Microseconds into the second, 0–999,999.
    public var microsecond: Int
}
