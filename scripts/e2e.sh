#!/usr/bin/env bash
# Runs the end-to-end tests in tests/e2e against a server binary and prints a closing
# "e2e: N passed, N failed".
#
# Usage: scripts/e2e.sh [NAME...]     NAME = a tests/e2e/NAME.test.mjs file, e.g. interop, sdk, demo (default: all)
# Environment:
#   OSPREY_BIN          binary to test (default bin/osprey; e.g. build/asan/osprey)
#   E2E_GREP            only tests whose name matches this pattern (node --test-name-pattern)
#   OSPREY_E2E_LOGDIR   where server logs go (default build/e2e-logs)
#   OSPREY_E2E_KEEP=1   keep the temporary data directories
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${OSPREY_BIN:-bin/osprey}
if [ ! -x "$bin" ]; then
    echo "e2e: $bin not found or not executable: run make (or make SAN=1 with OSPREY_BIN=build/asan/osprey)"
    echo "e2e: 0 passed, 1 failed"
    exit 2
fi
export OSPREY_BIN=$bin

# Dependencies from the committed lockfile; reinstall when the lockfile changed.
if [ ! -f tests/e2e/node_modules/.package-lock.json ] ||
    [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
    echo "e2e: npm ci in tests/e2e"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error) || { echo "e2e: 0 passed, 1 failed"; exit 2; }
fi

files=()
if [ $# -eq 0 ]; then
    files=(tests/e2e/*.test.mjs)
else
    for n in "$@"; do
        f=tests/e2e/${n%.test.mjs}.test.mjs
        [ -f "$f" ] || { echo "e2e: no test file $f"; exit 2; }
        files+=("$f")
    done
fi

export OSPREY_E2E_LOGDIR=${OSPREY_E2E_LOGDIR:-build/e2e-logs}
mkdir -p "$OSPREY_E2E_LOGDIR"
rm -f "$OSPREY_E2E_LOGDIR"/*.log
tap=$OSPREY_E2E_LOGDIR/e2e.tap
grep_args=()
[ -n "${E2E_GREP:-}" ] && grep_args=(--test-name-pattern="$E2E_GREP")

echo "e2e: ${files[*]} against $bin (server logs in $OSPREY_E2E_LOGDIR)"
# One test file at a time: the machine is small and each file starts its own servers.
node --test --test-concurrency=1 --test-timeout=600000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    "${grep_args[@]}" "${files[@]}"
rc=$?

count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$tap" | tail -n 1; }
pass=$(count pass)
fail=$(count fail)
cancelled=$(count cancelled)
pass=${pass:-0}
fail=$((${fail:-0} + ${cancelled:-0}))
# A crash of the runner itself leaves no summary: count it as a failure.
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
