import Glibc

/// The server process's own figures for the metrics page, under the names Prometheus's client libraries
/// give them (`process_*`), read from `/proc` (Linux); a figure that cannot be read is left out.
struct ProcessStatistics: Sendable, Equatable {
    /// Resident memory, in bytes.
    var residentBytes: Int?
    /// Open file descriptors.
    var openDescriptors: Int?
    /// The soft limit on open file descriptors.
    var maxDescriptors: Int?
    /// When the process started, in seconds since the Unix epoch.
    var startTimeSeconds: Double?

    /// The figures now.
    static func current() -> ProcessStatistics {
        ProcessStatistics(
            residentBytes: residentBytes(), openDescriptors: openDescriptors(), maxDescriptors: maxDescriptors(),
            startTimeSeconds: startTime)
    }

    /// `/proc/self/statm`'s second field (resident pages) times the page size.
    static func residentBytes() -> Int? {
        guard let text = read("/proc/self/statm") else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The entries of `/proc/self/fd`, less the one the listing itself holds open.
    static func openDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return max(0, count - 1)
    }

    static func maxDescriptors() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return limit.rlim_cur == rlim_t.max ? nil : Int(clamping: limit.rlim_cur)
    }

    /// The boot time (`btime` of `/proc/stat`) plus the process's start in clock ticks after boot (the 22nd
    /// field of `/proc/self/stat`, counted after the parenthesised command name, which may hold spaces).
    static let startTime: Double? = {
        guard let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")"),
            let system = read("/proc/stat"),
            let bootLine = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let boot = Double(bootLine.dropFirst(6).trimmingPrefix(" "))
        else { return nil }
        // Fields from the 3rd on follow the name: the 22nd is the 20th of them.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count >= 20, let ticks = Double(fields[19]) else { return nil }
        return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()

    /// A small text file's contents (files under `/proc` report no size, so it is read to its end).
    private static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
