#!/usr/bin/env bash
# Builds the Examples package (which depends on this one by path) and runs its daemon for one
# round against the in-process test services; fails unless the output shows the call's span
# and River's call metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --package-path Examples
output=$(Examples/.build/debug/river-daemon --calls 1)
echo "$output"
grep -q "river.client.test.add" <<<"$output" || { echo "no river.client.test.add span in the output" >&2; exit 1; }
grep -q "river.client.calls.finished" <<<"$output" || { echo "no river.client.calls.finished metric in the output" >&2; exit 1; }
