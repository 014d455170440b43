/// Every tunable limit of a segment store, in one place.
public struct StoreConfiguration: Sendable {
    /// A segment is sealed and a new one started once it grows past this many bytes (default 128 MiB).
    public var segmentSizeLimit: Int64 = 128 << 20
    /// When appends are acknowledged (default ``DurabilityPolicy/always``).
    public var durability: DurabilityPolicy = .always
    /// Under ``DurabilityPolicy/interval(milliseconds:)`` and ``DurabilityPolicy/never``, each time this many
    /// bytes were written since the last request, the kernel is asked to start writing them back (without
    /// waiting), so a seal's fsync, or a checkpoint's sync of the log, finds little left to flush instead of
    /// a whole segment (default 1 MiB; 0 turns it off). Under ``DurabilityPolicy/always`` every append is
    /// synced anyway.
    public var writebackBytes: Int64 = 1 << 20
    /// Bytes per sequential read when scanning or iterating segments (default 256 KiB: small enough that
    /// the bytes a read copies are still in the core's cache when their checksum and records are read).
    public var readChunkSize: Int = 256 << 10
    /// Segments that end at or before this offset are checked structurally on open (header and seal),
    /// not byte by byte; `tally verify` checks them fully. Later segments are read and checked in full.
    /// Default 0: check everything.
    public var fullyVerifyFromOffset: UInt64 = 0
    /// Records before this offset are known to have been acknowledged (a checkpoint covers them): damage
    /// before it is never taken for a torn tail and cut off, and a log that ends before it is refused as
    /// missing data. The engine sets it from its checkpoints' headers; default 0.
    public var acknowledgedOffset: UInt64 = 0
    /// How long opening for writing waits for a held store lock to be let go before failing with
    /// ``StorageError/Code/locked`` (default 500 ms: a process that is closing the store, or a child process
    /// another thread is starting, which holds an inherited copy of the lock until its `exec`).
    public var lockWait: Duration = .milliseconds(500)
    /// An fsync of the log that takes at least this long is logged (default 1 s), naming the file: a disk
    /// that stalls shows as such, not only as slow requests.
    public var slowSyncWarning: Duration = .seconds(1)
    /// Receives warnings such as "dropped 37 bytes of torn tail", and the engine's notes on its background
    /// work (one line per checkpoint it writes); defaults to standard error.
    public var log: @Sendable (String) -> Void = { message in StandardError.write("tally: \(message)\n") }

    /// The default configuration.
    public init() {}

    /// A configuration with the given durability and segment size.
    public init(durability: DurabilityPolicy, segmentSizeLimit: Int64 = 128 << 20) {
        self.durability = durability
        self.segmentSizeLimit = segmentSizeLimit
    }
}
