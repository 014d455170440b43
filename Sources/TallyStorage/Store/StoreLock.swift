import Glibc
import Synchronization

/// The store's single-writer lock: an exclusive `flock` on `<store>/LOCK`, held while the store is open.
final class StoreLock: Sendable {
    private let fileSystem: any FileSystem
    private let file: FileHandle
    private let released = Mutex(false)

    /// Takes the lock, retrying every 10 ms for up to `wait` while another holder lets go.
    /// - Throws: ``StorageError/Code/locked`` when another process (or another open store) still holds it.
    init(directory: String, fileSystem: any FileSystem, wait: Duration) throws(StorageError) {
        let path = directory + "/LOCK"
        let file = try fileSystem.open(path, mode: .createOrOpen)
        var acquired = false
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        do throws(StorageError) {
            acquired = try fileSystem.tryLock(file)
            while !acquired && clock.now < deadline {
                usleep(10_000)
                acquired = try fileSystem.tryLock(file)
            }
        } catch {
            fileSystem.close(file)
            throw error
        }
        guard acquired else {
            fileSystem.close(file)
            throw StorageError(
                .locked,
                "the store at \(directory) is open for writing by another process (\(path) is locked); stop it, or read with a read-only command",
                path: path)
        }
        self.fileSystem = fileSystem
        self.file = file
    }

    /// Releases the lock by closing its descriptor.
    func release() {
        let first = released.withLock { released in
            defer { released = true }
            return !released
        }
        if first { fileSystem.close(file) }
    }
}
