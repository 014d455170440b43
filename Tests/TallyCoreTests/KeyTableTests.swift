import TallyCore
import TallyTestSupport
import Testing

/// The per-tenant key table: lookups by `String` and by UTF-8 bytes agree, below and above the size
/// where it starts indexing, and equality ignores order.
@Suite struct KeyTableTests {
    static func entry(requests: Int64) -> KeyEntry {
        var entry = KeyEntry()
        entry.requests = requests
        return entry
    }

    @Test func hashOfAStringIsTheHashOfItsBytes() {
        for id in ["", "k", "key-1", "a-key-id-longer-than-sixteen-bytes", "clé-✓"] {
            let bytes = Array(id.utf8)
            #expect(KeyTable.hash(id) == bytes.withUnsafeBytes { KeyTable.hash(utf8: $0) })
        }
        #expect(KeyTable.hash("key-1") != KeyTable.hash("key-2"))
        #expect(KeyTable.hash("a") != KeyTable.hash("a\u{0}"))
    }

    @Test(arguments: [3, 8, 9, 40, 1000])
    func stringAndByteLookupsFindTheSameKeys(count: Int) {
        var table = KeyTable()
        var reference: [String: Int64] = [:]
        var random = SplitMix64(seed: UInt64(count))
        for step in 0..<(count * 3) {
            let id = "key-\(random.below(count))" + (step % 5 == 0 ? "-é" : "")
            let position: Int
            if step % 2 == 0 {
                position = table.positionInserting(id)
            } else {
                let bytes = Array(id.utf8)
                position = bytes.withUnsafeBytes { table.positionInserting(utf8: $0, hash: KeyTable.hash(utf8: $0)) }
            }
            #expect(table.id(at: position) == id)
            table[position: position].requests += 1
            reference[id, default: 0] += 1
        }
        #expect(table.count == reference.count)
        for (id, requests) in reference {
            #expect(table[id]?.requests == requests, "\(id)")
            #expect(table.position(of: id).map { table.id(at: $0) } == id)
        }
        #expect(table["missing"] == nil)
        #expect(table.position(of: "key-") == nil)
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.id, $0.entry.requests) }) == reference)
    }

    @Test func iterationFollowsFirstSightAndEqualityIgnoresOrder() {
        var forward = KeyTable()
        var backward = KeyTable()
        let ids = (0..<20).map { "k\($0)" }
        for (number, id) in ids.enumerated() { forward.set(Self.entry(requests: Int64(number)), for: id) }
        for (number, id) in ids.enumerated().reversed() { backward.set(Self.entry(requests: Int64(number)), for: id) }
        #expect(forward.map(\.id) == ids)
        #expect(forward == backward)
        backward.set(Self.entry(requests: 99), for: "k3")
        #expect(forward != backward)
        var shorter = KeyTable()
        for id in ids.dropLast() { shorter.set(forward[id] ?? KeyEntry(), for: id) }
        #expect(shorter != forward)
        #expect(KeyTable() == KeyTable())
    }
}
