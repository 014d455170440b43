import Glibc

/// Copies every valid frame of a damaged store into a new store, and reports exactly what it could not copy.
///
/// The damaged store is only read (no lock, no truncation, no recovery). Each segment is walked frame by
/// frame; at a damaged frame the salvager searches forward, byte by byte, for the next frame whose checksum
/// holds, and goes on from there. Records are copied verbatim, in their original order, into a fresh store
/// where they get new, dense offsets. Checkpoints are not copied: the new store's projections are rebuilt
/// from its log on first open.
public struct StoreSalvager {
    /// A region of the damaged store that could not be copied.
    public struct Loss: Sendable, Equatable, CustomStringConvertible {
        /// The file, relative to the store (such as `segments/00000000000000000000.seg`).
        public var file: String
        /// The bytes of the file that were skipped.
        public var bytes: Range<Int64>
        /// The original offsets lost with them, when the frames around the damage tell; `nil` when the
        /// damage runs to the end of the log, so the number of records it held is unknown.
        public var offsets: Range<UInt64>?
        /// What was wrong.
        public var reason: String
        /// Whether this is a torn tail: an interrupted final write, not a loss of anything acknowledged under
        /// durability `always` (under `interval` or `never`, batches answered since the last sync may have
        /// been in it).
        public var isTornTail: Bool

        /// Whether records were lost with it: not for a torn tail, nor for damage that held none (a damaged
        /// seal, say, between frames whose offsets follow on).
        public var losesRecords: Bool { !isTornTail && offsets?.isEmpty != true }

        public var description: String {
            let lost =
                offsets.map {
                    $0.isEmpty ? "no records" : "offsets \($0.lowerBound)-\($0.upperBound - 1) (\($0.count) records)"
                }
                ?? "an unknown number of records at the end of the log"
            if bytes.isEmpty { return "before \(file): \(reason)" }
            if isTornTail {
                return
                    "\(file) bytes \(bytes.lowerBound)-\(bytes.upperBound - 1): torn tail (\(bytes.count) bytes taken for an interrupted write: \(reason); under durability `always` it held no acknowledged batch, under `interval` or `never` batches answered since the last sync may have been in it)"
            }
            return "\(file) bytes \(bytes.lowerBound)-\(bytes.upperBound - 1): \(reason); lost \(lost)"
        }
    }

    /// What a salvage did.
    public struct Report: Sendable {
        /// Segment files read.
        public var segmentsRead = 0
        /// Valid data frames copied.
        public var framesCopied = 0
        /// Records copied (they hold offsets `0..<recordsCopied` in the new store).
        public var recordsCopied: UInt64 = 0
        /// Everything that could not be copied, in store order.
        public var losses: [Loss] = []
        /// Directories under `segments/` named like segments: they hold no frames, so the segments around
        /// them are read as usual, but every open refuses a store that has one.
        public var directoriesSkipped: [String] = []

        /// Whether records were lost (damage that held records; not a torn tail, which holds nothing
        /// acknowledged under durability `always`).
        public var lostData: Bool { losses.contains { $0.losesRecords } }
    }

    let source: String
    let destination: String
    let fileSystem: any FileSystem
    /// Records before this original offset are known to have been acknowledged (a checkpoint of the damaged
    /// store covers them): a damaged or missing end before it is a loss, never a torn tail.
    let acknowledgedOffset: UInt64
    /// The most record bytes a frame of the new store gathers from the old one's frames (a larger frame is
    /// copied whole): each is synced before the next is written.
    let frameBytes: Int

    /// A salvager from the store at `source` into a new store at `destination`.
    /// - Parameters:
    ///   - source: The damaged store (only read).
    ///   - destination: Where the new store goes: a directory that does not exist or is empty.
    ///   - fileSystem: The file system of both.
    ///   - acknowledgedOffset: The number of records the damaged store's newest checkpoint covers (0 when
    ///     unknown).
    ///   - frameBytes: The most record bytes a frame of the new store gathers from the old one's frames: each
    ///     frame is synced before the next is written, so 4 MiB frames cost a sync per 4 MiB copied.
    public init(
        from source: String, to destination: String, fileSystem: any FileSystem = PosixFileSystem(),
        acknowledgedOffset: UInt64 = 0, frameBytes: Int = 4 << 20
    ) {
        self.source = source
        self.destination = destination
        self.acknowledgedOffset = acknowledgedOffset
        self.frameBytes = max(1, frameBytes)
        self.fileSystem = fileSystem
    }

    /// Copies every valid frame.
    ///
    /// The new store is built in a sibling directory (`<destination>.partial-<random>`), synced, and only
    /// then renamed to `destination`: a salvage that fails or is killed never leaves a store there that
    /// looks whole but lacks records. A failed salvage removes its partial directory; one that was killed
    /// leaves it under that name, plainly unfinished.
    /// - Parameters:
    ///   - progress: Called with each segment's file name before it is read.
    ///   - beforePublishing: Called with the partial directory once the log is written and synced, before
    ///     it is renamed: where to add files the new store should hold from the start.
    /// - Throws: ``StorageError``: `invalidArgument` when the source has no segments directory, the
    ///   destination is the source or is not empty; otherwise any error writing the new store (nothing is
    ///   then left at `destination`).
    public func salvage(
        progress: (String) -> Void = { _ in },
        beforePublishing: (String) throws(StorageError) -> Void = { _ in }
    ) throws(StorageError) -> Report {
        let segments = source + "/segments"
        guard fileSystem.exists(segments) else {
            throw StorageError(.invalidArgument, "no store at \(source): it has no segments/ directory", path: source)
        }
        guard Self.normalized(source) != Self.normalized(destination) else {
            throw StorageError(
                .invalidArgument, "--out must be a new directory, not the damaged store itself", path: destination)
        }
        if fileSystem.exists(destination), !(try fileSystem.contentsOfDirectory(destination)).isEmpty {
            throw StorageError(
                .invalidArgument,
                "\(destination) is not empty; salvage writes a new store into a new or empty directory",
                path: destination)
        }
        let target = Self.normalized(destination)
        let staging = target + ".partial-\(UInt32.random(in: 0...UInt32.max))"
        let report: Report
        do throws(StorageError) {
            report = try copyAll(into: staging, progress: progress)
            try beforePublishing(staging)
            try fileSystem.syncDirectory(staging)
            // Renaming onto an empty directory replaces it; onto one that filled meanwhile fails, and so does
            // one onto a mount point (a bind mount the command's own check cannot tell from its parent).
            do throws(StorageError) {
                try fileSystem.rename(staging, to: target)
            } catch  where error.errno == EBUSY || error.errno == EXDEV {
                throw StorageError(
                    error.code,
                    "cannot move the new store onto \(target) (\(error.message)): it is a mount point, or on another file system than its parent; give a new directory inside it",
                    path: target, errno: error.errno)
            }
        } catch {
            removeTree(staging)
            var failure = error
            failure.message += "; nothing was left at \(target), and the store being copied was only read"
            throw failure
        }
        // The new store is in place: a failure now is of its name's durability alone.
        do throws(StorageError) {
            try fileSystem.syncDirectory(Self.parent(of: target))
        } catch {
            var failure = error
            failure.message =
                "the new store is complete at \(target), but its parent directory could not be synced (\(error.message)): a power loss now could undo the rename; run `sync` before relying on it"
            throw failure
        }
        return report
    }

    /// Runs `body`, a write of the copy, naming what failed in the salvage's terms: after a failed append the
    /// cause is `output`'s own failure, since the store it says refuses appends is the copy, which is
    /// removed, not one to reopen.
    static func writingTheCopy<T>(
        of output: SegmentStore? = nil, _ body: () throws(StorageError) -> T
    ) throws(StorageError) -> T {
        do {
            return try body()
        } catch {
            var failure = error
            failure.message = "writing the copy failed: \(output?.failure?.message ?? error.message)"
            throw failure
        }
    }

    /// Copies every segment's valid frames into a new store at `directory`, closed (and so synced) on return.
    private func copyAll(into directory: String, progress: (String) -> Void) throws(StorageError) -> Report {
        let segments = source + "/segments"
        // Each frame is synced before the next is written, as the records were acknowledged: frames left
        // unsynced would each record the whole copy as one unsynced write, and damage among them later would
        // read as an interrupted write that open truncates, the acknowledged records after it with it.
        var configuration = StoreConfiguration(durability: .always)
        configuration.log = { _ in }
        let output = try Self.writingTheCopy { () throws(StorageError) in
            try SegmentStore(directory: directory, configuration: configuration, fileSystem: fileSystem)
        }
        var report = Report()
        var walk = Walk()
        do throws(StorageError) {
            let names = try fileSystem.contentsOfDirectory(segments).sorted()
            // Refused before anything is copied: what it held may come back with its target.
            if let link = names.first(where: {
                SegmentFormat.firstOffset(fromFileName: $0) != nil && fileSystem.isDanglingLink(segments + "/" + $0)
            }) {
                throw StorageError.danglingLink("segments/\(link)", path: segments + "/" + link)
            }
            // Only the log's last segment can end in an interrupted write.
            let lastSegment = names.last {
                SegmentFormat.firstOffset(fromFileName: $0) != nil && !fileSystem.isDirectory(segments + "/" + $0)
            }
            for name in names {
                let file = "segments/" + name
                // A directory named like a segment holds no frames: the segments around it are read as usual.
                if fileSystem.isDirectory(segments + "/" + name) {
                    if SegmentFormat.firstOffset(fromFileName: name) != nil { report.directoriesSkipped.append(file) }
                    continue
                }
                guard let firstOffset = SegmentFormat.firstOffset(fromFileName: name) else {
                    if name.hasSuffix(".seg") {
                        let size = Int64((try? fileSystem.readFile(segments + "/" + name).count) ?? 0)
                        walk.lose(
                            &report,
                            Loss(
                                file: file, bytes: 0..<size, offsets: nil,
                                reason: "not a valid segment name (want 20 digits and .seg)", isTornTail: false))
                    }
                    continue
                }
                progress(name)
                let bytes = try fileSystem.readFile(segments + "/" + name)
                // Where the segment starts: offsets before it that no frame held are lost. When its name and a
                // sound header disagree (a renamed file, a header rewritten), the lower is taken, and the
                // frames' own offsets, which their checksums vouch for, settle what each held: trusting the
                // higher would skip the first frames as going back.
                walk.resume(at: min(firstOffset, Self.headerOffset(bytes) ?? firstOffset), &report, file: file, byte: 0)
                report.segmentsRead += 1
                try copy(
                    bytes, file: file, firstOffset: firstOffset, isLast: name == lastSegment, into: output,
                    report: &report, walk: &walk)
            }
            walk.finish(&report, acknowledged: acknowledgedOffset, lastFile: lastSegment.map { "segments/" + $0 })
            // Sealed: no checkpoint comes with the copy, so damage to its last frame would otherwise read as
            // an interrupted write that the first open truncates, every record in that frame with it.
            try Self.writingTheCopy(of: output) { () throws(StorageError) in try output.close(sealing: true) }
        } catch {
            try? output.close()
            throw error
        }
        return report
    }

    /// The first offset a segment's header gives, when the header is whole and its checksum holds.
    static func headerOffset(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= SegmentFormat.headerSize else { return nil }
        let header = bytes.withUnsafeBytes {
            SegmentFormat.decodeHeader(UnsafeRawBufferPointer(rebasing: $0[..<SegmentFormat.headerSize]))
        }
        guard case .success(let decoded) = header else { return nil }
        return decoded.firstOffset
    }

    /// The directory holding `path` (normalized, so without a trailing slash).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Removes a directory this salvage made, with everything in it; best effort, as it runs on a failure
    /// already being reported.
    private func removeTree(_ path: String) {
        guard fileSystem.isDirectory(path) else { return }
        for name in (try? fileSystem.contentsOfDirectory(path)) ?? [] {
            let child = path + "/" + name
            if fileSystem.isDirectory(child) { removeTree(child) } else { try? fileSystem.remove(child) }
        }
        try? fileSystem.removeDirectory(path)
    }

    static func normalized(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }
}
