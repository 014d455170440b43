import Glibc

/// The monotonic clock, for intervals and deadlines that wall-clock changes must not disturb.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point.
    public static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// The seconds from `start` (a reading of ``nanoseconds()``) to now; 0 when `start` is not in the past.
    public static func seconds(since start: UInt64) -> Double {
        let now = nanoseconds()
        return now > start ? Double(now - start) / 1e9 : 0
    }
}
