// libFuzzer entry point for ingest bodies under every content type.
// The target and its properties: Tests/TallyAPITests/Fuzz/IngestBodyFuzzTarget.swift. Built and run by run.sh, not by SwiftPM.
import TallyTestSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer, _ argv: UnsafeMutableRawPointer) -> CInt {
    FuzzHarness.writeSeedsIfAsked(IngestBodyFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.run(data, size) { IngestBodyFuzzTarget.check($0) }
}
