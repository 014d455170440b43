import Glibc
import TallyCore
import TallyStorage

/// Checkpoint files under `<store>/checkpoints/`: `<next offset, 20 digits>.ckpt`.
///
/// A checkpoint is written to a temporary file, fsynced, renamed into place, and the directory fsynced, so a
/// crash leaves either the old set of checkpoints or the new one (plus, at worst, a temporary file that the
/// next open removes).
struct CheckpointStore {
    let fileSystem: any FileSystem
    let directory: String
    let log: @Sendable (String) -> Void
    /// Bytes a checkpoint file may have written and not synced (``EngineConfiguration/checkpointSyncBytes``).
    /// A checkpoint of a large dedup window is gigabytes; left to one fsync at the end, that flush made every
    /// segment fsync in the meantime wait for it (200-500 ms ingest stalls, see the README), so the file is
    /// synced as it goes.
    let syncEveryBytes: Int

    init(
        storeDirectory: String, fileSystem: any FileSystem, log: @escaping @Sendable (String) -> Void,
        syncEveryBytes: Int = EngineConfiguration().checkpointSyncBytes
    ) {
        self.fileSystem = fileSystem
        self.directory = storeDirectory + "/checkpoints"
        self.log = log
        self.syncEveryBytes = max(1, syncEveryBytes)
    }

    static func fileName(_ offset: UInt64) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".ckpt"
    }

    /// Checkpoint offsets on disk, newest first.
    func offsets() throws(StorageError) -> [UInt64] {
        guard fileSystem.exists(directory) else { return [] }
        return try fileSystem.contentsOfDirectory(directory).compactMap { name -> UInt64? in
            guard name.hasSuffix(".ckpt"), name.utf8.count == 25 else { return nil }
            return UInt64(name.prefix(20))
        }.sorted(by: >)
    }

    /// Writes a checkpoint durably and keeps only the newest `keep`.
    /// - Parameters:
    ///   - dedupWindowMicroseconds: The backdate limit the dedup index was kept for.
    ///   - logSalt: The salt of the segment holding the last event covered.
    func write(
        _ state: ProjectionState, dedup: DedupIndex, dedupWindowMicroseconds: Int64, logSalt: UInt32,
        keep: Int
    ) throws(StorageError) {
        let bytes = CheckpointCodec.encode(
            state, dedup: dedup, dedupWindowMicroseconds: dedupWindowMicroseconds, logSalt: logSalt)
        let file = try begin(offset: state.nextOffset)
        do throws(StorageError) {
            // In slices, so the file is synced as it is written (see ``syncEveryBytes``).
            try bytes.withUnsafeBytes { buffer -> Result<Void, StorageError> in
                var position = CheckpointCodec.headerSize
                while position < buffer.count {
                    let end = min(buffer.count, position + syncEveryBytes)
                    do throws(StorageError) {
                        try file.write(UnsafeRawBufferPointer(rebasing: buffer[position..<end]), at: position)
                    } catch { return .failure(error) }
                    position = end
                }
                return .success(())
            }.get()
        } catch {
            file.abandon()
            throw error
        }
        try file.commit(header: Array(bytes.prefix(CheckpointCodec.headerSize)), keep: keep)
    }

    /// Creates the temporary file of a checkpoint covering the log up to `offset`, to be written part by part
    /// and then committed (or abandoned).
    func begin(offset: UInt64) throws(StorageError) -> PartialFile {
        try fileSystem.createDirectory(directory)
        let final = directory + "/" + CheckpointStore.fileName(offset)
        let temporary = final + ".partial"
        if fileSystem.exists(temporary) { try fileSystem.remove(temporary) }
        return PartialFile(
            store: self, offset: offset, final: final, temporary: temporary,
            file: try fileSystem.open(temporary, mode: .createNew))
    }

    /// A checkpoint being written to its temporary file; only ``commit(header:keep:replacing:)`` makes it visible.
    final class PartialFile {
        let store: CheckpointStore
        /// The offset the checkpoint covers up to.
        let offset: UInt64
        let final: String
        let temporary: String
        let file: FileHandle
        /// Bytes written since the file was last synced.
        private var unsyncedBytes = 0
        /// Whether ``commit(header:keep:replacing:)`` or ``abandon()`` has run: the file is closed, and a second call
        /// does nothing.
        private var finished = false

        init(store: CheckpointStore, offset: UInt64, final: String, temporary: String, file: FileHandle) {
            self.store = store
            self.offset = offset
            self.final = final
            self.temporary = temporary
            self.file = file
        }

        /// Writes part of the checkpoint at byte `position` of the file, and syncs the file's data whenever
        /// ``CheckpointStore/syncEveryBytes`` have been written since the last sync, so the dirty pages never
        /// pile up for one long flush.
        func write(_ bytes: UnsafeRawBufferPointer, at position: Int) throws(StorageError) {
            guard !finished else { throw StorageError(.closed, "the checkpoint file \(temporary) was already closed") }
            try store.fileSystem.writeAll(file, bytes, at: Int64(position))
            unsyncedBytes += bytes.count
            if unsyncedBytes >= store.syncEveryBytes {
                try store.fileSystem.sync(file, dataOnly: true)
                unsyncedBytes = 0
            }
        }

        /// Writes the header in front of the payload, syncs the file, renames it into place, syncs the
        /// directory, and keeps only the newest `keep` checkpoints. Always closes the file: on failure before
        /// the rename the temporary file is removed too; an ``abandon()`` after it does nothing.
        ///
        /// - Parameter replacing: Checkpoints found damaged when the store was opened: those older than this
        ///   one are removed once it is in place, before the newest `keep` are counted, so a damaged file is
        ///   never kept in place of a sound older one.
        func commit(header: [UInt8], keep: Int, replacing damaged: [Damaged] = []) throws(StorageError) {
            guard !finished else { throw StorageError(.closed, "the checkpoint file \(temporary) was already closed") }
            let fileSystem = store.fileSystem
            do throws(StorageError) {
                try header.withUnsafeBytes { buffer -> Result<Void, StorageError> in
                    do throws(StorageError) { try fileSystem.writeAll(file, buffer, at: 0) } catch {
                        return .failure(error)
                    }
                    return .success(())
                }.get()
                try fileSystem.sync(file, dataOnly: false)
            } catch {
                abandon()
                throw error
            }
            fileSystem.close(file)
            finished = true
            do throws(StorageError) {
                try fileSystem.rename(temporary, to: final)
            } catch {
                try? fileSystem.remove(temporary)
                throw error
            }
            try fileSystem.syncDirectory(store.directory)
            for damaged in damaged where damaged.offset == offset {
                store.log(CheckpointStore.replacedMessage(CheckpointStore.fileName(offset), problem: damaged.problem))
            }
            for damaged in damaged where damaged.offset < offset {
                guard (try? fileSystem.remove(store.directory + "/" + CheckpointStore.fileName(damaged.offset))) != nil
                else { continue }
                store.log(
                    "checkpoints/\(CheckpointStore.fileName(damaged.offset)): removed (\(damaged.problem)); the fresh checkpoint replaces it"
                )
            }
            // Pruning is housekeeping: a listing that fails leaves the old ones for the next checkpoint.
            for old in ((try? store.offsets()) ?? []).dropFirst(max(1, keep)) {
                try? fileSystem.remove(store.directory + "/" + CheckpointStore.fileName(old))
            }
        }

        /// Closes and removes the temporary file; does nothing once the file is closed (committed, or
        /// abandoned before).
        func abandon() {
            guard !finished else { return }
            finished = true
            store.fileSystem.close(file)
            try? store.fileSystem.remove(temporary)
        }
    }

    /// The size of the newest checkpoint file, in bytes, or `nil` when there is none (or it cannot be read).
    func newestSize() -> Int64? {
        guard let newest = try? offsets().max() else { return nil }
        guard let file = try? fileSystem.open(directory + "/" + Self.fileName(newest), mode: .readOnly) else {
            return nil
        }
        defer { fileSystem.close(file) }
        return try? fileSystem.size(file)
    }

    /// Removes temporary files left by a crash during a checkpoint.
    func removeLeftovers() {
        guard fileSystem.exists(directory), let names = try? fileSystem.contentsOfDirectory(directory) else { return }
        for name in names where name.hasSuffix(".partial") {
            try? fileSystem.remove(directory + "/" + name)
            log("checkpoints/\(name): removed an unfinished checkpoint")
        }
    }

    /// What is wrong with the checkpoint covering `offset`, judged by its checksums and the offset its header
    /// names (nothing decoded), or `nil` when it is sound, missing, or cannot be read.
    func integrityProblem(_ offset: UInt64) -> String? {
        guard let bytes = try? fileSystem.readFile(directory + "/" + CheckpointStore.fileName(offset)) else {
            return nil
        }
        return bytes.withUnsafeBytes { buffer in
            switch CheckpointCodec.integrity(buffer) {
            case .failure(let problem): problem.description
            case .success(let header) where header.nextOffset != offset:
                "its contents cover offset \(header.nextOffset), not its name's"
            case .success: nil
            }
        }
    }

    /// The line saying a damaged checkpoint named `name` was replaced by a fresh one of the same name.
    static func replacedMessage(_ name: String, problem: String?) -> String {
        "checkpoints/\(name): replaced (\(problem ?? "damaged")) by the fresh checkpoint of the same name"
    }

    /// A checkpoint an open passed over as damaged (not merely unreadable): the next checkpoint written
    /// replaces it (see ``PartialFile/commit(header:keep:replacing:)``).
    struct Damaged: Sendable, Equatable {
        /// The offset its name gives.
        let offset: UInt64
        /// What is wrong with it.
        let problem: String
    }

    /// The newest checkpoint that passes its checks, or `nil` (then everything is replayed).
    /// - Parameters:
    ///   - logEnd: The number of records in the log.
    ///   - logSalt: The salt of the log's segment holding an offset (`nil` when it cannot be told): a
    ///     checkpoint whose recorded salt differs was taken of another log (a file copied between stores)
    ///     and is ignored.
    /// - Throws: ``StorageError/Code/corrupt`` when a valid checkpoint claims more events than the log holds.
    func loadNewest(logEnd: UInt64, logSalt: (UInt64) -> UInt32?) throws(StorageError) -> CheckpointCodec.Decoded? {
        var damaged: [Damaged] = []
        return try loadNewest(logEnd: logEnd, logSalt: logSalt, damaged: &damaged)
    }

    /// The newest checkpoint that passes its checks, or `nil`; `damaged` receives each newer one passed
    /// over because its bytes are wrong (not one that could not be read: permissions, I/O).
    func loadNewest(
        logEnd: UInt64, logSalt: (UInt64) -> UInt32?, damaged: inout [Damaged]
    ) throws(StorageError) -> CheckpointCodec.Decoded? {
        for offset in try offsets() {
            let path = directory + "/" + CheckpointStore.fileName(offset)
            let bytes: [UInt8]
            do {
                bytes = try fileSystem.readFile(path)
            } catch {
                let name = "checkpoints/\(CheckpointStore.fileName(offset))"
                let reason =
                    fileSystem.isDanglingLink(path)
                    ? StorageError.danglingLink(name, path: path).message : "\(name): unreadable (\(error.message))"
                log("\(reason); trying an older one")
                continue
            }
            let decoded: CheckpointCodec.Decoded
            do throws(CheckpointCodec.Problem) {
                decoded = try CheckpointCodec.decode(bytes)
            } catch {
                log(
                    "checkpoints/\(CheckpointStore.fileName(offset)): \(error.description); ignored, using an older checkpoint or a full replay"
                )
                damaged.append(Damaged(offset: offset, problem: error.description))
                continue
            }
            guard decoded.state.nextOffset == offset else {
                log(
                    "checkpoints/\(CheckpointStore.fileName(offset)): its contents cover offset \(decoded.state.nextOffset), not its name; ignored"
                )
                damaged.append(
                    Damaged(
                        offset: offset, problem: "its contents cover offset \(decoded.state.nextOffset), not its name"))
                continue
            }
            guard offset <= logEnd else {
                throw StorageError(
                    .corrupt,
                    "checkpoints/\(CheckpointStore.fileName(offset)) covers \(offset) events but the log holds only \(logEnd): log data is missing; run `tally verify`",
                    path: path)
            }
            if let problem = CheckpointStore.foreignLog(offset: offset, recorded: decoded.logSalt, logSalt: logSalt) {
                log(
                    "checkpoints/\(CheckpointStore.fileName(offset)): \(problem); ignored, using an older checkpoint or a full replay"
                )
                damaged.append(Damaged(offset: offset, problem: problem))
                continue
            }
            return decoded
        }
        return nil
    }

    /// The header of the newest checkpoint whose header passes its checks and matches its name (the payload
    /// is not read; an earlier version's header counts, see ``CheckpointCodec/vouchedHeader(_:)``), or `nil`
    /// when there is none.
    func newestHeader() -> CheckpointCodec.Header? {
        guard let offsets = try? offsets() else { return nil }
        return newestHeader(among: offsets)
    }

    /// ``newestHeader()`` among checkpoints already listed (newest first), so a caller that listed them reads
    /// the directory once, and both readings are of one listing.
    func newestHeader(among offsets: [UInt64]) -> CheckpointCodec.Header? {
        for offset in offsets {
            let path = directory + "/" + CheckpointStore.fileName(offset)
            guard let file = try? fileSystem.open(path, mode: .readOnly) else { continue }
            defer { fileSystem.close(file) }
            var bytes = [UInt8](repeating: 0, count: CheckpointCodec.headerSize)
            let read = bytes.withUnsafeMutableBytes { buffer in
                (try? fileSystem.readFully(file, into: buffer, at: 0)) ?? 0
            }
            guard read == bytes.count else { continue }
            let header = bytes.withUnsafeBytes { CheckpointCodec.vouchedHeader($0) }
            if let header, header.nextOffset == offset { return header }
        }
        return nil
    }

    /// What one checkpoint file holds, or why it cannot be used.
    struct Check: Sendable {
        /// The file's name under `checkpoints/`.
        var name: String
        /// The offset it covers and its dedup window, when it passes every check.
        var covered: (offset: UInt64, dedupWindowMicroseconds: Int64, tenants: Int, rememberedIds: Int)?
        /// Why it cannot be used, when it cannot.
        var problem: String?
        /// Whether the problem is only another projection version (not damage).
        var isOutdated = false
        /// Whether that other version is a later one (after a downgrade).
        var isNewer = false
        /// Whether it covers more events than the log holds (log data is missing: opens refuse the store).
        var isBeyondLog = false
        /// Whether it was removed while being checked (a newer checkpoint superseded it): not damage.
        var isSuperseded = false
        /// Whether it could not be read at all (permissions, I/O): not known to be damaged.
        var isUnreadable = false
    }

    /// Why a checkpoint covering `offset` events with `recorded` as its log salt was taken of another log
    /// than this one, or `nil` when it matches (or the log's salt cannot be told).
    static func foreignLog(offset: UInt64, recorded: UInt32, logSalt: (UInt64) -> UInt32?) -> String? {
        guard offset > 0, let actual = logSalt(offset - 1), actual != recorded else { return nil }
        return
            "taken of another log: the segment holding offset \(offset - 1) has salt \(actual), the checkpoint recorded \(recorded) (a file copied from another store?)"
    }

    /// Checks checkpoint files in full: readable, their checksums, their version, their contents matching
    /// their names, the log holding every event they cover, and the log being the one they were taken of.
    /// - Parameters:
    ///   - offsets: The checkpoints to check (from ``offsets()``, listed before the log was measured, so a
    ///     checkpoint a running server commits meanwhile is not judged against a log measured before it).
    ///   - logEnd: The number of records in the log.
    ///   - logSalt: The salt of the log's segment holding an offset, or `nil` when it cannot be told.
    func check(_ offsets: [UInt64], logEnd: UInt64, logSalt: (UInt64) -> UInt32?) -> [Check] {
        offsets.map { offset in
            let name = CheckpointStore.fileName(offset)
            let bytes: [UInt8]
            do throws(StorageError) {
                bytes = try fileSystem.readFile(directory + "/" + name)
            } catch {
                // A running server keeps the newest two: one listed a moment ago may be gone by now.
                if error.errno == ENOENT {
                    let path = directory + "/" + name
                    guard fileSystem.isDanglingLink(path) else { return Check(name: name, isSuperseded: true) }
                    return Check(
                        name: name,
                        problem: "unreadable: \(StorageError.danglingLink("checkpoints/\(name)", path: path).message)",
                        isUnreadable: true)
                }
                return Check(name: name, problem: "unreadable: \(error.message)", isUnreadable: true)
            }
            let decoded: CheckpointCodec.Decoded
            do throws(CheckpointCodec.Problem) {
                decoded = try CheckpointCodec.decode(bytes)
            } catch {
                return Check(
                    name: name, problem: error.description, isOutdated: error.isOutdated, isNewer: error.isNewer)
            }
            guard decoded.state.nextOffset == offset else {
                return Check(
                    name: name, problem: "its contents cover offset \(decoded.state.nextOffset), not its name's")
            }
            guard offset <= logEnd else {
                return Check(
                    name: name, problem: "covers \(offset) events but the log holds only \(logEnd)",
                    isBeyondLog: true)
            }
            if let problem = CheckpointStore.foreignLog(offset: offset, recorded: decoded.logSalt, logSalt: logSalt) {
                return Check(name: name, problem: problem)
            }
            return Check(
                name: name,
                covered: (offset, decoded.dedupWindowMicroseconds, decoded.state.tenants.count, decoded.dedup.count))
        }
    }
}
