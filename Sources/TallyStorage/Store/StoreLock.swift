import Glibc
import Synchronization

/// The store's single-writer lock, held while the store is open: an exclusive `flock` on the store's
/// directory itself, and one on `<store>/LOCK`.
///
/// The directory's lock is the one that cannot be lost: deleting a "stale" `LOCK` (a common operator move)
/// would let a second writer lock a new file of that name, and two writers appending at the same offsets
/// destroy each other's acknowledged events. `LOCK` is still taken, so a build that locks only it is
/// kept out too.
final class StoreLock: Sendable {
    private let fileSystem: any FileSystem
    private let files: [FileHandle]
    private let released = Mutex(false)

    /// Takes the lock, retrying every 10 ms for up to `wait` while another holder lets go.
    /// - Throws: ``StorageError/Code/locked`` when another process (or another open store) still holds it.
    init(directory: String, fileSystem: any FileSystem, wait: Duration) throws(StorageError) {
        let path = directory + "/LOCK"
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        var directoryLock = try fileSystem.tryLockDirectory(directory)
        while directoryLock == nil && clock.now < deadline {
            usleep(10_000)
            directoryLock = try fileSystem.tryLockDirectory(directory)
        }
        guard let directoryLock else { throw StoreLock.heldElsewhere(directory, lockPath: path) }
        let file: FileHandle
        do throws(StorageError) {
            file = try fileSystem.open(path, mode: .createOrOpen)
        } catch {
            fileSystem.close(directoryLock)
            throw error
        }
        var acquired = false
        do throws(StorageError) {
            acquired = try fileSystem.tryLock(file)
            while !acquired && clock.now < deadline {
                usleep(10_000)
                acquired = try fileSystem.tryLock(file)
            }
        } catch {
            fileSystem.close(file)
            fileSystem.close(directoryLock)
            throw error
        }
        guard acquired else {
            fileSystem.close(file)
            fileSystem.close(directoryLock)
            throw StoreLock.heldElsewhere(directory, lockPath: path)
        }
        self.fileSystem = fileSystem
        // Released in the reverse order: a writer waiting for the directory then finds LOCK free as well.
        self.files = [file, directoryLock]
    }

    private static func heldElsewhere(_ directory: String, lockPath: String) -> StorageError {
        StorageError(
            .locked,
            "the store at \(directory) is open for writing by another process (it holds the store's lock: the directory's and \(lockPath)'s); stop it, or read with a read-only command",
            path: lockPath)
    }

    /// Releases the lock by closing its descriptors.
    func release() {
        let first = released.withLock { released in
            defer { released = true }
            return !released
        }
        if first {
            for file in files { fileSystem.close(file) }
        }
    }
}
