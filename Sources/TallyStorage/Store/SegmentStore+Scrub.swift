import Glibc
import TallyCore

extension SegmentStore {
    /// What one pass of ``scrub(pace:)`` found.
    package struct ScrubReport: Sendable, Equatable {
        /// Segments read to their end (the one being written, to its acknowledged end).
        package var segmentsChecked = 0
        /// Bytes read and checked.
        package var bytesChecked: Int64 = 0
        /// Damage, one line per damaged segment, naming its file and the byte or offset: a bad frame, a lost
        /// seal, records that do not decode, a missing file or one the disk fails to read (`EIO`).
        package var problems: [String] = []
        /// Segments that could not be read for a reason that says nothing of their bytes (no descriptor or
        /// memory left, permissions): not damage, tried again by the next pass.
        package var unreadable: [String] = []
        /// Whether the pass was stopped before the log's end.
        package var interrupted = false

        package init() {}
    }

    /// Reads every acknowledged byte of the log as it stands at the call, checking each segment's frames as
    /// `tally verify` does: every frame's checksum, each sealed segment's seal and whole-file checksum, and
    /// that every record decodes (the segment list itself is the store's, not a fresh directory listing).
    /// It changes nothing and runs beside the writer: sealed segments never change, and the segment being
    /// written is read only to its acknowledged end. A sealed segment's cached pages are dropped first, so
    /// that its bytes come from the disk rather than from memory.
    ///
    /// Open trusts the frames of sealed segments a checkpoint covers (it reads their header and seal only),
    /// so a bad byte the disk made there is found by this, by `tally verify` or by a full replay.
    /// - Parameter pace: Called with the bytes read after each frame (and a segment's header and seal); return
    ///   `false` to stop (the report is then ``ScrubReport/interrupted``). A scrubber waits in it to bound
    ///   its rate.
    /// - Returns: What was checked and found. A file that cannot be read is reported, never thrown.
    package func scrub(pace: (Int64) -> Bool) -> ScrubReport {
        let snapshot = state
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
        var report = ScrubReport()
        for segment in snapshot.segments {
            let name = "segments/" + segment.fileName
            let path = segmentsDirectory + "/" + segment.fileName
            var undecodable: (offset: UInt64, reason: String, count: Int)?
            var stopped = false
            var counted: Int64 = 0
            let scan: SegmentScan
            do {
                if segment.sealed {
                    let file = try fileSystem.open(path, mode: .readOnly)
                    fileSystem.dropCachedPages(file)
                    fileSystem.close(file)
                }
                scan = try scanner.scan(
                    path: path, expectedFirstOffset: segment.firstOffset,
                    limit: segment.sealed ? nil : segment.readableBytes, verifySeal: segment.sealed
                ) { frame in
                    RecordFraming.forEachRecord(in: frame.payload) { index, record in
                        let offset = frame.firstOffset + UInt64(index)
                        do throws(CodecError) {
                            _ = try EventCodec.decodeStored(record, offset: offset)
                        } catch {
                            if undecodable == nil { undecodable = (offset, error.reason, 0) }
                            undecodable?.count += 1
                        }
                        return true
                    }
                    // The header was read with the first frame.
                    let bytes =
                        Int64(SegmentFormat.frameHeaderSize + frame.payload.count)
                        + (counted == 0 ? Int64(SegmentFormat.headerSize) : 0)
                    counted += bytes
                    report.bytesChecked += bytes
                    stopped = !pace(bytes)
                    return !stopped
                }
            } catch {
                // A missing file or a disk that fails the read is damage; running out of descriptors or
                // memory, or a permission, says nothing of the bytes.
                if let failure = error as? StorageError, failure.code == .io, let number = failure.errno,
                    number != ENOENT, number != EIO
                {
                    report.unreadable.append("\(name): \(error)")
                } else {
                    report.problems.append("\(name): \(error)")
                }
                continue
            }
            if stopped {
                report.interrupted = true
                return report
            }
            report.segmentsChecked += 1
            // The header of a segment without frames, and a seal frame: checked, not handed to the visitor.
            let rest = max(0, scan.validEnd - counted)
            report.bytesChecked += rest
            guard pace(rest) else {
                report.interrupted = true
                return report
            }
            if let damage = scan.damage {
                report.problems.append("\(name): \(damage.reason) at byte \(damage.byteOffset)")
            } else if scan.nextOffset != segment.nextOffset {
                report.problems.append(
                    "\(name): its frames end at offset \(scan.nextOffset), the log holds it to \(segment.nextOffset)")
            } else if segment.sealed && !scan.sealed {
                report.problems.append("\(name): its seal is gone (the file ends at byte \(scan.validEnd))")
            }
            if let undecodable {
                let records =
                    undecodable.count == 1 ? "1 record that does not" : "\(undecodable.count) records that do not"
                report.problems.append(
                    "\(name): \(records) decode, the first at offset \(undecodable.offset) (\(undecodable.reason))")
            }
        }
        return report
    }
}
