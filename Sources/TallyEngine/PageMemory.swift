import CTallyShims
import Glibc

/// Zero-filled memory for a large table, mapped straight from the kernel and advised for huge pages.
///
/// Large tables are probed at random, so with 4 KiB pages nearly every lookup would also miss the TLB.
/// The mapping is advised for transparent huge pages (2 MiB), which cuts TLB misses and page faults by
/// up to 512 times where the system allows it (`/sys/kernel/mm/transparent_hugepage/enabled` set to
/// `always` or `madvise`); elsewhere it keeps 4 KiB pages and works the same. Blocks under 1 MiB come
/// from malloc instead, where a mapping would waste most of a huge page and cost a system call.
struct PageMemory: @unchecked Sendable {
    /// The first byte (64-byte aligned, zero-filled).
    let base: UnsafeMutableRawPointer
    private let mappedBytes: Int

    private static let mapThreshold = 1 << 20
    private static let hugePage = 2 << 20

    /// Allocates `byteCount` zeroed bytes.
    init(byteCount: Int) {
        let bytes = max(64, byteCount)
        let rounded = (bytes + PageMemory.hugePage - 1) / PageMemory.hugePage * PageMemory.hugePage
        // A mapping that fails (address space or map count exhausted) falls back to malloc, which fails
        // the way every other allocation does.
        guard bytes >= PageMemory.mapThreshold,
            let raw = mmap(nil, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            raw != MAP_FAILED
        else {
            base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            mappedBytes = 0
            return
        }
        // A hint only: where huge pages are off, the mapping keeps 4 KiB pages.
        _ = madvise(raw, rounded, MADV_HUGEPAGE)
        base = raw
        mappedBytes = rounded
    }

    private init(mapping: UnsafeMutableRawPointer, mappedBytes: Int) {
        base = mapping
        self.mappedBytes = mappedBytes
    }

    /// This memory moved into a mapping of at least `byteCount` bytes without copying it (the kernel moves
    /// its page tables; the bytes beyond the old size are zero), or `nil` when it is not a mapping or the
    /// kernel refused; then this memory is unchanged. On success this value must no longer be used.
    func remapped(byteCount: Int) -> PageMemory? {
        guard mappedBytes > 0 else { return nil }
        let rounded =
            (max(byteCount, mappedBytes) + PageMemory.hugePage - 1) / PageMemory.hugePage * PageMemory.hugePage
        guard let moved = tally_mremap_move(base, mappedBytes, rounded) else { return nil }
        _ = madvise(moved, rounded, MADV_HUGEPAGE)
        return PageMemory(mapping: moved, mappedBytes: rounded)
    }

    /// Returns the memory to the system. Call once, after deinitialising any elements.
    func release() {
        if mappedBytes > 0 {
            munmap(base, mappedBytes)
        } else {
            base.deallocate()
        }
    }
}
