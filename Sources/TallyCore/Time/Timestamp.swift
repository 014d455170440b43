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
