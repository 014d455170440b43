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
        /// Whether this is a torn tail: an interrupted final write, never acknowledged, so nothing was lost.
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
                    "\(file) bytes \(bytes.lowerBound)-\(bytes.upperBound - 1): torn tail (\(bytes.count) bytes of an interrupted write that was never acknowledged: \(reason))"
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

        /// Whether acknowledged data was lost (damage that held records; not a torn tail).
        public var lostData: Bool { losses.contains { $0.losesRecords } }
    }

    let source: String
    let destination: String
    let fileSystem: any FileSystem
    /// Records before this original offset are known to have been acknowledged (a checkpoint of the damaged
    /// store covers them): a damaged or missing end before it is a loss, never a torn tail.
    let acknowledgedOffset: UInt64

    /// A salvager from the store at `source` into a new store at `destination`.
    /// - Parameters:
    ///   - source: The damaged store (only read).
    ///   - destination: Where the new store goes: a directory that does not exist or is empty.
    ///   - fileSystem: The file system of both.
    ///   - acknowledgedOffset: The number of records the damaged store's newest checkpoint covers (0 when
    ///     unknown).
    public init(
        from source: String, to destination: String, fileSystem: any FileSystem = PosixFileSystem(),
        acknowledgedOffset: UInt64 = 0
    ) {
        self.source = source
        self.destination = destination
        self.acknowledgedOffset = acknowledgedOffset
        self.fileSystem = fileSystem
    }

    /// Copies every valid frame.
    ///
    /// The new store is built in a sibling directory (`<destination>.partial-<random>`), synced, and only
    /// then renamed to `destination`: a salvage that fails or is killed never leaves a store there that
    /// looks whole but lacks records. A failed salvage removes its partial directory; one that was killed
    /// leaves it under that name, plainly unfinished.
    /// - Parameters:
    ///   - progress: Called after each segment with its file name.
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
        do throws(StorageError) {
            let report = try copyAll(into: staging, progress: progress)
            try beforePublishing(staging)
            try fileSystem.syncDirectory(staging)
            // Renaming onto an empty directory replaces it; onto one that filled meanwhile fails.
            try fileSystem.rename(staging, to: target)
            try fileSystem.syncDirectory(Self.parent(of: target))
            return report
        } catch {
            removeTree(staging)
            throw error
        }
    }

    /// Copies every segment's valid frames into a new store at `directory`, closed (and so synced) on return.
    private func copyAll(into directory: String, progress: (String) -> Void) throws(StorageError) -> Report {
        let segments = source + "/segments"
        // Synced once at the end (close syncs the last segment; each sealed one was synced at its seal).
        var configuration = StoreConfiguration(durability: .never)
        configuration.log = { _ in }
        let output = try SegmentStore(directory: directory, configuration: configuration, fileSystem: fileSystem)
        var report = Report()
        var walk = Walk()
        do throws(StorageError) {
            let names = try fileSystem.contentsOfDirectory(segments).sorted()
            // Only the log's last segment can end in an interrupted write.
            let lastSegment = names.last {
                SegmentFormat.firstOffset(fromFileName: $0) != nil && !fileSystem.isDirectory(segments + "/" + $0)
            }
            for name in names {
                let file = "segments/" + name
                // A directory named like a segment holds no frames: the segments around it are read as usual.
                if fileSystem.isDirectory(segments + "/" + name) { continue }
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
                // The name tells where the segment starts: offsets before it that no frame held are lost.
                walk.resume(at: firstOffset, &report, file: file, byte: 0)
                let bytes = try fileSystem.readFile(segments + "/" + name)
                report.segmentsRead += 1
                try copy(
                    bytes, file: file, firstOffset: firstOffset, isLast: name == lastSegment, into: output,
                    report: &report, walk: &walk)
                progress(name)
            }
            walk.finish(&report, acknowledged: acknowledgedOffset, lastFile: lastSegment.map { "segments/" + $0 })
            try output.close()
        } catch {
            try? output.close()
            throw error
        }
        return report
    }

    /// Where the walk through the original offsets stands.
    struct Walk {
        /// The original offset the next valid frame should start at.
        var expected: UInt64 = 0
        /// The index in `report.losses` of a loss whose end offset the next valid frame will tell.
        var open: Int?

        /// Notes that the next valid data starts at original offset `offset`.
        mutating func resume(at offset: UInt64, _ report: inout Report, file: String, byte: Int64) {
            if let open {
                report.losses[open].offsets = expected..<max(expected, offset)
                self.open = nil
            } else if offset > expected {
                report.losses.append(
                    Loss(
                        file: file, bytes: byte..<byte, offsets: expected..<offset,
                        reason: "offsets \(expected)-\(offset - 1) are missing (no segment or frame holds them)",
                        isTornTail: false))
            }
            expected = max(expected, offset)
        }

        mutating func lose(_ report: inout Report, _ loss: Loss) {
            if let open, report.losses[open].file == loss.file,
                report.losses[open].bytes.upperBound == loss.bytes.lowerBound
            {
                report.losses[open].bytes = report.losses[open].bytes.lowerBound..<loss.bytes.upperBound
                return
            }
            report.losses.append(loss)
            if open == nil { open = report.losses.count - 1 }
        }

        /// Damage with no valid frame after it loses an unknown number of records: at least those up to what a
        /// checkpoint covers (`acknowledged`) when it ends the last segment (`lastFile`). Otherwise a torn header
        /// of the last segment (no longer than a header) is a torn tail; damage to its frames was judged where
        /// it was met (see `interruptedWrite`). A log that ends before the checkpoint's records lost them too.
        mutating func finish(_ report: inout Report, acknowledged: UInt64, lastFile: String?) {
            guard let open else {
                if expected < acknowledged {
                    report.losses.append(
                        Loss(
                            file: "the end of the log", bytes: 0..<0, offsets: expected..<acknowledged,
                            reason:
                                "offsets \(expected)-\(acknowledged - 1) are missing: the log ends at \(expected) but a checkpoint covers \(acknowledged) events",
                            isTornTail: false))
                }
                return
            }
            let loss = report.losses[open]
            // Already judged against the frames after it (see `interruptedWrite`).
            if loss.isTornTail { return }
            guard open == report.losses.count - 1, loss.file == lastFile else { return }
            if expected < acknowledged {
                // The log's readable end is before what a checkpoint covers: those records were lost at least.
                report.losses[open].offsets = expected..<acknowledged
                report.losses[open].reason += "; a checkpoint covers \(acknowledged) events, so these were acknowledged"
            } else if loss.bytes.lowerBound == 0, loss.bytes.count <= Int64(SegmentFormat.headerSize) {
                report.losses[open].isTornTail = true
            }
        }
    }

    private func copy(
        _ bytes: [UInt8], file: String, firstOffset: UInt64, isLast: Bool, into output: SegmentStore,
        report: inout Report, walk: inout Walk
    ) throws(StorageError) {
        let size = Int64(bytes.count)
        // A damaged header need not cost the segment: if the salt it holds checks the frame after it, the salt
        // is sound (a wrong one matches a frame's CRC-32C about once in 2^32), and so are the frames. Then only
        // the header is listed; otherwise the whole file is, since none of its frames can be checked.
        func confirmedSalt(despite problem: String) -> UInt32? {
            guard let confirmed = Self.saltConfirmedByFrames(bytes) else {
                walk.lose(
                    &report,
                    Loss(
                        file: file, bytes: 0..<size, offsets: nil,
                        reason: "\(problem), so its frames cannot be checked",
                        isTornTail: false))
                return nil
            }
            walk.lose(
                &report,
                Loss(
                    file: file, bytes: 0..<Int64(SegmentFormat.headerSize), offsets: nil,
                    reason: "\(problem); its salt still checks its frames", isTornTail: false))
            return confirmed
        }
        let salt: UInt32
        let header: Result<SegmentFormat.Header, SegmentFormat.HeaderProblem>? =
            bytes.count >= SegmentFormat.headerSize
            ? bytes.withUnsafeBytes {
                SegmentFormat.decodeHeader(UnsafeRawBufferPointer(rebasing: $0[..<SegmentFormat.headerSize]))
            }
            : nil
        switch header {
        case .success(let decoded)? where decoded.firstOffset == firstOffset:
            salt = decoded.salt
        case .success(let decoded)?:
            guard
                let confirmed = confirmedSalt(
                    despite: "the header says offset \(decoded.firstOffset) but the name says \(firstOffset)")
            else { return }
            salt = confirmed
        case .failure(let problem)?:
            guard let confirmed = confirmedSalt(despite: "the segment header: \(problem.description)") else { return }
            salt = confirmed
        case nil:
            walk.lose(
                &report,
                Loss(
                    file: file, bytes: 0..<size, offsets: nil,
                    reason: "the segment header is truncated (\(size) bytes)", isTornTail: false))
            return
        }
        var position = SegmentFormat.headerSize
        var batches: [RecordBatch] = []
        bytes.withUnsafeBytes { raw in
            while position < bytes.count {
                guard let frame = Self.validFrame(raw, at: position, salt: salt) else {
                    // Each damaged region of the last segment is judged by the frames after it, as open judges
                    // the first (open refuses the whole log at any other).
                    if isLast, let torn = interruptedWrite(raw, at: position, salt: salt, walk: walk) {
                        // Open truncates it, whole frames of the same write included: none was acknowledged.
                        walk.lose(
                            &report,
                            Loss(
                                file: file, bytes: Int64(position)..<size, offsets: nil, reason: torn,
                                isTornTail: true))
                        break
                    }
                    let next = Self.nextValidFrame(raw, after: position, salt: salt)
                    walk.lose(
                        &report,
                        Loss(
                            file: file, bytes: Int64(position)..<Int64(next ?? bytes.count), offsets: nil,
                            reason: Self.problem(raw, at: position, salt: salt), isTornTail: false))
                    guard let next else { break }
                    position = next
                    continue
                }
                let payload = UnsafeRawBufferPointer(
                    rebasing: raw[(position + SegmentFormat.frameHeaderSize)..<(position + frame.frameSize)])
                if frame.kind == .data {
                    let (end, overflows) = frame.firstOffset.addingReportingOverflow(UInt64(frame.count))
                    if overflows {
                        // No log reaches such offsets: the frame's header checks out but was not written by Tally.
                        report.losses.append(
                            Loss(
                                file: file, bytes: Int64(position)..<Int64(position + frame.frameSize),
                                offsets: frame.firstOffset..<UInt64.max,
                                reason: "a valid frame whose offsets run past the largest offset, skipped",
                                isTornTail: false))
                    } else if frame.firstOffset < walk.expected {
                        // Offsets already copied (or passed): keeping them would break the order of the log.
                        let range = frame.firstOffset..<end
                        report.losses.append(
                            Loss(
                                file: file, bytes: Int64(position)..<Int64(position + frame.frameSize), offsets: range,
                                reason: "a valid frame repeating or going back to earlier offsets, skipped",
                                isTornTail: false))
                    } else {
                        walk.resume(at: frame.firstOffset, &report, file: file, byte: Int64(position))
                        var batch = RecordBatch(reservingCapacity: payload.count)
                        RecordFraming.forEachRecord(in: payload) { _, record in
                            batch.append(record)
                            return true
                        }
                        batches.append(batch)
                        walk.expected = end
                        report.framesCopied += 1
                        report.recordsCopied += UInt64(frame.count)
                    }
                } else if walk.open != nil, frame.firstOffset >= walk.expected,
                    frame.firstOffset <= SegmentFormat.offsetLimit
                {
                    // A seal says where its segment's offsets end: damage before it lost the offsets up to there
                    // (and its frames were synced before it was written, so that damage is no torn tail).
                    walk.resume(at: frame.firstOffset, &report, file: file, byte: Int64(position))
                }
                position += frame.frameSize
            }
        }
        for batch in batches { try output.append(batch) }
    }

    /// Why the damage at `position` of the log's last segment is an interrupted write that open would
    /// truncate (see ``DamagedTail``), or `nil` when it is not one, or when a checkpoint covers the offsets it
    /// should hold (they were acknowledged).
    private func interruptedWrite(_ bytes: UnsafeRawBufferPointer, at position: Int, salt: UInt32, walk: Walk)
        -> String?
    {
        guard walk.expected >= acknowledgedOffset else { return nil }
        let tail = DamagedTail(
            scanning: UnsafeRawBufferPointer(rebasing: bytes[position...]), from: Int64(position),
            expectedOffset: walk.expected, salt: salt)
        guard tail.isInterruptedWrite else { return nil }
        guard let whole = tail.firstValidFrame else { return Self.problem(bytes, at: position, salt: salt) }
        return
            "an interrupted group write: whole frames of the same unsynced write follow the torn one from byte \(whole), and are not copied, as open drops them too"
    }

    /// The salt a damaged header still holds, when the frame right after the header checks out with it.
    static func saltConfirmedByFrames(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count >= SegmentFormat.headerSize + SegmentFormat.frameHeaderSize else { return nil }
        return bytes.withUnsafeBytes { raw -> UInt32? in
            let salt = raw.loadUnaligned(fromByteOffset: SegmentFormat.saltByteOffset, as: UInt32.self).littleEndian
            return validFrame(raw, at: SegmentFormat.headerSize, salt: salt) != nil ? salt : nil
        }
    }

    /// The frame at `position` if its header, checksum and record framing all hold.
    static func validFrame(_ bytes: UnsafeRawBufferPointer, at position: Int, salt: UInt32) -> SegmentFormat
        .FrameHeader?
    {
        guard let header = SegmentFormat.checkedFrame(in: bytes, at: position, salt: salt) else { return nil }
        if header.kind == .data {
            let payload = UnsafeRawBufferPointer(
                rebasing: bytes[(position + SegmentFormat.frameHeaderSize)..<(position + header.frameSize)])
            guard header.count > 0, RecordFraming.countRecords(in: payload) == Int(header.count) else { return nil }
        }
        return header
    }

    /// The start of the next valid frame after `position`, if any.
    static func nextValidFrame(_ bytes: UnsafeRawBufferPointer, after position: Int, salt: UInt32) -> Int? {
        var candidate = position + 1
        while candidate + SegmentFormat.frameHeaderSize <= bytes.count {
            if validFrame(bytes, at: candidate, salt: salt) != nil { return candidate }
            candidate += 1
        }
        return nil
    }

    /// Why the frame at `position` is not valid.
    static func problem(_ bytes: UnsafeRawBufferPointer, at position: Int, salt: UInt32) -> String {
        guard bytes.count - position >= SegmentFormat.frameHeaderSize else {
            return "a truncated frame header (\(bytes.count - position) bytes)"
        }
        let header = SegmentFormat.decodeFrameHeader(UnsafeRawBufferPointer(rebasing: bytes[position...]))
        guard header.kind != nil else { return "an unknown frame kind \(header.rawKind)" }
        guard header.payloadLength <= SegmentFormat.maxFramePayload else { return "a frame length beyond the cap" }
        guard header.frameSize <= bytes.count - position else {
            return "a truncated frame (\(header.frameSize) bytes declared, \(bytes.count - position) left)"
        }
        let frame = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + header.frameSize)])
        guard SegmentFormat.frameChecksum(frame, salt: salt) == header.checksum else { return "a checksum mismatch" }
        return "a frame whose records are malformed"
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
