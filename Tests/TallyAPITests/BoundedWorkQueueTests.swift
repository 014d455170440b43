import Dispatch
import Glibc
import Synchronization
import TallyTestSupport
import Testing

@testable import TallyAPI

/// The queue that decodes large bodies off the event loops: everything submitted runs, in order, never more
/// than its width at once, and what a finished item captured is freed.
@Suite struct BoundedWorkQueueTests {
    /// Counts the items running at once and the most seen.
    final class Overlap: Sendable {
        let state = Mutex((running: 0, most: 0, done: 0))
        func enter() {
            state.withLock {
                $0.running += 1
                $0.most = max($0.most, $0.running)
            }
        }
        func leave() {
            state.withLock {
                $0.running -= 1
                $0.done += 1
            }
        }
    }

    @Test(arguments: [1, 2, 3])
    func neverRunsMoreThanItsWidthAtOnce(width: Int) throws {
        let queue = BoundedWorkQueue(label: "test", width: width)
        let overlap = Overlap()
        let items = 24
        for _ in 0..<items {
            queue.submit {
                overlap.enter()
                // Long enough for every drain to be running an item of its own.
                usleep(5_000)
                overlap.leave()
            }
        }
        #expect(Polling.until { overlap.state.withLock { $0.done } == items })
        // At most the width, and, with items waiting, exactly the width: they do run side by side.
        #expect(overlap.state.withLock { $0.most } == width)
    }

    @Test func oneWideRunsItemsInTheOrderTheyCame() throws {
        let queue = BoundedWorkQueue(label: "test", width: 1)
        let order = Mutex<[Int]>([])
        // More than the 1,024 taken items after which the list drops its front, while it never empties.
        let gate = DispatchSemaphore(value: 0)
        queue.submit { gate.wait() }
        for index in 0..<3_000 { queue.submit { order.withLock { $0.append(index) } } }
        gate.signal()
        #expect(Polling.until { order.withLock { $0.count } == 3_000 })
        #expect(order.withLock { $0 } == Array(0..<3_000))
        // Empty again, the queue starts a drain for the next item.
        queue.submit { order.withLock { $0.append(-1) } }
        #expect(Polling.until { order.withLock { $0.last } == -1 })
    }

    /// A request's body is held by its item only until the item has run, however long the queue then idles.
    @Test func anItemsCapturesAreFreedOnceItHasRun() throws {
        final class Body: Sendable {}
        let queue = BoundedWorkQueue(label: "test", width: 1)
        weak var weakBody: Body?
        let ran = Atomic<Bool>(false)
        do {
            let body = Body()
            weakBody = body
            queue.submit { withExtendedLifetime(body) { ran.store(true, ordering: .releasing) } }
        }
        #expect(Polling.until { ran.load(ordering: .acquiring) })
        #expect(Polling.until { weakBody == nil })
    }

    @Test func aWidthBelowOneMeansOne() {
        #expect(BoundedWorkQueue(label: "test", width: 0).width == 1)
        #expect(BoundedWorkQueue(label: "test", width: -3).width == 1)
    }
}
