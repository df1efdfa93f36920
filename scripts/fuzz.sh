#!/usr/bin/env bash
# Builds River's libFuzzer targets (Fuzz/, a separate SwiftPM package depending on the main
# one, compiled with -sanitize=fuzzer,address) and runs each for a fixed time.
# Fails if any target finds a crash, a sanitizer report, a leak or a timeout; the reproducer
# is left in Fuzz/artifacts/ (replay: .build-fuzz/release/<Target> Fuzz/artifacts/<file>).
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]    (default: 30 s, all targets)
#   env FUZZ_JOBS=N  fuzzes with N worker processes per target (libFuzzer -fork=N; default: one process)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzJSONCodec FuzzMessagePackCodec FuzzSessionFrames FuzzWebSocketFrames)
scratch=".build-fuzz"
flags=(--package-path Fuzz --scratch-path "$scratch" -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)

scripts/fuzz-corpus.sh Fuzz/corpus >/dev/null
echo "== building fuzz targets (swift build ${flags[*]})"
mkdir -p "$scratch"
set +e
swift build "${flags[@]}" >"$scratch/build.log" 2>&1
built=$?
set -e
grep -v "Cannot export local symbol" "$scratch/build.log" | grep -E "error|warning: |Compiling Fuzz|Build complete" || true
if [ $built -ne 0 ]; then
    echo "!! building the fuzz targets failed (exit $built; log: $scratch/build.log)"
    exit 1
fi
bin="$(swift build "${flags[@]}" --show-bin-path)"

mkdir -p Fuzz/artifacts
status=0
for target in "${targets[@]}"; do
    case "$target" in
        FuzzJSONCodec) seeds=(Fuzz/corpus/json) ;;
        FuzzMessagePackCodec) seeds=(Fuzz/corpus/msgpack) ;;
        FuzzSessionFrames) seeds=(Fuzz/corpus/json Fuzz/corpus/msgpack) ;;
        FuzzWebSocketFrames) seeds=(Fuzz/corpus/websocket) ;;
        *) echo "unknown target $target"; exit 2 ;;
    esac
    work="$scratch/corpus/$target"   # grows across runs; seeds stay untouched
    mkdir -p "$work"
    log="$scratch/$target.log"
    echo "== $target for ${seconds}s (log: $log)"
    set +e
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}" \
        "$bin/$target" "$work" "${seeds[@]}" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 -max_len=8192 \
        ${FUZZ_JOBS:+-fork="$FUZZ_JOBS"} \
        -artifact_prefix="Fuzz/artifacts/$target-" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{s+=$2} END {print s+0}')
    if [ $rc -ne 0 ]; then
        echo "!! $target FAILED (exit $rc) after $runs executions:"
        grep -E "ERROR|Fatal error|SUMMARY|Test unit written|panic" "$log" | head -20
        status=1
    else
        echo "   $target: no findings in $runs executions"
    fi
done
exit $status
