import TallyCore

/// Remembers every accepted event's (tenant, id) for the dedup window, with its offset.
///
/// Entries are kept until their event time falls out of the window (the same window as the backdate limit),
/// so a retry of any event that live ingest could still accept is always caught.
package struct DedupIndex: Sendable, Equatable {
    /// What is remembered per id: 16 bytes of value behind a 16-byte key.
    package struct Entry: Sendable, Equatable {
        /// The offset of the accepted event.
        var offset: UInt64
        /// The event's time in whole hours since the epoch (rounded up), for pruning.
        var hour: Int32
        var flags: UInt8

        static let voidable: UInt8 = 1
        static let voided: UInt8 = 2
    }

    private(set) var entries: [IdentityHash: Entry] = [:]

    package var count: Int { entries.count }

    subscript(key: IdentityHash) -> Entry? { entries[key] }

    package mutating func insert(_ key: IdentityHash, offset: UInt64, time: Timestamp, voidable: Bool) {
        entries[key] = Entry(offset: offset, hour: DedupIndex.hour(time), flags: voidable ? Entry.voidable : 0)
    }

    mutating func markVoided(_ key: IdentityHash) {
        entries[key]?.flags |= Entry.voided
    }

    /// Forgets ids whose event time is before `cutoff`.
    mutating func prune(before cutoff: Timestamp) {
        let limit = DedupIndex.hour(cutoff) - 1
        entries = entries.filter { $0.value.hour >= limit }
    }

    static func hour(_ time: Timestamp) -> Int32 {
        let hours = (time.microseconds + 3_599_999_999) / 3_600_000_000
        return Int32(clamping: hours)
    }

    /// Restores from a checkpoint.
    package init(entries: [IdentityHash: Entry] = [:]) {
        self.entries = entries
    }
}
