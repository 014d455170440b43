// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Tally",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tally", targets: ["tally"]),
        .library(name: "TallyCore", targets: ["TallyCore"]),
        .library(name: "TallyStorage", targets: ["TallyStorage"]),
        .library(name: "TallyEngine", targets: ["TallyEngine"]),
        .library(name: "TallyCompression", targets: ["TallyCompression"]),
    ],
    targets: [
        // C helpers Glibc does not expose to Swift: the SSE4.2 CRC32 instruction, epoll and friends, mremap,
        // sync_file_range.
        .target(name: "CTallyShims"),
        // Events, the binary codec, CRC32C, JSON, time and projections: pure logic, no I/O.
        .target(name: "TallyCore", dependencies: ["CTallyShims"]),
        // Append-only segment files, recovery, the store lock and the file-system seam.
        .target(name: "TallyStorage", dependencies: ["CTallyShims", "TallyCore"]),
        // The engine: validation against time windows, exactly-once ingest, projections, checkpoints, replay.
        .target(name: "TallyEngine", dependencies: ["CTallyShims", "TallyCore", "TallyStorage"]),
        // HTTP/1.1 on POSIX sockets: event loops over epoll, the request parser, connections. Knows nothing
        // of metering (TallyCore only for the clock and RFC 3339 times of its request log).
        .target(name: "TallyHTTP", dependencies: ["CTallyShims", "TallyCore", "TallyStorage"]),
        // DEFLATE and gzip decompression with CRC-32, written by hand: pure logic, no I/O, no dependencies.
        .target(name: "TallyCompression", dependencies: ["CTallyShims"]),
        // SHA-256, HMAC-SHA256, base64url and HS256 JWTs, written by hand.
        .target(name: "TallyAuth"),
        // The metering API: routes, JSON shapes, auth, metrics, OpenAPI.
        .target(
            name: "TallyAPI",
            dependencies: ["TallyCore", "TallyEngine", "TallyHTTP", "TallyStorage", "TallyAuth", "TallyCompression"]),
        // The `tally` subcommands, kept in a library so tests can drive them in-process.
        .target(
            name: "TallyCLI",
            dependencies: [
                "CTallyShims", "TallyCore", "TallyStorage", "TallyEngine", "TallyHTTP", "TallyAPI", "TallyAuth",
            ]),
        .executableTarget(name: "tally", dependencies: ["TallyCLI"]),
        .executableTarget(
            name: "TallyBenchmarks",
            dependencies: [
                "TallyCore", "TallyStorage", "TallyEngine", "TallyHTTP", "TallyAPI", "TallyAuth", "TallyCompression",
                "TallyTestSupport", "TallyLoad",
            ],
            path: "Benchmarks/TallyBenchmarks"
        ),
        // Drivers of a real `tally serve` process over loopback: SIGKILL crash cycles and the soak load.
        .target(
            name: "TallyLoad",
            dependencies: ["CTallyShims", "TallyCore", "TallyStorage", "TallyAuth", "TallyTestSupport"],
            path: "Benchmarks/TallyLoad"
        ),
        // Fixtures, temporary directories and the fault-injecting file system shared by the test targets.
        .target(
            name: "TallyTestSupport",
            dependencies: ["CTallyShims", "TallyCore", "TallyStorage", "TallyEngine", "TallyCompression"],
            path: "Tests/TallyTestSupport"
        ),
        .testTarget(name: "TallyCoreTests", dependencies: ["TallyCore", "TallyTestSupport"]),
        .testTarget(name: "TallyStorageTests", dependencies: ["TallyCore", "TallyStorage", "TallyTestSupport"]),
        .testTarget(
            name: "TallyEngineTests", dependencies: ["TallyCore", "TallyStorage", "TallyEngine", "TallyTestSupport"]),
        .testTarget(name: "TallyHTTPTests", dependencies: ["TallyHTTP", "TallyCore", "TallyTestSupport"]),
        .testTarget(
            name: "TallyAPITests",
            dependencies: ["TallyAPI", "TallyAuth", "TallyHTTP", "TallyEngine", "TallyCore", "TallyTestSupport"]),
        .testTarget(
            name: "TallyCompressionTests",
            dependencies: ["TallyCompression", "TallyTestSupport"],
            exclude: ["make_fixtures.py"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "TallyAuthTests", dependencies: ["TallyAuth", "TallyTestSupport"]),
        .testTarget(
            name: "TallyCLITests",
            dependencies: ["TallyCLI", "TallyCore", "TallyStorage", "TallyTestSupport", "TallyLoad"]),
    ],
    swiftLanguageModes: [.v6]
)
