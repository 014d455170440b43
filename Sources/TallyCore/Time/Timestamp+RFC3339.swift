extension Timestamp {
    /// Parses an RFC 3339 date-time with an offset, such as `2025-07-10T14:30:00Z` or
    /// `2025-07-10T16:30:00.123456+02:00`.
    ///
    /// `T` may be written `t` or a space and `Z` may be written `z` (RFC 3339 §5.6 note). Fractions beyond
    /// the microsecond are truncated toward the earlier instant. Leap seconds (`:60`) are rejected.
    /// - Parameter text: The text to parse.
    /// - Throws: ``TimestampParseError`` naming the part that is wrong.
    public init(rfc3339 text: String) throws(TimestampParseError) {
        var text = text
        let parsed = text.withUTF8 { Timestamp.parse(UnsafeRawBufferPointer($0)) }
        switch parsed {
        case .success(let value): self = value
        case .failure(let error): throw error
        }
    }

    /// Parses RFC 3339 text held in raw UTF-8 bytes.
    /// - Parameter bytes: The UTF-8 bytes of the timestamp.
    /// - Returns: The instant, or the reason the text is invalid.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<Timestamp, TimestampParseError> {
        func fail(_ reason: String) -> Result<Timestamp, TimestampParseError> {
            .failure(TimestampParseError(reason: reason))
        }
        let count = bytes.count
        var index = 0
        func digits(_ width: Int) -> Int? {
            guard index + width <= count else { return nil }
            var value = 0
            for _ in 0..<width {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                index += 1
            }
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        let format = "must be RFC 3339, such as 2025-07-10T14:30:00Z"
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2) else {
            return fail(format)
        }
        guard index < count, bytes[index] == 0x54 || bytes[index] == 0x74 || bytes[index] == 0x20 else {
            return fail(format)
        }
        index += 1
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2) else {
            return fail(format)
        }
        var microsecond = 0
        if index < count, bytes[index] == 0x2E {
            index += 1
            var fractionDigits = 0
            while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if fractionDigits < 6 { microsecond = microsecond * 10 + Int(bytes[index] - 0x30) }
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0 else { return fail("fractional seconds need at least one digit") }
            for _ in Swift.min(fractionDigits, 6)..<6 { microsecond *= 10 }
        }
        guard index < count else { return fail("needs a UTC offset such as Z or +02:00") }
        var offsetSeconds = 0
        switch bytes[index] {
        case 0x5A, 0x7A:
            index += 1
        case 0x2B, 0x2D:
            let sign = bytes[index] == 0x2D ? -1 : 1
            index += 1
            guard let offsetHour = digits(2), expect(0x3A), let offsetMinute = digits(2) else {
                return fail("UTC offset must look like +02:00")
            }
            guard offsetHour <= 23, offsetMinute <= 59 else { return fail("UTC offset out of range") }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        default:
            return fail("needs a UTC offset such as Z or +02:00")
        }
        guard index == count else { return fail(format) }
        guard year >= 1 else { return fail("year must be 0001-9999") }
        guard (1...12).contains(month) else { return fail("month must be 01-12") }
        guard day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else {
            return fail("day \(day) does not exist in \(year)-\(month < 10 ? "0" : "")\(month)")
        }
        guard hour <= 23 else { return fail("hour must be 00-23") }
        guard minute <= 59 else { return fail("minute must be 00-59") }
        guard second <= 59 else { return fail("second must be 00-59 (leap seconds are not accepted)") }
        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        let value = Timestamp(microseconds: seconds * 1_000_000 + Int64(microsecond))
        guard value >= Timestamp.min, value <= Timestamp.max else { return fail("must fall within years 0001-9999") }
        return .success(value)
    }
}
