import TallyCLI

/// Runs a `tally` command line in-process with captured output.
func runTally(_ arguments: [String], input: String = "") -> (code: ExitCode, out: String, err: String) {
    let io = CommandIO.captured(input: input)
    let code = TallyCommandLine.run(arguments, io: io)
    return (code, io.output, io.errorOutput)
}
