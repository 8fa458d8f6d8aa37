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

. scripts/node-tests.sh
node_tests_prepare e2e tests/e2e "$@"

export OSPREY_E2E_LOGDIR=${OSPREY_E2E_LOGDIR:-build/e2e-logs}
mkdir -p "$OSPREY_E2E_LOGDIR"
rm -f "$OSPREY_E2E_LOGDIR"/*.log

echo "e2e: ${files[*]} against $bin (server logs in $OSPREY_E2E_LOGDIR)"
node_tests_run e2e "$OSPREY_E2E_LOGDIR/e2e.tap" 600000 "${E2E_GREP:-}"
