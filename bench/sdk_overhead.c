/* osprey-sdk-bench: what libosprey costs the thread that calls it. Nanoseconds and heap
 * allocations per operation (span start+end sampled, sampled with 10 attributes, sampled
 * out; a metric record; a log line), each next to a baseline loop that does nothing,
 * measured in the same run. The provider exports over OTLP/HTTP to a sink in this process
 * (Osprey's own HTTP core answering 200), so encoding and sending run on the library's
 * export thread as they would in a service.
 *
 *   osprey-sdk-bench [--ops N] [--rounds R]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "net/http.h"
#include "osprey/osprey.h"

/* ---- Allocation counting: this thread's malloc family calls, forwarded to glibc ---- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t c, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static __thread uint64_t thread_allocs;

void *malloc(size_t n)
{
    thread_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t c, size_t n)
{
    thread_allocs++;
    return __libc_calloc(c, n);
}

void *realloc(void *p, size_t n)
{
    thread_allocs++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

/* ---- The sink: an OTLP/HTTP endpoint that accepts everything ---- */

static void sink_handler(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    res->status = 200;
    res->content_type = "application/x-protobuf";
}

static void *sink_run(void *net)
{
    osp_net_run(net);
    return NULL;
}

/* ---- Measurements ---- */

typedef enum op_kind { OP_NOTHING, OP_SPAN, OP_SPAN_ATTRS, OP_SPAN_OUT, OP_METRIC, OP_LOG } op_kind;

typedef struct bench_env {
    osprey_tracer *on, *off;
    osprey_instrument *hist;
    osprey_logger *log;
    osprey_attr attrs[10];
} bench_env;

/* Keeps the baseline loop from being optimized away. */
static volatile uint64_t sink_counter;

static void run_op(const bench_env *e, op_kind k, uint64_t i)
{
    osprey_span s;
    switch (k) {
    case OP_NOTHING:
        sink_counter = i;
        break;
    case OP_SPAN:
        s = osprey_span_start(e->on, "GET /api/cart", NULL);
        osprey_span_end(&s, 0);
        break;
    case OP_SPAN_ATTRS: {
        osprey_span_options o = {.kind = OSPREY_SPAN_SERVER, .attrs = e->attrs, .nattrs = 10};
        s = osprey_span_start(e->on, "GET /api/cart", &o);
        osprey_span_end(&s, 0);
        break;
    }
    case OP_SPAN_OUT:
        s = osprey_span_start(e->off, "GET /api/cart", NULL);
        osprey_span_end(&s, 0);
        break;
    case OP_METRIC:
        osprey_record(e->hist, (double)(i % 1000) / 1000.0, e->attrs, 2);
        break;
    case OP_LOG:
        osprey_log(e->log, OSPREY_INFO, "cart updated", e->attrs, 2);
        break;
    }
}

/* Runs op n times; the thread CPU nanoseconds and allocations per op. */
static void measure(const bench_env *e, op_kind k, uint64_t n, double *ns, double *allocs)
{
    struct timespec t0, t1;
    uint64_t a0 = thread_allocs;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    for (uint64_t i = 0; i < n; i++)
        run_op(e, k, i);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    uint64_t a1 = thread_allocs;
    double total = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    *ns = total / (double)n;
    *allocs = (double)(a1 - a0) / (double)n;
}

static const struct {
    op_kind kind;
    const char *name;
    double target_ns; /* the target, 0 = none */
} ops[] = {
    {OP_NOTHING, "baseline (nothing)", 0},
    {OP_SPAN, "span start+end, sampled", 0},
    {OP_SPAN_ATTRS, "span start+end, sampled, 10 attributes", 1000},
    {OP_SPAN_OUT, "span start+end, sampled out", 50},
    {OP_METRIC, "histogram record, 2 attributes", 0},
    {OP_LOG, "log line, 2 attributes", 0},
};

int main(int argc, char **argv)
{
    osp_bench_opts o = {argc, argv};
    uint64_t nops = osp_bench_opt_u64(&o, "--ops", 200000);
    uint64_t rounds = osp_bench_opt_u64(&o, "--rounds", 5);

    osp_net *net;
    uint16_t port;
    const osp_route routes[] = {{.method = "POST", .path = "/v1/*", .handler = sink_handler}};
    if (osp_net_create(NULL, &net) || osp_net_listen(net, "127.0.0.1:0", routes, 1) ||
        osp_net_port(net, 0, &port)) {
        fprintf(stderr, "osprey-sdk-bench: cannot start the sink\n");
        return 1;
    }
    pthread_t sink;
    pthread_create(&sink, NULL, sink_run, net);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", port);

    osprey_options opt = {.service_name = "sdk-bench",
                          .sampler = OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON,
                          .endpoint = endpoint,
                          .max_queue_size = 1 << 16,
                          .schedule_delay_ms = 200};
    osprey_provider *p = osprey_provider_create(&opt);
    /* Sampled out by the sampler, as a 0% traceidratio service would be. */
    osprey_options off_opt = {.service_name = "sdk-bench-off",
                              .sampler = OSPREY_SAMPLER_ALWAYS_OFF,
                              .traces_exporter = OSPREY_EXPORTER_NONE,
                              .metrics_exporter = OSPREY_EXPORTER_NONE,
                              .logs_exporter = OSPREY_EXPORTER_NONE};
    osprey_provider *p_off = osprey_provider_create(&off_opt);
    if (!p || !p_off)
        return 1;
    bench_env e = {
        .on = osprey_tracer_get(p, "bench", NULL, OSPREY_DETAIL_BASE),
        .off = osprey_tracer_get(p_off, "bench", NULL, OSPREY_DETAIL_BASE),
        .attrs =
            {
                OSPREY_STR("http.request.method", "GET"),
                OSPREY_STR("url.path", "/api/cart"),
                OSPREY_INT("http.response.status_code", 200),
                OSPREY_STR("server.address", "cart.internal"),
                OSPREY_INT("server.port", 8080),
                OSPREY_STR("user_agent.original", "curl/8.5.0"),
                OSPREY_BOOL("cache.hit", true),
                OSPREY_DOUBLE("cart.total", 129.95),
                OSPREY_STR("cart.id", "c-1f2e3d"),
                OSPREY_INT("cart.items", 3),
            },
    };
    e.hist = osprey_histogram(osprey_meter_get(p, "bench", NULL), "cart.update.duration", "s",
                              "Cart update time", NULL, 0);
    e.log = osprey_logger_get(p, "bench", OSPREY_INFO);

    printf("libosprey overhead: %" PRIu64 " ops x %" PRIu64
           " rounds per line, best round, thread CPU time\n\n",
           nops, rounds);
    printf("| operation | ns/op | allocations/op | ns/op over baseline | target |\n");
    printf("|---|---:|---:|---:|---|\n");
    double base = 0;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        double best = 1e18, allocs = 0;
        for (uint64_t r = 0; r < rounds; r++) {
            double ns, a;
            measure(&e, ops[k].kind, nops, &ns, &a);
            if (ns < best)
                best = ns, allocs = a;
            osprey_flush(p, 10000); /* queues start each round empty */
        }
        if (ops[k].kind == OP_NOTHING)
            base = best;
        char target[48] = "";
        if (ops[k].target_ns > 0)
            snprintf(target, sizeof target, "< %.0f ns: %s", ops[k].target_ns,
                     best < ops[k].target_ns ? "met" : "NOT met");
        printf("| %s | %.1f | %.2f | %.1f | %s |\n", ops[k].name, best, allocs, best - base,
               target);
    }
    osprey_stats st;
    osprey_get_stats(p, &st);
    printf("\nspans exported %" PRIu64 ", dropped %" PRIu64 "; log records exported %" PRIu64
           ", dropped %" PRIu64 "\n",
           st.spans_exported, st.spans_dropped, st.logs_exported, st.logs_dropped);
    osprey_shutdown(p, 10000);
    osprey_shutdown(p_off, 1000);
    osp_net_stop(net);
    pthread_join(sink, NULL);
    osp_net_destroy(net);
    return 0;
}
