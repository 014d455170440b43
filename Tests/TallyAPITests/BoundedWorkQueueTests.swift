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
                // Each waits (up to 10 s) until `width` items run at once, so they overlap however late their
                // threads start; a queue that ran fewer at once would leave the most below the width.
                for _ in 0..<10_000 where overlap.state.withLock({ $0.running + $0.done }) < width { usleep(1_000) }
                overlap.leave()
            }
        }
        #expect(Polling.until { overlap.state.withLock { $0.done } == items })
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

    /// A request's body is held by its item only until the item has run, even while later items still wait
    /// (the list of waiting items is not emptied then).
    @Test func anItemsCapturesAreFreedOnceItHasRun() throws {
        final class Body: Sendable {}
        let queue = BoundedWorkQueue(label: "test", width: 1)
        weak var weakBody: Body?
        let gate = DispatchSemaphore(value: 0)
        let blocked = Atomic<Bool>(false)
        do {
            let body = Body()
            weakBody = body
            queue.submit { withExtendedLifetime(body) {} }
        }
        queue.submit {
            blocked.store(true, ordering: .releasing)
            gate.wait()
        }
        queue.submit {}
        #expect(Polling.until { blocked.load(ordering: .acquiring) })
        #expect(queue.waitingCount == 1)
        #expect(weakBody == nil)
        gate.signal()
        #expect(Polling.until { queue.waitingCount == 0 })
    }

    @Test func aWidthBelowOneMeansOne() {
        #expect(BoundedWorkQueue(label: "test", width: 0).width == 1)
        #expect(BoundedWorkQueue(label: "test", width: -3).width == 1)
    }
}
