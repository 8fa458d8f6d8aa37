#!/usr/bin/env bash
# Osprey benchmark: ingest, storage and query figures for Osprey and for ClickHouse as a peer,
# on the same pre-encoded spans (traces part), and for Osprey, VictoriaMetrics and Prometheus
# on the same pre-encoded remote write requests (metrics part), and for Osprey and ClickHouse
# on the same generated log lines (logs part); prints tables with the ratios. The derive
# part (not in "all") measures what the write-path derivations cost: the same spans into a
# server with them and one with --no-derive. See docs/benchmarks.md.
#
# Knobs (environment):
#   BENCH_PART        traces | metrics | logs | sdk | console | all (default all) | derive
#   BENCH_SPANS       spans stored for the storage and query figures (default 10000000)
#   BENCH_QUICK=1     smoke run: 200000 spans, short phases
#   BENCH_CONC        connections, for Osprey and ClickHouse alike (default 4)
#   BENCH_BATCH       spans per request (default 512)
#   BENCH_CH_SAME_BATCH_SPANS  spans ClickHouse gets at BENCH_BATCH per request (default 1M)
#   BENCH_H2LOAD_SECONDS       length of each h2load phase
#   BENCH_QUERIES, BENCH_SEARCHES  Osprey trace fetches and searches
#   BENCH_CH_QUERIES           ClickHouse trace fetches (and searches)
#   BENCH_LATENCY_SECONDS      time cap of each latency series (default 120)
#   BENCH_MERGE_WAIT, BENCH_IDLE_WAIT  longest waits for background work to settle (s)
#   BENCH_OUT (default bench/out), BENCH_KEEP=1 (keep generated data and stores),
#   BENCH_OSPREY      the server binary (default bin/osprey)
#   BENCH_ONLY=osprey|clickhouse (run one side)
# Metrics part:
#   BENCH_METRICS_SIZES    active series per run (default "100000 1000000"; quick: 20000)
#   BENCH_METRICS_ROUNDS   scrape rounds (one sample per series each, 15 s apart); default
#                          240 (1 h) up to 200000 series, 20 above (quick: 40)
#   BENCH_METRICS_BATCH    series per remote write request (default 500, as Prometheus's
#                          max_samples_per_send; 2000 is the newer default)
#   BENCH_METRICS_CONC     connections (default 4)
#   BENCH_METRICS_REPS     repetitions of each query (default 10; quick: 3)
#   BENCH_METRICS_STEP     query_range step in seconds (default 60 for an hour of data, else 15)
#   BENCH_METRICS_QUERY_SECONDS  time cap of each system's query series (default 90)
#   BENCH_METRICS_SYSTEMS  default "osprey victoriametrics prometheus"
#   BENCH_METRICS_JITTER_MS  scrape timestamp jitter, ± ms (default 2)
# Logs part:
#   LOGS_BENCH_LINES       log lines (default 50000000; quick: 1000000)
#   LOGS_BENCH_BATCH       lines per OTLP request and Loki push (default 1000)
#   LOGS_BENCH_CH_BATCH    rows per ClickHouse INSERT for the full load (default 100000)
#   LOGS_BENCH_CH_SAME_LINES  lines ClickHouse also gets at LOGS_BENCH_BATCH rows per
#                          INSERT (default all of them; 0 skips that phase)
#   LOGS_BENCH_CONC        connections (default 4)
#   LOGS_BENCH_REPS        repetitions of each search after one warm-up (default 30)
#   LOGS_BENCH_SEARCH_SECONDS  time cap of each search series (default 120)
#   LOGS_BENCH_LOKI=0      skip the Loki JSON push phase
# Derive part:
#   BENCH_DERIVE_SPANS     spans loaded per run (default 1000000); the workload is kept in
#                          $BENCH_OUT/derive-data and reused while its parameters match
#   BENCH_DERIVE_REPS      runs with derivations on and off each, alternating (default 3)
# Console part:
#   BENCH_CONSOLE_SPANS    spans the server holds, spread over the last 55 minutes (default
#                          10000000; quick: 1000000); `osprey demo` then adds logs, metrics
#                          and sessions for BENCH_CONSOLE_DEMO_SECONDS (default 30)
#   BENCH_CONSOLE_REPS     cold opens of each page (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    SPANS=${BENCH_SPANS:-200000}
    H2S=${BENCH_H2LOAD_SECONDS:-5}
    QUERIES=${BENCH_QUERIES:-300}
    SEARCHES=${BENCH_SEARCHES:-100}
    CH_QUERIES=${BENCH_CH_QUERIES:-100}
    MERGE_WAIT=${BENCH_MERGE_WAIT:-60}
    IDLE_WAIT=${BENCH_IDLE_WAIT:-60}
else
    SPANS=${BENCH_SPANS:-10000000}
    H2S=${BENCH_H2LOAD_SECONDS:-20}
    QUERIES=${BENCH_QUERIES:-3000}
    SEARCHES=${BENCH_SEARCHES:-300}
    CH_QUERIES=${BENCH_CH_QUERIES:-300}
    MERGE_WAIT=${BENCH_MERGE_WAIT:-300}
    IDLE_WAIT=${BENCH_IDLE_WAIT:-180}
fi
LAT_MAX_S=${BENCH_LATENCY_SECONDS:-120} # time budget of each latency series
CONC=${BENCH_CONC:-4}
BATCH=${BENCH_BATCH:-512}
CH_SAME=${BENCH_CH_SAME_BATCH_SPANS:-$((SPANS < 1000000 ? SPANS : 1000000))}
OUT=${BENCH_OUT:-bench/out}
KEEP=${BENCH_KEEP:-0}
ONLY=${BENCH_ONLY:-all} # osprey | clickhouse | all
PART=${BENCH_PART:-all} # traces | metrics | logs | all
LG=bench/bin/osprey-loadgen
MB=bench/bin/osprey-metrics-bench
OSPREY=${BENCH_OSPREY:-bin/osprey}
DATA=$OUT/data
WORK=$OUT/work
TCK=$(getconf CLK_TCK)
TIMEFORMAT='%U %S' # `time` prints the user and system CPU seconds of what it ran
declare -A R # results

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
cpu_s() { awk -v t="$TCK" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
busy_s() { awk -v t="$TCK" '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8 + $9) / t }' /proc/stat; }
# CPU seconds the machine spent on anything but the server and the load generator during a
# phase (other processes, interrupts): a gauge of how disturbed the figures are.
other_cpu() { calc "$4 - $3 - ($2 - $1) - ${5:-0}" 1; } # c0 c1 b0 b1 loadgen_cpu
hwm_mib() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
kv() { awk -F= -v k="$2" '$1 == k { print $2 }' "$1"; }

case "$PART" in traces | metrics | logs | sdk | console | all | derive) ;; *) die "BENCH_PART must be traces, metrics, logs, sdk, console, all or derive" ;; esac
scripts/deps.sh bench
for tool in h2load curl awk; do
    command -v "$tool" >/dev/null || die "$tool is missing (run scripts/deps.sh bench)"
done
[ "$ONLY" = clickhouse ] || [ -x "$OSPREY" ] || die "$OSPREY is missing (run make)"
[ -x "$LG" ] || die "$LG is missing (run make -C bench)"
LB=bench/bin/osprey-logs-bench
if [ "$PART" = logs ] || [ "$PART" = all ]; then
    [ -x "$LB" ] || die "$LB is missing (run make -C bench)"
fi
if [ "$PART" = console ] || [ "$PART" = all ]; then
    command -v node >/dev/null || die "node is missing (run scripts/deps.sh bench)"
    [ -x "${OSPREY_CHROMIUM:-/usr/bin/chromium}" ] || die "chromium not found (run scripts/deps.sh bench)"
fi
if [ "$PART" != metrics ] && [ "$PART" != sdk ] && [ "$PART" != derive ] && [ "$PART" != console ]; then
    CH_SERVER=${BENCH_CLICKHOUSE_SERVER:-$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)}
    [ -x "$CH_SERVER" ] || die "clickhouse-server not found (run scripts/deps.sh bench)"
fi
if [ "$PART" = metrics ] || [ "$PART" = all ]; then
    [ -x "$OSPREY" ] || die "$OSPREY is missing (run make)"
    [ -x "$MB" ] || die "$MB is missing (run make -C bench)"
    VM_BIN=${BENCH_VICTORIAMETRICS:-$(command -v victoria-metrics || echo /usr/bin/victoria-metrics)}
    PROM_BIN=${BENCH_PROMETHEUS:-$(command -v prometheus || echo /usr/bin/prometheus)}
    [ -x "$VM_BIN" ] || die "victoria-metrics not found (run scripts/deps.sh bench)"
    [ -x "$PROM_BIN" ] || die "prometheus not found (run scripts/deps.sh bench)"
fi

OSP_PID=
CH_PID=
MET_PID= # the metrics part's server (one at a time)
MWORK=$OUT/metrics-work
MDATA=$OUT/metrics-data
# Stops a process we started: SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid did not stop within $2 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
LWORK=$OUT/logs-work
cleanup() {
    local rc=$?
    [ -n "$OSP_PID" ] && stop_pid "$OSP_PID" 120
    [ -n "$CH_PID" ] && stop_pid "$CH_PID" 60
    [ -n "$MET_PID" ] && stop_pid "$MET_PID" 300
    if [ "$KEEP" != 1 ]; then rm -rf "$WORK" "$DATA" "$MWORK" "$MDATA" "$LWORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() { # prints $1 distinct free ports
    local ports=() p
    while [ ${#ports[@]} -lt "$1" ]; do
        p=$("$LG" free-port)
        [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
    done
    echo "${ports[@]}"
}

# ---- Osprey ----

start_osprey() { # data dir [more flags]
    read -r GRPC_PORT HTTP_PORT API_PORT < <(free_ports 3)
    "$OSPREY" serve --data-dir "$1" --retention 0 --otlp-grpc-addr "127.0.0.1:$GRPC_PORT" \
        --otlp-http-addr "127.0.0.1:$HTTP_PORT" --http-addr "127.0.0.1:$API_PORT" "${@:2}" \
        >>"$OUT/osprey.log" 2>&1 &
    OSP_PID=$!
    local i
    for ((i = 0; i < 600; i++)); do
        curl -fsS "http://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$OSP_PID" 2>/dev/null || die "osprey exited during start-up (see $OUT/osprey.log)"
        sleep 0.1
    done
    die "osprey was not ready after 60 s"
}
stop_osprey() { # sets STOP_S: seconds the shutdown (with its flush) took
    local t0
    t0=$(now)
    stop_pid "$OSP_PID" 300
    OSP_PID=
    STOP_S=$(calc "$(now) - $t0" 1)
}
metric() { # sum of all series of one metric
    curl -fsS "http://127.0.0.1:$API_PORT/metrics" |
        awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f", s }'
}
# Waits until the process has been (nearly) idle for two 5-s windows in a row: background
# merges are done. (The server's maintenance runs every 5 s, its first round 5 s after
# start, so one quiet window can come before the merges have begun.)
wait_idle() {
    local pid=$1 deadline=$(($(date +%s) + $2)) c0 c1 quiet=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        c0=$(cpu_s "$pid")
        sleep 5
        c1=$(cpu_s "$pid")
        if awk -v a="$c0" -v b="$c1" 'BEGIN { exit !(b - a < 0.1) }'; then
            quiet=$((quiet + 1))
            [ "$quiet" -ge 2 ] && return 0
        else
            quiet=0
        fi
    done
    log "still busy after $2 s; measuring anyway"
}

# Ingest phase with h2load: one pre-encoded request body sent over and over.
osprey_h2load() { # name (grpc|http)
    local name=$1 a0 r0 c0 t0 t1 c1 a1 r1 secs b0 b1
    rm -rf "$WORK/osprey-$name"
    start_osprey "$WORK/osprey-$name"
    a0=$(metric osprey_spans_accepted_total)
    r0=$(metric osprey_spans_rejected_total)
    b0=$(busy_s)
    c0=$(cpu_s "$OSP_PID")
    t0=$(now)
    if [ "$name" = grpc ]; then
        { time h2load -c "$CONC" -m 1 -D "$H2S" -H 'content-type: application/grpc' \
            -H 'te: trailers' -d "$DATA/h2load.grpc" \
            "http://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.trace.v1.TraceService/Export" \
            >"$OUT/h2load-osprey-$name.log" 2>&1 || true; } 2>"$OUT/h2load-osprey-$name.time"
    else
        { time h2load --h1 -c "$CONC" -D "$H2S" -H 'content-type: application/x-protobuf' \
            -d "$DATA/h2load.pb" "http://127.0.0.1:$HTTP_PORT/v1/traces" \
            >"$OUT/h2load-osprey-$name.log" 2>&1 || true; } 2>"$OUT/h2load-osprey-$name.time"
    fi
    t1=$(now)
    a1=$(metric osprey_spans_accepted_total)
    r1=$(metric osprey_spans_rejected_total)
    wait_idle "$OSP_PID" "$IDLE_WAIT"
    c1=$(cpu_s "$OSP_PID")
    b1=$(busy_s)
    secs=$(calc "$t1 - $t0" 3)
    R[osp_${name}_spans]=$((a1 - a0))
    R[osp_${name}_rejected]=$((r1 - r0))
    R[osp_${name}_rate]=$(calc "($a1 - $a0) / $secs" 0)
    R[osp_${name}_cpu_per_m]=$(calc "($c1 - $c0) / (($a1 - $a0) / 1e6 + 1e-9)" 2)
    R[osp_${name}_rss]=$(hwm_mib "$OSP_PID")
    R[osp_${name}_loadgen_cpu]=$(awk '{ print $1 + $2 }' "$OUT/h2load-osprey-$name.time")
    R[osp_${name}_server_cpu]=$(calc "$c1 - $c0" 1)
    R[osp_${name}_status]=$(grep -m1 '^status codes' "$OUT/h2load-osprey-$name.log" || true)
    R[osp_${name}_other_cpu]=$(other_cpu "$c0" "$c1" "$b0" "$b1" "${R[osp_${name}_loadgen_cpu]}")
    log "osprey $name: ${R[osp_${name}_rate]} spans/s accepted (${R[osp_${name}_spans]} in $secs s," \
        "${R[osp_${name}_rejected]} rejected), ${R[osp_${name}_cpu_per_m]} CPU s/M," \
        "peak RSS ${R[osp_${name}_rss]} MiB; ${R[osp_${name}_status]};" \
        "other CPU ${R[osp_${name}_other_cpu]} s"
    [ "$((a1 - a0))" -gt 0 ] || die "osprey accepted no spans over $name (see $OUT/h2load-osprey-$name.log)"
    stop_osprey
    rm -rf "$WORK/osprey-$name"
}

osprey_store() {
    local dir=$WORK/osprey-store a0 c0 t0 t1 c1 a1 secs b0 b1
    rm -rf "$dir"
    start_osprey "$dir"
    a0=$(metric osprey_spans_accepted_total)
    b0=$(busy_s)
    c0=$(cpu_s "$OSP_PID")
    t0=$(now)
    "$LG" load --url "http://127.0.0.1:$HTTP_PORT/v1/traces" --pack "$DATA/otlp.pack" \
        --concurrency "$CONC" >"$OUT/load-osprey.txt" || die "loading osprey failed"
    t1=$(now)
    a1=$(metric osprey_spans_accepted_total)
    wait_idle "$OSP_PID" "$IDLE_WAIT"
    c1=$(cpu_s "$OSP_PID")
    b1=$(busy_s)
    secs=$(calc "$t1 - $t0" 3)
    R[osp_fill_spans]=$((a1 - a0))
    R[osp_fill_rate]=$(calc "($a1 - $a0) / $secs" 0)
    R[osp_fill_cpu_per_m]=$(calc "($c1 - $c0) / (($a1 - $a0) / 1e6 + 1e-9)" 2)
    R[osp_fill_rss]=$(hwm_mib "$OSP_PID")
    R[osp_fill_loadgen_cpu]=$(kv "$OUT/load-osprey.txt" loader_cpu_s)
    R[osp_fill_retries]=$(kv "$OUT/load-osprey.txt" retries)
    R[osp_fill_other_cpu]=$(other_cpu "$c0" "$c1" "$b0" "$b1" "${R[osp_fill_loadgen_cpu]}")
    log "osprey load: ${R[osp_fill_rate]} spans/s (${R[osp_fill_spans]} in $secs s," \
        "${R[osp_fill_retries]} retried requests), ${R[osp_fill_cpu_per_m]} CPU s/M," \
        "peak RSS ${R[osp_fill_rss]} MiB; other CPU ${R[osp_fill_other_cpu]} s"
    [ "${R[osp_fill_spans]}" = "$(kv "$OUT/load-osprey.txt" spans)" ] ||
        log "WARNING: accepted counter ${R[osp_fill_spans]} != spans sent $(kv "$OUT/load-osprey.txt" spans)"
    stop_osprey
    R[osp_shutdown_s]=$STOP_S
    log "osprey flushed and stopped in ${R[osp_shutdown_s]} s; restarting on the same data"
    t0=$(now)
    start_osprey "$dir"
    R[osp_restart_s]=$(calc "$(now) - $t0" 1)
    wait_idle "$OSP_PID" "$MERGE_WAIT"
    R[osp_bytes]=$(du -sb "$dir" | awk '{ print $1 }')
    R[osp_bytes_per_span]=$(calc "${R[osp_bytes]} / ${R[osp_fill_spans]}" 1)
    log "osprey store: ${R[osp_bytes]} bytes on disk, ${R[osp_bytes_per_span]} bytes/span" \
        "(ready again after ${R[osp_restart_s]} s); by directory:" \
        "$(du -sb "$dir"/* | awk '{ printf "%s %s; ", $2, $1 }')"
    "$LG" trace-latency --url "http://127.0.0.1:$API_PORT" --traces "$DATA/traces.bin" \
        --requests "$QUERIES" --max-seconds "$LAT_MAX_S" >"$OUT/lat-osprey-trace.txt" ||
        die "osprey trace fetches failed"
    "$LG" search-latency --url "http://127.0.0.1:$API_PORT" --requests "$SEARCHES" \
        --start "$FIRST_NS" --end "$LAST_NS" --max-seconds "$LAT_MAX_S" \
        >"$OUT/lat-osprey-search.txt" || die "osprey searches failed"
    for k in requests p50_ms p99_ms errors empty incomplete; do
        R[osp_trace_$k]=$(kv "$OUT/lat-osprey-trace.txt" $k)
        R[osp_search_$k]=$(kv "$OUT/lat-osprey-search.txt" $k)
    done
    log "osprey trace by id: p50 ${R[osp_trace_p50_ms]} ms, p99 ${R[osp_trace_p99_ms]} ms" \
        "(${R[osp_trace_requests]} requests); search: p50 ${R[osp_search_p50_ms]} ms," \
        "p99 ${R[osp_search_p99_ms]} ms (${R[osp_search_requests]} requests," \
        "${R[osp_search_empty]} empty answers)"
    [ "${R[osp_trace_incomplete]}" = 0 ] ||
        log "WARNING: ${R[osp_trace_incomplete]} traces came back with missing or extra spans"
    stop_osprey
}

# ---- ClickHouse ----

start_clickhouse() { # [data dir, default $WORK/clickhouse]
    local dir=${1:-$WORK/clickhouse} i
    [[ $dir == /* ]] || dir=$PWD/$dir # BENCH_OUT may be relative or absolute
    rm -rf "$dir"
    mkdir -p "$dir/log"
    read -r CH_HTTP CH_TCP < <(free_ports 2)
    cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log>
    <errorlog>$dir/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$CH_HTTP</http_port>
  <tcp_port>$CH_TCP</tcp_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>1073741824</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <compression><case><method>zstd</method></case></compression>
</yandex>
EOF
    cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>10000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
EOF
    "$CH_SERVER" --config-file="$dir/config.xml" >>"$OUT/clickhouse.log" 2>&1 &
    CH_PID=$!
    for ((i = 0; i < 600; i++)); do
        curl -fsS "http://127.0.0.1:$CH_HTTP/ping" >/dev/null 2>&1 && return 0
        kill -0 "$CH_PID" 2>/dev/null || die "clickhouse exited during start-up (see $OUT/clickhouse.log, $dir/log)"
        sleep 0.1
    done
    die "clickhouse was not ready after 60 s"
}
chq() { curl -fsS --data-binary "$1" "http://127.0.0.1:$CH_HTTP/"; }
ch_insert_url() { echo "http://127.0.0.1:$CH_HTTP/?query=INSERT%20INTO%20$1.spans%20FORMAT%20RowBinary"; }

# ch_load DB PACK KEY ROWS: loads PACK into a fresh database DB over HTTP and records the
# phase's figures as R[ch_KEY_*] (ROWS, the rows per request, only labels the log line).
ch_load() {
    local db=$1 pack=$2 key=$3 rows_per_req=$4 out="$OUT/load-clickhouse-$3.txt"
    local b0 b1 c0 c1 t0 t1 secs rows
    "$LG" ch-setup --url "http://127.0.0.1:$CH_HTTP/" --db "$db" || die "clickhouse schema"
    reset_hwm "$CH_PID"
    b0=$(busy_s)
    c0=$(cpu_s "$CH_PID")
    t0=$(now)
    "$LG" load --url "$(ch_insert_url "$db")" --pack "$pack" --concurrency "$CONC" \
        --content-type application/octet-stream >"$out" || die "loading clickhouse failed"
    t1=$(now)
    wait_idle "$CH_PID" "$IDLE_WAIT"
    c1=$(cpu_s "$CH_PID")
    b1=$(busy_s)
    secs=$(calc "$t1 - $t0" 3)
    rows=$(chq "SELECT count() FROM $db.spans")
    R[ch_${key}_spans]=$rows
    R[ch_${key}_rate]=$(calc "$rows / $secs" 0)
    R[ch_${key}_cpu_per_m]=$(calc "($c1 - $c0) / ($rows / 1e6 + 1e-9)" 2)
    R[ch_${key}_rss]=$(hwm_mib "$CH_PID")
    R[ch_${key}_retries]=$(kv "$out" retries)
    R[ch_${key}_other_cpu]=$(other_cpu "$c0" "$c1" "$b0" "$b1" "$(kv "$out" loader_cpu_s)")
    log "clickhouse load ($rows_per_req rows/request): ${R[ch_${key}_rate]} rows/s ($rows in" \
        "$secs s, ${R[ch_${key}_retries]} retried), ${R[ch_${key}_cpu_per_m]} CPU s/M," \
        "peak RSS ${R[ch_${key}_rss]} MiB; other CPU ${R[ch_${key}_other_cpu]} s"
}

clickhouse_all() {
    local c0 c1 t0 t1 secs rows b0 b1
    start_clickhouse
    log "clickhouse $(chq 'SELECT version()') on 127.0.0.1:$CH_HTTP"

    # 1. h2load, the same RowBinary request body over and over (as for Osprey)
    "$LG" ch-setup --url "http://127.0.0.1:$CH_HTTP/" --db tput || die "clickhouse schema"
    reset_hwm "$CH_PID"
    b0=$(busy_s)
    c0=$(cpu_s "$CH_PID")
    t0=$(now)
    { time h2load --h1 -c "$CONC" -D "$H2S" -d "$DATA/h2load.rb" "$(ch_insert_url tput)" \
        >"$OUT/h2load-clickhouse.log" 2>&1 || true; } 2>"$OUT/h2load-clickhouse.time"
    t1=$(now)
    wait_idle "$CH_PID" "$IDLE_WAIT"
    c1=$(cpu_s "$CH_PID")
    b1=$(busy_s)
    secs=$(calc "$t1 - $t0" 3)
    rows=$(chq 'SELECT count() FROM tput.spans')
    R[ch_h2_spans]=$rows
    R[ch_h2_rate]=$(calc "$rows / $secs" 0)
    R[ch_h2_cpu_per_m]=$(calc "($c1 - $c0) / ($rows / 1e6 + 1e-9)" 2)
    R[ch_h2_rss]=$(hwm_mib "$CH_PID")
    R[ch_h2_loadgen_cpu]=$(awk '{ print $1 + $2 }' "$OUT/h2load-clickhouse.time")
    R[ch_h2_server_cpu]=$(calc "$c1 - $c0" 1)
    R[ch_h2_status]=$(grep -m1 '^status codes' "$OUT/h2load-clickhouse.log" || true)
    R[ch_h2_other_cpu]=$(other_cpu "$c0" "$c1" "$b0" "$b1" "${R[ch_h2_loadgen_cpu]}")
    log "clickhouse h2load: ${R[ch_h2_rate]} rows/s ($rows in $secs s), ${R[ch_h2_cpu_per_m]} CPU s/M," \
        "peak RSS ${R[ch_h2_rss]} MiB; ${R[ch_h2_status]}; other CPU ${R[ch_h2_other_cpu]} s"
    t0=$(now); chq 'DROP DATABASE tput' >/dev/null; log "dropped tput in $(calc "$(now) - $t0" 1) s"

    # 2. distinct spans, same requests as Osprey got (first CH_SAME spans)
    ch_load same "$DATA/ch.pack" same "$BATCH"
    t0=$(now); chq 'DROP DATABASE same' >/dev/null; log "dropped same in $(calc "$(now) - $t0" 1) s"

    # 3. every span, in requests of about 8192 rows: the storage and query figures
    ch_load fill "$DATA/ch-big.pack" big 8192
    t0=$(now)
    chq 'OPTIMIZE TABLE fill.spans FINAL' >/dev/null
    chq 'OPTIMIZE TABLE fill.trace_id_ts FINAL' >/dev/null
    R[ch_optimize_s]=$(calc "$(now) - $t0" 1)
    R[ch_bytes]=$(chq "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'fill'")
    R[ch_bytes_spans_table]=$(chq "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'fill' AND table = 'spans'")
    R[ch_bytes_per_span]=$(calc "${R[ch_bytes]} / ${R[ch_big_spans]}" 1)
    log "clickhouse storage: ${R[ch_bytes]} bytes in parts after OPTIMIZE FINAL" \
        "(${R[ch_optimize_s]} s), ${R[ch_bytes_per_span]} bytes/span"
    "$LG" trace-latency --url "http://127.0.0.1:$CH_HTTP" --clickhouse fill \
        --traces "$DATA/traces.bin" --requests "$CH_QUERIES" --max-seconds "$LAT_MAX_S" \
        >"$OUT/lat-clickhouse-trace.txt" ||
        die "clickhouse trace fetches failed"
    "$LG" search-latency --url "http://127.0.0.1:$CH_HTTP" --clickhouse fill \
        --requests "$CH_QUERIES" --start "$FIRST_NS" --end "$LAST_NS" --max-seconds "$LAT_MAX_S" \
        >"$OUT/lat-clickhouse-search.txt" || die "clickhouse searches failed"
    for k in requests p50_ms p99_ms errors empty incomplete; do
        R[ch_trace_$k]=$(kv "$OUT/lat-clickhouse-trace.txt" $k)
        R[ch_search_$k]=$(kv "$OUT/lat-clickhouse-search.txt" $k)
    done
    log "clickhouse trace by id: p50 ${R[ch_trace_p50_ms]} ms, p99 ${R[ch_trace_p99_ms]} ms" \
        "(${R[ch_trace_requests]} requests); search: p50 ${R[ch_search_p50_ms]} ms," \
        "p99 ${R[ch_search_p99_ms]} ms (${R[ch_search_requests]} requests," \
        "${R[ch_search_empty]} empty answers)"
    [ "${R[ch_trace_incomplete]}" = 0 ] ||
        log "WARNING: ${R[ch_trace_incomplete]} traces came back with missing or extra spans"
    stop_pid "$CH_PID" 60
    CH_PID=
}

# ---- report ----

v() { echo "${R[$1]:-–}"; }
share() { # load generator CPU / (load generator + server CPU) of phase $1
    awk -v l="$(v "$1"_loadgen_cpu)" -v s="$(v "$1"_server_cpu)" \
        'BEGIN { if (l + s > 0) printf "%.0f%%", 100 * l / (l + s); else printf "–" }'
}
verdict() { # value op bound-expression: met / NOT met / not measured
    case "$1 $3" in *–*) echo "not measured" && return ;; esac
    awk "BEGIN { print ($1 $2 $3) ? \"met\" : \"NOT met\" }"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
        if (a + 0 <= 0 || b + 0 <= 0) { printf "–"; exit }
        r = a / b; printf(r >= 10 ? "%.1f" : r >= 0.1 ? "%.2f" : "%.3f", r) }'; }
report() {
    local f=$OUT/results.md
    {
        echo "| | Osprey | ClickHouse 18.16 | Osprey / ClickHouse |"
        echo "|---|---:|---:|---:|"
        echo "| ingest, gRPC, h2load (spans/s) | $(v osp_grpc_rate) | – | – |"
        echo "| ingest, OTLP/HTTP protobuf vs RowBinary over HTTP, h2load (spans/s) | $(v osp_http_rate) | $(v ch_h2_rate) | $(ratio "$(v osp_http_rate)" "$(v ch_h2_rate)") |"
        echo "| ingest, distinct spans, $BATCH per request (spans/s; ClickHouse: first $CH_SAME) | $(v osp_fill_rate) | $(v ch_same_rate) | $(ratio "$(v osp_fill_rate)" "$(v ch_same_rate)") |"
        echo "| ClickHouse with 8192 rows per request (rows/s) | | $(v ch_big_rate) | $(ratio "$(v osp_fill_rate)" "$(v ch_big_rate)") |"
        echo "| CPU s per million spans, gRPC h2load | $(v osp_grpc_cpu_per_m) | – | – |"
        echo "| CPU s per million spans, HTTP h2load | $(v osp_http_cpu_per_m) | $(v ch_h2_cpu_per_m) | $(ratio "$(v osp_http_cpu_per_m)" "$(v ch_h2_cpu_per_m)") |"
        echo "| CPU s per million spans, distinct, $BATCH per request | $(v osp_fill_cpu_per_m) | $(v ch_same_cpu_per_m) | $(ratio "$(v osp_fill_cpu_per_m)" "$(v ch_same_cpu_per_m)") |"
        echo "| CPU s per million spans, ClickHouse 8192 per request | | $(v ch_big_cpu_per_m) | $(ratio "$(v osp_fill_cpu_per_m)" "$(v ch_big_cpu_per_m)") |"
        echo "| peak RSS, h2load gRPC / HTTP (MiB) | $(v osp_grpc_rss) / $(v osp_http_rss) | – / $(v ch_h2_rss) | $(ratio "$(v osp_http_rss)" "$(v ch_h2_rss)") |"
        echo "| peak RSS, loading $NSPANS spans (MiB) | $(v osp_fill_rss) | $(v ch_big_rss) | $(ratio "$(v osp_fill_rss)" "$(v ch_big_rss)") |"
        echo "| bytes on disk per span ($NSPANS spans) | $(v osp_bytes_per_span) | $(v ch_bytes_per_span) | $(ratio "$(v osp_bytes_per_span)" "$(v ch_bytes_per_span)") |"
        echo "| trace by id p50 / p99 (ms) | $(v osp_trace_p50_ms) / $(v osp_trace_p99_ms) | $(v ch_trace_p50_ms) / $(v ch_trace_p99_ms) | $(ratio "$(v osp_trace_p99_ms)" "$(v ch_trace_p99_ms)") (p99) |"
        echo "| search p50 / p99 (ms) | $(v osp_search_p50_ms) / $(v osp_search_p99_ms) | $(v ch_search_p50_ms) / $(v ch_search_p99_ms) | $(ratio "$(v osp_search_p99_ms)" "$(v ch_search_p99_ms)") (p99) |"
    } >"$f"
    {
        for k in "${!R[@]}"; do echo "$k=${R[$k]}"; done | sort
    } >"$OUT/results.txt"
    echo
    echo "Osprey benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "load average at start $LOAD0, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$NSPANS spans ($(v gen_attrs_per_span) attributes/span, $(v gen_otlp_bytes_per_span) OTLP bytes/span)," \
        "$BATCH spans per request, $CONC connections"
    echo
    column -t -s '|' -o '|' "$f" 2>/dev/null || cat "$f"
    echo
    local pass_rate pass_bytes pass_p99
    pass_rate=$(verdict "$(v osp_fill_rate)" ">=" "5 * $(v ch_same_rate)")
    pass_bytes=$(verdict "$(v osp_bytes_per_span)" "<=" "0.5 * $(v ch_bytes_per_span)")
    pass_p99=$(verdict "$(v osp_trace_p99_ms)" "<" 10)
    echo "targets: insert rate >= 5x ClickHouse at the same batch size: $pass_rate;" \
        "bytes/span <= 0.5x: $pass_bytes; trace-by-id p99 < 10 ms at $NSPANS spans: $pass_p99"
    echo "load generator's share of the CPU: h2load gRPC $(share osp_grpc), h2load HTTP" \
        "$(share osp_http) (h2load $(v osp_grpc_loadgen_cpu) s and $(v osp_http_loadgen_cpu) s," \
        "server $(v osp_grpc_server_cpu) s and $(v osp_http_server_cpu) s); loader" \
        "$(v osp_fill_loadgen_cpu) s for $NSPANS spans"
    echo "CPU used by everything else on the machine during the ingest phases (other processes," \
        "interrupts): Osprey $(v osp_grpc_other_cpu) / $(v osp_http_other_cpu) / $(v osp_fill_other_cpu) s," \
        "ClickHouse $(v ch_h2_other_cpu) / $(v ch_same_other_cpu) / $(v ch_big_other_cpu) s"
    echo "results: $f, $OUT/results.txt; logs in $OUT"
}

# ---- metrics: Osprey, VictoriaMetrics and Prometheus on the same remote write requests ----

if [ "$QUICK" = 1 ]; then
    M_SIZES=${BENCH_METRICS_SIZES:-20000}
    M_REPS=${BENCH_METRICS_REPS:-3}
else
    M_SIZES=${BENCH_METRICS_SIZES:-100000 1000000}
    M_REPS=${BENCH_METRICS_REPS:-10}
fi
M_BATCH=${BENCH_METRICS_BATCH:-500}
M_CONC=${BENCH_METRICS_CONC:-4}
M_QSECS=${BENCH_METRICS_QUERY_SECONDS:-90}
M_SYSTEMS=${BENCH_METRICS_SYSTEMS:-osprey victoriametrics prometheus}
M_JITTER=${BENCH_METRICS_JITTER_MS:-2}
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
m_rounds() { # default rounds for $1 series
    if [ -n "${BENCH_METRICS_ROUNDS:-}" ]; then echo "$BENCH_METRICS_ROUNDS"
    elif [ "$QUICK" = 1 ]; then echo 40
    elif [ "$1" -le 200000 ]; then echo 240
    else echo 20; fi
}
m_version() {
    case $1 in
    osprey) echo "Osprey" ;;
    victoriametrics) echo "VictoriaMetrics $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null | sed 's/+.*//')" ;;
    prometheus) echo "Prometheus $("$PROM_BIN" --version 2>&1 | awk 'NR == 1 { sub(/\+.*/, "", $3); print $3 }')" ;;
    esac
}

met_wait_ready() { # url name log
    local i
    for ((i = 0; i < 600; i++)); do
        curl -fsS "$1" >/dev/null 2>&1 && return 0
        kill -0 "$MET_PID" 2>/dev/null || die "$2 exited during start-up (see $3)"
        sleep 0.1
    done
    die "$2 was not ready after 60 s"
}

# Starts one system on a fresh data directory; sets MET_PID and MET_URL.
met_start() { # system dir
    local sys=$1 dir=$2 log=$OUT/metrics-$1.log p1 p2 p3
    rm -rf "$dir" "$dir.yml"
    mkdir -p "$dir"
    read -r p1 p2 p3 < <(free_ports 3)
    MET_URL=http://127.0.0.1:$p1
    case $sys in
    osprey)
        "$OSPREY" serve --data-dir "$dir" --http-addr "127.0.0.1:$p1" \
            --otlp-grpc-addr "127.0.0.1:$p2" --otlp-http-addr "127.0.0.1:$p3" >>"$log" 2>&1 &
        MET_PID=$!
        met_wait_ready "$MET_URL/readyz" osprey "$log"
        ;;
    victoriametrics)
        # no rollup cache (repeated queries would be answered from it), limits high enough
        # for count() over every series
        "$VM_BIN" -httpListenAddr="127.0.0.1:$p1" -storageDataPath="$dir" -retentionPeriod=1 \
            -search.disableCache -search.maxUniqueTimeseries=100000000 \
            -search.maxQueryDuration=5m -loggerLevel=WARN >>"$log" 2>&1 &
        MET_PID=$!
        met_wait_ready "$MET_URL/health" victoria-metrics "$log"
        ;;
    prometheus)
        printf 'global:\n  scrape_interval: 15s\n' >"$dir.yml"
        "$PROM_BIN" --config.file="$dir.yml" --storage.tsdb.path="$dir" \
            --web.listen-address="127.0.0.1:$p1" --web.enable-remote-write-receiver \
            --log.level=warn >>"$log" 2>&1 &
        MET_PID=$!
        met_wait_ready "$MET_URL/-/ready" prometheus "$log"
        ;;
    esac
}
met_stop() { # sets STOP_S
    local t0
    t0=$(now)
    stop_pid "$MET_PID" 300
    MET_PID=
    STOP_S=$(calc "$(now) - $t0" 1)
}

# One system, one size: ingest, series check, queries, size on disk. Figures go to
# R[m<series>_<system>_*].
met_phase() { # system series
    local sys=$1 n=$2 k=m$2_$1 dir=$MWORK/$1 out=$OUT/metrics-$2-$1 b0 b1 c0 c1 t0 t1 i key
    local info=$MDATA/$2.pack.info
    met_start "$sys" "$dir"
    log "$sys: loading $(kv "$info" samples) samples ($n series) from $M_CONC connections"
    b0=$(busy_s)
    c0=$(cpu_s "$MET_PID")
    t0=$(now)
    "$MB" load --url "$MET_URL/api/v1/write" --pack "$MDATA/$n.pack" --concurrency "$M_CONC" \
        --window "$(kv "$info" requests_per_round)" >"$out-load.txt" ||
        die "loading $sys failed (see $out-load.txt, $OUT/metrics-$sys.log)"
    t1=$(now)
    if [ "$sys" = victoriametrics ]; then curl -fsS "$MET_URL/internal/force_flush" >/dev/null; fi
    wait_idle "$MET_PID" "$IDLE_WAIT"
    c1=$(cpu_s "$MET_PID")
    b1=$(busy_s)
    R[${k}_samples]=$(kv "$out-load.txt" samples)
    R[${k}_rejected]=$(kv "$out-load.txt" rejected_samples)
    R[${k}_retries]=$(kv "$out-load.txt" retries)
    R[${k}_seconds]=$(calc "$t1 - $t0" 1)
    R[${k}_rate]=$(calc "${R[${k}_samples]} / ($t1 - $t0)" 0)
    R[${k}_server_cpu]=$(calc "$c1 - $c0" 1)
    R[${k}_cpu_per_m]=$(calc "($c1 - $c0) / (${R[${k}_samples]} / 1e6 + 1e-9)" 2)
    R[${k}_rss]=$(hwm_mib "$MET_PID")
    R[${k}_rss_per_series]=$(calc "$(hwm_kib "$MET_PID") * 1024 / $n" 0)
    R[${k}_loader_cpu]=$(kv "$out-load.txt" loader_cpu_s)
    R[${k}_other_cpu]=$(other_cpu "$c0" "$c1" "$b0" "$b1" "${R[${k}_loader_cpu]}")
    log "$sys: ${R[${k}_rate]} samples/s accepted (${R[${k}_samples]} in ${R[${k}_seconds]} s," \
        "${R[${k}_rejected]} rejected, ${R[${k}_retries]} retried requests)," \
        "${R[${k}_cpu_per_m]} CPU s/M, peak RSS ${R[${k}_rss]} MiB" \
        "(${R[${k}_rss_per_series]} bytes/series); other CPU ${R[${k}_other_cpu]} s"
    # every series is there (VictoriaMetrics makes new series searchable within seconds)
    for ((i = 0; i < 30; i++)); do
        "$MB" check --url "$MET_URL" --time-ms "$(kv "$info" last_ms)" --series "$n" \
            --instances "$(kv "$info" instances)" >"$out-check.txt" 2>&1 && break
        sleep 1
    done
    R[${k}_count]=$(kv "$out-check.txt" count_series)
    R[${k}_count_ms]=$(kv "$out-check.txt" count_ms)
    if [ "${R[${k}_count]}" = "$n" ]; then
        log "$sys: count({__name__=~\".+\"}) = $n in ${R[${k}_count_ms]} ms, sum(up) = $(kv "$out-check.txt" sum_up)"
    else
        log "WARNING: $sys: count({__name__=~\".+\"}) = ${R[${k}_count]}, expected $n; sum(up)" \
            "= $(kv "$out-check.txt" sum_up), expected $(kv "$info" instances) (see $out-check.txt)"
    fi
    "$MB" query --url "$MET_URL" --start-ms "$M_QSTART" --end-ms "$(kv "$info" last_ms)" \
        --step "$M_STEP" --reps "$M_REPS" --max-seconds "$M_QSECS" >"$out-query.txt" 2>"$out-query.err" ||
        log "WARNING: $sys: some queries failed (see $out-query.err)"
    R[${k}_qerrors]=$(kv "$out-query.txt" errors)
    R[${k}_qreps]=$(kv "$out-query.txt" reps)
    for key in $M_QKEYS all; do
        R[${k}_${key}_p50]=$(kv "$out-query.txt" "${key}_p50_ms")
        R[${k}_${key}_p99]=$(kv "$out-query.txt" "${key}_p99_ms")
        R[${k}_${key}_series]=$(kv "$out-query.txt" "${key}_series")
    done
    log "$sys: queries p50 ${R[${k}_all_p50]} ms, p99 ${R[${k}_all_p99]} ms over all" \
        "(${R[${k}_qreps]} repetitions, ${R[${k}_qerrors]} errors)"
    if [ "$sys" = victoriametrics ]; then # flush in-memory parts, let merges finish, measure
        curl -fsS "$MET_URL/internal/force_flush" >/dev/null
        wait_idle "$MET_PID" "$IDLE_WAIT"
        R[${k}_disk]=$(du -sb "$dir" | awk '{ print $1 }')
        met_stop
    else # Osprey cuts its head to a block on shutdown; Prometheus keeps its WAL
        met_stop
        R[${k}_disk]=$(du -sb "$dir" | awk '{ print $1 }')
    fi
    R[${k}_stop_s]=$STOP_S
    R[${k}_bytes_per_sample]=$(calc "${R[${k}_disk]} / ${R[${k}_samples]}" 2)
    log "$sys: ${R[${k}_disk]} bytes on disk, ${R[${k}_bytes_per_sample]} bytes/sample" \
        "(stopped in $STOP_S s)"
    [ "$KEEP" = 1 ] || rm -rf "$dir" "$dir.yml"
}

m_report() { # series
    local n=$1 f=$OUT/metrics-results-$1.md s cols key a b c
    local info=$MDATA/$1.pack.info o=m$1_osprey vm=m$1_victoriametrics p=m$1_prometheus
    row() { # label key [suffix]: one figure per system and the two ratios
        echo "| $1 | $(v "${o}_$2") | $(v "${vm}_$2") | $(v "${p}_$2") |" \
            "$(ratio "$(v "${o}_$2")" "$(v "${vm}_$2")") | $(ratio "$(v "${o}_$2")" "$(v "${p}_$2")") |"
    }
    qrow() { # label query-key
        echo "| $1 p50 / p99 (ms) | $(v "${o}_$2_p50") / $(v "${o}_$2_p99") |" \
            "$(v "${vm}_$2_p50") / $(v "${vm}_$2_p99") | $(v "${p}_$2_p50") / $(v "${p}_$2_p99") |" \
            "$(ratio "$(v "${o}_$2_p50")" "$(v "${vm}_$2_p50")") / $(ratio "$(v "${o}_$2_p99")" "$(v "${vm}_$2_p99")") |" \
            "$(ratio "$(v "${o}_$2_p50")" "$(v "${p}_$2_p50")") / $(ratio "$(v "${o}_$2_p99")" "$(v "${p}_$2_p99")") |"
    }
    {
        echo "| $n series, $(kv "$info" rounds) rounds | Osprey | $(m_version victoriametrics) | $(m_version prometheus) | Osprey / VM | Osprey / Prometheus |"
        echo "|---|---:|---:|---:|---:|---:|"
        row "ingest (samples/s)" rate
        row "CPU s per million samples" cpu_per_m
        row "peak RSS (MiB)" rss
        row "peak RSS per active series (bytes)" rss_per_series
        row "bytes on disk per sample" bytes_per_sample
        row "series counted after ingest" count
        for key in $M_QKEYS; do qrow "$key" "$key"; done
        qrow "all queries" all
    } >"$f"
    echo
    echo "Metrics, $n active series: $(kv "$info" samples) samples in $(kv "$info" rounds) rounds" \
        "15 s apart, $(kv "$info" metric_names) metric names, $(kv "$info" instances) targets," \
        "$(kv "$info" labels_per_series) labels per series; $M_BATCH series per request" \
        "($(kv "$info" snappy_bytes_per_sample) snappy bytes per sample), $M_CONC connections;" \
        "queries over $(calc "($(kv "$info" last_ms) - $M_QSTART) / 60000" 0) min at step ${M_STEP}s"
    echo
    column -t -s '|' -o '|' "$f" 2>/dev/null || cat "$f"
    echo
    a=$(verdict "$(v "${o}_rate")" ">=" "1.5 * $(v "${vm}_rate")")
    b=$(verdict "$(v "${o}_bytes_per_sample")" "<=" "$(v "${vm}_bytes_per_sample")")
    c=$(verdict "$(v "${o}_rss_per_series")" "<=" "$(v "${vm}_rss_per_series")")
    echo "targets at $n series: ingest >= 1.5x VictoriaMetrics: $a; bytes/sample <= VictoriaMetrics: $b;" \
        "RSS/series <= VictoriaMetrics: $c; query p50 / p99 <= VictoriaMetrics over all queries:" \
        "$(verdict "$(v "${o}_all_p50")" "<=" "$(v "${vm}_all_p50")") / $(verdict "$(v "${o}_all_p99")" "<=" "$(v "${vm}_all_p99")")"
    s=
    for key in $M_QKEYS; do
        case "$(v "${o}_${key}_p50") $(v "${vm}_${key}_p50")" in *–*) continue ;; esac
        awk -v a="$(v "${o}_${key}_p50")" -v b="$(v "${vm}_${key}_p50")" 'BEGIN { exit !(a > b) }' &&
            s="$s $key"
    done
    echo "queries where Osprey's p50 is above VictoriaMetrics':${s:- none}"
    cols=
    for key in $M_QKEYS; do
        a=$(v "${o}_${key}_series") b=$(v "${vm}_${key}_series") c=$(v "${p}_${key}_series")
        [ "$a" = "$b" ] && [ "$a" = "$c" ] || cols="$cols $key ($a/$b/$c)"
    done
    echo "result series per query differ (Osprey/VM/Prometheus):${cols:- nowhere}"
    echo "CPU used outside the server and the loader during ingest: Osprey $(v "${o}_other_cpu") s," \
        "VictoriaMetrics $(v "${vm}_other_cpu") s, Prometheus $(v "${p}_other_cpu") s;" \
        "loader $(v "${o}_loader_cpu") / $(v "${vm}_loader_cpu") / $(v "${p}_loader_cpu") s"
}

metrics_part() {
    local n rounds span sys
    mkdir -p "$MWORK" "$MDATA"
    for sys in $M_SYSTEMS; do : >"$OUT/metrics-$sys.log"; done
    M_QKEYS=$("$MB" queries | cut -f1 | tr '\n' ' ')
    "$MB" queries >"$OUT/metrics-queries.txt"
    for n in $M_SIZES; do
        rounds=$(m_rounds "$n")
        log "metrics: generating $n series x $rounds rounds, $M_BATCH series per request"
        "$MB" gen --out "$MDATA/$n.pack" --series "$n" --rounds "$rounds" --batch "$M_BATCH" \
            --jitter-ms "$M_JITTER" --seed 42 >"$OUT/metrics-gen-$n.txt" ||
            die "generating the metrics workload failed"
        "$MB" selftest --pack "$MDATA/$n.pack" >&2 || die "the remote write requests do not decode"
        log "metrics: $(kv "$MDATA/$n.pack.info" samples) samples," \
            "$(kv "$MDATA/$n.pack.info" snappy_bytes_per_sample) bytes each on the wire, in" \
            "$(kv "$MDATA/$n.pack.info" gen_seconds) s"
        # queries cover the data from 5 min in (half of it when shorter), so that [5m] windows
        # are full where the data allows
        span=$(($(kv "$MDATA/$n.pack.info" last_ms) - $(kv "$MDATA/$n.pack.info" first_ms)))
        M_QSTART=$(($(kv "$MDATA/$n.pack.info" first_ms) + (span / 2 < 300000 ? span / 2 : 300000)))
        M_STEP=${BENCH_METRICS_STEP:-$((span >= 1800000 ? 60 : 15))}
        for sys in $M_SYSTEMS; do met_phase "$sys" "$n"; done
        m_report "$n"
        [ "$KEEP" = 1 ] || rm -f "$MDATA/$n.pack"
    done
    for k in "${!R[@]}"; do [[ $k == m* ]] && echo "$k=${R[$k]}"; done | sort >"$OUT/metrics-results.txt"
    echo "results: $OUT/metrics-results-*.md, $OUT/metrics-results.txt; logs in $OUT/metrics-*"
}

# ---- logs: Osprey (OTLP protobuf, Loki JSON) and ClickHouse on the same generated lines ----

if [ "$QUICK" = 1 ]; then L_LINES=${LOGS_BENCH_LINES:-1000000}; else L_LINES=${LOGS_BENCH_LINES:-50000000}; fi
L_BATCH=${LOGS_BENCH_BATCH:-1000}
L_CH_BATCH=${LOGS_BENCH_CH_BATCH:-100000}
L_CH_SAME=${LOGS_BENCH_CH_SAME_LINES:-$L_LINES}
L_CONC=${LOGS_BENCH_CONC:-4}
L_REPS=${LOGS_BENCH_REPS:-30}
L_SECS=${LOGS_BENCH_SEARCH_SECONDS:-120}
L_LOKI=${LOGS_BENCH_LOKI:-1}

l_gen() { # format pack info [extra gen options]: generates the workload's requests
    local fmt=$1 pack=$2 info=$3
    shift 3
    log "logs: generating $L_LINES lines as $fmt"
    "$LB" gen --format "$fmt" --out "$pack" --lines "$L_LINES" --seed 42 \
        --targets "$LWORK/targets.txt" "$@" >"$info" || die "generating the $fmt requests failed"
}

# l_ingest KEY PID URL PACK CONTENT-TYPE INFO: loads PACK, then waits for the server to be idle;
# records R[lg_KEY_*] (rate, MB/s of line bytes, CPU s per GB of line bytes, peak RSS).
l_ingest() {
    local k=lg_$1 pid=$2 url=$3 pack=$4 ctype=$5 info=$6 out=$OUT/logs-load-$1.txt
    local b0 b1 c0 c1 t0 t1 secs lines bytes
    reset_hwm "$pid"
    b0=$(busy_s)
    c0=$(cpu_s "$pid")
    t0=$(now)
    "$LG" load --url "$url" --pack "$pack" --concurrency "$L_CONC" --content-type "$ctype" \
        >"$out" || die "loading $1 failed (see $out)"
    t1=$(now)
    wait_idle "$pid" "$MERGE_WAIT" # merges of tens of millions of lines outlast IDLE_WAIT
    c1=$(cpu_s "$pid")
    b1=$(busy_s)
    secs=$(calc "$t1 - $t0" 3)
    lines=$(kv "$out" spans) # osprey-loadgen counts a pack record's count as "spans"
    bytes=$(calc "$(kv "$info" line_bytes) * $lines / $(kv "$info" lines)" 0)
    R[${k}_lines]=$lines
    R[${k}_seconds]=$secs
    R[${k}_rate]=$(calc "$lines / $secs" 0)
    R[${k}_mbps]=$(calc "$bytes / 1e6 / $secs" 1)
    R[${k}_server_cpu]=$(calc "$c1 - $c0" 1)
    R[${k}_cpu_per_gb]=$(calc "($c1 - $c0) / ($bytes / 1e9)" 1)
    R[${k}_rss]=$(hwm_mib "$pid")
    R[${k}_retries]=$(kv "$out" retries)
    R[${k}_loader_cpu]=$(kv "$out" loader_cpu_s)
    R[${k}_other_cpu]=$(other_cpu "$c0" "$c1" "$b0" "$b1" "${R[${k}_loader_cpu]}")
    log "logs $1: ${R[${k}_rate]} lines/s, ${R[${k}_mbps]} MB/s of lines ($lines in $secs s," \
        "${R[${k}_retries]} retried requests), ${R[${k}_cpu_per_gb]} CPU s/GB, peak RSS" \
        "${R[${k}_rss]} MiB; other CPU ${R[${k}_other_cpu]} s"
}

l_search() { # key url [--clickhouse db]
    local name=$1 k=lg_$1 url=$2 q f=$OUT/logs-search-$1.txt
    shift 2
    "$LB" search --url "$url" --targets "$LWORK/targets.txt" --start "$L_FIRST" \
        --end "$((L_LAST + 1))" --lines "$L_LINES" --reps "$L_REPS" --max-seconds "$L_SECS" \
        "$@" >"$f" || log "WARNING: some $name searches failed (see $f)"
    for q in needle_service needle_all trace volume; do
        R[${k}_${q}_p50]=$(kv "$f" "${q}_p50_ms")
        R[${k}_${q}_p99]=$(kv "$f" "${q}_p99_ms")
        R[${k}_${q}_reps]=$(kv "$f" "${q}_reps")
        R[${k}_${q}_wrong]=$(kv "$f" "${q}_wrong")
        log "logs $name search $q: p50 ${R[${k}_${q}_p50]} ms, p99 ${R[${k}_${q}_p99]} ms" \
            "(${R[${k}_${q}_reps]} repetitions, ${R[${k}_${q}_wrong]} answers with the wrong line count)"
    done
}

l_osprey() {
    local dir=$LWORK/osprey-otlp pack=$LWORK/otlp.pack info=$OUT/logs-gen-otlp.txt t0
    rm -rf "$dir"
    l_gen otlp "$pack" "$info" --batch "$L_BATCH"
    L_FIRST=$(kv "$info" first_ns)
    L_LAST=$(kv "$info" last_ns)
    start_osprey "$dir"
    l_ingest osp_otlp "$OSP_PID" "http://127.0.0.1:$HTTP_PORT/v1/logs" "$pack" \
        application/x-protobuf "$info"
    rm -f "$pack"
    stop_osprey
    R[lg_osp_shutdown_s]=$STOP_S
    t0=$(now)
    start_osprey "$dir"
    R[lg_osp_restart_s]=$(calc "$(now) - $t0" 1)
    wait_idle "$OSP_PID" "$MERGE_WAIT"
    R[lg_osp_disk]=$(du -sb "$dir/logs" | awk '{ print $1 }')
    log "logs osprey store: ${R[lg_osp_disk]} bytes in $dir/logs (flushed in ${R[lg_osp_shutdown_s]} s," \
        "ready again after ${R[lg_osp_restart_s]} s)"
    l_search osp "http://127.0.0.1:$API_PORT"
    stop_osprey
    [ "$KEEP" = 1 ] || rm -rf "$dir"
    if [ "$L_LOKI" = 1 ]; then
        dir=$LWORK/osprey-loki pack=$LWORK/loki.pack info=$OUT/logs-gen-loki.txt
        rm -rf "$dir"
        l_gen loki "$pack" "$info" --batch "$L_BATCH"
        start_osprey "$dir"
        l_ingest osp_loki "$OSP_PID" "http://127.0.0.1:$API_PORT/loki/api/v1/push" "$pack" \
            application/json "$info"
        rm -f "$pack"
        stop_osprey
        R[lg_osp_loki_disk]=$(du -sb "$dir/logs" | awk '{ print $1 }')
        [ "$KEEP" = 1 ] || rm -rf "$dir"
    fi
}

l_clickhouse() {
    local pack=$LWORK/tsv.pack info=$OUT/logs-gen-tsv.txt stmt rows
    l_ch_schema() {
        local stmts
        mapfile -t stmts < <("$LB" ch-schema --db "$1")
        for stmt in "${stmts[@]}"; do chq "$stmt" >/dev/null || die "clickhouse schema: $stmt"; done
    }
    l_ch_url() { echo "http://127.0.0.1:$CH_HTTP/?query=INSERT%20INTO%20$1.logs%20FORMAT%20TabSeparated"; }
    if [ "$L_CH_SAME" -gt 0 ]; then # Osprey's batch size, the first L_CH_SAME lines
        start_clickhouse "$WORK/clickhouse-same"
        log "logs: clickhouse $(chq 'SELECT version()') on 127.0.0.1:$CH_HTTP"
        l_gen tsv "$pack" "$OUT/logs-gen-tsv-same.txt" --batch "$L_BATCH" --max-lines "$L_CH_SAME"
        l_ch_schema lsame
        l_ingest ch_same "$CH_PID" "$(l_ch_url lsame)" "$pack" text/tab-separated-values \
            "$OUT/logs-gen-tsv-same.txt"
        rm -f "$pack"
        # a server of its own for the full load: removing the tens of thousands of files this
        # one wrote takes minutes (so does DROP DATABASE), so that waits until the end
        stop_pid "$CH_PID" 60
    fi
    start_clickhouse
    log "logs: clickhouse $(chq 'SELECT version()') on 127.0.0.1:$CH_HTTP"
    l_gen tsv "$pack" "$info" --batch "$L_CH_BATCH"
    L_FIRST=$(kv "$info" first_ns)
    L_LAST=$(kv "$info" last_ns)
    l_ch_schema logs
    l_ingest ch "$CH_PID" "$(l_ch_url logs)" "$pack" text/tab-separated-values "$info"
    rm -f "$pack"
    rows=$(chq 'SELECT count() FROM logs.logs')
    [ "$rows" = "${R[lg_ch_lines]}" ] || log "WARNING: clickhouse holds $rows rows, ${R[lg_ch_lines]} sent"
    R[lg_ch_parts]=$(chq "SELECT count() FROM system.parts WHERE active AND database = 'logs'")
    R[lg_ch_disk]=$(chq "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'logs'")
    R[lg_ch_line_col]=$(chq "SELECT sum(data_compressed_bytes) FROM system.columns WHERE database = 'logs' AND name = 'line'")
    log "logs clickhouse store: ${R[lg_ch_disk]} bytes in ${R[lg_ch_parts]} active parts" \
        "(line column ${R[lg_ch_line_col]} bytes)"
    l_search ch "http://127.0.0.1:$CH_HTTP" --clickhouse logs
    stop_pid "$CH_PID" 60
    CH_PID=
    [ "$KEEP" = 1 ] || rm -rf "$WORK/clickhouse-same"
}

l_report() {
    local f=$OUT/logs-results.md info=$OUT/logs-gen-otlp.txt lb raw s d
    [ -f "$info" ] || info=$OUT/logs-gen-tsv.txt
    lb=$(kv "$info" line_bytes)
    raw=$(calc "$lb + $(kv "$info" label_bytes)" 0)
    for s in osp ch; do
        d=${R[lg_${s}_disk]:-}
        [ -n "$d" ] || continue
        R[lg_${s}_ratio]=$(calc "$lb / $d" 1)
        R[lg_${s}_ratio_labels]=$(calc "$raw / $d" 1)
        R[lg_${s}_bytes_per_line]=$(calc "$d / $(kv "$info" lines)" 1)
    done
    [ -n "${R[lg_osp_loki_disk]:-}" ] && R[lg_osp_loki_ratio]=$(calc "$lb / ${R[lg_osp_loki_disk]}" 1)
    qrow() { # label query
        echo "| $1 p50 / p99 (ms) | $(v "lg_osp_$2_p50") / $(v "lg_osp_$2_p99") |" \
            "$(v "lg_ch_$2_p50") / $(v "lg_ch_$2_p99") |" \
            "$(ratio "$(v "lg_osp_$2_p50")" "$(v "lg_ch_$2_p50")") / $(ratio "$(v "lg_osp_$2_p99")" "$(v "lg_ch_$2_p99")") |"
    }
    row() { # label osprey-key clickhouse-key
        echo "| $1 | $(v "$2") | $(v "$3") | $(ratio "$(v "$2")" "$(v "$3")") |"
    }
    {
        echo "| $(kv "$info" lines) lines | Osprey | ClickHouse 18.16 | Osprey / ClickHouse |"
        echo "|---|---:|---:|---:|"
        row "ingest, OTLP protobuf (lines/s) vs ClickHouse TSV, $L_CH_BATCH rows/INSERT" lg_osp_otlp_rate lg_ch_rate
        row "ingest, Loki JSON push (lines/s) vs the same" lg_osp_loki_rate lg_ch_rate
        row "ingest, OTLP vs ClickHouse at $L_BATCH rows/INSERT ($(v lg_ch_same_lines) lines)" lg_osp_otlp_rate lg_ch_same_rate
        row "ingest, Loki JSON vs ClickHouse at $L_BATCH rows/INSERT" lg_osp_loki_rate lg_ch_same_rate
        row "ingest, OTLP (MB/s of lines)" lg_osp_otlp_mbps lg_ch_mbps
        row "ingest, Loki JSON (MB/s of lines)" lg_osp_loki_mbps lg_ch_mbps
        row "server CPU s per GB of lines, OTLP" lg_osp_otlp_cpu_per_gb lg_ch_cpu_per_gb
        row "server CPU s per GB of lines, Loki JSON" lg_osp_loki_cpu_per_gb lg_ch_cpu_per_gb
        row "CPU s per GB at $L_BATCH rows/INSERT (ClickHouse)" lg_osp_otlp_cpu_per_gb lg_ch_same_cpu_per_gb
        row "peak RSS while loading (MiB)" lg_osp_otlp_rss lg_ch_rss
        row "bytes on disk" lg_osp_disk lg_ch_disk
        row "bytes on disk per line" lg_osp_bytes_per_line lg_ch_bytes_per_line
        row "compression, line bytes / disk bytes" lg_osp_ratio lg_ch_ratio
        row "compression, (line + label bytes) / disk bytes" lg_osp_ratio_labels lg_ch_ratio_labels
        qrow "needle, one service" needle_service
        qrow "needle, all streams" needle_all
        qrow "logs of a trace id" trace
        qrow "volume: lines per service per minute, all lines" volume
    } >"$f"
    for k in "${!R[@]}"; do [[ $k == lg_* ]] && echo "$k=${R[$k]}"; done | sort >"$OUT/logs-results.txt"
    echo
    echo "Logs, $(date -u +%Y-%m-%d), $(nproc) cores: $(kv "$info" lines) lines" \
        "($(kv "$info" avg_line_bytes) bytes per line on average, $(kv "$info" streams) streams," \
        "$(kv "$info" traced_lines) lines with a trace id), $L_BATCH lines per request, $L_CONC connections;" \
        "load average at start $LOAD0, now $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    column -t -s '|' -o '|' "$f" 2>/dev/null || cat "$f"
    echo
    echo "targets: ingest >= 3x ClickHouse on the same lines: OTLP" \
        "$(verdict "$(v lg_osp_otlp_rate)" ">=" "3 * $(v lg_ch_rate)") against $L_CH_BATCH rows/INSERT," \
        "$(verdict "$(v lg_osp_otlp_rate)" ">=" "3 * $(v lg_ch_same_rate)") against $L_BATCH; Loki JSON" \
        "$(verdict "$(v lg_osp_loki_rate)" ">=" "3 * $(v lg_ch_rate)") / $(verdict "$(v lg_osp_loki_rate)" ">=" "3 * $(v lg_ch_same_rate)");" \
        "needle p99 < 100 ms at" \
        "$(kv "$info" lines) lines: one service $(verdict "$(v lg_osp_needle_service_p99)" "<" 100)," \
        "all streams $(verdict "$(v lg_osp_needle_all_p99)" "<" 100)"
    echo "Loki JSON store on disk: $(v lg_osp_loki_disk) bytes (line bytes / disk $(v lg_osp_loki_ratio));" \
        "wire bytes per line: OTLP $(kv "$OUT/logs-gen-otlp.txt" wire_bytes_per_line)," \
        "Loki JSON $(kv "$OUT/logs-gen-loki.txt" wire_bytes_per_line), TSV $(kv "$OUT/logs-gen-tsv.txt" wire_bytes_per_line)"
    echo "CPU outside server and loader during ingest: Osprey OTLP $(v lg_osp_otlp_other_cpu) s," \
        "Loki $(v lg_osp_loki_other_cpu) s, ClickHouse $(v lg_ch_other_cpu) s; loader" \
        "$(v lg_osp_otlp_loader_cpu) / $(v lg_osp_loki_loader_cpu) / $(v lg_ch_loader_cpu) s"
    echo "Published reference figures (not measured here; see docs/benchmarks.md, Logs):"
    echo "  VictoriaLogs docs: 'up to 30x less RAM and up to 15x less disk space than Elasticsearch and"
    echo "  Grafana Loki'; 'usually compresses logs by 10x or more' (docs.victoriametrics.com/victorialogs)."
    echo "  Loki: Grafana's Helm values for ~11 MiB/s of ingest (grafana/helm-charts,"
    echo "  charts/enterprise-logs/small.yaml) request 3 x 0.5 CPU for distributors and 4 x 1 CPU for ingesters."
    echo "results: $f, $OUT/logs-results.txt; logs in $OUT/logs-*"
}

logs_part() {
    mkdir -p "$LWORK"
    : >"$OUT/osprey.log"
    : >"$OUT/clickhouse.log"
    log "logs: $L_LINES lines, $L_BATCH per request, $L_CONC connections (load average $LOAD0)"
    "$LB" selftest >&2 || die "the generated log requests do not decode"
    [ "$ONLY" = clickhouse ] || l_osprey
    [ "$ONLY" = osprey ] || l_clickhouse
    l_report
}

# ---- main ----

traces_part() {
    : >"$OUT/osprey.log"
    : >"$OUT/clickhouse.log"
    log "spans=$SPANS batch=$BATCH connections=$CONC quick=$QUICK (load average $LOAD0)"
    # Traces start 100/s, so the data covers about SPANS/1700 seconds from 2026-11-21T00:00Z.
    "$LG" selftest >&2 || die "the generated workload does not round-trip through the OTLP codec"
    log "generating the workload into $DATA"
    "$LG" gen --out "$DATA" --spans "$SPANS" --batch "$BATCH" --ch-spans "$CH_SAME" --seed 42 \
        >"$OUT/gen.txt" || die "generating the workload failed"
    R[gen_attrs_per_span]=$(kv "$OUT/gen.txt" attrs_per_span)
    R[gen_otlp_bytes_per_span]=$(kv "$OUT/gen.txt" otlp_bytes_per_span)
    R[gen_seconds]=$(kv "$OUT/gen.txt" gen_seconds)
    NSPANS=$(kv "$OUT/gen.txt" spans) # whole traces: a few more than asked for
    FIRST_NS=$(kv "$OUT/gen.txt" first_ns)
    LAST_NS=$(kv "$OUT/gen.txt" last_ns)
    log "generated $(kv "$OUT/gen.txt" spans) spans in $(kv "$OUT/gen.txt" traces) traces" \
        "(${R[gen_attrs_per_span]} attributes/span, ${R[gen_otlp_bytes_per_span]} OTLP bytes/span) in ${R[gen_seconds]} s"

    if [ "$ONLY" != clickhouse ]; then
        osprey_h2load grpc
        osprey_h2load http
        osprey_store
    fi
    [ "$ONLY" = osprey ] || clickhouse_all
    report
}

# ---- derive part: what the write-path derivations cost ----

derive_once() { # on|off: one load into a fresh server; appends "spans/s cpu_s_per_M" to a file
    local dir=$WORK/osprey-derive f=$OUT/derive-load-$1.txt c0 c1 t0 t1 spans rate cpu
    rm -rf "$dir"
    if [ "$1" = off ]; then start_osprey "$dir" --no-derive; else start_osprey "$dir"; fi
    c0=$(cpu_s "$OSP_PID")
    t0=$(now)
    "$LG" load --url "http://127.0.0.1:$HTTP_PORT/v1/traces" --pack "$D_DATA/otlp.pack" \
        --content-type application/x-protobuf --concurrency "$CONC" >"$f" ||
        die "loading osprey failed (see $f)"
    t1=$(now)
    wait_idle "$OSP_PID" "$IDLE_WAIT"
    c1=$(cpu_s "$OSP_PID")
    stop_osprey
    rm -rf "$dir"
    spans=$(kv "$f" spans)
    rate=$(calc "$spans / ($t1 - $t0)" 0)
    cpu=$(calc "($c1 - $c0) / ($spans / 1e6)" 2)
    log "derivations $1: $rate spans/s ($spans spans, $(kv "$f" retries) retried requests)," \
        "server CPU $cpu s per million spans"
    echo "$rate $cpu" >>"$OUT/derive-$1.txt"
}

d_stats() { # file column decimals: "mean (min-max)"
    awk -v c="$2" -v d="$3" '{ v = $c; s += v; if (NR == 1 || v < lo) lo = v; if (NR == 1 || v > hi) hi = v }
        END { f = "%." d "f"; printf f " (" f "-" f ")\n", s / NR, lo, hi }' "$1"
}
d_mean() { awk -v c="$2" '{ s += $c } END { print s / NR }' "$1"; }

derive_part() {
    local spans=${BENCH_DERIVE_SPANS:-1000000} reps=${BENCH_DERIVE_REPS:-3} want r on off
    D_DATA=$OUT/derive-data
    want="spans=$spans batch=$BATCH seed=42"
    : >"$OUT/osprey.log"
    rm -f "$OUT/derive-on.txt" "$OUT/derive-off.txt"
    if [ "$(cat "$D_DATA/params" 2>/dev/null)" != "$want" ] || [ ! -f "$D_DATA/otlp.pack" ]; then
        log "derive: generating $spans spans into $D_DATA"
        rm -rf "$D_DATA"
        "$LG" gen --out "$D_DATA" --spans "$spans" --batch "$BATCH" --seed 42 \
            >"$OUT/derive-gen.txt" || die "generating the workload failed"
        echo "$want" >"$D_DATA/params"
    fi
    log "derive: $reps runs each of $spans spans, $BATCH per request, $CONC connections," \
        "$OSPREY (load average $LOAD0)"
    for ((r = 0; r < reps; r++)); do
        derive_once off
        derive_once on
    done
    on=$(d_mean "$OUT/derive-on.txt" 1)
    off=$(d_mean "$OUT/derive-off.txt" 1)
    {
        echo "| $spans spans, $reps runs each: mean (min-max) | derivations on | --no-derive | on / off |"
        echo "|---|---:|---:|---:|"
        echo "| ingest (spans/s) | $(d_stats "$OUT/derive-on.txt" 1 0) |" \
            "$(d_stats "$OUT/derive-off.txt" 1 0) | $(calc "$on / $off" 3) |"
        echo "| server CPU s per million spans | $(d_stats "$OUT/derive-on.txt" 2 2) |" \
            "$(d_stats "$OUT/derive-off.txt" 2 2) |" \
            "$(calc "$(d_mean "$OUT/derive-on.txt" 2) / $(d_mean "$OUT/derive-off.txt" 2)" 3) |"
    } >"$OUT/derive-results.md"
    echo
    echo "Derivations, $(date -u +%Y-%m-%d), $(nproc) cores; load average at start $LOAD0," \
        "now $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    cat "$OUT/derive-results.md"
    echo
    echo "target: derivations cost under 15% of ingest throughput:" \
        "$(verdict "$on" ">=" "0.85 * $off") ($(calc "100 * (1 - $on / $off)" 1)% fewer spans/s)"
}

# ---- console part: first render of each page against a server holding millions of spans ----
console_part() {
    local spans=${BENCH_CONSOLE_SPANS:-$([ "$QUICK" = 1 ] && echo 1000000 || echo 10000000)}
    local demo_s=${BENCH_CONSOLE_DEMO_SECONDS:-30} reps=${BENCH_CONSOLE_REPS:-3}
    local data=$OUT/console-data dir=$WORK/osprey-console span_s=3300 held rss
    if [ ! -f tests/console/node_modules/.package-lock.json ] ||
        [ tests/console/package-lock.json -nt tests/console/node_modules/.package-lock.json ]; then
        (cd tests/console && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/console failed"
    fi
    # Spread over the last 55 minutes (about 18 spans a trace), so that every page's default
    # range, the last hour, holds them all; generated afresh each run for that reason.
    log "console: generating $spans spans over the last $((span_s / 60)) minutes into $data"
    rm -rf "$data"
    "$LG" gen --out "$data" --spans "$spans" --batch "$BATCH" --otlp-only \
        --base-ns "$((($(date +%s) - span_s) * 1000000000))" --traces-per-sec "$(calc "$spans / 18 / $span_s" 1)" \
        >"$OUT/console-gen.txt" || die "generating the workload failed"
    : >"$OUT/osprey.log"
    rm -rf "$dir"
    start_osprey "$dir"
    log "console: loading them ($CONC connections), then $demo_s s of osprey demo"
    "$LG" load --url "http://127.0.0.1:$HTTP_PORT/v1/traces" --pack "$data/otlp.pack" \
        --concurrency "$CONC" >"$OUT/console-load.txt" || die "loading the spans failed"
    "$OSPREY" demo --endpoint "http://127.0.0.1:$HTTP_PORT" --duration "${demo_s}s" --rate 5 \
        --delay-scale 0.2 >>"$OUT/osprey.log" 2>&1 || die "osprey demo failed (see $OUT/osprey.log)"
    wait_idle "$OSP_PID" "$IDLE_WAIT"
    sync # the parts' writes reach the disk before the timings, not during them
    held=$(metric osprey_spans_accepted_total)
    log "console: the server holds $held spans; $reps cold opens of each page"
    node bench/console.mjs --url "http://127.0.0.1:$API_PORT" --reps "$reps" >"$OUT/console-pages.md" ||
        die "the console measurement failed"
    rss=$(hwm_mib "$OSP_PID")
    stop_osprey
    [ "$KEEP" = 1 ] || rm -rf "$data" "$dir"
    {
        echo
        echo "Console first render, $(date -u +%Y-%m-%d), $(nproc) cores; a server holding $held spans" \
            "(peak RSS $rss MiB), Chromium $(chromium --version 2>/dev/null | awk '{ print $2 }')"
        echo
        cat "$OUT/console-pages.md"
    } | tee "$OUT/console-results.md"
}

mkdir -p "$OUT" "$WORK"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
case "$PART" in traces | all) traces_part ;; esac
case "$PART" in metrics | all) metrics_part ;; esac
case "$PART" in logs | all) logs_part ;; esac
# libosprey's overhead per call: a program of its own, no peer server (docs/benchmarks.md).
case "$PART" in sdk | all) bench/bin/osprey-sdk-bench | tee "$OUT/sdk-results.md" ;; esac
case "$PART" in console | all) console_part ;; esac
case "$PART" in derive) derive_part ;; esac
