#!/usr/bin/env bash
# Runs the test suite under a sanitizer, each in its own scratch path.
#
#   scripts/sanitize.sh address [swift-test-args...]   ASan + LeakSanitizer, the whole suite
#   scripts/sanitize.sh thread  [swift-test-args...]   TSan, the suites where it is meaningful
#
# ASan: `swift test --sanitize=address --scratch-path .build-asan`. Any report fails the run.
# LeakSanitizer runs too, with scripts/lsan-suppressions.txt (XCTest's runner, and statics
# holding Swift indirect enums behind tagged pointers, which LSan cannot trace).
#
# TSan: `swift test --sanitize=thread --scratch-path .build-tsan` with
# scripts/tsan-suppressions.txt. TSan does not understand the futex-based lock of
# Synchronization.Mutex on Linux and reports races on state that is only touched inside
# `Mutex.withLock`; those reports are suppressed (the transport's own locks are pthread
# mutexes and are checked). By default the suites that exercise the client's concurrency run
# (the `@Suite` types below: client calls, resilience, chaos, server restarts under load,
# hostile servers, fuzz regressions, WebSocket messaging and callback delivery, interceptors
# (retries across a lost session), spans and subscription groups); pass your own
# `--filter` to run others.
#
# Every `--filter` (the default suites one by one, or yours) must match at least one test of
# `swift test list`: a filter that matches nothing fails the script instead of passing with
# zero tests. A TSan report fails the run (TSan exits non-zero after reporting).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-address}"
shift || true
filters=()

# The `@Suite` types the TSan run covers by default (test identifiers are
# `Module.Type/test(...)`, so a filter names the type, never the display name).
tsan_suites=(
    ClientCallTests
    ResilienceTests
    ChaosTests
    ChaosRestartTests
    HostileServerTests
    FuzzRegressionTests
    WebSocketMessagingTests
    WebSocketCallbackDeliveryTests
    InterceptorTests
    TracingTests
    SubscriptionGroupTests
)

# check_filters <swift build arguments...> -- <filters...>
# Fails loudly when a filter matches no test of the built suite.
check_filters() {
    local build_args=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do build_args+=("$1"); shift; done
    shift
    local listing errors
    errors="$(mktemp)"
    listing="$(swift test list "${build_args[@]}" 2>"$errors")" || {
        echo "!! swift test list failed (the test build is broken?):" >&2
        cat "$errors" >&2
        rm -f "$errors"
        exit 1
    }
    rm -f "$errors"
    local filter unmatched=0
    for filter in "$@"; do
        if ! grep -Eq -- "$filter" <<<"$listing"; then
            echo "!! --filter '$filter' matches no test (test identifiers are Module.SuiteType/test)" >&2
            unmatched=1
        fi
    done
    [ "$unmatched" -eq 0 ] || exit 1
}

# The values of every --filter / --filter=… in the arguments.
filters_in() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --filter) shift; [ $# -gt 0 ] && echo "$1" ;;
            --filter=*) echo "${1#--filter=}" ;;
        esac
        shift || true
    done
}

case "$mode" in
    address)
        export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
        export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan-suppressions.txt:print_suppressions=0}"
        build=(--sanitize=address --scratch-path .build-asan)
        ;;
    thread)
        export TSAN_OPTIONS="${TSAN_OPTIONS:-suppressions=$PWD/scripts/tsan-suppressions.txt:halt_on_error=0:second_deadlock_stack=1:report_signal_unsafe=0}"
        build=(--sanitize=thread --scratch-path .build-tsan)
        if [ $# -eq 0 ]; then
            pattern="$(IFS='|'; echo "${tsan_suites[*]}")"
            set -- --filter "\\.($pattern)/"
            mapfile -t filters < <(printf '\\.%s/\n' "${tsan_suites[@]}")
        fi
        ;;
    *)
        echo "usage: $0 address|thread [swift test arguments]" >&2
        exit 2
        ;;
esac

[ ${#filters[@]} -gt 0 ] || mapfile -t filters < <(filters_in "$@")
if [ ${#filters[@]} -gt 0 ]; then
    echo "== building the tests (${build[*]}) and checking that every filter matches a test"
    check_filters "${build[@]}" -- "${filters[@]}"
fi
# Serially: with a sanitizer's 2-10x slowdown, the whole suite in parallel on a 2-core machine
# misses the client's 1 s handshake timeout and fails sessions for no real reason.
exec swift test "${build[@]}" --no-parallel "$@"
