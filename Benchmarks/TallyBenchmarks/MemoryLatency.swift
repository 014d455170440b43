import Glibc
import TallyStorage
import TallyTestSupport

/// The latency of one random memory read on this machine: the floor under any lookup that misses the cache,
/// such as a stats read at a million tenants.
///
/// A pointer chase over one random cycle through a huge-page backed buffer: each read's address comes from
/// the previous read, so the reads cannot overlap, and the average time per read is the memory latency
/// (plus a TLB walk where the pages are not huge, as a virtual machine's host may add).
enum MemoryLatency {
    static func run(_ options: BenchmarkSuite.Options) {
        for megabytes in [1, options.quick ? 64 : 512] {
            Measure.row(
                "random memory read, \(megabytes) MiB working set", chase(bytes: megabytes << 20), "ns",
                "dependent loads in one random cycle (64-byte strides), huge pages advised")
        }
    }

    /// Nanoseconds per read of a chase through `bytes` of memory, one 64-byte line per element.
    static func chase(bytes: Int) -> Double {
        let step = 64 / MemoryLayout<Int>.stride
        let count = bytes / 64
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            raw != MAP_FAILED
        else { return .nan }
        defer { munmap(raw, bytes) }
        _ = madvise(raw, bytes, MADV_HUGEPAGE)
        let slots = raw.bindMemory(to: Int.self, capacity: count * step)
        // One cycle through every line in random order (Sattolo's algorithm), so no line repeats early.
        var order = Array(0..<count)
        var random = SplitMix64(seed: 0xC4A5E)
        for index in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(index, random.below(index))
        }
        for position in 0..<count {
            slots[order[position] * step] = order[(position + 1) % count] * step
        }
        let steps = 4_000_000
        var samples: [Double] = []
        var cursor = 0
        for _ in 0..<5 {
            let start = MonotonicClock.nanoseconds()
            for _ in 0..<steps { cursor = slots[cursor] }
            samples.append(Double(MonotonicClock.nanoseconds() - start) / Double(steps))
        }
        if cursor == -1 { print("") }
        return samples.sorted()[samples.count / 2]
    }
}
