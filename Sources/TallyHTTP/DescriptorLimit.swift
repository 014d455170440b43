import Glibc

/// The process's open-file limit (`RLIMIT_NOFILE`) and the connections it leaves room for.
///
/// Every connection holds a descriptor, and so does every file the store opens. Were connections allowed
/// to take the last ones, the store could not start its next segment, and a failed append leaves it
/// read-only until a restart: so connections are capped at the limit less ``reserved(limit:eventLoops:)``.
package enum DescriptorLimit {
    /// Descriptors kept for the store (its segments and checkpoints), the listener and the standard streams:
    /// a quarter of the limit, at least ``minimumStoreReserve`` and at most ``maximumStoreReserve``.
    static let minimumStoreReserve = 64
    /// See ``minimumStoreReserve``.
    static let maximumStoreReserve = 256
    /// Descriptors each event loop holds: its epoll, its eventfd and its spare.
    static let perEventLoop = 3
    /// The highest soft limit ``raise()`` asks for, when the hard limit is unlimited.
    static let ceiling: rlim_t = 1 << 20

    /// Descriptors kept for everything but connections under a soft limit of `limit` with `eventLoops`
    /// event loops.
    package static func reserved(limit: Int, eventLoops: Int) -> Int {
        min(maximumStoreReserve, max(minimumStoreReserve, limit / 4)) + perEventLoop * max(1, eventLoops)
    }

    /// The soft limit in force, or `nil` when it cannot be read.
    package static var current: Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return Int(clamping: min(limit.rlim_cur, ceiling))
    }

    /// Raises the soft limit to the hard one (at most 2^20), as servers commonly do at start: a soft limit
    /// of 1,024 guards `select(2)`, which this server never uses.
    /// - Returns: The soft limit now in force, or `nil` when it cannot be read.
    @discardableResult package static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let wanted = min(limit.rlim_max, ceiling)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised)
        }
        return current
    }

    /// The connections a soft limit of `limit` descriptors leaves room for after
    /// ``reserved(limit:eventLoops:)``: at least 1.
    package static func connectionCapacity(limit: Int, eventLoops: Int) -> Int {
        max(1, limit - reserved(limit: limit, eventLoops: eventLoops))
    }
}
