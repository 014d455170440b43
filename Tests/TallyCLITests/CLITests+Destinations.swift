import Foundation
import Glibc
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyCLI

extension CLITests {
    /// `salvage --out` inside the damaged store is refused before anything is read or written, however the
    /// path is spelled: salvage only reads that store, and a store written into its `segments/` left it
    /// unopenable.
    @Test func salvageRefusesAnOutInsideTheDamagedStore() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: event("a")).code == .ok)
        let outside = TemporaryDirectory()
        let link = outside.appending("link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: directory.path)
        let before = try FileManager.default.contentsOfDirectory(atPath: directory.appending("segments")).sorted()
        for out in [
            directory.appending("segments/00000000000000004390.seg"), directory.appending("inner"),
            directory.path + "/segments/../new", link + "/x", outside.appending("nope/../link/segments/x"),
            directory.path + "/../" + (directory.path as NSString).lastPathComponent + "/new/./../segments/y",
        ] {
            let result = runTally(["salvage", "--data", directory.path, "--out", out])
            #expect(result.code == .usage, "\(out): \(result.err)")
            #expect(result.err.contains("is inside the store being copied"), "\(out): \(result.err)")
        }
        let itself = runTally(["salvage", "--data", directory.path, "--out", link])
        #expect(itself.code == .usage && itself.err.contains("is the store being copied itself"), "\(itself.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appending("segments")).sorted() == before)
        #expect(!FileManager.default.fileExists(atPath: directory.appending("inner")))
        #expect(runTally(["verify", "--data", directory.path]).code == .ok)
    }

    /// An `--out` that is a link to an empty directory gets the new store in that directory; one that is a
    /// mount point (`/proc` is one on every Linux) is refused up front, naming a directory inside it to use.
    @Test func salvageFollowsALinkedOutAndRefusesAMountPoint() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: event("a")).code == .ok)
        let outside = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: outside.appending("empty"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(
            atPath: outside.appending("link"), withDestinationPath: outside.appending("empty"))
        let linked = runTally(["salvage", "--data", directory.path, "--out", outside.appending("link")])
        #expect(linked.code == .ok, "\(linked.err)")
        #expect(runTally(["verify", "--data", outside.appending("empty")]).code == .ok)

        let mounted = runTally(["salvage", "--data", directory.path, "--out", "/proc"])
        #expect(mounted.code == .usage, "\(mounted.err)")
        #expect(mounted.err.contains("--out /proc is a mount point"), "\(mounted.err)")
        #expect(mounted.err.contains("such as /proc/store"), "\(mounted.err)")

        // A directory that is not empty, or a file, is a wrong --out alike: a usage error, nothing read.
        try StoreTestSupport.write([1], to: outside.appending("file"))
        let full = runTally(["salvage", "--data", directory.path, "--out", outside.path])
        #expect(full.code == .usage, "\(full.err)")
        #expect(full.err.contains("--out \(outside.path) is not empty"), "\(full.err)")
        #expect(!full.err.contains("reading segments/"), "\(full.err)")
        let file = runTally(["salvage", "--data", directory.path, "--out", outside.appending("file")])
        #expect(file.code == .usage && file.err.contains("exists and is not a directory"), "\(file.err)")
    }

    /// A FIFO where the store keeps a segment or a checkpoint is named and refused, not waited on: opening it
    /// for reading would block until something wrote to it.
    @Test(.timeLimit(.minutes(1))) func aFIFOInTheStoreIsRefusedNotWaitedOn() throws {
        let directory = TemporaryDirectory()
        #expect(runTally(["import", "--data", directory.path, "-"], input: event("a")).code == .ok)
        let fifo = directory.appending("segments/00000000000000002116.seg")
        #expect(mkfifo(fifo, 0o644) == 0)
        let verified = runTally(["verify", "--data", directory.path])
        #expect(verified.code != .ok)
        #expect(
            (verified.out + verified.err).contains("is not a regular file but a FIFO"),
            "\(verified.out)\(verified.err)")
        try FileManager.default.removeItem(atPath: fifo)
        // The checkpoint a FIFO: passed over for a replay of the log, with a warning naming it.
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints"))
        let checkpoint = directory.appending("checkpoints/" + (try #require(checkpoints.first)))
        try FileManager.default.removeItem(atPath: checkpoint)
        #expect(mkfifo(checkpoint, 0o644) == 0)
        let stats = runTally(["stats", "--data", directory.path, CLITests.tenant])
        #expect(stats.code == .ok, "\(stats.err)")
        #expect(stats.err.contains("is not a regular file but a FIFO"), "\(stats.err)")
    }
}
