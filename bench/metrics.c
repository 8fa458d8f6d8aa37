/* osprey-metrics-bench: pre-encodes a Prometheus remote write workload (realistic scrape
 * targets, one sample per series per round), replays it into a server over keep-alive
 * HTTP/1.1 connections, checks series counts and times dashboard-style PromQL range
 * queries. Works against Osprey, VictoriaMetrics and Prometheus alike. */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "proto/remote_write.h"

static void usage(void)
{
    fputs("usage:\n"
          "  osprey-metrics-bench gen --out FILE --series N --rounds R [--batch 500]\n"
          "      [--interval-ms 15000] [--jitter-ms 2] [--end-ms MS] [--seed 42]\n"
          "      pre-encode R rounds of one sample for each of N series as snappy remote\n"
          "      write requests of --batch series each, in time order; FILE is a pack\n"
          "      (records: u32 LE body length, u32 LE samples, body); FILE.info gets the\n"
          "      figures as key=value (the last round ends at --end-ms, default now - 60 s)\n"
          "  osprey-metrics-bench selftest --pack FILE\n"
          "      decode the first requests with Osprey's remote write decoder\n"
          "  osprey-metrics-bench load --url URL --pack FILE [--concurrency 4] [--window W]\n"
          "      POST every request once (5xx, 429 and connection errors retried); a request\n"
          "      starts only when every request W or more before it is done (W = requests\n"
          "      per round keeps each series in time order)\n"
          "  osprey-metrics-bench check --url BASE --time-ms MS --series N --instances I\n"
          "      count({__name__=~\".+\"}) must be N and sum(up) I at that time\n"
          "  osprey-metrics-bench query --url BASE --start-ms MS --end-ms MS --step S\n"
          "      [--reps 20] [--max-seconds T]\n"
          "      time the dashboard queries through /api/v1/query_range, interleaved\n"
          "Measurements print as key=value lines.\n",
          stderr);
}

/* ---- small helpers ---- */

static uint64_t mix64(uint64_t x) /* splitmix64's finalizer */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static double u01(uint64_t h) /* [0, 1) */
{
    return (double)(h >> 11) * 0x1.0p-53;
}

static double log_uniform(uint64_t h, double lo, double hi)
{
    return lo >= hi ? lo : exp(log(lo) + u01(h) * (log(hi) - log(lo)));
}

/* ---- the catalog: what a scrape target exposes ---- */

enum fam_kind {
    F_CONST,   /* constant: lo (or an integer drawn from [lo, hi] per series) */
    F_CINT,    /* integer counter, rate drawn from [lo, hi] per second */
    F_CFLT,    /* float counter (seconds), two decimals, rate from [lo, hi] */
    F_GINT,    /* small integer gauge around a base from [lo, hi] */
    F_GBYTES,  /* byte gauge around a base from [lo, hi], moves in 4 KiB pages */
    F_GFLT,    /* noisy float gauge, two decimals, around a base from [lo, hi] */
    F_GRAW,    /* noisy float gauge at full precision (durations) */
    F_HIST,    /* classic histogram: _bucket{le}, _sum, _count; lo..hi observations/s */
    F_SUMMARY, /* summary: {quantile} gauges from [lo, hi], _sum, _count */
};

/* A metric family. A dimension is "label=v1|v2|..." or, for labels that go together,
 * "a,b,c=x1,y1,z1|x2,y2,z2". */
typedef struct family {
    const char *name;
    int kind;
    double lo, hi;
    const char *dims[3];
    const char *le; /* histogram bounds, ascending, ending in +Inf */
} family;

#define PATHS                                                                                      \
    "path=/|/api/v1/items|/api/v1/items/{id}|/api/v1/orders|/api/v1/orders/{id}|"                  \
    "/api/v1/users/{id}|/api/v1/search|/healthz"
#define METHODS "method=GET|POST|DELETE"
#define GRPC                                                                                       \
    "grpc_service,grpc_method=orders.v1.Orders,Get|orders.v1.Orders,List|"                         \
    "orders.v1.Orders,Create|users.v1.Users,Get|users.v1.Users,Update|"                            \
    "inventory.v1.Stock,Reserve"
#define LE_SECONDS "0.005|0.01|0.025|0.05|0.1|0.25|0.5|1|2.5|5|10|+Inf"
#define LE_BYTES "100|1000|10000|100000|1e+06|1e+07|+Inf"
#define GB 1073741824.0
#define MB 1048576.0

#define SCRAPE_FAMILIES                                                                            \
    {"up", F_CONST, 1, 1, {0}, 0}, {"scrape_duration_seconds", F_GRAW, 0.005, 0.5, {0}, 0},        \
        {"scrape_samples_scraped", F_GINT, 200, 1000, {0}, 0},                                     \
        {"scrape_samples_post_metric_relabeling", F_GINT, 200, 1000, {0}, 0},                      \
    {                                                                                              \
        "scrape_series_added", F_GINT, 0, 3, {0}, 0                                                \
    }

static const family app_families[] = {
    SCRAPE_FAMILIES,
    {"http_requests_total", F_CINT, 0.01, 50, {METHODS, PATHS, "status=200|201|404|500|503"}, 0},
    {"http_request_duration_seconds", F_HIST, 0.01, 50, {METHODS, PATHS}, LE_SECONDS},
    {"http_request_size_bytes", F_HIST, 0.01, 50, {METHODS}, LE_BYTES},
    {"http_response_size_bytes", F_HIST, 0.01, 50, {METHODS}, LE_BYTES},
    {"http_requests_in_flight", F_GINT, 0, 20, {0}, 0},
    {"grpc_server_started_total", F_CINT, 0.01, 20, {GRPC}, 0},
    {"grpc_server_handled_total",
     F_CINT,
     0.001,
     20,
     {GRPC, "grpc_code=OK|NotFound|Unavailable|DeadlineExceeded"},
     0},
    {"grpc_server_handling_seconds",
     F_HIST,
     0.01,
     20,
     {GRPC},
     "0.005|0.01|0.025|0.05|0.1|0.25|0.5|1|+Inf"},
    {"db_queries_total",
     F_CINT,
     0.01,
     30,
     {"db_operation=select|insert|update|delete", "db_table=orders|users|items"},
     0},
    {"db_query_duration_seconds",
     F_HIST,
     0.01,
     30,
     {"db_operation=select|insert|update|delete"},
     "0.001|0.005|0.01|0.05|0.1|0.5|1|5|+Inf"},
    {"db_connections", F_GINT, 1, 40, {"state=idle|in_use"}, 0},
    {"db_connections_max", F_CONST, 100, 100, {0}, 0},
    {"cache_requests_total", F_CINT, 0.1, 100, {"cache=session|items|users", "result=hit|miss"}, 0},
    {"queue_messages_total",
     F_CINT,
     0.01,
     20,
     {"queue=orders|emails|webhooks|audit", "outcome=ok|error"},
     0},
    {"queue_depth", F_GINT, 0, 500, {"queue=orders|emails|webhooks|audit"}, 0},
    {"process_cpu_seconds_total", F_CFLT, 0.01, 1, {0}, 0},
    {"process_resident_memory_bytes", F_GBYTES, 30 * MB, 2 * GB, {0}, 0},
    {"process_virtual_memory_bytes", F_GBYTES, 1 * GB, 8 * GB, {0}, 0},
    {"process_open_fds", F_GINT, 10, 500, {0}, 0},
    {"process_max_fds", F_CONST, 1048576, 1048576, {0}, 0},
    {"process_start_time_seconds", F_CONST, 1.76e9, 1.77e9, {0}, 0},
    {"go_goroutines", F_GINT, 10, 2000, {0}, 0},
    {"go_threads", F_GINT, 8, 40, {0}, 0},
    {"go_info", F_CONST, 1, 1, {"version=go1.21.5"}, 0},
    {"go_gc_duration_seconds", F_SUMMARY, 0.2, 0.2, {0}, 0},
    {"go_memstats_alloc_bytes", F_GBYTES, 5 * MB, 500 * MB, {0}, 0},
    {"go_memstats_alloc_bytes_total", F_CINT, 1e5, 1e7, {0}, 0},
    {"go_memstats_buck_hash_sys_bytes", F_CONST, 1e6, 3e6, {0}, 0},
    {"go_memstats_frees_total", F_CINT, 100, 1e5, {0}, 0},
    {"go_memstats_gc_sys_bytes", F_GBYTES, 5 * MB, 50 * MB, {0}, 0},
    {"go_memstats_heap_alloc_bytes", F_GBYTES, 5 * MB, 500 * MB, {0}, 0},
    {"go_memstats_heap_idle_bytes", F_GBYTES, 5 * MB, 500 * MB, {0}, 0},
    {"go_memstats_heap_inuse_bytes", F_GBYTES, 5 * MB, 500 * MB, {0}, 0},
    {"go_memstats_heap_objects", F_GINT, 1e4, 1e6, {0}, 0},
    {"go_memstats_heap_released_bytes", F_GBYTES, 1 * MB, 100 * MB, {0}, 0},
    {"go_memstats_heap_sys_bytes", F_GBYTES, 10 * MB, 1 * GB, {0}, 0},
    {"go_memstats_last_gc_time_seconds", F_CFLT, 0.9, 1.1, {0}, 0},
    {"go_memstats_lookups_total", F_CONST, 0, 0, {0}, 0},
    {"go_memstats_mallocs_total", F_CINT, 100, 1e5, {0}, 0},
    {"go_memstats_mcache_inuse_bytes", F_CONST, 1200, 19200, {0}, 0},
    {"go_memstats_mcache_sys_bytes", F_CONST, 15600, 31200, {0}, 0},
    {"go_memstats_mspan_inuse_bytes", F_GBYTES, 100e3, 5 * MB, {0}, 0},
    {"go_memstats_mspan_sys_bytes", F_GBYTES, 100e3, 5 * MB, {0}, 0},
    {"go_memstats_next_gc_bytes", F_GBYTES, 5 * MB, 500 * MB, {0}, 0},
    {"go_memstats_other_sys_bytes", F_GBYTES, 1 * MB, 5 * MB, {0}, 0},
    {"go_memstats_stack_inuse_bytes", F_GBYTES, 500e3, 20 * MB, {0}, 0},
    {"go_memstats_stack_sys_bytes", F_GBYTES, 500e3, 20 * MB, {0}, 0},
    {"go_memstats_sys_bytes", F_GBYTES, 20 * MB, 2 * GB, {0}, 0},
    {"promhttp_metric_handler_requests_total", F_CINT, 0.0001, 0.07, {"code=200|500|503"}, 0},
    {"app_build_info",
     F_CONST,
     1,
     1,
     {"version=1.42.0", "revision=9f3c2e1", "goversion=go1.21.5"},
     0},
};

#define FS                                                                                         \
    "device,fstype,mountpoint=/dev/vda1,ext4,/|/dev/vdb1,xfs,/data|tmpfs,tmpfs,/run|"              \
    "/dev/vda15,vfat,/boot/efi"
#define NETDEV "device=eth0|eth1|lo|docker0"
#define DISKDEV "device=vda|vdb|sr0"

static const family node_families[] = {
    SCRAPE_FAMILIES,
    {"node_cpu_seconds_total",
     F_CFLT,
     0.001,
     0.9,
     {"cpu=0|1|2|3|4|5|6|7", "mode=idle|iowait|irq|nice|softirq|steal|system|user"},
     0},
    {"node_memory_MemTotal_bytes", F_CONST, 8 * GB, 128 * GB, {0}, 0},
    {"node_memory_MemFree_bytes", F_GBYTES, 200 * MB, 8 * GB, {0}, 0},
    {"node_memory_MemAvailable_bytes", F_GBYTES, 1 * GB, 32 * GB, {0}, 0},
    {"node_memory_Buffers_bytes", F_GBYTES, 10 * MB, 500 * MB, {0}, 0},
    {"node_memory_Cached_bytes", F_GBYTES, 500 * MB, 16 * GB, {0}, 0},
    {"node_memory_Active_bytes", F_GBYTES, 1 * GB, 16 * GB, {0}, 0},
    {"node_memory_Inactive_bytes", F_GBYTES, 1 * GB, 16 * GB, {0}, 0},
    {"node_memory_Dirty_bytes", F_GBYTES, 100e3, 50 * MB, {0}, 0},
    {"node_memory_Writeback_bytes", F_GBYTES, 0, 0, {0}, 0},
    {"node_memory_Slab_bytes", F_GBYTES, 100 * MB, 1 * GB, {0}, 0},
    {"node_memory_SReclaimable_bytes", F_GBYTES, 50 * MB, 800 * MB, {0}, 0},
    {"node_memory_SUnreclaim_bytes", F_GBYTES, 50 * MB, 300 * MB, {0}, 0},
    {"node_memory_PageTables_bytes", F_GBYTES, 5 * MB, 100 * MB, {0}, 0},
    {"node_memory_SwapTotal_bytes", F_CONST, 0, 0, {0}, 0},
    {"node_memory_SwapFree_bytes", F_CONST, 0, 0, {0}, 0},
    {"node_memory_Shmem_bytes", F_GBYTES, 1 * MB, 500 * MB, {0}, 0},
    {"node_memory_Mapped_bytes", F_GBYTES, 50 * MB, 1 * GB, {0}, 0},
    {"node_memory_AnonPages_bytes", F_GBYTES, 500 * MB, 16 * GB, {0}, 0},
    {"node_memory_Committed_AS_bytes", F_GBYTES, 1 * GB, 32 * GB, {0}, 0},
    {"node_filesystem_avail_bytes", F_GBYTES, 1 * GB, 500 * GB, {FS}, 0},
    {"node_filesystem_free_bytes", F_GBYTES, 1 * GB, 500 * GB, {FS}, 0},
    {"node_filesystem_size_bytes", F_CONST, 1 * GB, 1000 * GB, {FS}, 0},
    {"node_filesystem_files", F_CONST, 1e5, 1e8, {FS}, 0},
    {"node_filesystem_files_free", F_GINT, 1e5, 1e8, {FS}, 0},
    {"node_filesystem_readonly", F_CONST, 0, 0, {FS}, 0},
    {"node_network_receive_bytes_total", F_CINT, 1e3, 1e7, {NETDEV}, 0},
    {"node_network_transmit_bytes_total", F_CINT, 1e3, 1e7, {NETDEV}, 0},
    {"node_network_receive_packets_total", F_CINT, 10, 1e4, {NETDEV}, 0},
    {"node_network_transmit_packets_total", F_CINT, 10, 1e4, {NETDEV}, 0},
    {"node_network_receive_errs_total", F_CINT, 0.0001, 0.01, {NETDEV}, 0},
    {"node_network_transmit_errs_total", F_CINT, 0.0001, 0.01, {NETDEV}, 0},
    {"node_network_receive_drop_total", F_CINT, 0.0001, 0.1, {NETDEV}, 0},
    {"node_network_transmit_drop_total", F_CINT, 0.0001, 0.1, {NETDEV}, 0},
    {"node_disk_reads_completed_total", F_CINT, 0.1, 500, {DISKDEV}, 0},
    {"node_disk_writes_completed_total", F_CINT, 0.1, 500, {DISKDEV}, 0},
    {"node_disk_read_bytes_total", F_CINT, 1e3, 5e7, {DISKDEV}, 0},
    {"node_disk_written_bytes_total", F_CINT, 1e3, 5e7, {DISKDEV}, 0},
    {"node_disk_io_time_seconds_total", F_CFLT, 0.001, 0.5, {DISKDEV}, 0},
    {"node_disk_read_time_seconds_total", F_CFLT, 0.001, 0.5, {DISKDEV}, 0},
    {"node_disk_write_time_seconds_total", F_CFLT, 0.001, 0.5, {DISKDEV}, 0},
    {"node_load1", F_GFLT, 0.05, 8, {0}, 0},
    {"node_load5", F_GFLT, 0.05, 8, {0}, 0},
    {"node_load15", F_GFLT, 0.05, 8, {0}, 0},
    {"node_context_switches_total", F_CINT, 1e3, 1e5, {0}, 0},
    {"node_intr_total", F_CINT, 1e3, 1e5, {0}, 0},
    {"node_forks_total", F_CINT, 1, 100, {0}, 0},
    {"node_boot_time_seconds", F_CONST, 1.76e9, 1.77e9, {0}, 0},
    {"node_time_seconds", F_CFLT, 1, 1, {0}, 0},
    {"node_procs_running", F_GINT, 1, 8, {0}, 0},
    {"node_procs_blocked", F_GINT, 0, 2, {0}, 0},
    {"node_entropy_available_bits", F_GINT, 256, 256, {0}, 0},
    {"node_netstat_Tcp_ActiveOpens", F_CINT, 0.1, 100, {0}, 0},
    {"node_netstat_Tcp_PassiveOpens", F_CINT, 0.1, 100, {0}, 0},
    {"node_netstat_Tcp_CurrEstab", F_GINT, 5, 2000, {0}, 0},
    {"node_netstat_Tcp_RetransSegs", F_CINT, 0.01, 10, {0}, 0},
    {"node_netstat_Udp_InDatagrams", F_CINT, 0.1, 100, {0}, 0},
    {"node_netstat_Udp_OutDatagrams", F_CINT, 0.1, 100, {0}, 0},
    {"node_netstat_TcpExt_ListenDrops", F_CINT, 0.0001, 0.01, {0}, 0},
    {"node_vmstat_pgfault", F_CINT, 100, 1e5, {0}, 0},
    {"node_vmstat_pgmajfault", F_CINT, 0.01, 10, {0}, 0},
    {"node_vmstat_pgpgin", F_CINT, 1, 1e4, {0}, 0},
    {"node_vmstat_pgpgout", F_CINT, 1, 1e4, {0}, 0},
    {"node_vmstat_pswpin", F_CONST, 0, 0, {0}, 0},
    {"node_vmstat_pswpout", F_CONST, 0, 0, {0}, 0},
    {"node_vmstat_oom_kill", F_CONST, 0, 0, {0}, 0},
    {"node_sockstat_TCP_inuse", F_GINT, 5, 2000, {0}, 0},
    {"node_sockstat_TCP_tw", F_GINT, 0, 500, {0}, 0},
    {"node_sockstat_sockets_used", F_GINT, 50, 5000, {0}, 0},
    {"node_uname_info",
     F_CONST,
     1,
     1,
     {"release=6.1.0-18-amd64", "machine=x86_64", "sysname=Linux"},
     0},
    {"node_hwmon_temp_celsius",
     F_GFLT,
     35,
     75,
     {"chip=platform_coretemp_0", "sensor=temp1|temp2|temp3|temp4|temp5"},
     0},
    {"node_exporter_build_info", F_CONST, 1, 1, {"version=1.7.0", "goversion=go1.21.4"}, 0},
};

static const char *const app_jobs[] = {"api-gateway", "checkout", "payments",  "search",
                                       "auth",        "cart",     "inventory", "users"};

/* ---- series and their values ---- */

enum series_kind { S_CONST, S_CINT, S_CFLT, S_GINT, S_GBYTES, S_GFLT, S_GRAW, S_BUCKET, S_HSUM };

/* One series' generator state: 32 bytes, so a million series cost 32 MB. */
typedef struct series {
    double v;      /* the value of the round last generated */
    double a;      /* rate per second, or the gauge's base */
    uint64_t seed; /* series seed; histogram series share their combination's seed */
    float frac;    /* bucket: share of observations at or below le; _sum: mean observation */
    uint16_t kind; /* enum series_kind */
    uint16_t pad;
} series;

typedef struct workload {
    uint64_t seed;
    size_t want, n;     /* series asked for, created */
    series *s;          /* n */
    uint32_t *inst;     /* n: the instance (scrape target) of each series */
    uint64_t *blob_off; /* n + 1: encoded Label messages of series i */
    osp_buf blobs;      /* every series' encoded labels, back to back */
    size_t ninst;
    uint32_t *phase_ms; /* per instance: its scrape offset within the interval */
    const char *names[256];
    size_t nnames; /* distinct metric names */
    uint64_t label_pairs;
} workload;

/* Per-round step of one series' value. */
static double next_value(const series *s, uint64_t rnd, double interval_s)
{
    uint64_t h = mix64(s->seed ^ (rnd * 0x9e3779b97f4a7c15ULL));
    double u = u01(h), v = s->v;
    switch (s->kind) {
    case S_CONST:
        return v;
    case S_CINT:
        return v + floor(s->a * interval_s * (0.5 + u) + u01(mix64(h)));
    case S_CFLT:
        return round((v + s->a * interval_s * (0.8 + 0.4 * u)) * 100) / 100;
    case S_GINT: {
        double step = floor(1 + s->a * 0.02);
        v += u < 0.3 ? -step : u > 0.7 ? step : 0;
        if (v < 0 || v > s->a * 2 + 2)
            v = floor(s->a);
        return v;
    }
    case S_GBYTES: {
        if (s->a == 0)
            return 0;
        double pages = floor((u - 0.5) * s->a * 0.01 / 4096);
        v += pages * 4096;
        if (v < s->a * 0.5 || v > s->a * 1.5)
            v = floor(s->a / 4096) * 4096;
        return v;
    }
    case S_GFLT:
        return round(s->a * (0.7 + 0.6 * u) * 100) / 100;
    case S_GRAW:
        return s->a * (0.7 + 0.6 * u);
    case S_BUCKET: { /* observations this round, shared by the combination's buckets */
        double n = floor(s->a * interval_s * (0.5 + u));
        return v + floor(n * s->frac);
    }
    case S_HSUM: {
        double n = floor(s->a * interval_s * (0.5 + u));
        return v + n * s->frac * (0.8 + 0.4 * u01(mix64(h ^ 1)));
    }
    }
    return v;
}

/* A label set under construction: up to 16 pairs. */
typedef struct lset {
    const char *name[16];
    char value[16][128];
    size_t n;
} lset;

static void lset_add(lset *l, const char *name, const char *value, size_t vlen)
{
    if (l->n >= 16)
        return;
    if (vlen >= sizeof l->value[0])
        vlen = sizeof l->value[0] - 1;
    l->name[l->n] = name;
    memcpy(l->value[l->n], value, vlen);
    l->value[l->n][vlen] = 0;
    l->n++;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static int put_varint(osp_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return osp_buf_append(b, tmp, n);
}

static int cmp_label(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* Sorts the pairs by name and appends them as repeated prometheus.Label messages
 * (TimeSeries field 1). */
static int encode_labels(workload *w, lset *l)
{
    struct {
        const char *name;
        const char *value;
    } pairs[16];
    for (size_t i = 0; i < l->n; i++) {
        pairs[i].name = l->name[i];
        pairs[i].value = l->value[i];
    }
    qsort(pairs, l->n, sizeof pairs[0], cmp_label);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        size_t nl = strlen(pairs[i].name), vl = strlen(pairs[i].value);
        size_t inner = 1 + varint_len(nl) + nl + 1 + varint_len(vl) + vl;
        rc = osp_buf_putc(&w->blobs, 0x0a);
        if (rc == 0)
            rc = put_varint(&w->blobs, inner);
        if (rc == 0)
            rc = osp_buf_putc(&w->blobs, 0x0a);
        if (rc == 0)
            rc = put_varint(&w->blobs, nl);
        if (rc == 0)
            rc = osp_buf_append(&w->blobs, pairs[i].name, nl);
        if (rc == 0)
            rc = osp_buf_putc(&w->blobs, 0x12);
        if (rc == 0)
            rc = put_varint(&w->blobs, vl);
        if (rc == 0)
            rc = osp_buf_append(&w->blobs, pairs[i].value, vl);
    }
    w->label_pairs += l->n;
    return rc;
}

static void note_name(workload *w, const char *name)
{
    for (size_t i = 0; i < w->nnames; i++)
        if (strcmp(w->names[i], name) == 0)
            return;
    if (w->nnames < 256)
        w->names[w->nnames++] = strdup(name);
}

/* Adds one series (if the workload still wants one). */
static int add_series(workload *w, lset *l, const char *name, uint32_t inst, series s)
{
    if (w->n >= w->want)
        return 0;
    size_t keep = l->n;
    lset_add(l, "__name__", name, strlen(name));
    note_name(w, name);
    int rc = encode_labels(w, l);
    l->n = keep;
    if (rc)
        return rc;
    w->s[w->n] = s;
    w->inst[w->n] = inst;
    w->n++;
    w->blob_off[w->n] = w->blobs.len;
    return 0;
}

/* Values of dimension d: the k-th alternative of "names=alt|alt|..." split into labels. */
static size_t dim_count(const char *d)
{
    size_t n = 1;
    for (const char *p = strchr(d, '='); p && *p; p++)
        n += *p == '|';
    return n;
}

static void dim_apply(lset *l, const char *d, size_t k)
{
    static char names[64][64]; /* label names live as long as the program */
    static size_t nnames;
    const char *eq = strchr(d, '=');
    const char *alt = eq + 1;
    for (size_t i = 0; i < k; i++)
        alt = strchr(alt, '|') + 1;
    const char *alt_end = strchr(alt, '|');
    if (!alt_end)
        alt_end = alt + strlen(alt);
    const char *np = d, *vp = alt;
    while (np < eq) {
        const char *ne = np;
        while (ne < eq && *ne != ',')
            ne++;
        const char *ve = vp;
        while (ve < alt_end && *ve != ',')
            ve++;
        size_t nl = (size_t)(ne - np), j;
        for (j = 0; j < nnames; j++)
            if (strlen(names[j]) == nl && memcmp(names[j], np, nl) == 0)
                break;
        if (j == nnames && nnames < 64) {
            memcpy(names[nnames], np, nl < 63 ? nl : 63);
            names[nnames++][nl < 63 ? nl : 63] = 0;
        }
        lset_add(l, names[j < 64 ? j : 63], vp, (size_t)(ve - vp));
        np = ne < eq ? ne + 1 : eq;
        vp = ve < alt_end ? ve + 1 : alt_end;
    }
}

/* Share of a log-logistic distribution (median m, shape 2) at or below le. */
static double cdf(double le, double m)
{
    if (isinf(le))
        return 1;
    double r = m / le;
    return 1 / (1 + r * r);
}

/* Adds the series of family f for one combination of its dimensions (labels in l). */
static int add_family_combo(workload *w, lset *l, const family *f, uint32_t inst, uint64_t seed,
                            double interval_s)
{
    char name[160];
    double rate = log_uniform(mix64(seed), f->lo > 0 ? f->lo : 1e-9, f->hi > 0 ? f->hi : 1e-9);
    double uptime_s = 3600 * (1 + 200 * u01(mix64(seed ^ 7))); /* counters start non-zero */
    int rc = 0;
    series s = {.seed = seed, .a = rate};
    switch (f->kind) {
    case F_CONST:
        s.kind = S_CONST;
        s.v = f->lo == f->hi ? f->lo : floor(log_uniform(mix64(seed), f->lo, f->hi));
        return add_series(w, l, f->name, inst, s);
    case F_CINT:
        s.kind = S_CINT;
        s.v = floor(rate * uptime_s);
        return add_series(w, l, f->name, inst, s);
    case F_CFLT:
        s.kind = S_CFLT;
        s.v = round(rate * uptime_s * 100) / 100;
        if (f->lo == 1 && f->hi == 1) /* node_time_seconds: the clock */
            s.v = 1.79e9;
        return add_series(w, l, f->name, inst, s);
    case F_GINT:
        s.kind = S_GINT;
        s.a = floor(f->lo + (f->hi - f->lo) * u01(mix64(seed)));
        s.v = s.a;
        return add_series(w, l, f->name, inst, s);
    case F_GBYTES:
        s.kind = S_GBYTES;
        s.a = f->hi > 0 ? log_uniform(mix64(seed), f->lo, f->hi) : 0;
        s.v = floor(s.a / 4096) * 4096;
        return add_series(w, l, f->name, inst, s);
    case F_GRAW:
    case F_GFLT:
        s.kind = f->kind == F_GRAW ? S_GRAW : S_GFLT;
        s.a = log_uniform(mix64(seed), f->lo, f->hi);
        s.v = round(s.a * 100) / 100;
        return add_series(w, l, f->name, inst, s);
    case F_SUMMARY: {
        static const char *const q[] = {"0", "0.25", "0.5", "0.75", "1"};
        for (size_t i = 0; rc == 0 && i < 5; i++) {
            series g = {.kind = S_GRAW, .seed = mix64(seed + i), .a = 1e-5 * (1 + 20 * i)};
            g.v = g.a;
            size_t keep = l->n;
            lset_add(l, "quantile", q[i], strlen(q[i]));
            rc = add_series(w, l, f->name, inst, g);
            l->n = keep;
        }
        double gc_rate = 0.05 + 0.5 * u01(mix64(seed ^ 3));
        series sum = {.kind = S_HSUM, .seed = seed, .a = gc_rate, .frac = 2e-4f};
        series cnt = {.kind = S_BUCKET, .seed = seed, .a = gc_rate, .frac = 1};
        cnt.v = floor(gc_rate * uptime_s);
        sum.v = cnt.v * 2e-4;
        snprintf(name, sizeof name, "%s_sum", f->name);
        if (rc == 0)
            rc = add_series(w, l, name, inst, sum);
        snprintf(name, sizeof name, "%s_count", f->name);
        if (rc == 0)
            rc = add_series(w, l, name, inst, cnt);
        return rc;
    }
    case F_HIST: {
        double bounds[32] = {0};
        size_t nb = 0;
        for (const char *p = f->le; p && *p && nb < 32;) {
            bounds[nb++] = strncmp(p, "+Inf", 4) == 0 ? INFINITY : strtod(p, NULL);
            p = strchr(p, '|');
            p = p ? p + 1 : NULL;
        }
        /* the combination's median observation, between the second and the third-last
         * bound */
        double median = log_uniform(mix64(seed ^ 5), bounds[1], bounds[nb > 3 ? nb - 3 : 0]);
        double n0 = floor(rate * uptime_s);
        snprintf(name, sizeof name, "%s_bucket", f->name);
        const char *p = f->le;
        for (size_t i = 0; rc == 0 && i < nb; i++) {
            const char *e = strchr(p, '|');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            series b = {.kind = S_BUCKET, .seed = seed, .a = rate};
            b.frac = (float)cdf(bounds[i], median);
            if (isinf(bounds[i]))
                b.frac = 1;
            b.v = floor(n0 * b.frac);
            size_t keep = l->n;
            lset_add(l, "le", p, len);
            rc = add_series(w, l, name, inst, b);
            l->n = keep;
            p = e ? e + 1 : p + len;
        }
        series sum = {.kind = S_HSUM, .seed = seed, .a = rate, .frac = (float)(median * 1.2)};
        series cnt = {.kind = S_BUCKET, .seed = seed, .a = rate, .frac = 1};
        cnt.v = n0;
        sum.v = n0 * median * 1.2;
        snprintf(name, sizeof name, "%s_sum", f->name);
        if (rc == 0)
            rc = add_series(w, l, name, inst, sum);
        snprintf(name, sizeof name, "%s_count", f->name);
        if (rc == 0)
            rc = add_series(w, l, name, inst, cnt);
        return rc;
    }
    }
    (void)interval_s;
    return 0;
}

/* Adds every series of one scrape target. */
static int add_instance(workload *w, uint32_t inst, size_t napp, double interval_s)
{
    int node = inst % 4 == 3; /* one target in four is a node exporter */
    const family *fams = node ? node_families : app_families;
    size_t nf = node ? sizeof node_families / sizeof node_families[0]
                     : sizeof app_families / sizeof app_families[0];
    char instance[64];
    snprintf(instance, sizeof instance, "10.%u.%u.%u:%s", 1 + inst / 62500, inst / 250 % 250,
             inst % 250 + 1, node ? "9100" : "8080");
    const char *job = node ? "node-exporter" : app_jobs[napp % 8];
    int rc = 0;
    for (size_t fi = 0; rc == 0 && fi < nf && w->n < w->want; fi++) {
        const family *f = &fams[fi];
        size_t nd = 0, card[3] = {1, 1, 1}, total = 1;
        while (nd < 3 && f->dims[nd]) {
            card[nd] = dim_count(f->dims[nd]);
            total *= card[nd];
            nd++;
        }
        for (size_t c = 0; rc == 0 && c < total; c++) {
            lset l = {0};
            lset_add(&l, "job", job, strlen(job));
            lset_add(&l, "instance", instance, strlen(instance));
            size_t rest = c;
            for (size_t d = 0; d < nd; d++) {
                dim_apply(&l, f->dims[d], rest % card[d]);
                rest /= card[d];
            }
            uint64_t seed = mix64(w->seed ^ mix64(((uint64_t)inst << 24) ^ (fi << 12) ^ c));
            rc = add_family_combo(w, &l, f, inst, seed, interval_s);
        }
    }
    return rc;
}

static int workload_build(workload *w, uint64_t seed, size_t want, uint32_t interval_ms)
{
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->want = want;
    w->s = osp_calloc(want, sizeof *w->s);
    w->inst = osp_calloc(want, sizeof *w->inst);
    w->blob_off = osp_calloc(want + 1, sizeof *w->blob_off);
    osp_buf_init(&w->blobs, 0);
    size_t cap = want / 100 + 16; /* targets have hundreds of series */
    w->phase_ms = osp_calloc(cap, sizeof *w->phase_ms);
    if (!w->s || !w->inst || !w->blob_off || !w->phase_ms)
        return OSP_ENOMEM;
    int rc = 0;
    size_t napp = 0;
    while (rc == 0 && w->n < w->want && w->ninst < cap) {
        uint32_t inst = (uint32_t)w->ninst++;
        w->phase_ms[inst] = (uint32_t)(mix64(seed ^ inst ^ 0xabcdef) % interval_ms);
        rc = add_instance(w, inst, napp, interval_ms / 1000.0);
        napp += inst % 4 != 3;
    }
    return rc;
}

static void workload_cleanup(workload *w)
{
    osp_free(w->s);
    osp_free(w->inst);
    osp_free(w->blob_off);
    osp_free(w->phase_ms);
    osp_buf_cleanup(&w->blobs);
    for (size_t i = 0; i < w->nnames; i++)
        free((void *)w->names[i]);
}

/* ---- gen ---- */

/* Appends series i's TimeSeries (its labels and one sample) to a WriteRequest. */
static int encode_series(osp_buf *b, const workload *w, size_t i, double v, int64_t t_ms)
{
    size_t lab = (size_t)(w->blob_off[i + 1] - w->blob_off[i]);
    size_t sample = 1 + 8 + 1 + varint_len((uint64_t)t_ms);
    size_t ts = lab + 1 + varint_len(sample) + sample;
    uint8_t tail[32];
    size_t k = 0;
    int rc = osp_buf_putc(b, 0x0a);
    if (rc == 0)
        rc = put_varint(b, ts);
    if (rc == 0)
        rc = osp_buf_append(b, w->blobs.data + w->blob_off[i], lab);
    tail[k++] = 0x12;
    tail[k++] = (uint8_t)sample; /* < 128 */
    tail[k++] = 0x09;
    memcpy(tail + k, &v, 8); /* fixed64, little-endian hosts only */
    k += 8;
    tail[k++] = 0x10;
    for (uint64_t t = (uint64_t)t_ms;; t >>= 7) {
        tail[k++] = (uint8_t)(t >= 0x80 ? (t | 0x80) : t);
        if (t < 0x80)
            break;
    }
    if (rc == 0)
        rc = osp_buf_append(b, tail, k);
    return rc;
}

static int cmd_gen(const osp_bench_opts *o)
{
    const char *out = osp_bench_opt_str(o, "--out", NULL);
    size_t want = (size_t)osp_bench_opt_u64(o, "--series", 0),
           rounds = (size_t)osp_bench_opt_u64(o, "--rounds", 0);
    size_t batch = (size_t)osp_bench_opt_u64(o, "--batch", 500);
    uint32_t interval = (uint32_t)osp_bench_opt_u64(o, "--interval-ms", 15000);
    uint32_t jitter = (uint32_t)osp_bench_opt_u64(o, "--jitter-ms", 2);
    uint64_t seed = osp_bench_opt_u64(o, "--seed", 42);
    int64_t end_ms = (int64_t)osp_bench_opt_u64(o, "--end-ms",
                                                osp_bench_now_ns(CLOCK_REALTIME) / 1000000 - 60000);
    if (!out || !want || !rounds || !batch || !interval || jitter * 2 >= interval) {
        usage();
        return 2;
    }
    uint64_t t_start = osp_bench_now_ns(CLOCK_MONOTONIC);
    workload w;
    osp_buf req, comp;
    osp_buf_init(&req, 0);
    osp_buf_init(&comp, 0);
    int rc = workload_build(&w, seed, want, interval);
    if (rc == 0 && w.n < want) {
        fprintf(stderr, "metrics-bench gen: only %zu series\n", w.n);
        rc = OSP_EINVAL;
    }
    /* the last round's scrapes all happen before end_ms */
    int64_t t0 = end_ms - (int64_t)rounds * interval;
    FILE *f = rc == 0 ? fopen(out, "wb") : NULL;
    if (rc == 0 && !f) {
        fprintf(stderr, "metrics-bench gen: cannot create %s: %s\n", out, strerror(errno));
        rc = OSP_EIO;
    }
    uint64_t requests = 0, raw_bytes = 0, comp_bytes = 0, samples = 0;
    int64_t first_ms = INT64_MAX, last_ms = INT64_MIN;
    for (size_t r = 0; rc == 0 && r < rounds; r++) {
        for (size_t i0 = 0; rc == 0 && i0 < w.n; i0 += batch) {
            size_t i1 = i0 + batch < w.n ? i0 + batch : w.n;
            osp_buf_reset(&req);
            for (size_t i = i0; rc == 0 && i < i1; i++) {
                uint32_t inst = w.inst[i];
                uint64_t h = mix64(seed ^ ((uint64_t)inst << 32) ^ r);
                int64_t t = t0 + (int64_t)r * interval + w.phase_ms[inst];
                if (jitter)
                    t += (int64_t)(h % (2 * jitter + 1)) - (int64_t)jitter;
                if (r > 0)
                    w.s[i].v = next_value(&w.s[i], r, interval / 1000.0);
                rc = encode_series(&req, &w, i, w.s[i].v, t);
                if (t < first_ms)
                    first_ms = t;
                if (t > last_ms)
                    last_ms = t;
            }
            size_t clen = snappy_max_compressed_length(req.len);
            if (rc == 0)
                rc = osp_buf_reserve(&comp, clen);
            if (rc == 0 && snappy_compress(req.data, req.len, comp.data, &clen) != SNAPPY_OK)
                rc = OSP_EINVAL;
            if (rc == 0)
                rc = osp_bench_pack_write(f, comp.data, clen, (uint32_t)(i1 - i0));
            requests++;
            samples += i1 - i0;
            raw_bytes += req.len;
            comp_bytes += clen;
        }
    }
    if (f && fclose(f) != 0 && rc == 0)
        rc = OSP_EIO;
    if (rc == 0) {
        char info[4096];
        snprintf(info, sizeof info, "%s.info", out);
        FILE *fi = fopen(info, "w");
        if (!fi) {
            rc = OSP_EIO;
        } else {
            FILE *outs[] = {stdout, fi};
            for (int k = 0; k < 2; k++)
                fprintf(outs[k],
                        "series=%zu\ninstances=%zu\nmetric_names=%zu\nlabels_per_series=%.2f\n"
                        "rounds=%zu\nsamples=%llu\nrequests=%llu\nrequests_per_round=%zu\n"
                        "series_per_request=%zu\ninterval_ms=%u\njitter_ms=%u\n"
                        "first_ms=%lld\nlast_ms=%lld\nraw_bytes_per_sample=%.1f\n"
                        "snappy_bytes_per_sample=%.1f\ngen_seconds=%.2f\n",
                        w.n, w.ninst, w.nnames, (double)w.label_pairs / (double)w.n, rounds,
                        (unsigned long long)samples, (unsigned long long)requests,
                        (w.n + batch - 1) / batch, batch, interval, jitter, (long long)first_ms,
                        (long long)last_ms, (double)raw_bytes / (double)samples,
                        (double)comp_bytes / (double)samples,
                        (double)(osp_bench_now_ns(CLOCK_MONOTONIC) - t_start) / 1e9);
            if (fclose(fi) != 0)
                rc = OSP_EIO;
        }
    }
    if (rc)
        fprintf(stderr, "metrics-bench gen: %s\n", osp_strerror(rc));
    workload_cleanup(&w);
    osp_buf_cleanup(&req);
    osp_buf_cleanup(&comp);
    return rc ? 1 : 0;
}

/* ---- selftest: Osprey's decoder reads the requests back ---- */

static int cmd_selftest(const osp_bench_opts *o)
{
    const char *path = osp_bench_opt_str(o, "--pack", NULL);
    if (!path) {
        usage();
        return 2;
    }
    osp_bench_pack pk;
    int rc = osp_bench_pack_open(path, "metrics-bench", &pk);
    size_t checked = 0, bad = 0, samples = 0;
    for (size_t i = 0; rc == 0 && i < pk.n && i < 20; i++) {
        osp_arena a;
        osp_rw_request req;
        char err[256];
        osp_arena_init(&a, 0, 0);
        rc = osp_remote_write_decode(osp_str_make((const char *)pk.rec[i].body, pk.rec[i].len),
                                     64u << 20, &a, NULL, &req, err, sizeof err);
        if (rc == 0) {
            if (req.nrejected || req.nseries != pk.rec[i].count) {
                fprintf(stderr,
                        "metrics-bench selftest: request %zu: %zu series, %zu rejected "
                        "(%s), expected %u\n",
                        i, req.nseries, req.nrejected, err, pk.rec[i].count);
                bad++;
            }
            for (size_t s = 0; s < req.nseries; s++) {
                bad += req.series[s].nsamples != 1;
                samples += req.series[s].nsamples;
            }
        } else {
            fprintf(stderr, "metrics-bench selftest: request %zu: %s (%s)\n", i, osp_strerror(rc),
                    err);
        }
        osp_arena_cleanup(&a);
        checked++;
    }
    if (rc == 0)
        printf("selftest: %zu requests (%zu samples) decoded by Osprey's remote write decoder; "
               "%zu problems\n",
               checked, samples, bad);
    osp_bench_pack_close(&pk);
    return rc || bad ? 1 : 0;
}

/* ---- load ---- */

typedef struct xfer {
    CURL *h;
    size_t rec;      /* request in flight, SIZE_MAX when idle */
    uint64_t due_ns; /* after a failure: nothing sent on this connection before then */
    osp_buf body;
} xfer;

static int cmd_load(const osp_bench_opts *o)
{
    const char *url = osp_bench_opt_str(o, "--url", NULL),
               *path = osp_bench_opt_str(o, "--pack", NULL);
    size_t conc = (size_t)osp_bench_opt_u64(o, "--concurrency", 4);
    size_t window = (size_t)osp_bench_opt_u64(o, "--window", SIZE_MAX / 2);
    if (!url || !path || conc == 0 || conc > 256 || window == 0) {
        usage();
        return 2;
    }
    osp_bench_pack pk;
    if (osp_bench_pack_open(path, "metrics-bench", &pk) != 0) {
        osp_bench_pack_close(&pk);
        return 1;
    }
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    hl = curl_slist_append(hl, "Content-Encoding: snappy");
    hl = curl_slist_append(hl, "X-Prometheus-Remote-Write-Version: 0.1.0");
    hl = curl_slist_append(hl, "User-Agent: osprey-metrics-bench");
    hl = curl_slist_append(hl, "Expect:");
    CURLM *m = curl_multi_init();
    xfer *x = osp_calloc(conc, sizeof *x);
    uint8_t *done = osp_calloc(pk.n + 1, 1);
    uint16_t *tries = osp_calloc(pk.n + 1, sizeof *tries);
    size_t *retry = osp_malloc((pk.n + 1) * sizeof *retry);
    size_t nretry = 0, next = 0, low = 0, ndone = 0;
    uint64_t accepted = 0, rejected = 0, retries = 0, failed = 0, rejected_reqs = 0;
    double cpu0 = osp_bench_cpu_seconds();
    uint64_t t0 = osp_bench_now_ns(CLOCK_MONOTONIC);
    int running = 0;
    if (!m || !x || !done || !tries || !retry) {
        fprintf(stderr, "metrics-bench load: out of memory\n");
        return 1;
    }
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
    for (size_t i = 0; i < conc; i++) {
        x[i].h = curl_easy_init();
        x[i].rec = SIZE_MAX;
        osp_buf_init(&x[i].body, 0);
        curl_easy_setopt(x[i].h, CURLOPT_URL, url);
        curl_easy_setopt(x[i].h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(x[i].h, CURLOPT_WRITEFUNCTION, osp_bench_keep_start_cb);
        curl_easy_setopt(x[i].h, CURLOPT_WRITEDATA, &x[i].body);
        curl_easy_setopt(x[i].h, CURLOPT_PRIVATE, &x[i]);
        curl_easy_setopt(x[i].h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(x[i].h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(x[i].h, CURLOPT_TIMEOUT, 120L);
    }
    while (ndone < pk.n && failed < 10) {
        uint64_t now = osp_bench_now_ns(CLOCK_MONOTONIC);
        for (size_t i = 0; i < conc; i++) { /* start idle transfers */
            if (x[i].rec != SIZE_MAX || x[i].due_ns > now)
                continue;
            size_t r;
            if (nretry)
                r = retry[--nretry];
            else if (next < pk.n && next < low + window)
                r = next++;
            else
                continue;
            x[i].rec = r;
            osp_buf_reset(&x[i].body);
            curl_easy_setopt(x[i].h, CURLOPT_POSTFIELDS, (const char *)pk.rec[r].body);
            curl_easy_setopt(x[i].h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pk.rec[r].len);
            curl_multi_add_handle(m, x[i].h);
        }
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 5, NULL);
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *t;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(m, msg->easy_handle);
            size_t r = t->rec;
            int finished = 1;
            if (res == CURLE_OK && code >= 200 && code < 300) {
                accepted += pk.rec[r].count;
            } else if ((res != CURLE_OK || code >= 500 || code == 429) && tries[r] < 100) {
                retries++; /* the server asks for a retry, or the connection failed */
                tries[r]++;
                t->due_ns = osp_bench_now_ns(CLOCK_MONOTONIC) + 200 * 1000000ULL;
                retry[nretry++] = r;
                finished = 0;
            } else if (res == CURLE_OK && code >= 400 && code < 500) {
                rejected += pk.rec[r].count; /* data the server refuses for good */
                if (rejected_reqs++ < 3)
                    fprintf(stderr, "metrics-bench load: request %zu: HTTP %ld: %.*s\n", r, code,
                            (int)t->body.len, t->body.data ? t->body.data : "");
            } else {
                failed++;
                fprintf(stderr, "metrics-bench load: request %zu failed: %s, HTTP %ld: %.*s\n", r,
                        curl_easy_strerror(res), code, (int)t->body.len,
                        t->body.data ? t->body.data : "");
            }
            if (finished) {
                done[r] = 1;
                ndone++;
                while (low < pk.n && done[low])
                    low++;
            }
            t->rec = SIZE_MAX;
        }
    }
    double secs = (double)(osp_bench_now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    printf("requests=%zu\nsamples=%llu\nrejected_samples=%llu\nrejected_requests=%llu\n"
           "seconds=%.3f\nsamples_per_s=%.0f\nretries=%llu\nfailed=%llu\nloader_cpu_s=%.2f\n",
           ndone, (unsigned long long)accepted, (unsigned long long)rejected,
           (unsigned long long)rejected_reqs, secs, (double)accepted / secs,
           (unsigned long long)retries, (unsigned long long)failed, osp_bench_cpu_seconds() - cpu0);
    for (size_t i = 0; i < conc; i++) {
        curl_multi_remove_handle(m, x[i].h);
        curl_easy_cleanup(x[i].h);
        osp_buf_cleanup(&x[i].body);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hl);
    osp_free(x);
    osp_free(done);
    osp_free(tries);
    osp_free(retry);
    osp_bench_pack_close(&pk);
    return failed ? 1 : 0;
}

/* ---- queries ---- */

/* GET base + path?query=q&params; 0 on HTTP 200 with "status":"success". */
static int prom_get(CURL *h, const char *base, const char *path, const char *q, const char *params,
                    osp_buf *body, uint64_t *ns)
{
    osp_buf url;
    osp_buf_init(&url, 0);
    char *esc = curl_easy_escape(h, q, 0);
    osp_buf_printf(&url, "%s%s?query=%s&%s", base, path, esc, params);
    osp_buf_putc(&url, 0);
    curl_free(esc);
    int rc = osp_bench_timed_get(h, url.data, body, ns);
    osp_buf_cleanup(&url);
    return rc == 0 && body->len && memmem(body->data, body->len, "\"success\"", 9) ? 0 : -1;
}

static size_t count_str(const osp_buf *b, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    const char *p = b->data, *end = b->data + b->len;
    while (p && p < end && (p = memmem(p, (size_t)(end - p), needle, nl))) {
        n++;
        p += nl;
    }
    return n;
}

/* The value of a one-series instant vector answer, or -1. */
static double instant_value(const osp_buf *b)
{
    const char *p = b->len ? memmem(b->data, b->len, "\"value\":[", 9) : NULL;
    if (!p)
        return -1;
    const char *q = memmem(p + 9, (size_t)(b->data + b->len - p - 9), ",\"", 2);
    return q ? strtod(q + 2, NULL) : -1;
}

static CURL *query_handle(osp_buf *body)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, osp_bench_keep_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL); /* no compression: same for all */
    return h;
}

static int cmd_check(const osp_bench_opts *o)
{
    const char *base = osp_bench_opt_str(o, "--url", NULL);
    uint64_t t_ms = osp_bench_opt_u64(o, "--time-ms", 0),
             nseries = osp_bench_opt_u64(o, "--series", 0);
    uint64_t ninst = osp_bench_opt_u64(o, "--instances", 0);
    if (!base || !t_ms) {
        usage();
        return 2;
    }
    osp_buf body;
    osp_buf_init(&body, 0);
    CURL *h = query_handle(&body);
    char params[64];
    snprintf(params, sizeof params, "time=%.3f", (double)t_ms / 1000);
    uint64_t ns1 = 0, ns2 = 0;
    double count = -1, up = -1;
    if (prom_get(h, base, "/api/v1/query", "count({__name__=~\".+\"})", params, &body, &ns1) == 0)
        count = instant_value(&body);
    else
        fprintf(stderr, "metrics-bench check: count: %.*s\n",
                (int)(body.len < 300 ? body.len : 300), body.data ? body.data : "");
    if (prom_get(h, base, "/api/v1/query", "sum(up)", params, &body, &ns2) == 0)
        up = instant_value(&body);
    printf("count_series=%.0f\ncount_ms=%.1f\nsum_up=%.0f\n", count, (double)ns1 / 1e6, up);
    curl_easy_cleanup(h);
    osp_buf_cleanup(&body);
    return count == (double)nseries && up == (double)ninst ? 0 : 1;
}

/* The dashboard: what a service overview and a node overview ask every refresh. */
static const struct {
    const char *key, *promql;
} queries[] = {
    {"rate_by_job", "sum by (job) (rate(http_requests_total[5m]))"},
    {"p99_by_job",
     "histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))"},
    {"topk_cpu", "topk(10, sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])))"},
    {"avg_over_time", "max by (job) (avg_over_time(process_resident_memory_bytes[5m]))"},
    {"error_ratio",
     "sum by (job, instance, path) (rate(http_requests_total{status=~\"5..\"}[5m])) / on (job, "
     "instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))"},
    {"mem_used_ratio",
     "1 - node_memory_MemAvailable_bytes / on (instance) node_memory_MemTotal_bytes"},
};
#define NQUERIES (sizeof queries / sizeof queries[0])

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *sorted, size_t n, double p)
{
    return n ? (double)sorted[(size_t)((double)(n - 1) * p + 0.5)] / 1e6 : 0;
}

static int cmd_query(const osp_bench_opts *o)
{
    const char *base = osp_bench_opt_str(o, "--url", NULL),
               *step = osp_bench_opt_str(o, "--step", "30");
    uint64_t start = osp_bench_opt_u64(o, "--start-ms", 0),
             end = osp_bench_opt_u64(o, "--end-ms", 0);
    size_t reps = (size_t)osp_bench_opt_u64(o, "--reps", 20);
    uint64_t max_ns = osp_bench_opt_u64(o, "--max-seconds", 0) * 1000000000ULL;
    if (!base || !start || end <= start || reps == 0) {
        usage();
        return 2;
    }
    osp_buf body;
    osp_buf_init(&body, 0);
    CURL *h = query_handle(&body);
    char params[128];
    snprintf(params, sizeof params, "start=%.3f&end=%.3f&step=%s", (double)start / 1000,
             (double)end / 1000, step);
    uint64_t *lat = osp_calloc(NQUERIES * reps, sizeof *lat), *all = osp_calloc(NQUERIES * reps, 8);
    size_t n[NQUERIES] = {0}, nseries[NQUERIES] = {0}, bytes[NQUERIES] = {0}, errors = 0, nall = 0;
    uint64_t began = osp_bench_now_ns(CLOCK_MONOTONIC);
    for (size_t rep = 0; lat && all && rep <= reps; rep++) { /* rep 0 warms up */
        if (max_ns && rep > 1 && osp_bench_now_ns(CLOCK_MONOTONIC) - began > max_ns)
            break; /* time budget spent: report what was measured */
        for (size_t q = 0; q < NQUERIES; q++) {
            uint64_t ns;
            if (prom_get(h, base, "/api/v1/query_range", queries[q].promql, params, &body, &ns)) {
                if (errors++ < 3)
                    fprintf(stderr, "metrics-bench query %s: %.*s\n", queries[q].key,
                            (int)(body.len < 400 ? body.len : 400), body.data ? body.data : "");
                continue;
            }
            nseries[q] = count_str(&body, "\"metric\"");
            bytes[q] = body.len;
            if (rep == 0)
                continue;
            lat[q * reps + n[q]++] = ns;
            all[nall++] = ns;
        }
    }
    printf("queries=%zu\nreps=%zu\nstep=%s\nerrors=%zu\n", NQUERIES, n[0], step, errors);
    for (size_t q = 0; lat && q < NQUERIES; q++) {
        uint64_t *l = lat + q * reps;
        qsort(l, n[q], sizeof *l, cmp_u64);
        printf("%s_p50_ms=%.2f\n%s_p99_ms=%.2f\n%s_series=%zu\n%s_bytes=%zu\n", queries[q].key,
               pct(l, n[q], 0.5), queries[q].key, pct(l, n[q], 0.99), queries[q].key, nseries[q],
               queries[q].key, bytes[q]);
    }
    if (all) {
        qsort(all, nall, sizeof *all, cmp_u64);
        printf("all_p50_ms=%.2f\nall_p99_ms=%.2f\n", pct(all, nall, 0.5), pct(all, nall, 0.99));
    }
    curl_easy_cleanup(h);
    osp_buf_cleanup(&body);
    osp_free(lat);
    osp_free(all);
    return errors ? 1 : 0;
}

/* Prints the query keys, one per line, for the report. */
static int cmd_queries(void)
{
    for (size_t q = 0; q < NQUERIES; q++)
        printf("%s\t%s\n", queries[q].key, queries[q].promql);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    osp_bench_opts o = {argc - 2, argv + 2};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    int rc;
    if (strcmp(argv[1], "gen") == 0)
        rc = cmd_gen(&o);
    else if (strcmp(argv[1], "selftest") == 0)
        rc = cmd_selftest(&o);
    else if (strcmp(argv[1], "load") == 0)
        rc = cmd_load(&o);
    else if (strcmp(argv[1], "check") == 0)
        rc = cmd_check(&o);
    else if (strcmp(argv[1], "query") == 0)
        rc = cmd_query(&o);
    else if (strcmp(argv[1], "queries") == 0)
        rc = cmd_queries();
    else {
        usage();
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
