#!/usr/bin/env bash
# Runs the console's browser tests in tests/console (Debian's Chromium driven by playwright-core,
# against the console the server binary serves) and prints a closing "console: N passed, N failed".
#
# Usage: scripts/console-test.sh [NAME...]   NAME = a tests/console/NAME.test.mjs file: pages, perf (default: all)
# Environment:
#   OSPREY_BIN                  binary to test (default bin/osprey); it must embed the console (make builds it)
#   CONSOLE_GREP                only tests whose name matches this pattern (node --test-name-pattern)
#   OSPREY_E2E_LOGDIR           where server logs go (default build/console-logs)
#   OSPREY_CONSOLE_ARTIFACTS    where screenshots go (default build/console-artifacts)
#   OSPREY_CHROMIUM             the browser (default /usr/bin/chromium, from scripts/deps.sh test)
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${OSPREY_BIN:-bin/osprey}
if [ ! -x "$bin" ]; then
    echo "console: $bin not found or not executable: run make"
    echo "console: 0 passed, 1 failed"
    exit 2
fi
export OSPREY_BIN=$bin

# Dependencies from the committed lockfile; reinstall when the lockfile changed.
if [ ! -f tests/console/node_modules/.package-lock.json ] ||
    [ tests/console/package-lock.json -nt tests/console/node_modules/.package-lock.json ]; then
    echo "console: npm ci in tests/console"
    (cd tests/console && npm ci --no-audit --no-fund --loglevel=error) || { echo "console: 0 passed, 1 failed"; exit 2; }
fi

files=()
if [ $# -eq 0 ]; then
    files=(tests/console/*.test.mjs)
else
    for n in "$@"; do
        f=tests/console/${n%.test.mjs}.test.mjs
        [ -f "$f" ] || { echo "console: no test file $f"; exit 2; }
        files+=("$f")
    done
fi

export OSPREY_E2E_LOGDIR=${OSPREY_E2E_LOGDIR:-build/console-logs}
export OSPREY_CONSOLE_ARTIFACTS=${OSPREY_CONSOLE_ARTIFACTS:-build/console-artifacts}
mkdir -p "$OSPREY_E2E_LOGDIR" "$OSPREY_CONSOLE_ARTIFACTS"
rm -f "$OSPREY_E2E_LOGDIR"/*.log "$OSPREY_CONSOLE_ARTIFACTS"/*.png
tap=$OSPREY_E2E_LOGDIR/console.tap
grep_args=()
[ -n "${CONSOLE_GREP:-}" ] && grep_args=(--test-name-pattern="$CONSOLE_GREP")

echo "console: ${files[*]} against $bin (server logs in $OSPREY_E2E_LOGDIR, screenshots in $OSPREY_CONSOLE_ARTIFACTS)"
# One test file at a time: each starts its own server, demo fleet and browser.
node --test --test-concurrency=1 --test-timeout=300000 \
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
echo "console: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
