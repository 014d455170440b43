// libFuzzer entry point for the JWT verifier.
// The target and its properties: Tests/TallyAuthTests/Fuzz/JWTFuzzTarget.swift. Built and run by run.sh, not by SwiftPM.
import TallyTestSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer, _ argv: UnsafeMutableRawPointer) -> CInt {
    FuzzHarness.writeSeedsIfAsked(JWTFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.run(data, size) { JWTFuzzTarget.check($0) }
}
