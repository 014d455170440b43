import Dispatch
import Synchronization
import TallyCore

/// Runs the tenants API's changes to one tenant one at a time, so each decides on the record the previous
/// one left: of two identical PATCHes one updates and the other finds nothing to change, a PATCH behind a
/// DELETE answers 409 `tenant_deleted` and stores nothing, and two DELETEs store one `tenant.deleted`.
///
/// A change checks the record, appends its event and waits for it to be applied before the next change to
/// that tenant starts; changes to other tenants run side by side. The next change starts on a Dispatch
/// worker, never on the log's writer thread that finished the previous one.
final class TenantChangeQueue: Sendable {
    /// A change: it is handed the call that ends it, which it makes exactly once, after the engine has
    /// applied its event (or once it decided to append none).
    typealias Change = @Sendable (_ finished: @escaping @Sendable () -> Void) -> Void

    /// The changes waiting behind the running one, per tenant; a tenant is a key while a change of it runs.
    private let waiting = Mutex<[TenantID: [Change]]>([:])

    /// Runs `change` now when no change of `tenant` is running, or after those queued before it.
    func run(_ tenant: TenantID, _ change: @escaping Change) {
        let startsNow = waiting.withLock { queues -> Bool in
            guard queues[tenant] != nil else {
                queues[tenant] = []
                return true
            }
            queues[tenant, default: []].append(change)
            return false
        }
        if startsNow { change { self.finish(tenant) } }
    }

    /// How many changes wait behind a running one, over all tenants (for tests).
    var waitingCount: Int { waiting.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    private func finish(_ tenant: TenantID) {
        let next = waiting.withLock { queues -> Change? in
            guard var queue = queues[tenant], !queue.isEmpty else {
                queues[tenant] = nil
                return nil
            }
            let next = queue.removeFirst()
            queues[tenant] = queue
            return next
        }
        guard let next else { return }
        DispatchQueue.global().async { next { self.finish(tenant) } }
    }
}
