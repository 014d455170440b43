import TallyCore
import TallyTestSupport
import Testing

@testable import TallyEngine

@Suite struct TenantTableTests {
    private func tenant(_ number: UInt64) -> TenantID {
        TenantID(high: 0xABCD_0000_0000_0000 | number, low: number &* 31)
    }

    /// Through index rebuilds and storage growth (past the 1 MiB point where storage is mapped), every
    /// tenant is found with its own projection, and iteration is in insertion order.
    @Test func findsEveryTenantThroughGrowth() {
        var table = TenantTable()
        var random = SplitMix64(seed: 5)
        var order: [TenantID] = []
        var reference: [TenantID: Int] = [:]
        for _ in 0..<20_000 {
            let id = tenant(UInt64(random.below(12_000)))
            if reference[id] == nil { order.append(id) }
            table.modify(id) { $0.userCount += 1 }
            reference[id, default: 0] += 1
        }
        #expect(table.count == reference.count)
        for (id, users) in reference { #expect(table[id]?.userCount == users) }
        #expect(table[tenant(99_999)] == nil)
        #expect(table.index(forKey: tenant(99_999)) == nil)
        #expect(table.keys == order)
        #expect(table.map(\.key) == order)
        for id in order.prefix(50) {
            let position = table.index(forKey: id)
            #expect(position.map { table[position: $0].userCount } == reference[id])
            #expect(table.withProjection(id) { $0.pointee.userCount } == reference[id])
        }
    }

    /// Slots keep only 32 bits of the id's hash: ids whose tags are equal, here also starting their probes
    /// at the same slot of a new table's 32, are told apart by the stored id.
    @Test func idsSharingATagAreToldApart() throws {
        func key(_ id: TenantID) -> UInt64 {
            let hash = TenantTable.hash(id)
            return UInt64(TenantTable.tag(hash)) << 5 | hash & 31
        }
        var seen: [UInt64: TenantID] = [:]
        var sharing: [TenantID] = []
        var number: UInt64 = 0
        while sharing.isEmpty && number < 4_000_000 {
            let id = tenant(number)
            if let earlier = seen.updateValue(id, forKey: key(id)) { sharing = [earlier, id] }
            number += 1
        }
        try #require(sharing.count == 2, "no two ids share a tag and a bucket among \(number)")
        var table = TenantTable()
        table.modify(sharing[0]) { $0.userCount = 1 }
        #expect(table[sharing[1]] == nil, "an id with the same tag is not the stored one")
        table.modify(sharing[1]) { $0.userCount = 2 }
        #expect(table.count == 2)
        #expect(table[sharing[0]]?.userCount == 1)
        #expect(table[sharing[1]]?.userCount == 2)
    }

    /// A copy is independent: writes to either never show in the other (copy on write of all three parts).
    @Test func copiesAreIndependent() {
        var original = TenantTable()
        for number in 0..<3_000 as Range<UInt64> { original.modify(tenant(number)) { $0.activeUsers = Int(number) } }
        var copy = original
        copy.modify(tenant(7)) { $0.activeUsers = -1 }
        copy.modify(tenant(50_000)) { $0.activeUsers = 1 }
        original.modify(tenant(8)) { $0.activeUsers = -2 }
        #expect(original[tenant(7)]?.activeUsers == 7)
        #expect(original[tenant(50_000)] == nil)
        #expect(original.count == 3_000)
        #expect(copy[tenant(7)]?.activeUsers == -1)
        #expect(copy[tenant(8)]?.activeUsers == 8)
        #expect(copy.count == 3_001)
    }

    /// Equality ignores insertion order and compares projections.
    @Test func equalityIgnoresOrder() {
        var forward = TenantTable()
        var backward = TenantTable()
        for number in 0..<100 as Range<UInt64> { forward.modify(tenant(number)) { $0.adminUsers = 1 } }
        for number in (0..<100 as Range<UInt64>).reversed() {
            backward.set(forward[tenant(number)] ?? TenantProjection(), for: tenant(number))
        }
        #expect(forward == backward)
        backward.modify(tenant(3)) { $0.adminUsers = 2 }
        #expect(forward != backward)
        var reserved = TenantTable()
        reserved.reserveCapacity(5_000)
        for number in 0..<100 as Range<UInt64> { reserved.modify(tenant(number)) { $0.adminUsers = 1 } }
        #expect(reserved == forward)
    }
}

@Suite struct TenantTableCaptureTests {
    private func tenant(_ number: Int) -> TenantID {
        TenantID(high: 0xCAFE_0000_0000_0000 | UInt64(number), low: UInt64(number))
    }

    /// A checkpoint takes the table a chunk at a time while the writer changes it and adds tenants: the
    /// chunks hold every tenant of the capture's start, in order, as it was then, and no later one.
    @Test func aCaptureSeesTheTableAsItWasWhileItChanges() {
        var table = TenantTable()
        for number in 0..<5_000 { table.modify(tenant(number)) { $0.userCount = number } }
        let before = Array(table)
        #expect(table.beginCapture() == 5_000)
        var random = SplitMix64(seed: 31)
        var captured: [(key: TenantID, value: TenantProjection)] = []
        var changes: [TenantID: Int] = [:]
        while true {
            for _ in 0..<700 {
                let id = tenant(random.below(6_000))
                table.modify(id) {
                    $0.userCount += 1_000_000
                    $0.users["u\(id.low)"] = UserEntry(role: .member, isActive: true)
                }
                changes[id, default: 0] += 1
            }
            guard let chunk = table.nextCapturedChunk() else { break }
            captured += zip(chunk.ids, chunk.projections).map { (key: $0, value: $1) }
        }
        _ = table.endCapture()
        #expect(table.nextCapturedChunk() == nil)
        #expect(captured.map(\.key) == before.map(\.key))
        #expect(captured.map(\.value) == before.map(\.value), "a projection changed after the capture began was taken")
        // The live table has every change.
        for (id, times) in changes {
            let base = id.low < 5_000 ? Int(id.low) : 0
            #expect(table[id]?.userCount == base + times * 1_000_000)
        }
    }
}
