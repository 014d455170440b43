#!/usr/bin/env bash
# Builds one fuzz target with libFuzzer (swiftc -sanitize=fuzzer) and runs it.
#
#   Benchmarks/Fuzz/run.sh TARGET [libFuzzer options...]     e.g. run.sh jwt -max_total_time=60
#   Benchmarks/Fuzz/run.sh list
#
# Targets share their properties with the seeded Swift Testing suites (Tests/*/Fuzz/*FuzzTarget.swift): a
# broken property traps, and libFuzzer saves the input under .build-fuzz/artifacts/TARGET/. The corpus grows
# in .build-fuzz/corpus/TARGET/ and starts from the target's seed inputs. Replay a saved input with
# `.build-fuzz/bin/TARGET path/to/input`. SANITIZERS (default fuzzer,address) chooses the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/../.."

targets=(event-json event-record segment jwt checkpoint ingest-body)
# The target sources that live in test modules; the others (in TallyTestSupport) come with its objects.
target_sources() {
    case "$1" in
        jwt) echo Tests/TallyAuthTests/Fuzz/JWTFuzzTarget.swift ;;
        checkpoint) echo Tests/TallyEngineTests/Fuzz/CheckpointFuzzTarget.swift ;;
        ingest-body) echo Tests/TallyAPITests/Fuzz/IngestBodyFuzzTarget.swift ;;
    esac
}

target=${1:-}
if [[ "$target" == list ]]; then
    echo "${targets[*]}"
    exit 0
elif [[ " ${targets[*]} " != *" $target "* ]]; then
    echo "usage: $0 TARGET [libFuzzer options...]   targets: ${targets[*]}" >&2
    exit 64
fi
shift

sanitizers=${SANITIZERS:-fuzzer,address}
build=.build-fuzz
flags=(-c release --build-path "$build" -Xswiftc "-sanitize=$sanitizers" -Xswiftc -enable-testing
       -Xcc "-fsanitize=${sanitizers/fuzzer/fuzzer-no-link}")
# The library modules, instrumented; TallyTestSupport holds the verdict type, fixtures and the targets that need
# only public API. (-enable-testing lets the others read internal types such as the checkpoint codec.)
swift build "${flags[@]}" --target TallyAPI
swift build "${flags[@]}" --target TallyTestSupport

products=$build/release
objects=()
for module in CTallyShims TallyCore TallyStorage TallyEngine TallyHTTP TallyAuth TallyCompression TallyAPI TallyTestSupport; do
    objects+=("$products/$module.build"/*.o)
done
mkdir -p "$build/bin" "$build/corpus/$target" "$build/artifacts/$target" "$build/tmp"
binary=$build/bin/$target
swiftc -O -swift-version 6 -parse-as-library -module-name "Fuzz_${target//-/_}" -sanitize="$sanitizers" \
    -I "$products/Modules" -Xcc -fmodule-map-file="$products/CTallyShims.build/module.modulemap" \
    -I Sources/CTallyShims/include -use-ld=lld \
    Benchmarks/Fuzz/FuzzHarness.swift "Benchmarks/Fuzz/$target.swift" $(target_sources "$target") \
    "${objects[@]}" -o "$binary"

export TMPDIR=$PWD/$build/tmp
corpus=$build/corpus/$target
if [[ -z "$(ls -A "$corpus")" ]]; then
    TALLY_FUZZ_WRITE_SEEDS=$corpus "$binary"
fi
exec "$binary" -artifact_prefix="$build/artifacts/$target/" "$@" "$corpus"
