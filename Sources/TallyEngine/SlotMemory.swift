/// A fixed number of plain slots in ``PageMemory``, for an open-addressing table whose empty slot is all
/// zero bits (so a fresh table needs no initialising pass).
///
/// Owned by one value type that copies it before writing when it is shared (copy on write); the memory
/// is freed with the last reference.
final class SlotMemory<Element: BitwiseCopyable>: @unchecked Sendable {
    /// The first slot.
    let base: UnsafeMutablePointer<Element>
    /// Number of slots.
    let count: Int
    private let memory: PageMemory

    /// Maps `count` zeroed slots (at least one).
    init(count: Int) {
        self.count = max(1, count)
        memory = PageMemory(byteCount: self.count * MemoryLayout<Element>.stride)
        base = memory.base.bindMemory(to: Element.self, capacity: self.count)
    }

    /// A new mapping with the same slots.
    func copy() -> SlotMemory<Element> {
        let copy = SlotMemory(count: count)
        copy.base.update(from: base, count: count)
        return copy
    }

    deinit { memory.release() }
}
