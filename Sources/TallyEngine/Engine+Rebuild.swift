import TallyCore
import TallyStorage

extension Engine {
    /// The result of rebuilding projections from the log.
    public struct Rebuilt: Sendable {
        /// Every tenant's projection, as of where the replay stopped.
        public var state: ProjectionState
        /// The ingest time of the last event applied, if any.
        public var lastIngestTime: Timestamp?
        var dedup: DedupIndex
    }

    /// Rebuilds every projection from offset 0 without the write lock and without changing the store.
    /// - Parameters:
    ///   - directory: The store.
    ///   - configuration: Clock and windows (its store settings' log receives warnings).
    ///   - limit: Where to stop; `nil` for the end of the log.
    ///   - progress: Called every 65,536 events or so with the offset reached and the events the replay
    ///     applies up to `limit` (see ``replayedEvents(_:limit:)``).
    /// - Throws: ``StorageError`` when the store cannot be opened or read (``StorageError/Code/corrupt`` for damage,
    ///   naming the file and byte), or a record fails to decode.
    public static func rebuild(
        directory: String, configuration: EngineConfiguration = EngineConfiguration(),
        limit: ReplayLimit? = nil,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> Rebuilt {
        let store = try SegmentStore(
            directory: directory,
            configuration: try replayedStoreConfiguration(configuration.store, directory: directory),
            readOnly: true)
        return try rebuild(store: store, configuration: configuration, limit: limit, progress: progress)
    }

    static func rebuild(
        store: SegmentStore, configuration: EngineConfiguration, limit: ReplayLimit?,
        progress: ((UInt64, UInt64) -> Void)?
    ) throws -> Rebuilt {
        var state = ProjectionState()
        var dedup = DedupIndex()
        let total = replayedEvents(store, limit: limit)
        try replay(store: store, into: &state, dedup: &dedup, configuration: configuration, limit: limit) { offset in
            progress?(offset, total)
        }
        var lastIngest: Timestamp?
        if state.nextOffset > 0 {
            try store.forEachEvent(from: state.nextOffset - 1, to: state.nextOffset) { stored in
                lastIngest = stored.ingestTime
                return false
            }
        }
        return Rebuilt(state: state, lastIngestTime: lastIngest, dedup: dedup)
    }

    /// How many events a replay from offset 0 up to `limit` applies, as its progress counts towards: exact for
    /// an offset; for an ingest time, the events before the first segment whose first event was ingested
    /// after it (found by reading one frame per segment tried, in a binary search), so at most a segment
    /// more than the replay applies.
    static func replayedEvents(_ store: SegmentStore, limit: ReplayLimit?) -> UInt64 {
        let log = store.state
        switch limit {
        case nil: return log.nextOffset
        case .offset(let end)?: return min(end, log.nextOffset)
        case .ingestTime(let time)?:
            let segments = log.segments.filter { $0.firstOffset < min($0.nextOffset, log.nextOffset) }
            var (low, high) = (0, segments.count)
            while low < high {
                let middle = (low + high) / 2
                // A segment whose first event cannot be read counts as before the time: the bound stays an
                // upper one, and the replay reports the damage when it gets there.
                if let first = try? store.event(at: segments[middle].firstOffset), first.ingestTime > time {
                    high = middle
                } else {
                    low = middle + 1
                }
            }
            return low < segments.count ? segments[low].firstOffset : log.nextOffset
        }
    }

    /// Rebuilds from offset 0 with the store's write lock held and writes the result as a fresh checkpoint.
    /// - Parameters:
    ///   - progress: Called every 65,536 events or so with the offset reached and the log's size.
    ///   - replayed: Called once the replay is done, before the checkpoint is written (to time them apart).
    /// - Returns: The rebuilt state.
    /// - Throws: ``StorageError`` when the store cannot be opened or read (``StorageError/Code/corrupt`` for damage,
    ///   naming the file and byte), or a record fails to decode.
    public static func rebuildAndCheckpoint(
        directory: String, configuration: EngineConfiguration = EngineConfiguration(),
        progress: ((UInt64, UInt64) -> Void)? = nil,
        replayed: (() -> Void)? = nil
    ) throws -> ProjectionState {
        let store = try SegmentStore(
            directory: directory,
            configuration: try replayedStoreConfiguration(configuration.store, directory: directory))
        defer { try? store.close() }
        let rebuilt = try rebuild(store: store, configuration: configuration, limit: nil, progress: progress)
        replayed?()
        let checkpoints = CheckpointStore(
            storeDirectory: directory, fileSystem: store.fileSystem,
            log: configuration.store.log, syncEveryBytes: configuration.checkpointSyncBytes)
        checkpoints.removeLeftovers()
        var logSalt: UInt32 = 0
        if rebuilt.state.nextOffset > 0 {
            // A checkpoint without its log's salt would later look like another store's: none is written then.
            guard let salt = store.salt(ofSegmentHolding: rebuilt.state.nextOffset - 1) else {
                throw StorageError(
                    .io,
                    "the header of the segment holding offset \(rebuilt.state.nextOffset - 1) could not be read, and a checkpoint records its salt"
                )
            }
            logSalt = salt
        }
        // A damaged checkpoint of the same name is replaced by the fresh one's rename: said, as for older ones
        // (judged by its checksums alone: decoding a large one would add to every replay of a stopped store).
        let sameName = checkpoints.integrityProblem(rebuilt.state.nextOffset)
        try checkpoints.write(
            rebuilt.state, dedup: rebuilt.dedup, dedupWindowMicroseconds: configuration.backdateLimitMicroseconds,
            logSalt: logSalt,
            keep: configuration.checkpointsKept)
        if let sameName {
            configuration.store.log(
                CheckpointStore.replacedMessage(CheckpointStore.fileName(rebuilt.state.nextOffset), problem: sameName))
        }
        // A damaged older checkpoint kept beside the fresh one would leave `tally verify` reporting damage
        // that the replay, as its message promised, has replaced: it goes. One that merely could not be read
        // (permissions, I/O) is left alone.
        let older = (try? checkpoints.offsets())?.filter { $0 != rebuilt.state.nextOffset } ?? []
        let checks = checkpoints.check(
            older, logEnd: store.nextOffset, logSalt: { [store] in store.salt(ofSegmentHolding: $0) })
        for check in checks where check.problem != nil && !check.isUnreadable && !check.isSuperseded {
            try? store.fileSystem.remove(checkpoints.directory + "/" + check.name)
            configuration.store.log(
                "checkpoints/\(check.name): removed (\(check.problem ?? "damaged")); the fresh checkpoint replaces it")
        }
        return rebuilt.state
    }

    /// The dedup window (backdate limit, in microseconds) of the store's newest checkpoint, read from its
    /// header alone (the default for a checkpoint from before version 9, which recorded none); `nil` without
    /// one. Commands other than `tally serve` adopt it, so that a checkpoint they write remembers the ids the
    /// server's window holds (a narrower one would make the server rebuild).
    public static func recordedDedupWindow(directory: String) -> Int64? {
        CheckpointStore(storeDirectory: directory, fileSystem: PosixFileSystem(), log: { _ in }).newestHeader()?
            .dedupWindowMicroseconds
    }

    /// The number of events the store's newest checkpoint covers (0 without one): those were acknowledged,
    /// so damage among them is never a torn tail (see ``StoreConfiguration/acknowledgedOffset``). Read from
    /// the newest header that vouches for itself, and from the newest checkpoint file's name: a checkpoint
    /// gets its name only once it is whole and synced, so one whose header is damaged or cannot be read (a
    /// link to nothing, a directory in its place) still says how many events were acknowledged, and a
    /// damaged tail among them is not cut off.
    /// - Throws: ``StorageError`` (`io`) when the checkpoints directory is there but cannot be listed (its
    ///   permissions, a file in its place): without it a damaged end of the log could not be told from an
    ///   interrupted write, and acknowledged events would be cut off as a torn tail, or a dump come out short.
    public static func acknowledgedOffset(
        directory: String, fileSystem: any FileSystem = PosixFileSystem()
    ) throws(StorageError) -> UInt64 {
        let checkpoints = CheckpointStore(storeDirectory: directory, fileSystem: fileSystem, log: { _ in })
        let listed = try listed(checkpoints)
        let vouched = checkpoints.newestHeader(among: listed)?.nextOffset ?? 0
        // Whatever stands under the newest name (a file, a link to nothing, a directory put there by hand),
        // the name was given to a whole checkpoint: a shorter log is missing acknowledged events.
        return max(vouched, listed.first ?? 0)
    }

    /// The store's checkpoints, newest first, by the offsets they cover (list them before measuring the log,
    /// for ``checkCheckpoints(directory:offsets:logEnd:logSalt:)``).
    /// - Throws: ``StorageError`` when the checkpoints directory exists but cannot be listed.
    public static func checkpointOffsets(directory: String) throws(StorageError) -> [UInt64] {
        try listed(CheckpointStore(storeDirectory: directory, fileSystem: PosixFileSystem(), log: { _ in }))
    }

    /// The offsets of `checkpoints`, newest first, or an error saying why they matter when they cannot be
    /// listed.
    private static func listed(_ checkpoints: CheckpointStore) throws(StorageError) -> [UInt64] {
        do throws(StorageError) {
            return try checkpoints.offsets()
        } catch {
            throw StorageError(
                .io,
                "cannot list \(checkpoints.directory) (\(error.errno.map { Errno($0).description } ?? error.message)): its checkpoints say how many events were acknowledged, and without them a damaged end of the log cannot be told from an interrupted write; make checkpoints/ a directory this user can read",
                path: checkpoints.directory, errno: error.errno)
        }
    }

    /// Checkpoint files of the store, each checked in full (for `tally verify`).
    /// - Parameters:
    ///   - offsets: The checkpoints to check, as ``checkpointOffsets(directory:)`` listed them before the log
    ///     was measured: a server running meanwhile only adds later ones, which are left out.
    ///   - logEnd: The number of records in the log.
    ///   - logSalt: The salt of the log's segment holding an offset, or `nil` when it cannot be told: a
    ///     checkpoint that recorded another was taken of another log.
    public static func checkCheckpoints(
        directory: String, offsets: [UInt64], logEnd: UInt64,
        logSalt: (UInt64) -> UInt32?
    ) -> [CheckpointCheck] {
        CheckpointStore(storeDirectory: directory, fileSystem: PosixFileSystem(), log: { _ in })
            .check(offsets, logEnd: logEnd, logSalt: logSalt)
            .map {
                CheckpointCheck(
                    name: $0.name, offset: $0.covered?.offset,
                    dedupWindowMicroseconds: $0.covered?.dedupWindowMicroseconds,
                    tenants: $0.covered?.tenants, rememberedIds: $0.covered?.rememberedIds, problem: $0.problem,
                    isOutdated: $0.isOutdated, isNewer: $0.isNewer, isBeyondLog: $0.isBeyondLog,
                    isSuperseded: $0.isSuperseded,
                    isUnreadable: $0.isUnreadable)
            }
    }

    /// One checkpoint file as `tally verify` reports it.
    public struct CheckpointCheck: Sendable, Equatable {
        /// The file's name under `checkpoints/`.
        public var name: String
        /// The number of events it covers, when it is valid.
        public var offset: UInt64?
        /// The dedup window its index was kept for, when it is valid.
        public var dedupWindowMicroseconds: Int64?
        /// The tenants it holds, when it is valid.
        public var tenants: Int?
        /// The ids its dedup index remembers, when it is valid.
        public var rememberedIds: Int?
        /// Why it cannot be used (then an open ignores it and uses an older one or a full replay).
        public var problem: String?
        /// Whether the problem is only that another projection version wrote it (after an upgrade): not
        /// damage; the next checkpoint supersedes it.
        public var isOutdated: Bool
        /// Whether that other version is later than this build's (after a downgrade).
        public var isNewer: Bool
        /// Whether it covers more events than the log holds: acknowledged log data is missing, and every open
        /// of the store refuses it until the log is salvaged.
        public var isBeyondLog: Bool
        /// Whether it was removed while verify ran (a running server superseded it): not damage.
        public var isSuperseded: Bool
        /// Whether it could not be read at all (permissions, an I/O error): not known to be damaged.
        public var isUnreadable: Bool
    }

    /// The state the newest valid checkpoint holds, read without the write lock.
    /// - Throws: ``StorageError`` when the store cannot be opened or read (``StorageError/Code/corrupt`` for damage,
    ///   naming the file and byte), or a record fails to decode.
    public static func newestCheckpoint(directory: String, configuration: EngineConfiguration = EngineConfiguration())
        throws -> ProjectionState?
    {
        // Only the log's length is needed, so sealed segments are not read.
        var state: ProjectionState?
        var dedup = DedupIndex()
        _ = try openReadOnly(directory: directory, configuration: configuration, state: &state, dedup: &dedup)
        return state
    }

    /// The current state, read without the write lock: the newest checkpoint plus the log after it.
    /// - Throws: ``StorageError`` when the store cannot be opened or read (``StorageError/Code/corrupt`` for damage,
    ///   naming the file and byte), or a record fails to decode.
    public static func currentState(directory: String, configuration: EngineConfiguration = EngineConfiguration())
        throws -> ProjectionState
    {
        var loaded: ProjectionState?
        var dedup = DedupIndex()
        let store = try openReadOnly(directory: directory, configuration: configuration, state: &loaded, dedup: &dedup)
        var state = loaded ?? ProjectionState()
        try replay(store: store, into: &state, dedup: &dedup, configuration: configuration)
        return state
    }

    /// Opens the store read-only and loads its newest checkpoint into `state` and `dedup` (`state` stays
    /// `nil` without one). A server running meanwhile may append and then checkpoint past the end this
    /// open saw: then the store is opened again, and only a checkpoint still beyond the log is the error it
    /// means (log data missing).
    private static func openReadOnly(
        directory: String, configuration: EngineConfiguration,
        state: inout ProjectionState?, dedup: inout DedupIndex
    ) throws -> SegmentStore {
        var attempts = 0
        while true {
            let store = try SegmentStore(
                directory: directory,
                configuration: try replayedStoreConfiguration(configuration.store, directory: directory),
                readOnly: true)
            let checkpoints = CheckpointStore(
                storeDirectory: directory, fileSystem: store.fileSystem, log: configuration.store.log)
            let loaded: CheckpointCodec.Decoded?
            do {
                loaded = try checkpoints.loadNewest(
                    logEnd: store.nextOffset, logSalt: { store.salt(ofSegmentHolding: $0) })
            } catch {
                guard error.code == .corrupt, attempts < 2 else { throw error }
                attempts += 1
                try? store.close()
                continue
            }
            if let loaded {
                state = loaded.state
                dedup = loaded.dedup
            }
            return store
        }
    }
}

extension ProjectionState {
    /// The first difference between two states, naming the tenant and the field, or `nil` when equal.
    public func firstDifference(from other: ProjectionState) -> String? {
        if nextOffset != other.nextOffset {
            return "they cover different offsets (\(nextOffset) and \(other.nextOffset))"
        }
        for tenant in Set(tenants.keys).union(Set(other.tenants.keys)).sorted() {
            guard let mine = tenants[tenant] else { return "tenant \(tenant) exists only in the second state" }
            guard let theirs = other.tenants[tenant] else { return "tenant \(tenant) exists only in the first state" }
            guard mine != theirs else { continue }
            let left = Mirror(reflecting: mine).children
            let right = Array(Mirror(reflecting: theirs).children)
            for (index, child) in left.enumerated() where index < right.count {
                let a = ProjectionState.describe(child.value)
                let b = ProjectionState.describe(right[index].value)
                if a != b {
                    let shorten = { (text: String) in text.count > 120 ? String(text.prefix(117)) + "..." : text }
                    return
                        "tenant \(tenant): \(child.label ?? "field \(index)") differs: \(shorten(a)) vs \(shorten(b))"
                }
            }
            return "tenant \(tenant) differs"
        }
        return nil
    }

    /// A field's value for a person: an optional's value itself (`none` when absent), not `Optional(...)`.
    static func describe(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return String(describing: value) }
        guard let wrapped = mirror.children.first?.value else { return "none" }
        return describe(wrapped)
    }
}
