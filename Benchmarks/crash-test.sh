#!/usr/bin/env bash
# Real crashes: runs the release `tally serve`, drives concurrent ingest with client retries over loopback,
# SIGKILLs the server at random moments and restarts it, N times; then checks that every acknowledged event
# is counted exactly once (tally dump, the HTTP stats, tally replay --verify) and prints a one-line summary.
#
#   Benchmarks/crash-test.sh                  # short mode: 5 cycles (about 20 s once built)
#   Benchmarks/crash-test.sh --cycles 200     # a long run
#   options: --cycles N --clients N --max-life-ms MS --seed S --data DIR
# Exit code 0 when nothing was lost or double-counted, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product tally >&2
swift build -c release --product TallyBenchmarks >&2
exec .build/release/TallyBenchmarks crash "$@"
