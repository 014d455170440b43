import TallyStorage

/// `<store>/backfill-unfinished`: the offset at which a backfill (`tally import`) began, written before it
/// appends anything and removed once it has read its whole input. A backfill that finds one left behind
/// (its predecessor was killed, stopped by a signal, or cut short by a failure) takes up that run: the
/// events stored from the offset on are remembered as that run remembered them (``Engine/resumeBackfill(from:)``),
/// so importing the same input again, or the rest of it, stores none of them twice, and its voids find
/// their targets, as one import of the whole input would have.
///
/// The file holds the offset in decimal and a line feed. It is written to a temporary file, synced, renamed
/// into place, and the directory synced, so a crash leaves either no marker or a whole one.
package struct BackfillMarker: Sendable {
    /// The marker's file name in the store's directory.
    package static let fileName = "backfill-unfinished"

    let fileSystem: any FileSystem
    let path: String
    let directory: String

    /// The marker of the store at `directory`.
    package init(storeDirectory directory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.fileSystem = fileSystem
        self.directory = directory
        path = directory + "/" + Self.fileName
    }

    /// The offset an unfinished backfill began at, or `nil` when none was left behind.
    /// - Throws: ``StorageError`` when the marker cannot be read, or does not hold an offset (code `corrupt`:
    ///   remove it to import without taking up the earlier run).
    package func read() throws(StorageError) -> UInt64? {
        guard fileSystem.exists(path) else { return nil }
        let file = try fileSystem.open(path, mode: .readOnly)
        defer { fileSystem.close(file) }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = try bytes.withMutableBytes { buffer throws(StorageError) in
            try fileSystem.read(file, into: buffer, at: 0)
        }
        let text = bytes[..<count].last == 0x0A ? bytes[..<(count - 1)] : bytes[..<count]
        guard !text.isEmpty, text.count <= 20, text.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let offset = UInt64(String(decoding: text, as: UTF8.self))
        else {
            throw StorageError(
                .corrupt,
                "\(path) does not hold an offset: remove it to import without taking up the unfinished import it marks",
                path: path)
        }
        return offset
    }

    /// Records, durably, that a backfill begins at `offset`.
    package func write(_ offset: UInt64) throws(StorageError) {
        let temporary = path + ".partial"
        if fileSystem.exists(temporary) { try fileSystem.remove(temporary) }
        let file = try fileSystem.open(temporary, mode: .createNew)
        do throws(StorageError) {
            defer { fileSystem.close(file) }
            let bytes = Array("\(offset)\n".utf8)
            try bytes.withBytes { buffer throws(StorageError) in try fileSystem.writeAll(file, buffer, at: 0) }
            try fileSystem.sync(file, dataOnly: false)
        } catch {
            try? fileSystem.remove(temporary)
            throw error
        }
        try fileSystem.rename(temporary, to: path)
        try fileSystem.syncDirectory(directory)
    }

    /// Removes the marker, durably: the backfill read its whole input.
    package func remove() throws(StorageError) {
        guard fileSystem.exists(path) else { return }
        try fileSystem.remove(path)
        try fileSystem.syncDirectory(directory)
    }
}
