import TallyCore

/// The `Date` header's value, in the IMF-fixdate form RFC 9110 §5.6.7 requires: `Sun, 06 Nov 1994 08:49:37 GMT`.
enum HTTPDate {
    private static let weekdays: [StaticString] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months: [StaticString] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// The 29 bytes of the date at `seconds` since the Unix epoch (UTC).
    static func format(secondsSinceEpoch seconds: Int64) -> [UInt8] {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let date = CivilDate(daysSinceEpoch: days)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(29)
        // 1970-01-01 was a Thursday.
        let weekday = Int(((days % 7) + 7) % 7)
        weekdays[weekday].withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")])
        appendDigits(date.day, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: " "))
        months[date.month - 1].withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: " "))
        appendDigits(date.year, count: 4, to: &bytes)
        bytes.append(UInt8(ascii: " "))
        appendDigits(secondOfDay / 3600, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &bytes)
        bytes.append(contentsOf: Array(" GMT".utf8))
        return bytes
    }

    private static func appendDigits(_ value: Int, count: Int, to bytes: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / divisor % 10))
            divisor /= 10
        }
    }
}
