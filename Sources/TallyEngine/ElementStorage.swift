/// A growable run of elements in ``PageMemory``, like an array's buffer but huge-page backed, so that
/// random access into millions of large elements does not also miss the TLB.
///
/// Owned by one value type that copies it before writing when it is shared (copy on write).
final class ElementStorage<Element>: @unchecked Sendable {
    /// The first element.
    private(set) var base: UnsafeMutablePointer<Element>
    /// Initialised elements, from `base`.
    private(set) var count = 0
    /// Elements that fit before the storage must grow.
    private(set) var capacity: Int
    private var memory: PageMemory

    /// Empty storage with room for `capacity` elements.
    init(capacity: Int) {
        self.capacity = max(16, capacity)
        memory = PageMemory(byteCount: self.capacity * MemoryLayout<Element>.stride)
        base = memory.base.bindMemory(to: Element.self, capacity: self.capacity)
    }

    /// Appends an element, doubling the capacity when full (elements are moved, not copied).
    func append(_ element: Element) {
        if count == capacity { reserve(capacity * 2) }
        (base + count).initialize(to: element)
        count += 1
    }

    /// Makes room for at least `minimumCapacity` elements.
    ///
    /// A mapped storage grows in place or moves by remapping, which copies nothing: moving a million
    /// projections byte by byte held the projections lock (and every stats read) for up to 600 ms. Swift
    /// values other than address-bound ones (atomics, locks; never stored here) may move bitwise.
    func reserve(_ minimumCapacity: Int) {
        guard minimumCapacity > capacity else { return }
        if let moved = memory.remapped(byteCount: minimumCapacity * MemoryLayout<Element>.stride) {
            memory = moved
            base = moved.base.bindMemory(to: Element.self, capacity: minimumCapacity)
            capacity = minimumCapacity
            return
        }
        let grown = PageMemory(byteCount: minimumCapacity * MemoryLayout<Element>.stride)
        let newBase = grown.base.bindMemory(to: Element.self, capacity: minimumCapacity)
        newBase.moveInitialize(from: base, count: count)
        memory.release()
        memory = grown
        base = newBase
        capacity = minimumCapacity
    }

    /// A new storage holding copies of the elements.
    func copy() -> ElementStorage<Element> {
        let copy = ElementStorage(capacity: capacity)
        copy.base.initialize(from: base, count: count)
        copy.count = count
        return copy
    }

    deinit {
        base.deinitialize(count: count)
        memory.release()
    }
}
