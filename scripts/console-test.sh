#!/usr/bin/env bash
# Runs the console's browser tests in tests/console (Debian's Chromium driven by playwright-core,
# against the console the server binary serves) and prints a closing "console: N passed, N failed".
#
# Usage: scripts/console-test.sh [NAME...]   NAME = a tests/console/NAME.test.mjs file: pages, perf,
#                                            scroll, tables, a11y (default: all)
# Environment:
#   OSPREY_BIN                  binary to test (default bin/osprey); it must embed the console (make builds it)
#   CONSOLE_GREP                only tests whose name matches this pattern (node --test-name-pattern)
#   OSPREY_E2E_LOGDIR           where server logs go (default build/console-logs)
#   OSPREY_CONSOLE_ARTIFACTS    where screenshots go (default build/console-artifacts)
#   OSPREY_CHROMIUM             the browser (default /usr/bin/chromium, from scripts/deps.sh test)
set -uo pipefail
cd "$(dirname "$0")/.."

. scripts/node-tests.sh
node_tests_prepare console tests/console "$@"

export OSPREY_E2E_LOGDIR=${OSPREY_E2E_LOGDIR:-build/console-logs}
export OSPREY_CONSOLE_ARTIFACTS=${OSPREY_CONSOLE_ARTIFACTS:-build/console-artifacts}
mkdir -p "$OSPREY_E2E_LOGDIR" "$OSPREY_CONSOLE_ARTIFACTS"
rm -f "$OSPREY_E2E_LOGDIR"/*.log "$OSPREY_CONSOLE_ARTIFACTS"/*.png

echo "console: ${files[*]} against $bin (server logs in $OSPREY_E2E_LOGDIR, screenshots in $OSPREY_CONSOLE_ARTIFACTS)"
node_tests_run console "$OSPREY_E2E_LOGDIR/console.tap" 300000 "${CONSOLE_GREP:-}"
