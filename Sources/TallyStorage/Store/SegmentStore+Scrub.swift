import TallyCore

extension SegmentStore {
    /// What one pass of ``scrub(pace:)`` found.
    public struct ScrubReport: Sendable, Equatable {
        /// Segments read to their end (the one being written, to its acknowledged end).
        public var segmentsChecked = 0
        /// Bytes read and checked.
        public var bytesChecked: Int64 = 0
        /// What is wrong, one line per damaged segment, naming its file and the byte or offset.
        public var problems: [String] = []
        /// Whether the pass was stopped before the log's end.
        public var interrupted = false
    }

    /// Reads every acknowledged byte of the log as it stands at the call, checking what `tally verify`
    /// checks: every frame's checksum, each sealed segment's whole-file checksum and seal, and that every
    /// record decodes. It changes nothing and runs beside the writer: sealed segments never change, and the
    /// segment being written is read only to its acknowledged end.
    ///
    /// Open trusts the frames of sealed segments a checkpoint covers (it reads their header and seal only),
    /// so a bad byte the disk made there is found by this, by `tally verify` or by a full replay.
    /// - Parameter pace: Called after each frame with the bytes read since the last call; return `false` to
    ///   stop (the report is then ``ScrubReport/interrupted``). A scrubber waits in it to bound its rate.
    /// - Returns: What was checked and found. A file that cannot be read is a problem, not an error.
    public func scrub(pace: (Int64) -> Bool) -> ScrubReport {
        let snapshot = state
        let scanner = SegmentScanner(fileSystem: fileSystem, chunkSize: configuration.readChunkSize)
        var report = ScrubReport()
        for segment in snapshot.segments {
            let name = "segments/" + segment.fileName
            var undecodable: (offset: UInt64, reason: String, count: Int)?
            var stopped = false
            var counted: Int64 = 0
            let scan: SegmentScan
            do {
                guard pace(Int64(SegmentFormat.headerSize)) else {
                    report.interrupted = true
                    return report
                }
                report.bytesChecked += Int64(SegmentFormat.headerSize)
                counted = Int64(SegmentFormat.headerSize)
                scan = try scanner.scan(
                    path: segmentsDirectory + "/" + segment.fileName, expectedFirstOffset: segment.firstOffset,
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
                    let bytes = Int64(SegmentFormat.frameHeaderSize + frame.payload.count)
                    report.bytesChecked += bytes
                    counted += bytes
                    stopped = !pace(bytes)
                    return !stopped
                }
            } catch {
                report.problems.append("\(name): \(error)")
                continue
            }
            if stopped {
                report.interrupted = true
                return report
            }
            report.segmentsChecked += 1
            // The seal frame, checked but not handed to the visitor.
            report.bytesChecked += max(0, scan.validEnd - counted)
            if let damage = scan.damage {
                report.problems.append("\(name): \(damage.reason) at byte \(damage.byteOffset)")
            } else if scan.nextOffset != segment.nextOffset {
                report.problems.append(
                    "\(name): its frames end at offset \(scan.nextOffset), the log holds it to \(segment.nextOffset)")
            } else if segment.sealed && !scan.sealed {
                report.problems.append("\(name): its seal is gone (the file ends at byte \(scan.validEnd))")
            }
            if let undecodable {
                report.problems.append(
                    "\(name): \(undecodable.count == 1 ? "1 record that does" : "\(undecodable.count) records that do") not decode, the first at offset \(undecodable.offset) (\(undecodable.reason))"
                )
            }
        }
        return report
    }
}
