import Foundation
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyCLI
@testable import TallyEngine

@Suite struct GenerateCommandTests {
    @Test func generatedStreamsImportCleanlyRepeatBySeedAndFillThisMonth() throws {
        let first = runTally(["generate", "--tenants", "4", "--events", "800", "--seed", "7"])
        #expect(first.code == .ok)
        let lines = first.out.split(separator: "\n")
        #expect(lines.filter { $0.contains(#""type":"api.call""#) }.count == 800)
        #expect(lines.filter { $0.contains(#""type":"tenant.created""#) }.count == 4)
        let again = runTally(["generate", "--tenants", "4", "--events", "800", "--seed", "7"]).out.split(
            separator: "\n")
        let other = runTally(["generate", "--tenants", "4", "--events", "800", "--seed", "8"]).out.split(
            separator: "\n")
        func withoutTimes(_ lines: [Substring]) -> [String] {
            lines.map {
                $0.replacingOccurrences(of: #""(time|expiresAt)":"[^"]*""#, with: "", options: .regularExpression)
            }
        }
        #expect(withoutTimes(again) == withoutTimes(lines), "the same seed gives the same stream")
        #expect(withoutTimes(other) != withoutTimes(lines), "another seed gives another stream")

        let directory = TemporaryDirectory()
        let imported = runTally(["import", "--data", directory.path, "-"], input: first.out)
        #expect(imported.code == .ok, "\(imported.err)")
        let tenant = try #require(
            lines.first.flatMap { line in
                line.range(of: #""tenantId":"[^"]*""#, options: .regularExpression).map {
                    String(line[$0].dropFirst(12).dropLast())
                }
            })
        let stats = runTally(["stats", "--data", directory.path, tenant])
        #expect(stats.code == .ok)
        #expect(!stats.out.contains(#""apiCallsThisMonth": 0"#) || !stats.out.contains(#""apiCallsLastMonth": 0"#))
        #expect(runTally(["generate", "--events", "0"]).code == .usage)
        #expect(runTally(["generate", "--days", "36501"]).code == .usage)
        #expect(runTally(["generate", "--days", "99999999999999"]).code == .usage)
    }

    /// Streams of one seed made with other options share its tenants but no event id, so one store takes
    /// both whole (ids once repeated line numbers, and a second stream lost events as duplicates); the same
    /// options twice give the same ids, and the second is all duplicates.
    @Test func streamsWithOtherOptionsShareNoIds() throws {
        let directory = TemporaryDirectory()
        func importing(_ arguments: [String]) -> String {
            let stream = runTally(["generate", "--tenants", "2", "--days", "10"] + arguments)
            #expect(stream.code == .ok)
            let imported = runTally(["import", "--data", directory.path, "-"], input: stream.out)
            #expect(imported.code == .ok, "\(imported.err)")
            return imported.out + imported.err
        }
        let first = importing(["--events", "300"])
        #expect(first.contains("0 duplicates"), "\(first)")
        let other = importing(["--events", "301"])
        #expect(other.contains("0 duplicates"), "\(other)")
        let again = importing(["--events", "301"])
        #expect(again.contains("imported 0 events"), "\(again)")
        let ids = runTally(["generate", "--tenants", "2", "--events", "5", "--days", "10"]).out
        #expect(ids.contains(try Regex(#""id":"gen-1-[0-9a-f]{8}-1""#)), "\(ids)")
    }

    /// Every call comes from a key its tenant created before the call, and never from the revoked one:
    /// calls once began at the span's start, before most tenants' setups.
    @Test(arguments: [1, 45])
    func everyCallUsesAKeyItsTenantCreatedBeforeIt(days: Int) throws {
        let run = runTally(["generate", "--tenants", "40", "--events", "3000", "--days", String(days), "--seed", "3"])
        #expect(run.code == .ok)
        var created: [String: Int64] = [:]
        var revoked: Set<String> = []
        var calls = 0
        var tenantsCalled: Set<String> = []
        for line in run.out.split(separator: "\n") {
            guard case .object(let event) = try JSONParser().parse(String(line)),
                case .string(let type) = event["type"], case .string(let text) = event["time"],
                case .string(let tenant) = event["tenantId"], case .object(let data) = event["data"],
                case .string(let key) = data["keyId"]
            else { continue }
            let time = try Timestamp(rfc3339: text).microseconds
            switch type {
            case "key.created": created[tenant + "/" + key] = time
            case "key.revoked": revoked.insert(tenant + "/" + key)
            case "api.call":
                calls += 1
                tenantsCalled.insert(tenant)
                let made = created[tenant + "/" + key]
                #expect(made.map { $0 <= time } == true, "\(line)")
                #expect(!revoked.contains(tenant + "/" + key), "\(line)")
            default: break
            }
        }
        #expect(calls == 3000)
        #expect(tenantsCalled.count == 40, "every tenant gets calls")
    }

    /// 5M calls over 30 days once overflowed 64 bits (span × index) and crashed the generator.
    @Test func callTimesSpreadExactlyOverLongSpansOfManyEvents() {
        let span: Int64 = 30 * 86_400_000_000
        #expect(GenerateCommand.callOffset(4_999_999, of: 5_000_000, span: span) == span)
        #expect(GenerateCommand.callOffset(2_499_999, of: 5_000_000, span: span) == span / 2)
        #expect(GenerateCommand.callOffset(0, of: 5_000_000, span: span) == span / 5_000_000)
        let longest = Int64(GenerateCommand.maximumDays) * 86_400_000_000
        #expect(GenerateCommand.callOffset(Int.max / 4 - 1, of: Int.max / 4, span: longest) == longest)
        let offsets = (0..<1000).map { GenerateCommand.callOffset($0 * 5000, of: 5_000_000, span: span) }
        #expect(offsets == offsets.sorted())
    }

    /// However short the span, every setup ends by half-way, and the expiring credential expires after its
    /// creation and before now (never created already expired).
    @Test(arguments: [1, 10, 45])
    func setupsEndByHalfWayAndCredentialsExpireAfterTheirCreation(days: Int) throws {
        let run = runTally(["generate", "--tenants", "200", "--events", "10", "--days", String(days)])
        #expect(run.code == .ok)
        var earliest = Int64.max
        var latestSetup = Int64.min
        var latestCall = Int64.min
        var expiring = 0
        var latestExpiry = Int64.min
        for line in run.out.split(separator: "\n") {
            guard case .object(let event) = try JSONParser().parse(String(line)),
                case .string(let type) = event["type"], case .string(let text) = event["time"]
            else { continue }
            let time = try Timestamp(rfc3339: text).microseconds
            earliest = min(earliest, time)
            if type == "api.call" {
                latestCall = max(latestCall, time)
                continue
            }
            latestSetup = max(latestSetup, time)
            if type == "credential.created", case .object(let data) = event["data"],
                case .string(let expiresText) = data["expiresAt"]
            {
                let expires = try Timestamp(rfc3339: expiresText).microseconds
                #expect(expires > time, "\(line)")
                latestExpiry = max(latestExpiry, expires)
                expiring += 1
            }
        }
        #expect(expiring == 200)
        // The last call is timed now.
        #expect(latestExpiry < latestCall)
        let span = Int64(days) * 86_400_000_000
        #expect(latestSetup - earliest <= span / 2, "setups end \(latestSetup - earliest) µs into a \(span) µs span")
    }
}
