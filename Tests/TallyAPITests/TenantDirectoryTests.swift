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
    ])
    func searchMatchesAsPythonDoes(name: String, search: String, expected: Bool) {
        #expect(TenantDirectory.name(name, contains: search) == expected, "\(name) ∋ \(search)")
    }
}
