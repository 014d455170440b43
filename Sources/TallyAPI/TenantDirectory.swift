import TallyCore
import TallyEngine

/// The registered tenants in the tenants list's order (by name, then id), with the fields its filters read,
/// as of one ``ProjectionState/tenantRecordsVersion``.
///
/// Building the list under the projections lock on every request (a copy of every projection, then a sort of
/// every name) held stats reads back for 440 ms at a million tenants. The directory is built only when a
/// tenant record changed since the last one: read 4,096 tenants per short hold of the lock, and sorted with
/// no lock held. A request then filters and pages it with no lock, and reads only its page's records.
/// Names are shared with the projections (strings are copied on write), so it costs about 50 bytes per
/// tenant.
struct TenantDirectory: Sendable {
    struct Entry: Sendable {
        var id: TenantID
        var name: String
        var status: TenantStatus
        var partnerId: String?
    }

    /// The version of the tenant records this was built from.
    let version: UInt64
    /// Registered tenants, sorted by name, then id.
    let entries: [Entry]

    /// Tenants read per hold of the projections lock while building.
    static let tenantsPerHold = 4_096

    /// Changed tenants a directory is brought up to date by, at most; past that it is rebuilt.
    static let largestUpdate = 4_096

    /// The directory of `engine`'s tenants as they are now: `current` when it is still up to date, `current`
    /// updated by the tenants that changed since when those are few, else a new one.
    static func current(_ engine: Engine, reusing current: TenantDirectory?) -> TenantDirectory {
        let version = engine.read { $0.tenantRecordsVersion }
        if let current, current.version == version { return current }
        if let current, let updated = current.updated(engine) { return updated }
        // The version is read first: a change while the directory is read makes the next request rebuild.
        var entries: [Entry] = []
        var part: [Entry] = []
        part.reserveCapacity(tenantsPerHold)
        var position = 0
        while true {
            let done = engine.read { state -> Bool in
                let end = min(position + tenantsPerHold, state.tenants.count)
                while position < end {
                    // Field by field, in place: binding the projection would copy all of it.
                    if state.tenants[position: position].isRegistered {
                        part.append(
                            Entry(
                                id: state.tenants.key(at: position),
                                name: state.tenants[position: position].name ?? "",
                                status: state.tenants[position: position].status,
                                partnerId: state.tenants[position: position].partnerId))
                    }
                    position += 1
                }
                return end == state.tenants.count
            }
            // Appended with no lock held: growing a large array copies it.
            entries.append(contentsOf: part)
            part.removeAll(keepingCapacity: true)
            if done { break }
        }
        entries.sort(by: precedes)
        return TenantDirectory(version: version, entries: entries)
    }

    /// This directory with the tenants that changed since it was built read again, or `nil` when those
    /// changes are no longer kept or are too many: the changed records are read in one short hold of the
    /// projections lock, and merged into the sorted entries in one pass with no lock held (about 20 ms at a
    /// million tenants, where reading and sorting them all takes some 400 ms).
    func updated(_ engine: Engine) -> TenantDirectory? {
        let read = engine.read { state -> (version: UInt64, changed: [TenantID], entries: [Entry])? in
            guard let changes = state.tenantsChanged(since: version),
                changes.count <= TenantDirectory.largestUpdate
            else { return nil }
            let changed = Array(Set(changes))
            let entries = changed.compactMap { tenant -> Entry? in
                guard let position = state.tenants.index(forKey: tenant),
                    state.tenants[position: position].isRegistered
                else { return nil }
                return Entry(
                    id: tenant, name: state.tenants[position: position].name ?? "",
                    status: state.tenants[position: position].status,
                    partnerId: state.tenants[position: position].partnerId)
            }
            return (state.tenantRecordsVersion, changed, entries)
        }
        guard let read else { return nil }
        let fresh = read.entries.sorted(by: Self.precedes)
        // Few changes are looked for by comparing ids; more through a set.
        let changedSet = read.changed.count > 8 ? Set(read.changed) : nil
        func isChanged(_ tenant: TenantID) -> Bool {
            if let changedSet { return changedSet.contains(tenant) }
            return read.changed.contains(tenant)
        }
        var merged: [Entry] = []
        merged.reserveCapacity(entries.count + fresh.count)
        var next = 0
        for index in entries.indices {
            if isChanged(entries[index].id) { continue }
            while next < fresh.count, Self.precedes(fresh[next], entries[index]) {
                merged.append(fresh[next])
                next += 1
            }
            merged.append(entries[index])
        }
        merged.append(contentsOf: fresh[next...])
        return TenantDirectory(version: read.version, entries: merged)
    }

    /// The list's order: by name, Unicode scalar by scalar (the order of their UTF-8 bytes, as Python orders
    /// strings: Swift's `<` orders canonically equivalent forms, so `"e\u0301f"` would sort after `"f"`),
    /// then id.
    static func precedes(_ left: Entry, _ right: Entry) -> Bool {
        left.name.hasSameUTF8(as: right.name)
            ? left.id < right.id : left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
    }

    /// `text` lowercased as Python's `str.lower()` lowercases it: each scalar's full lowercase mapping (`İ`
    /// gives `i` and a combining dot), and a capital sigma that ends a word gives the final sigma `ς`, the
    /// one rule of context Python applies (Unicode's Final_Sigma: a cased letter before it, case-ignorable
    /// scalars such as accents and apostrophes skipped, and none after it). Swift's `lowercased()` gives `σ`
    /// there, so `ΟΔΥΣΣΕΑΣ` would not find `Οδυσσεας` as seed 002's FastAPI finds it.
    static func lowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        for index in scalars.indices {
            if scalars[index] == "\u{03A3}" {
                result.append(isFinalSigma(scalars, at: index) ? "\u{03C2}" : "\u{03C3}")
            } else {
                result.append(contentsOf: scalars[index].properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(result)
    }

    /// Whether the capital sigma at `index` ends a word (Unicode's Final_Sigma condition, as Python tests it).
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0 && scalars[before].properties.isCaseIgnorable { before -= 1 }
        guard before >= 0, scalars[before].properties.isCased else { return false }
        var after = index + 1
        while after < scalars.count && scalars[after].properties.isCaseIgnorable { after += 1 }
        return after == scalars.count || !scalars[after].properties.isCased
    }

    /// Whether `name` contains `search` (already lowercased by ``lowercased(_:)``) when both are lowercased:
    /// byte by byte for an ASCII name, the common case (a million `lowercased()` strings took half a second
    /// per search), and Unicode scalar by scalar otherwise, as Python's `in` compares code points: `cafe` is found in
    /// `Cafe\u{301}` (an `e` and a combining accent), and a lone accent only where one is written.
    static func name(_ name: String, contains search: String) -> Bool {
        guard !search.isEmpty else { return true }
        var name = name
        var search = search
        let ascii = name.withUTF8 { nameBytes in
            search.withUTF8 { searchBytes -> Bool? in
                guard nameBytes.allSatisfy({ $0 < 0x80 }), searchBytes.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard searchBytes.count <= nameBytes.count else { return false }
                for start in 0...(nameBytes.count - searchBytes.count) {
                    var matched = true
                    for offset in 0..<searchBytes.count {
                        var byte = nameBytes[start + offset]
                        if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
                        if byte != searchBytes[offset] {
                            matched = false
                            break
                        }
                    }
                    if matched { return true }
                }
                return false
            }
        }
        if let ascii { return ascii }
        let haystack = Array(TenantDirectory.lowercased(name).unicodeScalars)
        let needle = Array(search.unicodeScalars)
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { start in
            haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
}
