/* `osprey demo`: parses the command line, starts every service of the fleet (each with its
 * own libosprey provider) and the load driver, and tears everything down in order. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/version.h"
#include "demo/demo.h"
#include "demo/demo_int.h"

/* libuv runs every handler on its thread pool, shared by the whole process; a chat turn
 * holds a worker in the gateway, the agent and the router at once (and a tool or payment
 * that hangs keeps its worker after the caller gave up), so the default of 4 would
 * deadlock: the pool gets WORKERS_PER_JOB per conversation in flight, plus a margin. */
#define WORKERS_PER_JOB 4
#define WORKERS_SPARE 16
#define MAX_INFLIGHT 250 /* keeps the pool within libuv's limit of 1024 */
#define FLUSH_TIMEOUT_MS 5000
#define SCHEDULE_DELAY_MS 500
#define METRIC_INTERVAL_MS 5000
#define MAX_ROUTES 4

static const char *const NAMES[OSP_DEMO_NSVC] = {
    [OSP_DEMO_GATEWAY] = "api-gateway", [OSP_DEMO_AGENT] = "agent-orchestrator",
    [OSP_DEMO_ROUTER] = "model-router", [OSP_DEMO_LLM] = "llm-server",
    [OSP_DEMO_TOOL] = "tool-service",   [OSP_DEMO_VECTOR] = "vector-store",
    [OSP_DEMO_ORDERS] = "orders",       [OSP_DEMO_PAYMENTS] = "payments",
};

static const struct {
    int svc;
    const char *path;
    osp_http_handler handler;
} ROUTES[] = {
    {OSP_DEMO_GATEWAY, "/chat", osp_demo_gateway_chat},
    {OSP_DEMO_GATEWAY, "/checkout", osp_demo_gateway_checkout},
    {OSP_DEMO_AGENT, "/run", osp_demo_agent_run},
    {OSP_DEMO_ROUTER, "/v1/chat", osp_demo_router_chat},
    {OSP_DEMO_TOOL, "/tools/invoke", osp_demo_tool_invoke},
    {OSP_DEMO_VECTOR, "/query", osp_demo_vector_query},
    {OSP_DEMO_ORDERS, "/orders", osp_demo_orders_create},
    {OSP_DEMO_PAYMENTS, "/charge", osp_demo_payments_charge},
};

/* OTel's recommended buckets for http.server.request.duration. */
static const double DURATION_BOUNDS[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                         0.5,   0.75, 1,     2.5,  5,     7.5, 10};

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: osprey demo [options]\n"
        "\n"
        "Runs a fleet of small services instrumented with libosprey on 127.0.0.1 (api-gateway,\n"
        "agent-orchestrator, model-router, a streaming mock llm-server, tool-service,\n"
        "vector-store, orders, payments) and drives conversations and checkouts through\n"
        "them; every service exports its traces, metrics and logs over OTLP/HTTP.\n"
        "\n"
        "  --endpoint URL        OTLP/HTTP endpoint (default http://127.0.0.1:4318)\n"
        "  --duration DURATION   stop after this long, e.g. 30s, 5m (default: until Ctrl-C)\n"
        "  --rate N              conversations (and as many checkouts) started per second\n"
        "                        (default 2)\n"
        "  --errors SHARE        share of calls given an injected fault: 429s, 5xx, tool\n"
        "                        failures, timeouts (default 0.1)\n"
        "  --delay-scale X       multiplies every simulated delay, e.g. 0.1 for tests\n"
        "                        (default 1: TTFT around 300 ms, 20-40 ms per token)\n"
        "  --users N             distinct users (default 20)\n"
        "  --max-inflight N      conversations and checkouts at once, at most 250; more are\n"
        "                        shed (default 64)\n"
        "  --base-port PORT      services on PORT, PORT+1, ... (default: free ports)\n"
        "\n"
        "SIGINT and SIGTERM stop it cleanly. At the end it prints one summary line.\n");
}

/* A number in [lo, hi] from z. */
static int parse_number(const char *flag, const char *z, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(z, &end);
    if (end == z || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "osprey demo: invalid %s \"%s\"\n", flag, z);
        return OSP_EINVAL;
    }
    *out = v;
    return 0;
}

/* Fills o from argv. 0, 1 when help was printed, or OSP_EINVAL. */
static int parse_args(int argc, char **argv, osp_demo_opts *o)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"endpoint", required_argument, NULL, 'e'},
        {"duration", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'r'},
        {"errors", required_argument, NULL, 'x'},
        {"delay-scale", required_argument, NULL, 's'},
        {"users", required_argument, NULL, 'u'},
        {"max-inflight", required_argument, NULL, 'm'},
        {"base-port", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    double v = 0;
    int c, rc = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 1;
        case 'e':
            o->endpoint = optarg;
            break;
        case 'd':
            if (osp_prom_duration_parse(osp_str_c(optarg), &o->duration_ms) || o->duration_ms < 0) {
                fprintf(stderr, "osprey demo: invalid --duration \"%s\"\n", optarg);
                rc = OSP_EINVAL;
            }
            break;
        case 'r':
            rc = parse_number("--rate", optarg, 0.01, 10000, &o->rate);
            break;
        case 'x':
            rc = parse_number("--errors", optarg, 0, 1, &o->error_share);
            break;
        case 's':
            rc = parse_number("--delay-scale", optarg, 0, 100, &o->delay_scale);
            break;
        case 'u':
            rc = parse_number("--users", optarg, 1, 1e6, &v);
            o->users = (unsigned)v;
            break;
        case 'm':
            rc = parse_number("--max-inflight", optarg, 1, MAX_INFLIGHT, &v);
            o->max_inflight = (unsigned)v;
            break;
        case 'p':
            rc = parse_number("--base-port", optarg, 1, 65535 - OSP_DEMO_NSVC, &v);
            o->base_port = (uint16_t)v;
            break;
        default:
            fprintf(stderr, "Run `osprey demo --help` for the options.\n");
            rc = OSP_EINVAL;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "osprey demo: unexpected argument \"%s\"\n", argv[optind]);
        rc = OSP_EINVAL;
    }
    return rc;
}

/* Gives svc its provider, tracer, meter, logger and request-duration histogram. */
static int svc_init(osp_demo_fleet *f, int id)
{
    osp_demo_svc *s = &f->svc[id];
    osprey_attr resource[] = {
        OSPREY_STR("service.namespace", "osprey-demo"),
        OSPREY_STR("service.version", OSP_VERSION),
        OSPREY_STR("deployment.environment.name", "demo"),
    };
    osprey_options o = {.service_name = NAMES[id],
                        .resource = resource,
                        .nresource = sizeof resource / sizeof resource[0],
                        .endpoint = f->opt.endpoint,
                        .schedule_delay_ms = SCHEDULE_DELAY_MS,
                        .metric_interval_ms = METRIC_INTERVAL_MS};
    s->name = NAMES[id];
    s->fleet = f;
    s->provider = osprey_provider_create(&o);
    if (!s->provider)
        return OSP_ENOMEM;
    s->tracer = osprey_tracer_get(s->provider, "osprey-demo", OSP_VERSION, OSPREY_DETAIL_BASE);
    s->meter = osprey_meter_get(s->provider, "osprey-demo", OSP_VERSION);
    s->log = osprey_logger_get(s->provider, "osprey-demo", OSPREY_INFO);
    s->duration = osprey_histogram(s->meter, "http.server.request.duration", "s",
                                   "Duration of HTTP server requests.", DURATION_BOUNDS,
                                   sizeof DURATION_BOUNDS / sizeof DURATION_BOUNDS[0]);
    if (!s->tracer || !s->meter || !s->log || !s->duration ||
        osprey_runtime_metrics_start(s->provider))
        return OSP_ENOMEM;
    return 0;
}

/* Listens for every HTTP service (all but the mock LLM) on one network core, each on its
 * own port with its routes and GET /metrics; records the ports. */
static int listen_all(osp_demo_fleet *f, osp_net *net)
{
    size_t index = 0;
    for (int id = 0; id < OSP_DEMO_NSVC; id++) {
        osp_route routes[MAX_ROUTES + 1];
        size_t n = 0;
        char addr[32];
        if (id == OSP_DEMO_LLM)
            continue;
        for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0] && n < MAX_ROUTES; i++)
            if (ROUTES[i].svc == id)
                routes[n++] = (osp_route){.method = "POST",
                                          .path = ROUTES[i].path,
                                          .handler = ROUTES[i].handler,
                                          .ctx = &f->svc[id]};
        routes[n++] = (osp_route){.method = "GET",
                                  .path = "/metrics",
                                  .handler = osp_demo_metrics_handler,
                                  .ctx = &f->svc[id]};
        snprintf(addr, sizeof addr, "127.0.0.1:%u",
                 f->opt.base_port ? (unsigned)f->opt.base_port + (unsigned)id : 0u);
        int rc = osp_net_listen(net, addr, routes, n);
        if (rc == 0)
            rc = osp_net_port(net, index++, &f->svc[id].port);
        if (rc)
            return rc;
    }
    return 0;
}

static void on_net_shutdown(void *arg)
{
    osp_demo_fleet *f = arg;
    atomic_store(&f->stopping, true);
}

typedef struct driver_arg {
    osp_demo_fleet *fleet;
    osp_net *net;
} driver_arg;

/* The driver's thread: sends load, then stops the network core. */
static void *driver_main(void *arg)
{
    driver_arg *a = arg;
    osp_demo_driver_run(a->fleet);
    osp_net_stop(a->net);
    return NULL;
}

static void print_ports(const osp_demo_fleet *f)
{
    fprintf(stderr, "osprey demo: exporting to %s; services on 127.0.0.1:", f->opt.endpoint);
    for (int id = 0; id < OSP_DEMO_NSVC; id++)
        fprintf(stderr, " %s=%u", f->svc[id].name, (unsigned)f->svc[id].port);
    fprintf(stderr, "\n");
}

/* Milliseconds from now to deadline (CLOCK_MONOTONIC), 0 once past. */
static uint32_t ms_left(int64_t deadline)
{
    int64_t left = deadline - osp_clock_ms(CLOCK_MONOTONIC);
    return left > 0 ? (uint32_t)left : 0;
}

/* Flushes every provider, prints the summary line, shuts them down, all within
 * FLUSH_TIMEOUT_MS (an endpoint that is gone does not hold each service for as long). All
 * flushes come before the first shutdown, so that a provider's last two metric
 * collections (flush, shutdown) do not fall in the same millisecond, which a backend
 * refuses as a duplicate sample. */
static void finish(osp_demo_fleet *f)
{
    osprey_stats total = {0};
    int64_t deadline = osp_clock_ms(CLOCK_MONOTONIC) + FLUSH_TIMEOUT_MS;
    for (int id = 0; id < OSP_DEMO_NSVC; id++)
        if (f->svc[id].provider)
            osprey_flush(f->svc[id].provider, ms_left(deadline));
    for (int id = 0; id < OSP_DEMO_NSVC; id++) {
        osprey_stats s;
        if (!f->svc[id].provider)
            continue;
        osprey_get_stats(f->svc[id].provider, &s);
        /* What is not exported by now is dropped: queued, failed, or still in flight
         * (the shutdown gives up on it). */
        total.spans_exported += s.spans_exported;
        total.spans_dropped += s.spans_started - s.spans_sampled_out - s.spans_exported;
        total.logs_exported += s.logs_exported;
        total.logs_dropped += s.logs_emitted - s.logs_exported;
        osprey_shutdown(f->svc[id].provider, ms_left(deadline));
    }
    printf("osprey demo: %llu requests, %llu errors, %llu shed; spans exported %llu, dropped "
           "%llu; logs exported %llu, dropped %llu\n",
           (unsigned long long)atomic_load(&f->requests),
           (unsigned long long)atomic_load(&f->errors), (unsigned long long)atomic_load(&f->shed),
           (unsigned long long)total.spans_exported, (unsigned long long)total.spans_dropped,
           (unsigned long long)total.logs_exported, (unsigned long long)total.logs_dropped);
    fflush(stdout);
}

/* Sizes libuv's thread pool (read when it first starts) for max_inflight conversations;
 * UV_THREADPOOL_SIZE set in the environment wins. */
static void set_threadpool_size(unsigned max_inflight)
{
    char n[16];
    snprintf(n, sizeof n, "%u", max_inflight * WORKERS_PER_JOB + WORKERS_SPARE);
    setenv("UV_THREADPOOL_SIZE", n, 0);
}

/* Starts the services and runs the driver until it is done or a signal came. */
static int run_fleet(osp_demo_fleet *f)
{
    osp_net *net = NULL;
    osp_demo_llm *llm = NULL;
    pthread_t driver;
    int rc = 0, id;
    for (id = 0; id < OSP_DEMO_NSVC && rc == 0; id++)
        rc = svc_init(f, id);
    if (rc == 0) {
        osprey_callback_handler h =
            osprey_tracing_handler(f->svc[OSP_DEMO_AGENT].tracer, f->svc[OSP_DEMO_AGENT].meter);
        rc = osprey_callbacks_register(&h) ? OSP_EIO : 0;
    }
    if (rc == 0)
        rc = osp_demo_llm_start(&f->svc[OSP_DEMO_LLM],
                                f->opt.base_port ? f->opt.base_port + OSP_DEMO_LLM : 0, &llm);
    if (rc == 0)
        rc = osp_net_create(NULL, &net);
    if (rc == 0)
        rc = listen_all(f, net);
    driver_arg arg = {f, net};
    if (rc == 0)
        rc = pthread_create(&driver, NULL, driver_main, &arg) ? OSP_EIO : 0;
    if (rc)
        goto out;
    print_ports(f);
    osp_net_on_shutdown(net, on_net_shutdown, f);
    osp_net_run(net);
    atomic_store(&f->stopping, true);
    pthread_join(driver, NULL);
out:
    if (rc)
        fprintf(stderr, "osprey demo: cannot start the fleet: %s\n", osp_strerror(rc));
    atomic_store(&f->stopping, true);
    osp_net_destroy(net);
    osp_demo_llm_stop(llm);
    finish(f);
    osprey_callbacks_reset();
    return rc;
}

int osp_demo_main(int argc, char **argv)
{
    osp_demo_fleet *f = osp_calloc(1, sizeof *f);
    if (!f)
        return 1;
    f->opt = (osp_demo_opts){.endpoint = "http://127.0.0.1:4318",
                             .rate = 2,
                             .error_share = 0.1,
                             .delay_scale = 1,
                             .max_inflight = 64,
                             .users = 20};
    int rc = parse_args(argc, argv, &f->opt);
    if (rc == 0) {
        set_threadpool_size(f->opt.max_inflight);
        if (!getenv("OSP_LOG_LEVEL"))
            osp_log_set_level(OSP_LOG_WARN); /* the network core's notices are noise here */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = run_fleet(f) ? 1 : 0;
        curl_global_cleanup();
    } else {
        rc = rc == 1 ? 0 : 2;
    }
    osp_free(f);
    return rc;
}
