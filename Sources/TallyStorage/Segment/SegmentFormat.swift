import TallyCore

/// The on-disk layout of segment files. All integers are little-endian.
///
/// ```
/// header (32 bytes): magic "TALLYSEG" | version u32 | salt u32 | first offset u64 | reserved u32 | CRC32C u32
/// frame:             payload length u32 | CRC32C u32 | first offset u64 | count u32 | kind u8 | unsynced u24 | payload
/// ```
/// `unsynced` (format version 2) counts the records written after the log's last completed sync and before
/// the frame, saturating at 2^24 - 1; version 1 frames hold 0 there. It lets open tell an interrupted group
/// write (a later frame whole, an earlier one of the same unsynced write torn) from damage to synced data.
/// A frame's CRC32C is seeded with the segment's salt and covers the length, first offset, count, kind and
/// payload, so a frame copied from another segment, or one whose offsets were altered, fails its check.
/// A data frame's payload is `count` records, each a `u32` length followed by the record's bytes.
/// A seal frame (kind 2) ends a full segment: its first offset is the segment's next offset, its count is 0,
/// and its 12-byte payload holds the segment's last offset and the CRC32C of every byte before the seal.
public enum SegmentFormat {
    /// The first eight bytes of every segment.
    public static let magic: [UInt8] = Array("TALLYSEG".utf8)
    /// The segment format this build writes.
    public static let version: UInt32 = 2
    /// The segment formats this build reads: version 1 lacks the frames' `unsynced` count (it reads as 0).
    public static let readableVersions: ClosedRange<UInt32> = 1...2
    /// The largest `unsynced` count a frame holds; larger counts are stored as this.
    public static let maxUnsyncedRecords: UInt32 = (1 << 24) - 1
    /// Bytes in the segment header.
    public static let headerSize = 32
    /// Bytes in a frame header, before the payload.
    public static let frameHeaderSize = 24
    /// Bytes in a seal frame's payload.
    public static let sealPayloadSize = 12
    /// Bytes in a whole seal frame.
    public static let sealFrameSize = frameHeaderSize + sealPayloadSize
    /// Bytes of length prefix before each record inside a data frame.
    public static let recordLengthSize = 4
    /// One past the largest offset a log can reach: 2^48 events, as many as the dedup index and checkpoints
    /// can name. A header, frame or seal that claims offsets beyond it was not written by Tally and is damage.
    public static let offsetLimit: UInt64 = 1 << 48

    /// What a frame holds.
    public enum FrameKind: UInt32, Sendable {
        /// A batch of records.
        case data = 1
        /// The final frame of a full segment.
        case seal = 2
    }

    /// The file name of the segment whose first record has `offset`: 20 zero-padded digits and `.seg`.
    public static func fileName(firstOffset offset: UInt64) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: 20 - digits.count) + digits + ".seg"
    }

    /// Parses a segment file name.
    /// - Returns: The first offset, or `nil` if `name` is not a segment name.
    public static func firstOffset(fromFileName name: String) -> UInt64? {
        guard name.utf8.count == 24, name.hasSuffix(".seg") else { return nil }
        let digits = name.utf8.prefix(20)
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }

    /// A decoded segment header.
    public struct Header: Sendable, Equatable {
        /// The segment format version (one of ``SegmentFormat/readableVersions`` for a header that decodes).
        public var version: UInt32
        /// The segment's salt, which seeds every frame checksum in it.
        public var salt: UInt32
        /// The offset of the segment's first record.
        public var firstOffset: UInt64
    }

    /// Encodes a segment header.
    public static func encodeHeader(firstOffset: UInt64, salt: UInt32) -> [UInt8] {
        var writer = BinaryWriter()
        writer.bytes.reserveCapacity(headerSize)
        writer.bytes.append(contentsOf: magic)
        writer.writeUInt32(version)
        writer.writeUInt32(salt)
        writer.writeUInt64(firstOffset)
        writer.writeUInt32(0)
        writer.writeUInt32(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// Where a header holds the segment's salt.
    public static let saltByteOffset = 12

    /// Decodes and checks a segment header.
    /// - Parameter bytes: At least ``headerSize`` bytes.
    /// - Returns: The header, or a reason it is invalid.
    public static func decodeHeader(_ bytes: UnsafeRawBufferPointer) -> Result<Header, HeaderProblem> {
        guard bytes.count >= headerSize else { return .failure(.truncated) }
        guard bytes.prefix(8).elementsEqual(magic) else { return .failure(.badMagic) }
        let stored = bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28])) == stored else {
            return .failure(.checksumMismatch)
        }
        let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard readableVersions.contains(version) else { return .failure(.unsupportedVersion(version)) }
        let salt = bytes.loadUnaligned(fromByteOffset: saltByteOffset, as: UInt32.self).littleEndian
        let first = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        guard first < offsetLimit else { return .failure(.unreachableOffset(first)) }
        return .success(Header(version: version, salt: salt, firstOffset: first))
    }

    /// Why a segment header is invalid.
    public enum HeaderProblem: Error, Sendable, Equatable, CustomStringConvertible {
        /// Fewer than ``SegmentFormat/headerSize`` bytes.
        case truncated
        /// The file does not start with `TALLYSEG`.
        case badMagic
        /// The header's CRC32C does not match its first 28 bytes.
        case checksumMismatch
        /// A format version this build does not read.
        case unsupportedVersion(UInt32)
        /// A first offset at or past ``SegmentFormat/offsetLimit``, which no log reaches.
        case unreachableOffset(UInt64)

        public var description: String {
            switch self {
            case .truncated: "header is truncated"
            case .badMagic: "header does not start with TALLYSEG"
            case .checksumMismatch: "header checksum mismatch"
            case .unsupportedVersion(let version):
                "segment format version \(version) is not supported (this build reads \(SegmentFormat.readableVersions.lowerBound) to \(SegmentFormat.readableVersions.upperBound)): written by a newer build"
            case .unreachableOffset(let offset):
                "header names first offset \(offset), past the largest a log reaches (\(SegmentFormat.offsetLimit - 1))"
            }
        }
    }

    /// A decoded frame header (its checksum not yet verified).
    public struct FrameHeader: Sendable, Equatable {
        /// Bytes of payload after the frame header.
        public var payloadLength: UInt32
        /// The stored CRC32C, seeded with the segment's salt.
        public var checksum: UInt32
        /// The offset of the frame's first record; for a seal, the segment's next offset.
        public var firstOffset: UInt64
        /// Records in the frame; 0 for a seal.
        public var count: UInt32
        /// The stored kind word: the kind in its low byte, the `unsynced` count above it.
        public var kindWord: UInt32

        /// The stored kind, possibly one this build does not know.
        public var rawKind: UInt32 { kindWord & 0xFF }
        /// The kind, or `nil` for one this build does not know.
        public var kind: FrameKind? { FrameKind(rawValue: rawKind) }
        /// Records written after the log's last completed sync and before this frame (saturating at
        /// ``SegmentFormat/maxUnsyncedRecords``; 0 in version 1 segments and in seals). The frame's write
        /// began no earlier than offset `firstOffset - unsyncedRecordsBefore` was last known durable.
        public var unsyncedRecordsBefore: UInt32 { kindWord >> 8 }
        /// Bytes of the whole frame.
        public var frameSize: Int { frameHeaderSize + Int(payloadLength) }
    }

    /// Reads a frame header from at least ``frameHeaderSize`` bytes.
    @inline(__always)
    public static func decodeFrameHeader(_ bytes: UnsafeRawBufferPointer) -> FrameHeader {
        FrameHeader(
            payloadLength: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian,
            checksum: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian,
            firstOffset: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
            count: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian,
            kindWord: bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self).littleEndian
        )
    }

    /// The checksum a frame must carry: CRC32C seeded with the salt over the header fields after the
    /// checksum, the length, and the payload.
    /// - Parameters:
    ///   - frame: The whole frame (header and payload).
    ///   - salt: The segment's salt.
    @inline(__always)
    public static func frameChecksum(_ frame: UnsafeRawBufferPointer, salt: UInt32) -> UInt32 {
        let length = UnsafeRawBufferPointer(rebasing: frame[0..<4])
        let rest = UnsafeRawBufferPointer(rebasing: frame[8...])
        return CRC32C.checksum(rest, seed: CRC32C.checksum(length, seed: salt))
    }

    /// The header of the frame starting at `position` in `bytes`, if it is whole there and its kind, length
    /// and checksum hold (record framing is not checked).
    public static func checkedFrame(in bytes: UnsafeRawBufferPointer, at position: Int, salt: UInt32) -> FrameHeader? {
        guard position >= 0, bytes.count - position >= frameHeaderSize else { return nil }
        let header = decodeFrameHeader(UnsafeRawBufferPointer(rebasing: bytes[position...]))
        guard header.kind != nil, header.payloadLength <= maxFramePayload,
            header.frameSize <= bytes.count - position
        else { return nil }
        let frame = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + header.frameSize)])
        return frameChecksum(frame, salt: salt) == header.checksum ? header : nil
    }

    /// Appends a frame with its checksum to `bytes`.
    /// - Parameters:
    ///   - kind: Data or seal.
    ///   - firstOffset: The offset of the frame's first record (for a seal: the segment's next offset).
    ///   - count: The number of records.
    ///   - unsyncedRecordsBefore: Records written after the last completed sync and before this frame
    ///     (stored saturating at ``maxUnsyncedRecords``); 0 for a seal and in version 1 segments.
    ///   - payload: The payload bytes.
    ///   - salt: The segment's salt.
    ///   - bytes: The buffer to append to.
    public static func appendFrame(
        kind: FrameKind, firstOffset: UInt64, count: UInt32, unsyncedRecordsBefore: UInt64 = 0,
        payload: UnsafeRawBufferPointer, salt: UInt32, to bytes: inout [UInt8]
    ) {
        let start = bytes.count
        var writer = BinaryWriter()
        swap(&writer.bytes, &bytes)
        writer.writeUInt32(UInt32(payload.count))
        writer.writeUInt32(0)
        writer.writeUInt64(firstOffset)
        writer.writeUInt32(count)
        writer.writeUInt32(kind.rawValue | UInt32(min(unsyncedRecordsBefore, UInt64(maxUnsyncedRecords))) << 8)
        writer.bytes.append(contentsOf: payload)
        swap(&writer.bytes, &bytes)
        let checksum = bytes.withUnsafeBytes {
            frameChecksum(UnsafeRawBufferPointer(rebasing: $0[start...]), salt: salt)
        }
        withUnsafeBytes(of: checksum.littleEndian) { raw in
            for index in 0..<4 { bytes[start + 4 + index] = raw[index] }
        }
    }

    /// Builds a seal frame's payload.
    public static func sealPayload(lastOffset: UInt64, fileChecksum: UInt32) -> [UInt8] {
        var writer = BinaryWriter()
        writer.writeUInt64(lastOffset)
        writer.writeUInt32(fileChecksum)
        return writer.bytes
    }
}

extension SegmentFormat {
    /// The largest payload a frame may declare (64 MiB). Readers reject larger lengths without reading
    /// them, so a flipped length bit can never trigger a huge read; writers refuse larger batches.
    public static let maxFramePayload: UInt32 = 64 << 20
}
