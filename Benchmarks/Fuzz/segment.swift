// libFuzzer entry point for segment files opened as a store.
// The target and its properties: Tests/TallyTestSupport/Fuzz/SegmentFuzzTarget.swift. Built and run by run.sh, not by SwiftPM.
import TallyTestSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer, _ argv: UnsafeMutableRawPointer) -> CInt {
    FuzzHarness.writeSeedsIfAsked(SegmentFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.run(data, size) { segmentTarget.check($0) }
}

/// One scratch store directory for the whole run (under `TMPDIR`, which run.sh points into `.build-fuzz/`).
nonisolated(unsafe) let segmentTarget = SegmentFuzzTarget(readChunkSize: 256)
