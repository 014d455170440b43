// libFuzzer entry point for the checkpoint decoder.
// The target and its properties: Tests/TallyEngineTests/Fuzz/CheckpointFuzzTarget.swift. Built and run by run.sh, not by SwiftPM.
import TallyTestSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer, _ argv: UnsafeMutableRawPointer) -> CInt {
    FuzzHarness.writeSeedsIfAsked(CheckpointFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.run(data, size) { CheckpointFuzzTarget.check($0) }
}
