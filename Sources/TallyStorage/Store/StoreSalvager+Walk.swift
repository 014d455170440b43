// Where a salvage stands in the original offsets, and what it concludes at the end of the log.

extension StoreSalvager {
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
                // Named as open and verify name it: the file of a segment start a crash cut short.
                report.losses[open].isTornTail = true
                report.losses[open].reason =
                    "the segment's header was never completed (\(loss.bytes.count) bytes): a crash while the segment was being created, before it held any record"
            }
        }
    }
}
