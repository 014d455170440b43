// Benchmarks for Tally. Build and run in release mode:
//   swift run -c release TallyBenchmarks [--quick] [--dir DIR] [--only NAME]
BenchmarkSuite.main(arguments: Array(CommandLine.arguments.dropFirst()))
