import Foundation
import TallyCore
import TallyTestSupport
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2025-07-10T14:30:00Z", Int64(1_752_157_800_000_000)),
        ("2025-07-10T14:30:00.5Z", Int64(1_752_157_800_500_000)),
        ("2025-07-10T16:30:00.123456+02:00", Int64(1_752_157_800_123_456)),
        ("2025-07-10T14:30:00.1234569Z", Int64(1_752_157_800_123_456)),
        ("2025-07-10t14:30:00z", Int64(1_752_157_800_000_000)),
        ("2025-07-10 09:00:00-05:30", Int64(1_752_157_800_000_000)),
        ("1969-12-31T23:59:59.999999Z", Int64(-1)),
        ("2024-02-29T00:00:00Z", Int64(1_709_164_800_000_000)),
    ])
    func parsesRFC3339(text: String, microseconds: Int64) throws {
        #expect(try Timestamp(rfc3339: text).microseconds == microseconds)
    }

    @Test(arguments: [
        "", "2025-07-10", "2025-07-10T14:30:00", "2025-7-10T14:30:00Z", "2025-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-07-10T24:00:00Z", "2025-07-10T14:60:00Z",
        "2025-07-10T14:30:60Z", "2025-07-10T14:30:00.Z", "2025-07-10T14:30:00+2:00", "2025-07-10T14:30:00+24:00",
        "0000-01-01T00:00:00Z", "2025-07-10T14:30:00Zjunk", "2025-07-10X14:30:00Z", "１９７０-01-01T00:00:00Z",
    ])
    func rejectsInvalidText(text: String) {
        #expect(throws: TimestampParseError.self) { try Timestamp(rfc3339: text) }
    }

    @Test func formatsInUTCWithChosenPrecision() throws {
        let time = try Timestamp(rfc3339: "2025-07-10T16:30:00.123456+02:00")
        #expect(time.rfc3339() == "2025-07-10T14:30:00.123456Z")
        #expect(time.rfc3339(fractionDigits: 3) == "2025-07-10T14:30:00.123Z")
        #expect(time.rfc3339(fractionDigits: 0) == "2025-07-10T14:30:00Z")
        #expect(Timestamp(microseconds: -1).rfc3339() == "1969-12-31T23:59:59.999999Z")
        #expect(Timestamp.min.rfc3339() == "0001-01-01T00:00:00.000000Z")
        #expect(Timestamp.max.rfc3339() == "9999-12-31T23:59:59.999999Z")
    }

    /// Our calendar arithmetic must agree with Foundation's Gregorian calendar on every sampled day.
    @Test func civilDatesAgreeWithFoundation() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var random = SplitMix64(seed: 11)
        for _ in 0..<2000 {
            let seconds = Int64(random.next() % 8_000_000_000) - 2_000_000_000
            let time = Timestamp(seconds: seconds)
            let parts = calendar.dateComponents(
                [.year, .month, .day, .hour, .minute, .second],
                from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let civil = time.civil
            #expect(civil.date.year == parts.year && civil.date.month == parts.month && civil.date.day == parts.day)
            #expect(civil.hour == parts.hour && civil.minute == parts.minute && civil.second == parts.second)
            #expect(civil.date.daysSinceEpoch == (seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400))
            #expect(try Timestamp(rfc3339: time.rfc3339()) == time)
        }
    }

    @Test func monthIndexSeparatesCalendarMonthsInUTC() throws {
        let endOfJune = try Timestamp(rfc3339: "2025-06-30T23:59:59.999999Z")
        let startOfJuly = try Timestamp(rfc3339: "2025-07-01T00:00:00Z")
        #expect(startOfJuly.monthIndex == endOfJune.monthIndex + 1)
        let december = try Timestamp(rfc3339: "2024-12-31T23:00:00Z")
        let january = try Timestamp(rfc3339: "2025-01-01T01:00:00+02:00")
        #expect(january.monthIndex == december.monthIndex)
    }

    @Test func calendarMonthBoundsHoldTheTimeAndShareItsIndex() throws {
        var random = SplitMix64(seed: 0xCA1)
        for _ in 0..<2_000 {
            // Any time from 1900 to 2200, before and after the epoch, leap Februaries included.
            let time = Timestamp(
                microseconds: Int64(random.below(300 * 365 * 86_400)) * 1_000_000 - 70 * 365 * 86_400_000_000
                    + Int64(random.below(1_000_000)))
            let month = time.calendarMonth
            #expect(month.start <= time && time < month.end)
            #expect(month.index == time.monthIndex)
            #expect(month.start.monthIndex == month.index)
            #expect(Timestamp(microseconds: month.end.microseconds - 1).monthIndex == month.index)
            #expect(month.end.monthIndex == month.index + 1)
            #expect(month.start.civil.date.day == 1 && month.start.microseconds % 86_400_000_000 == 0)
        }
        let leap = try Timestamp(rfc3339: "2024-02-29T12:00:00Z").calendarMonth
        #expect(leap.start == (try Timestamp(rfc3339: "2024-02-01T00:00:00Z")))
        #expect(leap.end == (try Timestamp(rfc3339: "2024-03-01T00:00:00Z")))
    }

    /// The formatter writes each civil field zero-padded (a year past 9999 in full), for instants across and
    /// beyond the supported range, after any bytes already in the buffer.
    @Test func formattingMatchesTheCivilFields() {
        var random = SplitMix64(seed: 0x3339)
        func padded(_ number: Int, _ width: Int) -> String {
            let text = String(Swift.max(0, number))
            return String(repeating: "0", count: Swift.max(0, width - text.count)) + text
        }
        for round in 0..<5_000 {
            let microseconds =
                round < 4_000
                ? Timestamp.min.microseconds
                    + Int64(random.next() % UInt64(Timestamp.max.microseconds - Timestamp.min.microseconds))
                : Int64(bitPattern: random.next()) / 2
            let time = Timestamp(microseconds: microseconds)
            let civil = time.civil
            let whole =
                padded(civil.date.year, 4) + "-" + padded(civil.date.month, 2) + "-" + padded(civil.date.day, 2)
                + "T" + padded(civil.hour, 2) + ":" + padded(civil.minute, 2) + ":" + padded(civil.second, 2)
            for (digits, fraction) in [
                (0, ""), (3, "." + padded(civil.microsecond / 1000, 3)), (6, "." + padded(civil.microsecond, 6)),
            ] {
                var bytes = Array("x:".utf8)
                time.appendRFC3339(to: &bytes, fractionDigits: digits)
                #expect(String(decoding: bytes, as: UTF8.self) == "x:" + whole + fraction + "Z", "\(microseconds)")
            }
        }
    }
}
