import TallyCore

/// The binary form of a checkpoint: every projection and the dedup index, as of one log offset.
///
/// File layout: magic `TALLYCKP` | projection version `u32` | next offset `u64` | payload length `u64` |
/// payload CRC32C `u32` | dedup window `i64` (microseconds: the backdate limit the index was kept for) |
/// log salt `u32` (the salt of the segment holding the last event covered, which ties the checkpoint to its
/// log: segment salts are random) | header CRC32C `u32` | payload: tenant count (varint), each tenant's id and
/// projection, the dedup entries (21 bytes each), dedup entry count `u64` (last, so that a checkpoint can be
/// written as it is encoded, its header last of all). A checkpoint whose checksums fail, or whose version
/// differs from ``projectionVersion``, is ignored (with a warning) in favour of an older one or a full replay.
enum CheckpointCodec {
    static let magic: [UInt8] = Array("TALLYCKP".utf8)
    /// Bump whenever the projection rules or this encoding change: older checkpoints are then rebuilt.
    static let projectionVersion: UInt32 = 15
    static let headerSize = 8 + 4 + 8 + 8 + 4 + 8 + 4 + 4

    /// A decoded checkpoint.
    struct Decoded {
        var state: ProjectionState
        var dedup: DedupIndex
        /// The dedup window (backdate limit) the index was kept for: it remembers no id older than that.
        var dedupWindowMicroseconds: Int64
        /// The salt of the segment holding the last event covered (0 when it covers none).
        var logSalt: UInt32
    }

    /// The fields of a checkpoint's header.
    struct Header {
        var nextOffset: UInt64
        var payloadLength: UInt64
        var payloadChecksum: UInt32
        var dedupWindowMicroseconds: Int64
        var logSalt: UInt32
    }

    /// Bytes per remembered id: the hash, the offset, the hour and the flags.
    static let dedupEntrySize = 8 + 8 + 4 + 1

    /// Why a checkpoint cannot be used.
    struct Problem: Error, CustomStringConvertible {
        var description: String
        /// Written by another projection version: not damage, just not usable by this build.
        var isOutdated = false
        /// Written by a later projection version than this build's (a downgrade), when ``isOutdated``.
        var isNewer = false
    }

    static func decode(_ bytes: [UInt8]) throws(Problem) -> Decoded {
        let result = bytes.withUnsafeBytes { buffer -> Result<Decoded, Problem> in
            do throws(Problem) { return .success(try decode(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Reads and checks a header: the magic, the header's checksum and the projection version.
    ///
    /// Each earlier version's header is checked with its own layout (version 9's was 4 bytes shorter, without
    /// the log salt; earlier ones 12 bytes shorter, without the dedup window too), so an upgraded store's
    /// checkpoints read as outdated, not damaged, while a damaged version field fails the checksum like any
    /// other damaged byte. A later version's layout is unknown: its header is outdated when this layout's
    /// checksum holds, and otherwise reported as a mismatch that names the version.
    /// - Parameter buffer: At least the header's bytes (the payload is not read).
    static func header(_ buffer: UnsafeRawBufferPointer) throws(Problem) -> Header {
        let (version, header) = try checkedHeader(buffer)
        guard version == projectionVersion else {
            throw Problem(
                description: "written by projection version \(version); this build uses \(projectionVersion)"
                    + (version > projectionVersion ? " (a later tally wrote it, and this build cannot read it)" : ""),
                isOutdated: true, isNewer: version > projectionVersion)
        }
        return header
    }

    /// The header fields a checkpoint vouches for with its header checksum, whatever its version, or `nil`.
    /// Across an upgrade, an outdated checkpoint's offset still bounds the events acknowledged, and its
    /// window the ids the server kept (before version 9 none was recorded: the default backdate limit is
    /// given, as for a store without checkpoints).
    static func vouchedHeader(_ buffer: UnsafeRawBufferPointer) -> Header? {
        do throws(Problem) { return try checkedHeader(buffer).header } catch { return nil }
    }

    /// Bytes of a version 9 header: this layout without the log salt.
    static let version9HeaderSize = headerSize - 4
    /// Bytes of a header before version 9: no dedup window and no log salt either.
    static let version8HeaderSize = headerSize - 12

    /// The version and fields of a header whose checksum holds for its version's layout.
    static func checkedHeader(_ buffer: UnsafeRawBufferPointer) throws(Problem) -> (
        version: UInt32, header: Header
    ) {
        guard buffer.count >= version8HeaderSize, buffer.prefix(8).elementsEqual(magic) else {
            throw Problem(description: "not a checkpoint (bad magic or truncated header)")
        }
        let version = buffer.loadUnaligned(fromByteOffset: magic.count, as: UInt32.self).littleEndian
        let size = version < 9 ? version8HeaderSize : version == 9 ? version9HeaderSize : headerSize
        guard buffer.count >= size else { throw Problem(description: "not a checkpoint (truncated header)") }
        var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[(magic.count + 4)..<size]))
        do {
            let header = Header(
                nextOffset: try reader.readUInt64(), payloadLength: try reader.readUInt64(),
                payloadChecksum: try reader.readUInt32(),
                // Before version 9 no window was recorded: it was the default backdate limit unless the
                // server was started with another.
                dedupWindowMicroseconds: version < 9
                    ? EngineConfiguration().backdateLimitMicroseconds : try reader.readInt64(),
                logSalt: version <= 9 ? 0 : try reader.readUInt32())
            let headerChecksum = try reader.readUInt32()
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<(size - 4)])) == headerChecksum else {
                throw Problem(
                    description: version > projectionVersion
                        ? "header checksum mismatch for projection version \(version) (damaged, or written by a later build with another layout)"
                        : "header checksum mismatch")
            }
            return (version, header)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "undecodable header: \(error)")
        }
    }

    /// A checkpoint's header when its bytes hold, judged by the header, the payload's length and the payload
    /// checksum alone, nothing decoded (cheap beside decoding a large one); else what is wrong with them. The
    /// caller compares the header's offset with the file's name.
    static func integrity(_ buffer: UnsafeRawBufferPointer) -> Result<Header, Problem> {
        let header: Header
        do throws(Problem) { header = try self.header(buffer) } catch { return .failure(error) }
        let payload = UnsafeRawBufferPointer(rebasing: buffer[min(headerSize, buffer.count)...])
        guard header.payloadLength == UInt64(payload.count) else {
            return .failure(
                Problem(description: "payload is \(payload.count) bytes, header says \(header.payloadLength)"))
        }
        guard CRC32C.checksum(payload) == header.payloadChecksum else {
            return .failure(Problem(description: "payload checksum mismatch"))
        }
        return .success(header)
    }

    static func decode(_ buffer: UnsafeRawBufferPointer) throws(Problem) -> Decoded {
        let header = try header(buffer)
        var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[headerSize...]))
        do {
            guard header.payloadLength == UInt64(reader.remaining) else {
                throw Problem(description: "payload is \(reader.remaining) bytes, header says \(header.payloadLength)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: buffer[headerSize...])
            guard CRC32C.checksum(payload) == header.payloadChecksum else {
                throw Problem(description: "payload checksum mismatch")
            }
            var state = ProjectionState()
            state.nextOffset = header.nextOffset
            let tenantCount = try reader.readVarint()
            guard tenantCount <= UInt64(reader.remaining / 16) else {
                throw Problem(description: "tenant count exceeds file")
            }
            state.tenants.reserveCapacity(Int(tenantCount))
            for _ in 0..<tenantCount {
                let tenant = TenantID(high: try reader.readUInt64(), low: try reader.readUInt64())
                state.tenants.set(try decodeProjection(&reader), for: tenant)
            }
            // The count is the payload's last 8 bytes; the entries fill the rest exactly.
            guard reader.remaining >= 8 else { throw Problem(description: "no dedup count") }
            let dedupCount = UInt64(
                littleEndian: buffer.loadUnaligned(fromByteOffset: buffer.count - 8, as: UInt64.self))
            guard dedupCount <= UInt64((reader.remaining - 8) / dedupEntrySize),
                Int(dedupCount) * dedupEntrySize == reader.remaining - 8
            else {
                throw Problem(
                    description: "\(reader.remaining - 8) bytes of dedup entries for a count of \(dedupCount)")
            }
            var dedup = DedupIndex(minimumCapacity: Int(dedupCount))
            // Stored in runs, so the table's cache misses overlap.
            var run: [(key: IdentityHash, entry: DedupIndex.Entry)] = []
            run.reserveCapacity(Int(min(dedupCount, 1024)))
            var left = dedupCount
            while left > 0 {
                for _ in 0..<min(left, 1024) {
                    let key = IdentityHash(try reader.readUInt64())
                    let entry = DedupIndex.Entry(
                        offset: try reader.readUInt64(), hour: try reader.readUInt32(), flags: try reader.readUInt8())
                    // An id is remembered for an event the checkpoint covers, never beyond it (nor beyond what a
                    // packed entry holds).
                    guard entry.offset < min(header.nextOffset, 1 << DedupIndex.offsetBits) else {
                        throw Problem(
                            description:
                                "a dedup entry names offset \(entry.offset), beyond the \(header.nextOffset) events covered"
                        )
                    }
                    run.append((key, entry))
                }
                left -= UInt64(run.count)
                run.withUnsafeBufferPointer { dedup.store(contentsOf: $0) }
                run.removeAll(keepingCapacity: true)
            }
            _ = try reader.readUInt64()
            guard reader.remaining == 0 else { throw Problem(description: "\(reader.remaining) bytes left over") }
            return Decoded(
                state: state, dedup: dedup, dedupWindowMicroseconds: header.dedupWindowMicroseconds,
                logSalt: header.logSalt)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "undecodable: \(error)")
        }
    }
}
