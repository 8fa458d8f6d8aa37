#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (after scripts/deps.sh test):
#   1. warning-free build (-Werror)      4. end-to-end tests against bin/osprey
#   2. unit tests                        4b. the console: type check, browser tests (Chromium)
#   3. unit tests under ASan+UBSan       5. ASan+UBSan build and the end-to-end tests again
#                                        6. fuzzing: corpus replay, then FUZZ_SECONDS per target,
#                                           JOBS targets at a time
# Every section runs even when an earlier one failed; the summary at the end names what
# failed (up to 20 lines per section), its last line totals them all as "N passed, N
# failed", and the exit status is non-zero on any failure.
#
# Environment: FUZZ_SECONDS (default 20), JOBS (make -j, default: number of CPUs),
# SKIP="asan fuzz ..." to leave sections out while working (a skipped section is
# reported as skipped, never as passed).
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
SKIP=" ${SKIP:-} "
LOGS=build/test-logs
mkdir -p "$LOGS"

total_pass=0
total_fail=0
summary=()
failures=() # what failed, for the summary: the end of a long output is what gets read
t_start=$(date +%s)

section() {
    printf '\n==================== %s ====================\n' "$1"
}

# record NAME PASSED FAILED
record() {
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
    summary+=("$(printf '%-28s %4d passed, %4d failed' "$1" "$2" "$3")")
}

skipped() {
    case "$SKIP" in *" $1 "*) summary+=("$(printf '%-28s skipped' "$1")"); return 0 ;; esac
    return 1
}

# step NAME LOG COMMAND...: a step that counts as one check; output goes to LOG and is shown
# (the tail) when it fails.
step() {
    local name=$1 log=$2
    shift 2
    local t0=$(date +%s)
    if "$@" >"$log" 2>&1; then
        echo "ok: $name ($(($(date +%s) - t0)) s)"
        record "$name" 1 0
    else
        echo "FAILED: $name ($(($(date +%s) - t0)) s); last lines of $log:"
        tail -n 40 "$log"
        record "$name" 0 1
        failures+=("$name (log $log)")
    fi
}

# counted NAME PREFIX COMMAND...: runs a command that ends its output with
# "PREFIX N passed, N failed"; records those numbers (one failure when the line is missing).
counted() {
    local name=$1 prefix=$2
    shift 2
    local log=$LOGS/${name// /-}.log t0=$(date +%s)
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local line
    line=$(grep -E "^${prefix}[0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAILED: $name produced no result line (exit $rc)"
        record "$name" 0 1
        return
    fi
    local p f
    p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "$name: $p passed, $f failed ($(($(date +%s) - t0)) s)"
    record "$name" "$p" "$f"
    [ "$f" -gt 0 ] && note_failures "$name" "$log"
}

# note_failures NAME LOG: keeps LOG's failure lines for the summary: the runners' "FAILED"
# lines (unit tests, fuzz targets) and node's failed tests ("✖"), each once.
note_failures() {
    local line
    while IFS= read -r line; do
        case "$line" in "$1: "*) failures+=("$line") ;; *) failures+=("$1: $line") ;; esac
    done < <(grep -E 'FAILED|^[[:space:]]*✖' "$2" | grep -v '✖ failing tests:' |
        sed -E 's/^[[:space:]]+//' | awk '!seen[$0]++' | head -n 20)
}

section "1. build: make WERROR=1 (warnings are errors)"
# A separate build directory, so objects built earlier without -Werror are not reused.
step "build -Werror" "$LOGS/build-werror.log" make -j"$JOBS" WERROR=1 BUILD=build/werror BIN=build/werror/osprey all unit-build
step "build bin/osprey" "$LOGS/build-release.log" make -j"$JOBS"

section "2. unit tests"
counted "unit" "unit: " make -j"$JOBS" unit

if ! skipped "asan-unit"; then
    section "3. unit tests under ASan+UBSan"
    counted "unit asan" "unit: " make -j"$JOBS" SAN=1 unit
fi

if ! skipped "e2e"; then
    section "4. end-to-end tests: bin/osprey"
    OSPREY_E2E_LOGDIR=build/e2e-logs/release OSPREY_BIN=bin/osprey counted "e2e release" "e2e: " timeout 900 scripts/e2e.sh
fi

if ! skipped "console"; then
    section "4b. the console: type check, and browser tests against bin/osprey"
    step "console type check" "$LOGS/console-tsc.log" bash -c 'cd console && npx tsc --noEmit -p .'
    OSPREY_BIN=bin/osprey counted "console" "console: " timeout 600 scripts/console-test.sh
fi

if ! skipped "asan"; then
    section "5. end-to-end tests under ASan+UBSan: build/asan/osprey"
    step "build asan" "$LOGS/build-asan.log" make -j"$JOBS" SAN=1
    OSPREY_E2E_LOGDIR=build/e2e-logs/asan OSPREY_BIN=build/asan/osprey counted "e2e asan" "e2e: " timeout 1200 scripts/e2e.sh
fi

if ! skipped "fuzz"; then
    section "6. fuzzing: replay corpora, then ${FUZZ_SECONDS} s per target"
    step "fuzz build" "$LOGS/fuzz-build.log" make -j"$JOBS" fuzz-build
    counted "fuzz" "fuzz: " make --no-print-directory -j"$JOBS" -O -f fuzz/Makefile run FUZZ_SECONDS="$FUZZ_SECONDS"
fi

section "summary ($(($(date +%s) - t_start)) s)"
printf '%s\n' "${summary[@]}"
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
