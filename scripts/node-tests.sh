# Shared by scripts/e2e.sh and scripts/console-test.sh (sourced, not run): the binary under
# test, the npm packages of a test folder, the test files picked, and a node --test run that
# ends with "LABEL: N passed, N failed".

# node_tests_prepare LABEL DIR [NAME...]: checks OSPREY_BIN (default bin/osprey) and exports
# it, installs DIR's packages from its lockfile when missing or older than it, and sets the
# array `files` to DIR/NAME.test.mjs for each NAME, or every DIR/*.test.mjs. Exits on failure.
node_tests_prepare() {
    local label=$1 dir=$2
    shift 2
    bin=${OSPREY_BIN:-bin/osprey}
    if [ ! -x "$bin" ]; then
        echo "$label: $bin not found or not executable: run make"
        echo "$label: 0 passed, 1 failed"
        exit 2
    fi
    export OSPREY_BIN=$bin
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
        [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "$label: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "$label: 0 passed, 1 failed"; exit 2; }
    fi
    files=()
    if [ $# -eq 0 ]; then
        files=("$dir"/*.test.mjs)
    else
        local n f
        for n in "$@"; do
            f=$dir/${n%.test.mjs}.test.mjs
            [ -f "$f" ] || { echo "$label: no test file $f"; exit 2; }
            files+=("$f")
        done
    fi
}

# node_tests_run LABEL TAP TIMEOUT_MS GREP: runs `files` one file at a time (each starts its
# own servers), GREP (may be empty) picking tests by name, the TAP report into TAP; prints
# the closing line and returns non-zero on any failure.
node_tests_run() {
    local label=$1 tap=$2 timeout=$3 grep=$4 grep_args=() rc pass fail cancelled
    [ -n "$grep" ] && grep_args=(--test-name-pattern="$grep")
    node --test --test-concurrency=1 --test-timeout="$timeout" \
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
    echo "$label: $pass passed, $fail failed"
    [ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
}
