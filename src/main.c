/* The osprey command: `osprey serve` runs the server; see `osprey --help`. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/pricing.h"
#include "api/api.h"
#include "api/console.h"
#include "api/logs.h"
#include "api/prom.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/version.h"
#include "demo/demo.h"
#include "net/http.h"
#include "query/params.h"
#include "receiver/receiver.h"
#include "scrape/config.h"
#include "scrape/scraper.h"
#include "store/store.h"
#include "store/tsdb/tsdb.h"

#define MAX_ROUTES 64
#define PATTERNS_FILE "logpatterns" /* in the data directory: the log pattern snapshot */
#define PATTERNS_SAVE_MS 60000

typedef struct serve_config {
    const char *config_file; /* --config: scrape_configs; NULL = none */
    const char *data_dir;
    const char *otlp_grpc_addr, *otlp_http_addr, *http_addr;
    osp_store_options store;
    osp_net_limits limits;
    osp_prom_api_options query;
    int otlp_naming;             /* enum osp_prom_naming */
    uint32_t derive_interval_ms; /* --derive-interval */
    int no_derive;               /* --no-derive */
    int no_console;              /* --no-console */
    const char *prices_file;     /* --prices; NULL = the built-in table */
    /* --topology-*: health thresholds of GET /api/v1/topology */
    osp_golden_thresholds topology;
} serve_config;

static void usage(FILE *out)
{
    fprintf(out, "Osprey " OSP_VERSION " - observability for microservices and AI applications\n"
                 "\n"
                 "Usage: osprey <command> [options]\n"
                 "\n"
                 "Commands:\n"
                 "  serve      run the server (OTLP ingest, embedded store, query API)\n"
                 "  demo       run a fleet of instrumented demo services that send it telemetry\n"
                 "  version    print the version\n"
                 "  help       print this help\n"
                 "\n"
                 "Run `osprey serve --help` for the server's options.\n");
}

static void serve_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: osprey serve [options]\n"
        "\n"
        "  --config FILE               YAML configuration: global and scrape_configs, as in\n"
        "                              Prometheus (targets to scrape; see docs/metrics.md)\n"
        "\n"
        "Listeners:\n"
        "  --otlp-grpc-addr HOST:PORT  OTLP/gRPC (default 127.0.0.1:4317)\n"
        "  --otlp-http-addr HOST:PORT  OTLP/HTTP, protobuf and JSON (default 127.0.0.1:4318)\n"
        "  --http-addr HOST:PORT       query API, Jaeger API, /metrics and the web console\n"
        "                              (default 127.0.0.1:8080)\n"
        "  --no-console                do not serve the web console on --http-addr (its paths\n"
        "                              answer 404; the APIs are unchanged)\n"
        "\n"
        "Storage:\n"
        "  --data-dir DIR              where the embedded store keeps its files (default ./data)\n"
        "  --retention DURATION        drop data older than this, e.g. 12h, 7d, 4w (default 7d;\n"
        "                              0 keeps everything)\n"
        "  --fsync POLICY              when acknowledged data reaches the disk: always (fsync\n"
        "                              before every acknowledgement, group-committed; survives\n"
        "                              power loss), interval (written before acknowledgement,\n"
        "                              fsynced every --fsync-interval; survives a crash of the\n"
        "                              process, may lose that interval on power loss), never\n"
        "                              (left to the kernel). Default: interval\n"
        "  --fsync-interval DURATION   for --fsync interval (default 1s)\n"
        "  --memtable-size BYTES       in-memory buffer flushed to a part past this (default "
        "64MiB)\n"
        "  --ai-index-memory BYTES     memory for the AI call index (sessions, users, agents);\n"
        "                              past it, its oldest days leave the lists but stay on\n"
        "                              disk (default: a quarter of the machine's memory)\n"
        "  --out-of-order-window DURATION\n"
        "                              accept metric samples up to this far behind a series'\n"
        "                              newest sample (default 0: reject out-of-order samples,\n"
        "                              as Prometheus does)\n"
        "  --max-series-per-metric N   new series allowed per metric name; more are refused\n"
        "                              with an error naming the metric (default 0: no limit)\n"
        "  --max-exemplars N           exemplars kept, the oldest dropped first (default "
        "100000)\n"
        "\n"
        "  --otlp-metric-names MODE    how OTLP metric and attribute names become Prometheus\n"
        "                              names: prometheus (default: '_' for invalid\n"
        "                              characters, unit and _total suffixes) or utf8 (kept\n"
        "                              as they are)\n"
        "\n"
        "Derived series (RED, service graph, GenAI metrics from spans):\n"
        "  --derive-interval DURATION  how often they are written to the store (default 15s)\n"
        "  --no-derive                 derive nothing (for benchmarking ingest)\n"
        "  --prices FILE               model prices (YAML) laid over the built-in table, for\n"
        "                              GenAI cost (see docs/golden-signals.md)\n"
        "\n"
        "Topology health (GET /api/v1/topology):\n"
        "  --topology-busy-rps N       a node or edge is busy from this many requests per\n"
        "                              second (default 50)\n"
        "  --topology-slow-p95 DURATION\n"
        "                              slow from this 95th-percentile latency (default 800ms)\n"
        "  --topology-failing-error-rate RATIO\n"
        "                              failing from this share of errors (default 0.05)\n"
        "\n"
        "PromQL:\n"
        "  --query-lookback-delta DURATION\n"
        "                              how far back an instant selector looks (default 5m)\n"
        "  --query-timeout DURATION    longest query evaluation (default 2m)\n"
        "  --query-max-samples N       samples one query may hold in memory (default 50000000)\n"
        "\n"
        "Limits:\n"
        "  --max-request-size BYTES    largest request body after decompression; larger gets\n"
        "                              413 / RESOURCE_EXHAUSTED (default 64MiB)\n"
        "  --max-inflight-size BYTES   request bodies being processed at once; past it new\n"
        "                              requests get 503 / UNAVAILABLE (default 256MiB)\n"
        "  --header-timeout DURATION   time allowed for a request's headers (default 10s)\n"
        "  --idle-timeout DURATION     idle keep-alive connections closed after (default 60s)\n"
        "\n"
        "Sizes take an optional suffix: KiB, MiB, GiB (or K, M, G). Durations: ns, us, ms,\n"
        "s, m, h, d, w (e.g. 1.5s, 7d). SIGINT and SIGTERM shut down cleanly: stop accepting,\n"
        "finish requests in flight, flush the store, exit 0.\n");
}

/* Parses "123", "64MiB", "1G" into bytes. 0 or OSP_EINVAL. */
static int parse_size(const char *z, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(z, &end, 10);
    if (end == z || errno || *z == '-')
        return OSP_EINVAL;
    uint64_t mult = 1;
    if (!strcasecmp(end, "k") || !strcasecmp(end, "kib") || !strcasecmp(end, "kb"))
        mult = 1ull << 10;
    else if (!strcasecmp(end, "m") || !strcasecmp(end, "mib") || !strcasecmp(end, "mb"))
        mult = 1ull << 20;
    else if (!strcasecmp(end, "g") || !strcasecmp(end, "gib") || !strcasecmp(end, "gb"))
        mult = 1ull << 30;
    else if (*end)
        return OSP_EINVAL;
    if (v > UINT64_MAX / mult)
        return OSP_EINVAL;
    *out = v * mult;
    return 0;
}

static int parse_duration_ms(const char *flag, const char *z, uint32_t *ms)
{
    uint64_t ns;
    osp_param_err err;
    if (osp_param_lookback(flag, osp_str_c(z), &ns, &err) || ns / 1000000 > UINT32_MAX) {
        fprintf(stderr, "osprey serve: invalid %s \"%s\"\n", flag, z);
        return OSP_EINVAL;
    }
    *ms = (uint32_t)(ns / 1000000);
    return 0;
}

static int parse_duration_ms64(const char *flag, const char *z, int64_t *ms)
{
    uint64_t ns;
    osp_param_err err;
    if (!strcmp(z, "0")) {
        *ms = 0;
        return 0;
    }
    if (osp_param_lookback(flag, osp_str_c(z), &ns, &err) || ns / 1000000 > INT64_MAX) {
        fprintf(stderr, "osprey serve: invalid %s \"%s\"\n", flag, z);
        return OSP_EINVAL;
    }
    *ms = (int64_t)(ns / 1000000);
    return 0;
}

/* A whole number, at least min. */
static int parse_count(const char *flag, const char *z, uint64_t min, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(z, &end, 10);
    if (end == z || *end || errno || *z == '-' || v < min) {
        fprintf(stderr, "osprey serve: invalid %s \"%s\": expected a whole number\n", flag, z);
        return OSP_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_size_flag(const char *flag, const char *z, size_t *out)
{
    uint64_t v;
    if (parse_size(z, &v) || v == 0 || v > SIZE_MAX) {
        fprintf(stderr, "osprey serve: invalid %s \"%s\": expected bytes like 1048576 or 64MiB\n",
                flag, z);
        return OSP_EINVAL;
    }
    *out = (size_t)v;
    return 0;
}

/* Parses a number that is not negative. 0 or OSP_EINVAL (after a message). */
static int parse_number(const char *flag, const char *z, double *out)
{
    char *end;
    double v = strtod(z, &end);
    if (end == z || *end || !(v >= 0 && v < 1e300)) {
        fprintf(stderr, "osprey serve: invalid %s \"%s\": expected a number\n", flag, z);
        return OSP_EINVAL;
    }
    *out = v;
    return 0;
}

enum {
    OPT_DATA_DIR = 256,
    OPT_GRPC,
    OPT_OTLP_HTTP,
    OPT_HTTP,
    OPT_RETENTION,
    OPT_FSYNC,
    OPT_FSYNC_INTERVAL,
    OPT_MEMTABLE,
    OPT_AI_INDEX_MEMORY,
    OPT_MAX_REQ,
    OPT_MAX_INFLIGHT,
    OPT_HEADER_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_OOO_WINDOW,
    OPT_MAX_SERIES,
    OPT_MAX_EXEMPLARS,
    OPT_LOOKBACK,
    OPT_QUERY_TIMEOUT,
    OPT_MAX_SAMPLES,
    OPT_OTLP_NAMES,
    OPT_CONFIG,
    OPT_DERIVE_INTERVAL,
    OPT_NO_DERIVE,
    OPT_PRICES,
    OPT_TOPO_BUSY,
    OPT_TOPO_SLOW,
    OPT_TOPO_FAILING,
    OPT_NO_CONSOLE,
};

/* Fills cfg from argv. Returns 0, 1 when help was printed, or OSP_EINVAL. */
static int parse_serve_args(int argc, char **argv, serve_config *cfg)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"otlp-grpc-addr", required_argument, NULL, OPT_GRPC},
        {"otlp-http-addr", required_argument, NULL, OPT_OTLP_HTTP},
        {"http-addr", required_argument, NULL, OPT_HTTP},
        {"retention", required_argument, NULL, OPT_RETENTION},
        {"fsync", required_argument, NULL, OPT_FSYNC},
        {"fsync-interval", required_argument, NULL, OPT_FSYNC_INTERVAL},
        {"memtable-size", required_argument, NULL, OPT_MEMTABLE},
        {"ai-index-memory", required_argument, NULL, OPT_AI_INDEX_MEMORY},
        {"max-request-size", required_argument, NULL, OPT_MAX_REQ},
        {"max-inflight-size", required_argument, NULL, OPT_MAX_INFLIGHT},
        {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"out-of-order-window", required_argument, NULL, OPT_OOO_WINDOW},
        {"max-series-per-metric", required_argument, NULL, OPT_MAX_SERIES},
        {"max-exemplars", required_argument, NULL, OPT_MAX_EXEMPLARS},
        {"query-lookback-delta", required_argument, NULL, OPT_LOOKBACK},
        {"query-timeout", required_argument, NULL, OPT_QUERY_TIMEOUT},
        {"query-max-samples", required_argument, NULL, OPT_MAX_SAMPLES},
        {"otlp-metric-names", required_argument, NULL, OPT_OTLP_NAMES},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"derive-interval", required_argument, NULL, OPT_DERIVE_INTERVAL},
        {"no-derive", no_argument, NULL, OPT_NO_DERIVE},
        {"prices", required_argument, NULL, OPT_PRICES},
        {"topology-busy-rps", required_argument, NULL, OPT_TOPO_BUSY},
        {"topology-slow-p95", required_argument, NULL, OPT_TOPO_SLOW},
        {"topology-failing-error-rate", required_argument, NULL, OPT_TOPO_FAILING},
        {"no-console", no_argument, NULL, OPT_NO_CONSOLE},
        {NULL, 0, NULL, 0},
    };
    osp_param_err err;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'h':
            serve_usage(stdout);
            return 1;
        case OPT_CONFIG:
            cfg->config_file = optarg;
            break;
        case OPT_DATA_DIR:
            cfg->data_dir = optarg;
            break;
        case OPT_DERIVE_INTERVAL:
            if (parse_duration_ms("--derive-interval", optarg, &cfg->derive_interval_ms))
                return OSP_EINVAL;
            if (cfg->derive_interval_ms == 0) {
                fprintf(stderr, "osprey serve: --derive-interval must be at least 1ms\n");
                return OSP_EINVAL;
            }
            break;
        case OPT_NO_CONSOLE:
            cfg->no_console = 1;
            break;
        case OPT_NO_DERIVE:
            cfg->no_derive = 1;
            break;
        case OPT_PRICES:
            cfg->prices_file = optarg;
            break;
        case OPT_TOPO_BUSY:
            if (parse_number("--topology-busy-rps", optarg, &cfg->topology.busy_rps))
                return OSP_EINVAL;
            break;
        case OPT_TOPO_SLOW: {
            uint32_t ms;
            if (parse_duration_ms("--topology-slow-p95", optarg, &ms))
                return OSP_EINVAL;
            cfg->topology.slow_p95_s = ms / 1000.0;
            break;
        }
        case OPT_TOPO_FAILING:
            if (parse_number("--topology-failing-error-rate", optarg,
                             &cfg->topology.failing_error_rate))
                return OSP_EINVAL;
            break;
        case OPT_GRPC:
            cfg->otlp_grpc_addr = optarg;
            break;
        case OPT_OTLP_HTTP:
            cfg->otlp_http_addr = optarg;
            break;
        case OPT_HTTP:
            cfg->http_addr = optarg;
            break;
        case OPT_RETENTION:
            if (strcmp(optarg, "0") && osp_param_lookback("--retention", osp_str_c(optarg),
                                                          &cfg->store.retention_ns, &err)) {
                fprintf(stderr, "osprey serve: %s\n", err.msg);
                return OSP_EINVAL;
            }
            if (!strcmp(optarg, "0"))
                cfg->store.retention_ns = 0;
            break;
        case OPT_FSYNC:
            if (!strcmp(optarg, "always"))
                cfg->store.fsync_policy = OSP_FSYNC_ALWAYS;
            else if (!strcmp(optarg, "interval"))
                cfg->store.fsync_policy = OSP_FSYNC_INTERVAL;
            else if (!strcmp(optarg, "never"))
                cfg->store.fsync_policy = OSP_FSYNC_NEVER;
            else {
                fprintf(stderr,
                        "osprey serve: invalid --fsync \"%s\": use always, interval "
                        "or never\n",
                        optarg);
                return OSP_EINVAL;
            }
            break;
        case OPT_FSYNC_INTERVAL:
            if (parse_duration_ms("--fsync-interval", optarg, &cfg->store.fsync_interval_ms))
                return OSP_EINVAL;
            break;
        case OPT_MEMTABLE:
            if (parse_size_flag("--memtable-size", optarg, &cfg->store.memtable_bytes))
                return OSP_EINVAL;
            break;
        case OPT_AI_INDEX_MEMORY:
            if (parse_size_flag("--ai-index-memory", optarg, &cfg->store.aicalls_memory_bytes))
                return OSP_EINVAL;
            break;
        case OPT_MAX_REQ:
            if (parse_size_flag("--max-request-size", optarg, &cfg->limits.max_body))
                return OSP_EINVAL;
            break;
        case OPT_MAX_INFLIGHT:
            if (parse_size_flag("--max-inflight-size", optarg, &cfg->limits.max_inflight_bytes))
                return OSP_EINVAL;
            break;
        case OPT_HEADER_TIMEOUT:
            if (parse_duration_ms("--header-timeout", optarg, &cfg->limits.header_timeout_ms))
                return OSP_EINVAL;
            break;
        case OPT_IDLE_TIMEOUT:
            if (parse_duration_ms("--idle-timeout", optarg, &cfg->limits.idle_timeout_ms))
                return OSP_EINVAL;
            break;
        case OPT_OOO_WINDOW:
            if (parse_duration_ms64("--out-of-order-window", optarg, &cfg->store.ooo_window_ms))
                return OSP_EINVAL;
            break;
        case OPT_MAX_SERIES:
            if (parse_count("--max-series-per-metric", optarg, 0,
                            &cfg->store.max_series_per_metric))
                return OSP_EINVAL;
            break;
        case OPT_MAX_EXEMPLARS: {
            uint64_t n;
            if (parse_count("--max-exemplars", optarg, 1, &n))
                return OSP_EINVAL;
            cfg->store.max_exemplars = n > SIZE_MAX ? SIZE_MAX : (size_t)n;
            break;
        }
        case OPT_LOOKBACK:
            if (parse_duration_ms64("--query-lookback-delta", optarg, &cfg->query.lookback_ms) ||
                cfg->query.lookback_ms == 0)
                return OSP_EINVAL;
            break;
        case OPT_QUERY_TIMEOUT:
            if (parse_duration_ms64("--query-timeout", optarg, &cfg->query.timeout_ms) ||
                cfg->query.timeout_ms == 0)
                return OSP_EINVAL;
            break;
        case OPT_MAX_SAMPLES:
            if (parse_count("--query-max-samples", optarg, 0, &cfg->query.max_samples))
                return OSP_EINVAL;
            break;
        case OPT_OTLP_NAMES:
            if (!strcmp(optarg, "prometheus"))
                cfg->otlp_naming = OSP_PROM_UNDERSCORE_SUFFIXES;
            else if (!strcmp(optarg, "utf8"))
                cfg->otlp_naming = OSP_PROM_NO_TRANSLATION;
            else {
                fprintf(stderr,
                        "osprey serve: invalid --otlp-metric-names \"%s\": use prometheus or "
                        "utf8\n",
                        optarg);
                return OSP_EINVAL;
            }
            break;
        default:
            fprintf(stderr, "Run `osprey serve --help` for the options.\n");
            return OSP_EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "osprey serve: unexpected argument \"%s\"\n", argv[optind]);
        return OSP_EINVAL;
    }
    cfg->store.data_dir = cfg->data_dir;
    return 0;
}

/* The scraper's way into the store. */
static int append_scraped(void *store, const osp_series_batch *b, char *err, size_t errlen)
{
    osp_tsdb_append_report rep = {0};
    int rc = osp_store_append_series(store, b, &rep);
    if (rc)
        snprintf(err, errlen, "storing scraped samples: %s", osp_strerror(rc));
    else if (rep.error[0])
        snprintf(err, errlen, "%s", rep.error);
    return rc;
}

/* Loads --config and starts scraping its targets; *out stays NULL without --config. */
static int start_scraper(const serve_config *cfg, osp_store *store, osp_scrape_config **sc,
                         osp_scraper **out)
{
    char err[512];
    if (!cfg->config_file)
        return 0;
    int rc = osp_scrape_config_load(cfg->config_file, sc, err, sizeof err);
    if (rc) {
        osp_error("main", "%s", err);
        return rc;
    }
    osp_scraper_opts opts = {.append = append_scraped, .ctx = store};
    rc = osp_scraper_create(*sc, &opts, out, err, sizeof err);
    if (rc == 0)
        rc = osp_scraper_start(*out);
    if (rc)
        osp_error("main", "cannot start scraping: %s", rc == OSP_EINVAL ? err : osp_strerror(rc));
    return rc;
}

/* Loads the price table (the APIs price tokens with it too) and starts the derivations;
 * *out stays NULL with --no-derive. */
static int start_derive(const serve_config *cfg, osp_store *store, osp_price_table **prices,
                        osp_derive **out)
{
    char err[512] = "";
    int rc = osp_price_table_load(cfg->prices_file, prices, err, sizeof err);
    if (rc) {
        osp_error("main", "cannot load the prices%s%s: %s", cfg->prices_file ? " in " : "",
                  cfg->prices_file ? cfg->prices_file : "", err[0] ? err : osp_strerror(rc));
        return rc;
    }
    if (cfg->no_derive)
        return 0;
    osp_derive_options opt = {.interval_ms = cfg->derive_interval_ms, .prices = *prices};
    rc = osp_derive_create(store, &opt, out);
    if (rc)
        osp_error("main", "cannot start deriving series from spans: %s", osp_strerror(rc));
    return rc;
}

/* Reports not-ready as soon as a graceful shutdown begins. */
static void on_shutdown(void *api)
{
    osp_api_set_ready(api, 0);
}

/* Builds one listener's route table from the receivers (and the APIs and, unless
 * no_console, the web console on the API port). */
static int listen_on(osp_net *net, const char *addr, enum osp_listener which,
                     const osp_receiver_env *env, osp_api *api, osp_prom_api *prom,
                     osp_logs_api *logs, int no_console)
{
    osp_route routes[MAX_ROUTES];
    size_t n = osp_receiver_routes(which, env, routes, MAX_ROUTES);
    if (which == OSP_LISTENER_API) {
        const osp_route *api_routes, *prom_routes, *logs_routes;
        size_t napi, nprom, nlogs;
        osp_api_routes(api, &api_routes, &napi);
        osp_prom_api_routes(prom, &prom_routes, &nprom);
        osp_logs_api_routes(logs, &logs_routes, &nlogs);
        for (size_t i = 0; i < napi && n < MAX_ROUTES; i++)
            routes[n++] = api_routes[i];
        for (size_t i = 0; i < nprom && n < MAX_ROUTES; i++)
            routes[n++] = prom_routes[i];
        for (size_t i = 0; i < nlogs && n < MAX_ROUTES; i++)
            routes[n++] = logs_routes[i];
        if (!no_console && n < MAX_ROUTES)
            routes[n++] = osp_console_route(); /* a fallback: only paths the APIs leave */
    }
    int rc = osp_net_listen(net, addr, routes, n);
    if (rc)
        osp_error("main", "cannot listen on %s: %s", addr, osp_strerror(rc));
    return rc;
}

/* Keeps freed memory in the process for the next query: a query over tens of thousands of
 * series allocates and frees hundreds of megabytes, and glibc's defaults hand that back to
 * the kernel and fault it in again (zeroed) every time. Blocks up to 32 MiB come from the
 * heap, up to a thirty-second of physical memory (128 MiB to 1 GiB) stays, and every
 * thread shares the one heap those limits govern (a thread's own malloc arena is unmapped
 * whole whenever it empties, which a query's helper threads do at every query). */
static void tune_malloc(void)
{
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, (int)osp_mem_share(32, (size_t)128 << 20, (size_t)1 << 30));
}

static int serve(int argc, char **argv)
{
    tune_malloc();
    serve_config cfg = {
        .data_dir = "./data",
        .otlp_grpc_addr = "127.0.0.1:4317",
        .otlp_http_addr = "127.0.0.1:4318",
        .http_addr = "127.0.0.1:8080",
        .store = {.engine = "embedded",
                  .retention_ns = 7ull * 24 * 3600 * 1000000000ull,
                  .fsync_policy = OSP_FSYNC_INTERVAL,
                  .fsync_interval_ms = 1000,
                  .aicalls_memory_bytes = osp_mem_share(4, (size_t)256 << 20, SIZE_MAX)},
        .topology = {.busy_rps = OSP_GOLDEN_DEFAULT_BUSY_RPS,
                     .slow_p95_s = OSP_GOLDEN_DEFAULT_SLOW_P95_S,
                     .failing_error_rate = OSP_GOLDEN_DEFAULT_FAILING_ERROR_RATE},
    };
    osp_store *store = NULL;
    osp_net *net = NULL;
    osp_api *api = NULL;
    osp_prom_api *prom = NULL;
    osp_logs_api *logs = NULL;
    osp_golden_api *golden = NULL;
    osp_sessions_api *sessions = NULL;
    osp_receiver_env env = {0};
    osp_scrape_config *scrape_config = NULL;
    osp_scraper *scraper = NULL;
    osp_price_table *prices = NULL;
    osp_logpattern_saver *patterns_saver = NULL;
    char *patterns_path = NULL;
    int rc = parse_serve_args(argc, argv, &cfg);
    if (rc)
        return rc == 1 ? 0 : 2;

    rc = osp_store_open(&cfg.store, &store);
    if (rc) {
        osp_error("main", "cannot open the store in %s: %s", cfg.data_dir, osp_strerror(rc));
        goto out;
    }
    env.store = store;
    env.otlp_metrics.naming = cfg.otlp_naming;
    env.delta = osp_delta_state_create(0);
    rc = env.delta ? osp_api_create(store, &api) : OSP_ENOMEM;
    if (rc == 0)
        rc = start_derive(&cfg, store, &prices, &env.derive);
    if (rc == 0)
        rc = start_scraper(&cfg, store, &scrape_config, &scraper);
    cfg.query.scraper = scraper;
    if (rc == 0)
        rc = osp_prom_api_create(store, &cfg.query, &prom);
    if (rc == 0)
        rc = (patterns_path = osp_path_join(cfg.data_dir, PATTERNS_FILE)) ? 0 : OSP_ENOMEM;
    if (rc == 0)
        rc = osp_logpattern_open(NULL, patterns_path, &env.patterns);
    if (rc == 0)
        rc = osp_logpattern_saver_start(env.patterns, patterns_path, PATTERNS_SAVE_MS,
                                        &patterns_saver);
    if (rc == 0) {
        osp_logs_api_options lopt = {.timeout_ms = cfg.query.timeout_ms,
                                     .patterns = env.patterns,
                                     .retention_ns = cfg.store.retention_ns};
        rc = osp_logs_api_create(store, &lopt, &logs);
    }
    if (rc == 0)
        osp_api_set_logs(api, logs);
    if (rc == 0) {
        osp_golden_api_options gopt = {
            .prices = prices, .interval_ms = cfg.derive_interval_ms, .thresholds = cfg.topology};
        rc = osp_golden_api_create(store, &gopt, &golden);
    }
    if (rc == 0)
        osp_api_set_golden(api, golden);
    if (rc == 0 && (rc = osp_sessions_api_create(store, prices, &sessions)) == 0)
        osp_api_set_sessions(api, sessions);
    if (rc == 0)
        rc = osp_net_create(&cfg.limits, &net);
    if (rc == 0)
        rc = listen_on(net, cfg.otlp_grpc_addr, OSP_LISTENER_OTLP_GRPC, &env, api, prom, logs,
                       cfg.no_console);
    if (rc == 0)
        rc = listen_on(net, cfg.otlp_http_addr, OSP_LISTENER_OTLP_HTTP, &env, api, prom, logs,
                       cfg.no_console);
    if (rc == 0)
        rc = listen_on(net, cfg.http_addr, OSP_LISTENER_API, &env, api, prom, logs, cfg.no_console);
    if (rc)
        goto out;
    osp_info("main",
             "osprey " OSP_VERSION " serving: OTLP/gRPC %s, OTLP/HTTP %s, API %s, data in %s",
             cfg.otlp_grpc_addr, cfg.otlp_http_addr, cfg.http_addr, cfg.data_dir);
    osp_net_on_shutdown(net, on_shutdown, api);
    osp_api_set_ready(api, 1);
    rc = osp_net_run(net);
    osp_info("main", "shutting down: flushing the store");
out:
    osp_scraper_destroy(scraper);
    osp_scrape_config_destroy(scrape_config);
    osp_net_destroy(net);
    osp_api_destroy(api);
    osp_prom_api_destroy(prom);
    osp_logs_api_destroy(logs);
    osp_golden_api_destroy(golden);
    osp_sessions_api_destroy(sessions);
    osp_logpattern_saver_stop(patterns_saver); /* nothing is mined any more: a last save */
    osp_logpattern_destroy(env.patterns);
    osp_free(patterns_path);
    osp_delta_state_destroy(env.delta);
    osp_derive_destroy(env.derive); /* a last flush, before the store closes */
    osp_price_table_destroy(prices);
    osp_store_close(store);
    if (rc == 0)
        osp_info("main", "stopped cleanly");
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve"))
        return serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo"))
        return osp_demo_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("osprey " OSP_VERSION "\n");
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "osprey: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
