extension JSONParser {
    /// A growable stack with manual storage, so a finished container can *move* its elements into an
    /// exactly sized array instead of copying them and then destroying the originals.
    ///
    /// It starts in caller-provided (typically stack-allocated) storage and moves to the heap only when that fills
    /// up, so small documents cause no allocation here.
    struct ScratchStack<Element>: ~Copyable {
        private var storage: UnsafeMutablePointer<Element>?
        private var capacity: Int
        /// Whether `storage` was allocated by this stack (rather than lent by the caller).
        private var ownsStorage = false
        /// The number of elements on the stack.
        private(set) var count = 0

        /// Creates an empty stack that first uses `initialStorage`, which must outlive the stack and must not
        /// hold initialised elements.
        init(initialStorage: UnsafeMutableBufferPointer<Element>) {
            storage = initialStorage.baseAddress
            capacity = storage == nil ? 0 : initialStorage.count
        }

        deinit {
            if let storage {
                storage.deinitialize(count: count)
                if ownsStorage {
                    storage.deallocate()
                }
            }
        }

        @inline(__always)
        mutating func push(_ element: consuming Element) {
            if count == capacity {
                grow()
            }
            if let storage {
                (storage + count).initialize(to: element)
                count &+= 1
            }
        }

        /// Moves the elements from `start` to the top into a new, exactly sized array, leaving `start` elements.
        mutating func popArray(from start: Int) -> [Element] {
            let length = count &- start
            guard length > 0, let storage else { return [] }
            let source = storage + start
            count = start
            var elements: [Element] = []
            elements.reserveCapacity(length)
            for offset in 0..<length {
                elements.append((source + offset).move())
            }
            return elements
        }

        /// Calls `body` with the element at `position`, which must be below `count`, without copying it.
        @inline(__always)
        func withElement<Value>(at position: Int, _ body: (borrowing Element) -> Value) -> Value? {
            guard let storage, position >= 0, position < count else { return nil }
            return body(storage[position])
        }

        @inline(never)
        private mutating func grow() {
            let newCapacity = max(16, capacity &* 2)
            let newStorage = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
            if let storage {
                newStorage.moveInitialize(from: storage, count: count)
                if ownsStorage {
                    storage.deallocate()
                }
            }
            storage = newStorage
            ownsStorage = true
            capacity = newCapacity
        }
    }
}
