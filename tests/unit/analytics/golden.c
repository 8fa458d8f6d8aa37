/* Unit tests for analytics/golden.c: exact increases and Prometheus's histogram_quantile
 * worked out by hand, then RED, LLM usage, cost across a price change, the service graph's
 * health and kinds and time series computed from hand-made cumulative series appended to
 * a real store in a temp dir; the hot path of a small graph with a cycle; and the GenAI
 * fields of a trace with session inheritance. */
#include "testutil.h"

#include <math.h>

#include "analytics/derived.h"
#include "analytics/golden.h"
#include "core/buf.h"
#include "core/err.h"
#include "model/attr.h"

#define S 1000ll                  /* a second in ms */
#define T0 1714564800000ll        /* 2024-05-01T12:00:00Z */
#define PRICE_DAY 1721260800000ll /* 2024-07-18T00:00:00Z: the test price changes then */
#define INF_LE "+Inf"

/* got within eps of want, both shown when not. */
#define assert_near(got, want, eps) assert_near_at((got), (want), (eps), __FILE__, __LINE__)

static void assert_near_at(double got, double want, double eps, const char *file, int line)
{
    if (!(fabs(got - want) <= eps)) {
        print_error("%s:%d: got %.17g, want %.17g\n", file, line, got, want);
        fail();
    }
}

typedef struct fixture {
    char *dir;
    osp_store *store;
    osp_price_table *prices;
    osp_arena arena;
    osp_golden_env env;
} fixture;

static fixture fx;

static const char PRICES[] = "prices:\n"
                             "  - model: test-model\n"
                             "    provider: acme\n"
                             "    input: 1\n"
                             "    output: 10\n"
                             "    effective: 2024-07-01\n"
                             "  - model: test-model\n"
                             "    provider: acme\n"
                             "    input: 2\n"
                             "    output: 20\n"
                             "    effective: 2024-07-18\n";

static int setup(void **state)
{
    (void)state;
    char path[4096], err[256];
    osp_store_options opt = {.fsync_policy = OSP_FSYNC_NEVER};
    fx.dir = osp_test_tmpdir("golden");
    assert_non_null(fx.dir);
    opt.data_dir = fx.dir;
    assert_int_equal(osp_store_open(&opt, &fx.store), 0);
    snprintf(path, sizeof path, "%s/prices.yaml", fx.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(PRICES, f);
    fclose(f);
    assert_int_equal(osp_price_table_load(path, &fx.prices, err, sizeof err), 0);
    osp_arena_init(&fx.arena, 0, 0);
    fx.env = (osp_golden_env){.store = fx.store, .prices = fx.prices, .interval_ms = 15 * S};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    osp_arena_cleanup(&fx.arena);
    osp_price_table_destroy(fx.prices);
    osp_store_close(fx.store);
    osp_test_rmdir(fx.dir);
    free(fx.dir);
    return 0;
}

/* ---- writing series ---- */

typedef struct pt {
    int64_t t;
    double v;
} pt;

/* Appends series name{labels} (name, value pairs, NULL-terminated; an empty value leaves
 * its label out, as in the derived series) with samples p[0..n). */
static void put(const char *name, const char *const *labels, const pt *p, size_t n)
{
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = osp_series_batch_add(&b);
    size_t nl = 1;
    s->labels = osp_arena_calloc(&b.arena, 16, sizeof *s->labels);
    s->labels[0] = (osp_label){OSP_STR_LIT(OSP_METRIC_NAME_LABEL), osp_str_c(name)};
    for (size_t i = 0; labels[i]; i += 2)
        if (*labels[i + 1]) {
            assert_true(nl < 16);
            s->labels[nl++] = (osp_label){osp_str_c(labels[i]), osp_str_c(labels[i + 1])};
        }
    osp_labels_sort(s->labels, nl);
    s->nlabels = nl;
    s->samples = osp_arena_calloc(&b.arena, n, sizeof *s->samples);
    for (size_t i = 0; i < n; i++)
        s->samples[i] = (osp_sample){p[i].t, p[i].v};
    s->nsamples = n;
    assert_int_equal(osp_store_append_series(fx.store, &b, NULL), 0);
    osp_series_batch_cleanup(&b);
}

/* Appends the bucket series of histogram base{labels} with bounds les[0..nle) (the last
 * "+Inf"): at time t[k], bucket j holds the cumulative count c[k][j]. */
static void put_hist(const char *base, const char *const *labels, const char *const *les,
                     size_t nle, const int64_t *t, size_t nt, const double c[][4])
{
    char name[128];
    const char *l[16];
    size_t nl = 0;
    snprintf(name, sizeof name, "%s_bucket", base);
    while (labels[nl])
        nl++;
    assert_true(nl + 3 <= 16);
    memcpy(l, labels, nl * sizeof *l);
    for (size_t j = 0; j < nle; j++) {
        pt p[8];
        l[nl] = "le";
        l[nl + 1] = les[j];
        l[nl + 2] = NULL;
        for (size_t k = 0; k < nt; k++)
            p[k] = (pt){t[k], c[k][j]};
        put(name, l, p, nt);
    }
}

/* ---- building blocks ---- */

static void increase_is_exact(void **state)
{
    (void)state;
    /* 10, 15, then a reset to 3, then 8; a NaN in between is skipped */
    const osp_sample s[] = {{0, 10}, {10, 15}, {15, NAN}, {20, 3}, {30, 8}, {40, 100}};
    /* baseline 10 at t=0: +5, +3 (the value after the reset), +5 */
    assert_near(osp_golden_increase(s, 6, 5, 30), 13, 1e-12);
    assert_near(osp_golden_increase(s, 6, 0, 30), 13, 1e-12);
    /* no sample at or before start: the series started inside, counted from 0 */
    assert_near(osp_golden_increase(s, 6, -5, 30), 23, 1e-12);
    /* end is inclusive, start exclusive */
    assert_near(osp_golden_increase(s, 6, 30, 40), 92, 1e-12);
    assert_near(osp_golden_increase(s, 6, 40, 50), 0, 1e-12);
    assert_near(osp_golden_increase(s, 0, 0, 50), 0, 1e-12);
}

static void quantile_follows_prometheus(void **state)
{
    (void)state;
    const osp_golden_bucket b[] = {{0.1, 10}, {0.2, 30}, {0.4, 40}, {INFINITY, 50}};
    /* rank 25 falls in (0.1, 0.2] holding 20: 0.1 + 0.1 * (25 - 10) / 20 */
    assert_near(osp_golden_quantile(0.5, b, 4), 0.175, 1e-12);
    /* rank 5 in the first bucket, from 0 */
    assert_near(osp_golden_quantile(0.1, b, 4), 0.05, 1e-12);
    /* rank 40 exactly the count of 0.4: its upper bound */
    assert_near(osp_golden_quantile(0.8, b, 4), 0.4, 1e-12);
    /* rank 45 falls in +Inf: the highest finite bound */
    assert_near(osp_golden_quantile(0.9, b, 4), 0.4, 1e-12);
    /* a count that drops counts as the running maximum: 10, 10, 20 */
    const osp_golden_bucket drop[] = {{1, 10}, {2, 5}, {INFINITY, 20}};
    /* rank 15 in (2, +Inf]: 2 */
    assert_near(osp_golden_quantile(0.75, drop, 3), 2, 1e-12);
    /* rank 10 reaches the first bucket: 1 */
    assert_near(osp_golden_quantile(0.5, drop, 3), 1, 1e-12);
    const osp_golden_bucket no_inf[] = {{1, 10}, {2, 20}};
    assert_true(isnan(osp_golden_quantile(0.5, no_inf, 2)));
    const osp_golden_bucket empty[] = {{1, 0}, {INFINITY, 0}};
    assert_true(isnan(osp_golden_quantile(0.5, empty, 2)));
    assert_true(isnan(osp_golden_quantile(0.5, b + 3, 1)));
}

/* ---- RED ---- */

#define CALLS_LABELS(svc, kind, status)                                                            \
    (const char *const[])                                                                          \
    {                                                                                              \
        "service_name", svc, "span_name", "op", "span_kind", kind, "status_code", status, NULL     \
    }

static void overview_red_per_service(void **state)
{
    (void)state;
    /* api SERVER ok: baseline 100 before the window, +10, a reset to 5, +15; a sample after
     * the window is not counted: 30 calls */
    const pt api_ok[] = {{T0 - 15 * S, 100},
                         {T0 + 15 * S, 110},
                         {T0 + 30 * S, 5},
                         {T0 + 45 * S, 20},
                         {T0 + 75 * S, 900}};
    put(OSP_DERIVED_CALLS, CALLS_LABELS("api", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET"), api_ok, 5);
    /* api SERVER errors, born inside the window: 6 */
    const pt api_err[] = {{T0 + 30 * S, 4}, {T0 + 45 * S, 6}};
    put(OSP_DERIVED_CALLS, CALLS_LABELS("api", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR"), api_err,
        2);
    /* api INTERNAL spans do not count: it has SERVER spans */
    const pt api_int[] = {{T0, 0}, {T0 + 30 * S, 1000}};
    put(OSP_DERIVED_CALLS, CALLS_LABELS("api", "SPAN_KIND_INTERNAL", "STATUS_CODE_UNSET"), api_int,
        2);
    /* worker has only INTERNAL spans: they count; its baseline is exactly at start */
    const pt worker[] = {{T0, 50}, {T0 + 60 * S, 80}};
    put(OSP_DERIVED_CALLS, CALLS_LABELS("worker", "SPAN_KIND_INTERNAL", "STATUS_CODE_UNSET"),
        worker, 2);
    /* quiet: nothing in the window */
    const pt quiet[] = {{T0 - 10 * S, 5}, {T0 + 20 * S, 5}};
    put(OSP_DERIVED_CALLS, CALLS_LABELS("quiet", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET"), quiet,
        2);
    /* api SERVER durations: increases 10 in (0, 0.1], 20 in (0.1, 0.5], 0 above */
    const char *const les[] = {"0.1", "0.5", INF_LE};
    const int64_t t[] = {T0 - 15 * S, T0 + 45 * S};
    const double c[][4] = {{50, 90, 100}, {60, 120, 130}};
    put_hist(OSP_DERIVED_DURATION,
             (const char *const[]){"service_name", "api", "span_name", "op", "span_kind",
                                   "SPAN_KIND_SERVER", "status_code", "STATUS_CODE_UNSET", NULL},
             les, 3, t, 2, c);

    osp_golden_overview o;
    assert_int_equal(osp_golden_overview_get(&fx.env, T0, T0 + 60 * S, &fx.arena, &o), 0);
    assert_int_equal(o.nservices, 2);
    assert_true(osp_str_eqz(o.services[0].name, "api"));
    const osp_golden_red *r = &o.services[0].red;
    assert_near(r->calls, 36, 1e-9);
    assert_near(r->errors, 6, 1e-9);
    assert_near(r->rate, 36.0 / 60, 1e-12);
    assert_near(r->error_rate, 6.0 / 36, 1e-12);
    /* rank 15 of 30: (0.1, 0.5] holds 20 from 10: 0.1 + 0.4 * 5 / 20 */
    assert_near(r->p50, 0.2, 1e-12);
    /* rank 28.5 of 30: 0.1 + 0.4 * 18.5 / 20 */
    assert_near(r->p95, 0.47, 1e-12);
    assert_true(osp_str_eqz(o.services[1].name, "worker"));
    assert_near(o.services[1].red.calls, 30, 1e-9);
    assert_true(isnan(o.services[1].red.p95));
    assert_int_equal(o.nmodels, 0);
    assert_int_equal(osp_golden_overview_get(&fx.env, T0, T0, &fx.arena, &o), OSP_EINVAL);
}

/* ---- LLM usage and cost ---- */

#define GENAI_LABELS(svc, provider, model)                                                         \
    "service_name", svc, "gen_ai_operation_name", "chat", "gen_ai_provider_name", provider,        \
        "gen_ai_request_model", model

static void put_tokens(const char *svc, const char *provider, const char *model, const char *type,
                       const pt *p, size_t n)
{
    put(OSP_DERIVED_GENAI_TOKENS_TOTAL,
        (const char *const[]){GENAI_LABELS(svc, provider, model), "gen_ai_token_type", type, NULL},
        p, n);
}

static void models_cost_follows_price_change(void **state)
{
    (void)state;
    const int64_t d = PRICE_DAY, h = 3600 * S;
    /* samples every 30 minutes. input: 1M tokens in (d - 90m, d - 30m] at the old price
     * (1 $/M), then 2M in (d - 30m, d + 30m] at the new one (2 $/M); output: 1000 (the
     * series starts at 1000) at 10 $/M, then 1000 at 20 $/M; cache reads: 500 at the new
     * input price */
    const pt in[] = {{d - h, 1000000}, {d - h / 2, 1000000}, {d, 2000000}, {d + h / 2, 3000000}};
    const pt out[] = {{d - h, 1000}, {d - h / 2, 1000}, {d, 1000}, {d + h / 2, 2000}};
    const pt cache[] = {{d - h, 0}, {d - h / 2, 0}, {d, 0}, {d + h / 2, 500}};
    put_tokens("chat-svc", "acme", "test-model", "input", in, 4);
    put_tokens("chat-svc", "acme", "test-model", "output", out, 4);
    put_tokens("chat-svc", "acme", "test-model", "cache_read", cache, 4);
    /* an unpriced model costs nothing */
    put_tokens("other-svc", "acme", "unknown-model", "input", in, 4);
    /* calls: 4, one failed; two streamed (TTFT), a tool call is not a model call */
    const char *const les[] = {"1", "2", INF_LE};
    const int64_t t[] = {d - h, d + h / 2};
    const double c[][4] = {{0, 0, 0}, {1, 3, 3}}, err[][4] = {{0, 0, 0}, {0, 1, 1}};
    put_hist(OSP_DERIVED_GENAI_DURATION,
             (const char *const[]){GENAI_LABELS("chat-svc", "acme", "test-model"), NULL}, les, 3, t,
             2, c);
    put_hist(OSP_DERIVED_GENAI_DURATION,
             (const char *const[]){GENAI_LABELS("chat-svc", "acme", "test-model"), "error_type",
                                   "timeout", NULL},
             les, 3, t, 2, err);
    put_hist(OSP_DERIVED_GENAI_DURATION,
             (const char *const[]){"service_name", "chat-svc", "gen_ai_operation_name",
                                   "execute_tool", NULL},
             les, 3, t, 2, c);
    const double ttft[][4] = {{0, 0, 0}, {2, 2, 2}};
    put_hist(OSP_DERIVED_GENAI_TTFT,
             (const char *const[]){GENAI_LABELS("chat-svc", "acme", "test-model"), NULL}, les, 3, t,
             2, ttft);

    osp_golden_usage *u;
    size_t n;
    assert_int_equal(osp_golden_models_get(&fx.env, OSP_GOLDEN_BY_MODEL, d - 90 * 60 * S, d + h / 2,
                                           &fx.arena, &u, &n),
                     0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(u[0].key, "test-model"));
    assert_true(osp_str_eqz(u[0].provider, "acme"));
    assert_near(u[0].calls, 4, 1e-9);
    assert_near(u[0].errors, 1, 1e-9);
    assert_near(u[0].input_tokens, 3000500, 1e-6);
    assert_near(u[0].cache_read_tokens, 500, 1e-9);
    assert_near(u[0].output_tokens, 2000, 1e-9);
    /* each hour priced at its end: 1M x 1 + 1000 x 10, then 2M x 2 + 1000 x 20 + 500 x 2 */
    double want = 1 + 1000 * 10e-6 + 4 + 1000 * 20e-6 + 500 * 2e-6;
    assert_near(u[0].cost, want, 1e-9);
    assert_near(u[0].streaming_share, 0.5, 1e-12);
    /* 4 calls: 1 in (0, 1], 3 in (1, 2]; rank 2: 1 + 1 * 1 / 3 */
    assert_near(u[0].latency_p50, 1 + 1.0 / 3, 1e-12);
    assert_near(u[0].ttft_p50, 0.5, 1e-12);
    assert_true(isnan(u[0].tpot_p95));
    assert_true(osp_str_eqz(u[1].key, "unknown-model"));
    assert_near(u[1].cost, 0, 1e-12);
    assert_near(u[1].calls, 0, 1e-12);

    assert_int_equal(osp_golden_models_get(&fx.env, OSP_GOLDEN_BY_SERVICE, d - 90 * 60 * S,
                                           d + h / 2, &fx.arena, &u, &n),
                     0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(u[0].key, "chat-svc"));
    assert_near(u[0].cost, want, 1e-9);
    assert_int_equal(osp_golden_models_get(&fx.env, OSP_GOLDEN_BY_PROVIDER, d - 90 * 60 * S,
                                           d + h / 2, &fx.arena, &u, &n),
                     0);
    assert_int_equal(n, 1);
    assert_near(u[0].input_tokens, 3000500 + 3000000, 1e-6);

    /* the overview ranks by calls */
    osp_golden_overview o;
    assert_int_equal(osp_golden_overview_get(&fx.env, d - 90 * 60 * S, d + h / 2, &fx.arena, &o),
                     0);
    assert_int_equal(o.nmodels, 2);
    assert_true(osp_str_eqz(o.models[0].model, "test-model"));
    assert_near(o.models[0].cost, want, 1e-9);

    /* the same tokens in one step priced at its end: everything at the new price */
    osp_golden_series *s;
    size_t nsteps;
    assert_int_equal(osp_golden_timeseries_get(&fx.env, OSP_GOLDEN_COST, OSP_GOLDEN_BY_MODEL,
                                               d - h / 2, d + h / 2, h / 2, &fx.arena, &s, &n,
                                               &nsteps),
                     0);
    assert_int_equal(nsteps, 2);
    assert_int_equal(n, 1);
    assert_near(s[0].v[0], 2, 1e-9); /* 1M input in (d - 30m, d] */
    assert_near(s[0].v[1], 2 + 1000 * 20e-6 + 500 * 2e-6, 1e-9);
}

static void increase_follows_series_across_hours(void **state)
{
    (void)state;
    /* no sample near the hour boundary: the second hour's baseline is the first hour's
     * last sample (100), not 0 */
    const pt p[] = {{T0 + 600 * S, 100}, {T0 + 4200 * S, 150}};
    put(OSP_DERIVED_CALLS, CALLS_LABELS("sparse", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET"), p, 2);
    osp_golden_overview o;
    assert_int_equal(osp_golden_overview_get(&fx.env, T0, T0 + 7200 * S, &fx.arena, &o), 0);
    assert_int_equal(o.nservices, 1);
    assert_near(o.services[0].red.calls, 150, 1e-9);
}

static void timeseries_steps(void **state)
{
    (void)state;
    const char *const les[] = {"1", INF_LE};
    const int64_t t[] = {T0, T0 + 30 * S, T0 + 60 * S, T0 + 90 * S};
    const double c[][4] = {{0, 0}, {2, 4}, {2, 4}, {5, 10}};
    put_hist(OSP_DERIVED_GENAI_DURATION,
             (const char *const[]){GENAI_LABELS("svc", "acme", "m1"), NULL}, les, 2, t, 4, c);
    osp_golden_series *s;
    size_t n, nsteps;
    assert_int_equal(osp_golden_timeseries_get(&fx.env, OSP_GOLDEN_CALLS, OSP_GOLDEN_BY_MODEL, T0,
                                               T0 + 90 * S, 30 * S, &fx.arena, &s, &n, &nsteps),
                     0);
    assert_int_equal(nsteps, 3);
    assert_int_equal(n, 1);
    assert_true(osp_str_eqz(s[0].key, "m1"));
    assert_near(s[0].v[0], 4, 1e-9);
    assert_near(s[0].v[1], 0, 1e-9);
    assert_near(s[0].v[2], 6, 1e-9);
    assert_int_equal(osp_golden_timeseries_get(&fx.env, OSP_GOLDEN_LATENCY_P95, OSP_GOLDEN_BY_MODEL,
                                               T0, T0 + 90 * S, 30 * S, &fx.arena, &s, &n, &nsteps),
                     0);
    /* step 1: 2 of 4 under 1 s, rank 3.8 in +Inf: 1; step 2: no observation */
    assert_near(s[0].v[0], 1, 1e-12);
    assert_true(isnan(s[0].v[1]));
    /* a histogram the application sent itself names its service in job */
    put_hist(OSP_DERIVED_GENAI_DURATION,
             (const char *const[]){"job", "shop/self", "gen_ai_operation_name", "chat",
                                   "gen_ai_request_model", "m2", NULL},
             les, 2, t, 4, c);
    assert_int_equal(osp_golden_timeseries_get(&fx.env, OSP_GOLDEN_CALLS, OSP_GOLDEN_BY_SERVICE, T0,
                                               T0 + 90 * S, 90 * S, &fx.arena, &s, &n, &nsteps),
                     0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(s[0].key, "self"));
    assert_near(s[0].v[0], 10, 1e-9);
    assert_true(osp_str_eqz(s[1].key, "svc"));
    assert_int_equal(osp_golden_timeseries_get(&fx.env, OSP_GOLDEN_CALLS, OSP_GOLDEN_BY_MODEL, T0,
                                               T0 + 90 * S, 0, &fx.arena, &s, &n, &nsteps),
                     OSP_EINVAL);
    assert_int_equal(osp_golden_timeseries_get(&fx.env, OSP_GOLDEN_CALLS, OSP_GOLDEN_BY_MODEL, T0,
                                               T0 + 90 * S, 91 * S, &fx.arena, &s, &n, &nsteps),
                     OSP_EINVAL);
}

/* ---- topology ---- */

static void put_edge(const char *client, const char *server, const char *type, double calls,
                     double failed, const double server_c[4], const double client_c[4])
{
    const char *const labels[] = {"client",          client, "server", server,
                                  "connection_type", type,   NULL};
    const char *const les[] = {"0.4", "0.8", INF_LE};
    const int64_t t[] = {T0, T0 + 100 * S};
    const pt total[] = {{T0, 0}, {T0 + 100 * S, calls}}, fail[] = {{T0, 0}, {T0 + 100 * S, failed}};
    const double zero[4] = {0};
    put(OSP_DERIVED_GRAPH_TOTAL, labels, total, 2);
    put(OSP_DERIVED_GRAPH_FAILED, labels, fail, 2);
    if (server_c) {
        const double c[][4] = {{zero[0], zero[1], zero[2]},
                               {server_c[0], server_c[1], server_c[2]}};
        put_hist(OSP_DERIVED_GRAPH_SERVER, labels, les, 3, t, 2, c);
    }
    if (client_c) {
        const double c[][4] = {{0, 0, 0}, {client_c[0], client_c[1], client_c[2]}};
        put_hist(OSP_DERIVED_GRAPH_CLIENT, labels, les, 3, t, 2, c);
    }
}

static void topology_health_and_kinds(void **state)
{
    (void)state;
    /* 6000 calls in 100 s: busy; all in (0.4, 0.8]: p95 0.78, slow */
    const double busy[4] = {0, 6000, 6000}, fast[4] = {1000, 1000, 1000}, db[4] = {500, 500, 500};
    put_edge("user", "gateway", "", 1000, 0, fast, NULL);
    put_edge("gateway", "api", "", 6000, 0, busy, busy);
    /* an uninstrumented database: client-side latency only; 10% failing */
    put_edge("api", "postgresql", "database", 500, 50, NULL, db);
    const pt one[] = {{T0, 0}, {T0 + 100 * S, 10}};
    put(OSP_DERIVED_CALLS, CALLS_LABELS("gateway", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET"), one,
        2);
    put(OSP_DERIVED_CALLS, CALLS_LABELS("api", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET"), one, 2);

    osp_golden_thresholds th = {.busy_rps = 50, .slow_p95_s = 0.5, .failing_error_rate = 0.05};
    osp_golden_topology t;
    assert_int_equal(osp_golden_topology_get(&fx.env, &th, T0, T0 + 100 * S, &fx.arena, &t), 0);
    assert_int_equal(t.nnodes, 4);
    const char *const ids[] = {"api", "gateway", "postgresql", "user"};
    const int virt[] = {0, 0, 1, 1};
    for (size_t i = 0; i < 4; i++) {
        assert_true(osp_str_eqz(t.nodes[i].id, ids[i]));
        assert_int_equal(t.nodes[i].is_virtual, virt[i]);
    }
    assert_int_equal(t.nedges, 3);
    /* edges by client: api->postgresql, gateway->api, user->gateway */
    const osp_golden_edge *e = &t.edges[0];
    assert_int_equal(e->client, 0);
    assert_int_equal(e->server, 2);
    assert_true(osp_str_eqz(e->connection_type, "database"));
    assert_near(e->red.rate, 5, 1e-12);
    assert_near(e->red.error_rate, 0.1, 1e-12);
    /* client side: all 500 in (0, 0.4]: 0.4 * 0.95 */
    assert_near(e->red.p95, 0.38, 1e-12);
    assert_int_equal(e->health, OSP_HEALTH_FAILING);
    e = &t.edges[1];
    assert_near(e->red.rate, 60, 1e-12);
    assert_near(e->red.p95, 0.78, 1e-12);
    assert_int_equal(e->health, OSP_HEALTH_BUSY | OSP_HEALTH_SLOW);
    assert_int_equal(t.edges[2].health, 0);
    /* nodes: what they served; the root "user" what it sent */
    assert_near(t.nodes[0].red.rate, 60, 1e-12);
    assert_int_equal(t.nodes[0].health, OSP_HEALTH_BUSY | OSP_HEALTH_SLOW);
    assert_near(t.nodes[2].red.error_rate, 0.1, 1e-12);
    assert_near(t.nodes[3].red.rate, 10, 1e-12);
    /* hot path from the only root: user -> gateway -> api -> postgresql */
    assert_int_equal(t.nhot, 4);
    const size_t want[] = {3, 1, 0, 2};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(t.hot_path[i], want[i]);
}

static void hot_path_breaks_cycles(void **state)
{
    (void)state;
    /* A -> B (1), B -> C (5), C -> B (100, a cycle back), B -> D (1), D -> E (10), G -> E (3);
     * from A: A B C = 6, A B D E = 12; from G: 3 */
    osp_golden_node nodes[6] = {{.id = OSP_STR_LIT("A")}, {.id = OSP_STR_LIT("B")},
                                {.id = OSP_STR_LIT("C")}, {.id = OSP_STR_LIT("D")},
                                {.id = OSP_STR_LIT("E")}, {.id = OSP_STR_LIT("G")}};
    const struct {
        size_t c, s;
        double w;
    } spec[] = {{0, 1, 1}, {1, 2, 5}, {1, 3, 1}, {2, 1, 100}, {3, 4, 10}, {5, 4, 3}};
    osp_golden_edge edges[6];
    for (size_t i = 0; i < 6; i++)
        edges[i] = (osp_golden_edge){
            .client = spec[i].c, .server = spec[i].s, .red = {.rate = spec[i].w, .p95 = 1}};
    osp_golden_topology t = {.nodes = nodes, .nnodes = 6, .edges = edges, .nedges = 6};
    assert_int_equal(osp_golden_hot_path(&t, &fx.arena), 0);
    assert_int_equal(t.nhot, 4);
    const size_t want[] = {0, 1, 3, 4};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(t.hot_path[i], want[i]);
    /* a graph that is all cycle has no root, so no hot path */
    edges[0] = (osp_golden_edge){.client = 0, .server = 1, .red = {.rate = 1, .p95 = 1}};
    edges[1] = (osp_golden_edge){.client = 1, .server = 0, .red = {.rate = 1, .p95 = 1}};
    t.nnodes = 2;
    t.nedges = 2;
    assert_int_equal(osp_golden_hot_path(&t, &fx.arena), 0);
    assert_int_equal(t.nhot, 0);
}

/* ---- diagnostic ---- */

static void add_span(osp_span_batch *b, uint8_t id, uint8_t parent, const char *name,
                     const char *const *attrs)
{
    osp_buf a;
    osp_buf_init(&a, 1 << 16);
    for (size_t i = 0; attrs[i]; i += 2) {
        osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(attrs[i + 1])};
        assert_int_equal(osp_attr_append(&a, osp_str_c(attrs[i]), &v), 0);
    }
    osp_span *s = osp_span_batch_add_span(b);
    assert_non_null(s);
    memset(s->trace_id, 7, 16);
    s->span_id[7] = id;
    s->parent_span_id[7] = parent;
    s->start_ns = (uint64_t)T0 * 1000000;
    s->end_ns = s->start_ns + 1000000000;
    s->name = osp_str_c(name);
    s->attributes = osp_arena_strdup(&b->arena, osp_buf_str(&a));
    s->resource = 0;
    osp_buf_cleanup(&a);
}

static void diagnose_inherits_sessions(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_genai *g;
    osp_span_batch_init(&b);
    assert_non_null(osp_span_batch_add_resource(&b));
    /* the grandchild first: the walk does not depend on the order */
    add_span(
        &b, 3, 2, "chat m1",
        (const char *const[]){"gen_ai.operation.name", "chat", "gen_ai.request.model", "m1", NULL});
    add_span(&b, 1, 0, "POST /chat",
             (const char *const[]){"session.id", "s-42", "user.id", "u-7", NULL});
    add_span(&b, 2, 1, "plain", (const char *const[]){"http.route", "/x", NULL});
    assert_int_equal(osp_golden_diagnose(&b, &fx.arena, &g), 0);
    assert_int_equal(g[0].type, OSP_GENAI_LLM);
    assert_true(osp_str_eqz(g[0].session_id, "s-42"));
    assert_int_equal(g[0].src[OSP_GF_SESSION].status, OSP_GS_INHERITED);
    assert_true(osp_str_eqz(g[0].user_id, "u-7"));
    assert_int_equal(g[1].src[OSP_GF_SESSION].status, OSP_GS_FILLED);
    osp_span_batch_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(increase_is_exact),
        cmocka_unit_test(quantile_follows_prometheus),
        cmocka_unit_test_setup_teardown(overview_red_per_service, setup, teardown),
        cmocka_unit_test_setup_teardown(models_cost_follows_price_change, setup, teardown),
        cmocka_unit_test_setup_teardown(increase_follows_series_across_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(timeseries_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(topology_health_and_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(hot_path_breaks_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(diagnose_inherits_sessions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
