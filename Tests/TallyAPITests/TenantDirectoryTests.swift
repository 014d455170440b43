import TallyCore
import TallyEngine
import TallyTestSupport
import Testing

@testable import TallyAPI

@Suite struct TenantDirectoryTests {
    /// `search` matches as Python's `search.lower() in name.lower()` does (seed 002's FastAPI): ASCII
    /// ignoring case, and otherwise Unicode scalar by scalar, not by user-perceived character.
    @Test(arguments: [
        ("Acme Corporation", "corp", true), ("Acme", "ACME".lowercased(), true), ("Acme", "acmex", false),
        ("Acme", "", true), ("", "a", false), ("Ärzte Süd", "süd", true), ("ÄRZTE", "ärz", true),
        ("Cafe\u{301} Zeta", "cafe", true), ("Cafe\u{301} Zeta", "caf", true), ("Café", "cafe", false),
        ("Café", "\u{301}", false), ("Cafe\u{301}", "\u{301}", true), ("Straße", "strasse", false),
        // A word-final capital sigma lowercases to ς, in the name and in the search alike.
        ("Οδυσσέας", "ΟΔΥΣΣΈΑΣ", true), ("Οδυσσέας", "ΈΑΣ", true), ("Οδυσσέας", "ΣΣΈΑΣ", true),
        ("ΣΊΣΥΦΟΣ", "σίσυφος", true), ("ΣΊΣΥΦΟΣ", "σίσυφοσ", false), ("Οδυσσέας", "σσέασ", false),
    ])
    func searchMatchesAsPythonDoes(name: String, search: String, expected: Bool) {
        let lowered = TenantDirectory.lowercased(search)
        #expect(TenantDirectory.name(name, contains: lowered) == expected, "\(name) ∋ \(search)")
    }

    /// The list's order is by Unicode scalar, as Python's `sorted` orders names, not by Swift's `<` (which
    /// compares canonically equivalent forms alike); canonically equivalent names are told apart the same way,
    /// not by id.
    @Test func namesAreOrderedScalarByScalar() {
        let names = ["Ärger", "f", "e\u{301}f", "ef", "\u{E9}f", "Zulu"]
        let entries = names.enumerated().map { index, name in
            TenantDirectory.Entry(
                id: TenantID(high: 0, low: UInt64(names.count - index)), name: name, status: .active, partnerId: nil)
        }
        let sorted = entries.sorted(by: TenantDirectory.precedes).map { Array($0.name.unicodeScalars) }
        let expected = ["Zulu", "ef", "e\u{301}f", "f", "Ärger", "\u{E9}f"].map { Array($0.unicodeScalars) }
        #expect(sorted == expected)
    }

    /// Python's `str.lower()` of each (CPython 3.11), final sigma and full mappings included.
    @Test(arguments: [
        ("ΟΔΥΣΣΈΑΣ", "οδυσσέας"), ("Σ", "σ"), ("ΑΣ", "ας"), ("ΑΣ.", "ας."), ("ΑΣ.Β", "ασ.β"), ("ΑΣ1", "ας1"),
        ("Α'Σ", "α'ς"), ("ΑΣ\u{301}", "ας\u{301}"), ("ΑΣ\u{301}Β", "ασ\u{301}β"), ("1Σ", "1σ"),
        ("İ", "i\u{307}"), ("ACME Straße", "acme straße"), ("ΣΑΣ ΣΑΣ", "σας σας"),
    ])
    func lowercasesAsPythonDoes(text: String, expected: String) {
        #expect(
            Array(TenantDirectory.lowercased(text).unicodeScalars) == Array(expected.unicodeScalars),
            "\(text)")
    }
}

/// The tenants list's directory brought up to date by the tenants that changed holds exactly what one built
/// from scratch holds, in the same order, whatever mix of creations, renames, status and partner changes
/// and deletions came between; and a directory too far behind is rebuilt, not updated.
@Suite struct TenantDirectoryUpdateTests {
    static func fields(_ directory: TenantDirectory) -> [String] {
        directory.entries.map { "\($0.id)|\($0.name)|\($0.status)|\($0.partnerId ?? "-")" }
    }

    @Test(arguments: [1, 2, 3])
    func anUpdatedDirectoryEqualsARebuiltOne(seed: UInt64) throws {
        let directory = TemporaryDirectory()
        var configuration = EngineConfiguration()
        configuration.store = StoreTestSupport.configuration(durability: .never)
        configuration.clock = TestClock.midMonth()
        let engine = try Engine(directory: directory.path, configuration: configuration)
        defer { try? engine.close() }
        var random = SplitMix64(seed: seed)
        let tenants = (0..<60).map { TenantID(high: 0xD1 << 56 | UInt64($0), low: UInt64($0) * 7_919) }
        let names = ["Acme", "acme", "Beta", "Zeta", "", "Ärzte", "Acme"]
        let now = configuration.clock()
        var kept: TenantDirectory?
        var updates = 0
        for step in 0..<400 {
            let tenant = tenants[Int.random(in: 0..<tenants.count, using: &random)]
            let name = names[Int.random(in: 0..<names.count, using: &random)]
            let payload: EventPayload
            switch Int.random(in: 0..<5, using: &random) {
            case 0: payload = .tenantCreated(TenantCreation(name: name, partnerId: step % 3 == 0 ? "p1" : nil))
            case 1: payload = .tenantUpdated(TenantUpdate(name: name))
            case 2:
                payload = .tenantUpdated(TenantUpdate(status: .suspended, partnerId: .some(step % 2 == 0 ? "p2" : nil)))
            case 3: payload = .tenantUpdated(TenantUpdate(status: .active))
            default: payload = .tenantDeleted
            }
            _ = engine.ingest([.success(Event(id: "e\(step)", tenantId: tenant, time: now, payload: payload))])
            // Brought up to date after one to a few changes at a time.
            if Int.random(in: 0..<3, using: &random) == 0 {
                let fresh = TenantDirectory.current(engine, reusing: nil)
                if let previous = kept {
                    let updated = try #require(previous.updated(engine), "few changes are kept")
                    updates += 1
                    #expect(updated.version == fresh.version)
                    #expect(Self.fields(updated) == Self.fields(fresh), "step \(step)")
                }
                kept = fresh
            }
        }
        #expect(updates > 50)

        // More changes than an update takes: rebuilt instead, with the same result.
        let behind = TenantDirectory.current(engine, reusing: nil)
        let many = (0...TenantDirectory.largestUpdate).map { number -> Result<Event, EventValidationError> in
            .success(
                Event(
                    id: "many\(number)", tenantId: tenants[number % tenants.count], time: now,
                    payload: .tenantUpdated(TenantUpdate(name: "n\(number)"))))
        }
        _ = engine.ingest(many)
        #expect(behind.updated(engine) == nil)
        #expect(
            Self.fields(TenantDirectory.current(engine, reusing: behind))
                == Self.fields(TenantDirectory.current(engine, reusing: nil)))
    }
}
