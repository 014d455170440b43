/// A sorted multiset of expiry times, so "how many have expired by now" is a binary search, not a scan.
public struct ExpiryIndex: Sendable, Equatable {
    /// Expiry times in microseconds, ascending.
    public private(set) var times: [Int64] = []

    /// Creates an empty index.
    public init() {}

    /// Adds one expiry time.
    public mutating func insert(_ time: Timestamp) {
        times.insert(time.microseconds, at: position(of: time.microseconds))
    }

    /// Removes one occurrence of an expiry time, if present.
    public mutating func remove(_ time: Timestamp) {
        let index = position(of: time.microseconds)
        if index < times.count, times[index] == time.microseconds { times.remove(at: index) }
    }

    /// How many times are at or before `now`.
    public func countExpired(at now: Timestamp) -> Int {
        position(of: now.microseconds &+ 1)
    }

    /// The first index whose time is at least `value`.
    private func position(of value: Int64) -> Int {
        var low = 0
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
