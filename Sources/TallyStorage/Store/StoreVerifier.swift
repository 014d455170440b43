import TallyCore

/// Checks every byte of every segment without changing anything, and reports all it finds: frames and
/// their checksums, and every record in them decoded as a replay decodes it.
///
/// Unlike opening a store, which stops at the first problem, verification carries on: it reports each
/// segment's state, every gap between segments, and where valid frames resume after damage.
public struct StoreVerifier: Sendable {
    /// What one segment looks like.
    public struct SegmentReport: Sendable, Equatable {
        /// The segment's file name, such as `00000000000000004096.seg`.
        public var fileName: String
        /// The offset of its first record, as its file name gives it.
        public var firstOffset: UInt64
        /// One past the last offset of its valid frames.
        public var nextOffset: UInt64
        /// Whether it ends with a valid seal frame (a full segment).
        public var sealed: Bool
        /// The file's length in bytes.
        public var sizeBytes: Int64
        /// The first damage, if any.
        public var damage: SegmentDamage?
        /// Where a valid frame was found again after the damage, if one was.
        public var resumesAtByte: Int64?
        /// Whether the damage is a torn tail that the next writer will truncate (not an error).
        public var isTornTail: Bool
        /// Records in valid frames that this build cannot decode (a replay would stop at the first), if any.
        public var undecodable: UndecodableRecords? = nil
        /// The salt in its header, when the header is sound (it ties checkpoints to this log).
        public var salt: UInt32? = nil
        /// The segment format version in its header, when the header is sound.
        public var formatVersion: UInt32? = nil
    }

    /// Records whose frames check out but which do not decode: written by a newer build (a record format
    /// this one does not know), or by a defect; a replay stops at the first.
    public struct UndecodableRecords: Sendable, Equatable {
        /// The first one's offset.
        public var firstOffset: UInt64
        /// Why the first one does not decode.
        public var reason: String
        /// How many there are in the segment.
        public var count: Int
    }

    /// The outcome of a verification.
    public struct Report: Sendable, Equatable {
        /// One report per segment file, in offset order.
        public var segments: [SegmentReport] = []
        /// Problems outside any one segment: gaps, missing or misnamed segments.
        public var storeProblems: [String] = []
        /// Names in `segments/` that are not segments (nor meant to be: no `.seg` suffix), which the store
        /// never reads: not damage, but worth knowing about.
        public var ignoredNames: [String] = []
        /// The number of records in valid frames read before any damage of their segment.
        public var recordCount: UInt64 = 0
        /// Where the log ends: the offset after the last segment's last readable record. Damage in an
        /// earlier segment hides records from ``recordCount`` but does not shorten the log.
        public var logEnd: UInt64 = 0

        /// Whether anything is damaged (a torn tail alone does not count).
        public var isDamaged: Bool {
            !storeProblems.isEmpty
                || segments.contains { ($0.damage != nil && !$0.isTornTail) || $0.undecodable != nil }
        }
    }

    let fileSystem: any FileSystem
    let directory: String
    let chunkSize: Int
    /// Records before this offset are known to have been acknowledged (see
    /// ``StoreConfiguration/acknowledgedOffset``): damage among them is never reported as a torn tail.
    let acknowledgedOffset: UInt64

    /// Creates a verifier for the store at `directory`.
    public init(
        directory: String, fileSystem: any FileSystem = PosixFileSystem(), chunkSize: Int = 4 << 20,
        acknowledgedOffset: UInt64 = 0
    ) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.chunkSize = chunkSize
        self.acknowledgedOffset = acknowledgedOffset
    }

    /// Scans the whole store.
    /// - Parameter segmentChecked: Called with each segment's report as soon as it is checked, in log order
    ///   (a large store takes seconds: what is known can be shown meanwhile).
    /// - Throws: ``StorageError`` only when files cannot be read at all.
    public func verify(segmentChecked: (SegmentReport) -> Void = { _ in }) throws -> Report {
        var report = Report()
        let segmentsDirectory = directory + "/segments"
        guard fileSystem.exists(directory) else {
            throw StorageError(
                .invalidArgument, "no store at \(directory): the directory does not exist", path: directory)
        }
        var names: [(name: String, firstOffset: UInt64)] = []
        if fileSystem.exists(segmentsDirectory) {
            for name in try fileSystem.contentsOfDirectory(segmentsDirectory) {
                if let offset = SegmentFormat.firstOffset(fromFileName: name) {
                    guard !fileSystem.isDanglingLink(segmentsDirectory + "/" + name) else {
                        throw StorageError.danglingLink("segments/\(name)", path: segmentsDirectory + "/" + name)
                    }
                    guard !fileSystem.isDirectory(segmentsDirectory + "/" + name) else {
                        report.storeProblems.append(
                            "segments/\(name): a directory, not a segment file; move it out of segments/")
                        continue
                    }
                    names.append((name, offset))
                } else if name.hasSuffix(".seg") {
                    report.storeProblems.append("segments/\(name): not a valid segment name")
                } else {
                    report.ignoredNames.append(name)
                }
            }
            report.ignoredNames.sort()
        }
        names.sort { $0.firstOffset < $1.firstOffset }
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: chunkSize)
        var expected: UInt64 = 0
        for (index, item) in names.enumerated() {
            let isLast = index == names.count - 1
            if item.firstOffset != expected {
                report.storeProblems.append(
                    index == 0
                        ? "the log starts at offset \(item.firstOffset) (\(item.name)), not 0: earlier segments are missing"
                        : "gap: \(item.name) starts at offset \(item.firstOffset) but the previous segment ends at \(expected)"
                )
            }
            let path = segmentsDirectory + "/" + item.name
            var undecodable: UndecodableRecords?
            let scan = try scanner.scan(path: path, expectedFirstOffset: item.firstOffset) { frame in
                RecordFraming.forEachRecord(in: frame.payload) { index, record in
                    do throws(CodecError) {
                        _ = try EventCodec.decodeStored(record, offset: frame.firstOffset + UInt64(index))
                    } catch {
                        if undecodable == nil {
                            undecodable = UndecodableRecords(
                                firstOffset: frame.firstOffset + UInt64(index), reason: error.reason, count: 0)
                        }
                        undecodable?.count += 1
                    }
                    return true
                }
                return true
            }
            var segment = SegmentReport(
                fileName: item.name, firstOffset: item.firstOffset, nextOffset: scan.nextOffset,
                sealed: scan.sealed, sizeBytes: scan.fileSize, damage: scan.damage,
                resumesAtByte: nil, isTornTail: false, undecodable: undecodable, salt: scan.header?.salt,
                formatVersion: scan.header?.version)
            if let damage = scan.damage {
                let tail =
                    try scan.header.map { header throws(StorageError) in
                        try scanner.damagedTail(path: path, damage: damage, before: scan.fileSize, salt: header.salt)
                    }
                segment.resumesAtByte = tail?.firstValidFrame
                let tornHeader = scan.header == nil && scan.fileSize <= Int64(SegmentFormat.headerSize)
                let tornFrame = tail?.isInterruptedWrite ?? false
                // Records a checkpoint covers were acknowledged: damage among them is never a torn tail.
                segment.isTornTail = isLast && (tornHeader || tornFrame) && damage.expectedOffset >= acknowledgedOffset
            } else if !isLast && !scan.sealed {
                report.storeProblems.append("\(item.name) is not sealed, yet another segment follows it")
            }
            report.recordCount += scan.nextOffset - item.firstOffset
            report.segments.append(segment)
            segmentChecked(segment)
            // After damage the segment's own end is unknown; judge the next one against its name, not again.
            expected = scan.damage != nil && !isLast ? names[index + 1].firstOffset : scan.nextOffset
        }
        report.logEnd = expected
        return report
    }
}
