import TallyTestSupport
import Testing

@testable import TallyCore

/// `TenantSettings.merge`: the indexed merge large updates take gives exactly what applying each change in
/// order does (replace in place, append a new key, `null` removes), keys told apart by their bytes.
@Suite struct TenantSettingsTests {
    /// The rule itself, one change at a time.
    static func mergedInPlace(_ changes: JSONObject, into settings: JSONObject) -> JSONObject {
        var settings = settings
        for member in changes {
            if case .null = member.value {
                settings.remove(member.key)
            } else {
                settings.set(member.key, member.value)
            }
        }
        return settings
    }

    @Test func theIndexedMergeAgreesWithChangesAppliedInOrder() {
        var random = SplitMix64(seed: 0x5E77)
        // Few names, so changes hit existing keys, repeat, and remove then set again; two that are one
        // string to Swift's `==` (canonical equivalence) but two keys in JSON.
        let names = (0..<40).map { "k\($0)" } + ["caf\u{E9}", "cafe\u{301}"]
        for round in 0..<300 {
            var settings = JSONObject()
            for name in names where random.chance(1, in: 2) { settings.set(name, .int(Int64(random.below(9)))) }
            var changes = JSONObject()
            for _ in 0..<(1 + random.below(120)) {
                let name = random.pick(names)
                changes.members.append(
                    .init(key: name, value: random.chance(1, in: 3) ? .null : .int(Int64(100 + random.below(9)))))
            }
            var indexed = settings
            #expect(TenantSettings.mergeIndexed(changes, into: &indexed))
            #expect(indexed == Self.mergedInPlace(changes, into: settings), "round \(round)")
            var merged = settings
            TenantSettings.merge(changes, into: &merged)
            #expect(merged == indexed, "round \(round)")
        }
    }

    /// Settings that repeat a key (never validated ones) are left to the in-place merge, whose `remove` takes
    /// every copy.
    @Test func repeatedKeysAreLeftToTheInPlaceMerge() {
        let settings = JSONObject([.init(key: "a", value: .int(1)), .init(key: "a", value: .int(2))])
        var indexed = settings
        #expect(!TenantSettings.mergeIndexed(JSONObject([.init(key: "a", value: .null)]), into: &indexed))
        #expect(indexed == settings, "nothing changed")
        var merged = settings
        let changes = JSONObject(
            (0..<5_000).map { .init(key: "n\($0)", value: .int(0)) } + [.init(key: "a", value: .null)])
        TenantSettings.merge(changes, into: &merged)
        #expect(merged == Self.mergedInPlace(changes, into: settings))
        #expect(merged["a"] == nil && merged.count == 5_000)
    }
}
