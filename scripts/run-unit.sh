#!/usr/bin/env bash
# Runs each unit-test program given as an argument; prints a closing "N passed, N failed".
set -u
passed=0 failed=0
for t in "$@"; do
    if "$t" >"$t.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $t"; tail -n 40 "$t.log"
    fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
