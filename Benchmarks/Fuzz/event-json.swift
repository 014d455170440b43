// libFuzzer entry point for the JSON event decoder.
// The target and its properties: Tests/TallyTestSupport/Fuzz/EventJSONFuzzTarget.swift. Built and run by run.sh, not by SwiftPM.
import TallyTestSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer, _ argv: UnsafeMutableRawPointer) -> CInt {
    FuzzHarness.writeSeedsIfAsked(EventJSONFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.run(data, size) { EventJSONFuzzTarget.check($0) }
}
