/* Unit tests for the PromQL engine (query/promql_eval.c and its parts) over an in-memory
 * series source. Expected values follow Prometheus 2.42's documented semantics, worked out
 * by hand in the comments. Samples are one minute apart unless noted. */
#include "testutil.h"

#include <math.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/regex.h"
#include "query/promql_eval.h"
#include "query/promql_eval_int.h"
#include "query/promql_parse.h"

#define MIN 60000

/* ---- the source ---- */

typedef struct tseries {
    const char *l[8]; /* name, value pairs, sorted by name, NULL-terminated */
    double v[11];     /* values at 0m, 1m, ... 10m */
    int n;            /* samples */
    const int *at;    /* minutes of the samples (NULL: 0, 1, 2, ...) */
} tseries;

static const int y_minutes[] = {0, 8};

#define STALE 1e300 /* replaced by the stale marker */

static const tseries data[] = {
    /* counters: a grows by 10 a minute, b resets after 4m, c stays at 1 */
    {{"__name__", "http_requests_total", "instance", "a", "job", "api"},
     {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 11, NULL},
    {{"__name__", "http_requests_total", "instance", "b", "job", "api"},
     {0, 5, 10, 15, 20, 2, 7, 12, 17, 22, 27}, 11, NULL},
    {{"__name__", "http_requests_total", "instance", "c", "job", "db"},
     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 11, NULL},
    {{"__name__", "errs", "instance", "a", "job", "api"}, {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, 11, NULL},
    {{"__name__", "errs", "instance", "b", "job", "api"}, {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, 11, NULL},
    {{"__name__", "limits", "job", "api", "owner", "team1"}, {100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, 11, NULL},
    {{"__name__", "limits", "job", "db", "owner", "team2"}, {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, 11, NULL},
    /* gauge x goes stale at 5m; gauge y has a gap from 0m to 8m */
    {{"__name__", "temp", "room", "x"}, {20, 20, 20, 20, 20, STALE}, 6, NULL},
    {{"__name__", "temp", "room", "y"}, {10, 30}, 2, y_minutes},
    /* special values */
    {{"__name__", "nanval", "k", "a"}, {NAN}, 1, NULL},
    {{"__name__", "nanval", "k", "b"}, {1}, 1, NULL},
    {{"__name__", "infval", "k", "a"}, {INFINITY}, 1, NULL},
    {{"__name__", "infval", "k", "b"}, {1}, 1, NULL},
};
#define NDATA (sizeof data / sizeof data[0])

static osp_series all[NDATA];
static int nselects;
static int64_t sel_mint, sel_maxt;

static int matches(const osp_series *s, const osp_label_matcher *m)
{
    osp_str v = osp_labels_get(s->labels, s->nlabels, m->name);
    if (m->type == OSP_MATCH_EQ || m->type == OSP_MATCH_NEQ)
        return osp_str_eq(v, m->value) == (m->type == OSP_MATCH_EQ);
    char pat[256], val[256], err[64];
    regex_t re;
    snprintf(pat, sizeof pat, "^(%.*s)$", OSP_STR_FMT(m->value));
    snprintf(val, sizeof val, "%.*s", OSP_STR_FMT(v));
    assert_int_equal(osp_regex_compile(&re, pat, REG_EXTENDED | REG_NOSUB, err, sizeof err), 0);
    int ok = regexec(&re, val, 0, NULL, 0) == 0;
    regfree(&re);
    return ok == (m->type == OSP_MATCH_RE);
}

static int mem_select(void *ctx, const osp_label_matcher *m, size_t n, int64_t mint, int64_t maxt,
                      osp_arena *arena, osp_series **out, size_t *nout)
{
    (void)ctx;
    nselects++;
    sel_mint = mint;
    sel_maxt = maxt;
    *out = osp_arena_alloc(arena, NDATA * sizeof **out);
    *nout = 0;
    for (size_t i = 0; i < NDATA; i++) {
        int ok = 1;
        for (size_t j = 0; j < n; j++)
            ok &= matches(&all[i], &m[j]);
        if (!ok)
            continue;
        osp_series s = all[i];
        s.samples = osp_arena_alloc(arena, (all[i].nsamples + 1) * sizeof *s.samples);
        s.nsamples = 0;
        for (size_t j = 0; j < all[i].nsamples; j++)
            if (all[i].samples[j].t_ms >= mint && all[i].samples[j].t_ms <= maxt)
                s.samples[s.nsamples++] = all[i].samples[j];
        (*out)[(*nout)++] = s;
    }
    return 0;
}

static const osp_promql_source src = {NULL, mem_select};

static void build_data(void)
{
    static osp_label labels[NDATA][4];
    static osp_sample samples[NDATA][11];
    for (size_t i = 0; i < NDATA; i++) {
        size_t k = 0;
        for (; data[i].l[2 * k]; k++)
            labels[i][k] = (osp_label){osp_str_c(data[i].l[2 * k]), osp_str_c(data[i].l[2 * k + 1])};
        for (int j = 0; j < data[i].n; j++) {
            int64_t t = (int64_t)(data[i].at ? data[i].at[j] : j) * MIN;
            double v = data[i].v[j] == STALE ? osp_stale_nan() : data[i].v[j];
            samples[i][j] = (osp_sample){t, v};
        }
        all[i] = (osp_series){labels[i], k, samples[i], (size_t)data[i].n};
    }
}

/* ---- fake functions for the call path (the real library is tested on its own) ---- */

/* count_over_time: samples per non-empty window, __name__ dropped. The window's end must
 * be the step time (or @ time) minus the offset. */
static int64_t want_end;
static int fake_count(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                      osp_promql_vec *out)
{
    const osp_promql_arg *m = &args[nargs - 1];
    if (want_end != INT64_MIN)
        assert_int_equal(m->end_ms, want_end);
    out->a = osp_arena_alloc(c->arena, (m->nseries + 1) * sizeof *out->a);
    out->n = 0;
    for (size_t i = 0; i < m->nseries; i++) {
        if (!m->series[i].nsamples)
            continue;
        size_t n = m->series[i].nlabels;
        osp_label *l = osp_promql_drop_name(c->arena, m->series[i].labels, &n);
        out->a[out->n++] = (osp_promql_elem){l, n, c->t_ms, (double)m->series[i].nsamples};
    }
    return 0;
}

/* timestamp: the elements' times in seconds. */
static int fake_timestamp(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                          osp_promql_vec *out)
{
    out->a = osp_arena_alloc(c->arena, (args[0].vec.n + 1) * sizeof *out->a);
    out->n = args[0].vec.n;
    for (size_t i = 0; i < out->n; i++) {
        out->a[i] = args[0].vec.a[i];
        out->a[i].labels = osp_promql_drop_name(c->arena, out->a[i].labels, &out->a[i].nlabels);
        out->a[i].v = (double)out->a[i].t_ms / 1000;
        out->a[i].t_ms = c->t_ms;
    }
    return 0;
}

/* strip_all: every element without labels, to provoke duplicates. */
static int fake_strip(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                      osp_promql_vec *out)
{
    out->a = osp_arena_alloc(c->arena, (args[0].vec.n + 1) * sizeof *out->a);
    out->n = args[0].vec.n;
    for (size_t i = 0; i < out->n; i++)
        out->a[i] = (osp_promql_elem){NULL, 0, c->t_ms, args[0].vec.a[i].v};
    return 0;
}

/* round(v, s) stand-in: v's elements plus the scalar, to check scalar arguments per step. */
static int fake_add(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                    osp_promql_vec *out)
{
    out->a = osp_arena_alloc(c->arena, (args[0].vec.n + 1) * sizeof *out->a);
    out->n = args[0].vec.n;
    for (size_t i = 0; i < out->n; i++) {
        out->a[i] = args[0].vec.a[i];
        out->a[i].v += args[1].scalar;
    }
    return 0;
}

static osp_promql_fn fake_lookup(osp_str name)
{
    if (osp_str_eqz(name, "count_over_time"))
        return fake_count;
    if (osp_str_eqz(name, "timestamp"))
        return fake_timestamp;
    if (osp_str_eqz(name, "abs"))
        return fake_strip;
    if (osp_str_eqz(name, "clamp_min"))
        return NULL;
    if (osp_str_eqz(name, "round"))
        return fake_add;
    return NULL;
}

/* ---- helpers ---- */

static osp_arena arena;
static char err[512];
static char text[8192];
static osp_promql_opts opts;

static void fmt_num(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else
        snprintf(buf, cap, "%.10g", v);
}

/* The result as text: one line per series, "{labels} v@t v@t ..." with t in seconds. */
static const char *fmt(const osp_promql_result *r)
{
    size_t at = 0;
    char num[64];
    text[0] = 0;
    if (r->type == OSP_PROMQL_T_SCALAR) {
        fmt_num(num, sizeof num, r->scalar);
        snprintf(text, sizeof text, "scalar %s@%g", num, (double)r->t_ms / 1000);
        return text;
    }
    if (r->type == OSP_PROMQL_T_STRING) {
        snprintf(text, sizeof text, "string %.*s", OSP_STR_FMT(r->string));
        return text;
    }
    for (size_t i = 0; i < r->nseries; i++) {
        const osp_series *s = &r->series[i];
        at += (size_t)snprintf(text + at, sizeof text - at, "%s{", i ? "\n" : "");
        for (size_t j = 0; j < s->nlabels; j++)
            at += (size_t)snprintf(text + at, sizeof text - at, "%s%.*s=%.*s", j ? "," : "",
                                   OSP_STR_FMT(s->labels[j].name), OSP_STR_FMT(s->labels[j].value));
        at += (size_t)snprintf(text + at, sizeof text - at, "}");
        for (size_t j = 0; j < s->nsamples; j++) {
            fmt_num(num, sizeof num, s->samples[j].v);
            at += (size_t)snprintf(text + at, sizeof text - at, " %s@%g", num,
                                   (double)s->samples[j].t_ms / 1000);
        }
    }
    return text;
}

static int run_q(const char *q, int64_t start, int64_t end, int64_t step, osp_promql_result *res)
{
    osp_promql_expr *e;
    char perr[256];
    int rc = osp_promql_parse(osp_str_c(q), &arena, &e, perr, sizeof perr);
    if (rc) {
        fail_msg("parse %s: %s", q, perr);
        return rc;
    }
    nselects = 0;
    return osp_promql_eval(&src, e, start, end, step, &opts, &arena, res, err, sizeof err);
}

/* Instant query at t; the result must print as want. */
static void instant(const char *q, int64_t t, const char *want)
{
    osp_promql_result res;
    int rc = run_q(q, t, t, 0, &res);
    if (rc)
        fail_msg("%s: %s (%s)", q, osp_err_name(rc), err);
    if (strcmp(fmt(&res), want) != 0)
        fail_msg("%s:\n got: %s\nwant: %s", q, text, want);
}

static void range(const char *q, int64_t start, int64_t end, int64_t step, const char *want)
{
    osp_promql_result res;
    int rc = run_q(q, start, end, step, &res);
    if (rc)
        fail_msg("%s: %s (%s)", q, osp_err_name(rc), err);
    assert_int_equal(res.type, OSP_PROMQL_T_MATRIX);
    if (strcmp(fmt(&res), want) != 0)
        fail_msg("%s:\n got: %s\nwant: %s", q, text, want);
}

/* The query must fail with rc and a message containing want. */
static void fails(const char *q, int64_t start, int64_t end, int64_t step, int want_rc,
                  const char *want)
{
    osp_promql_result res;
    int rc = run_q(q, start, end, step, &res);
    if (rc != want_rc)
        fail_msg("%s: got %s (%s), want %s", q, osp_err_name(rc), err, osp_err_name(want_rc));
    if (!strstr(err, want))
        fail_msg("%s: message %s, want %s", q, err, want);
}

static int setup(void **state)
{
    (void)state;
    osp_arena_init(&arena, 0, 0);
    memset(&opts, 0, sizeof opts);
    want_end = INT64_MIN;
    osp__promql_set_fn_lookup(fake_lookup);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    osp_arena_cleanup(&arena);
    osp__promql_set_fn_lookup(NULL);
    return 0;
}

#define HA "__name__=http_requests_total,instance=a,job=api"
#define HB "__name__=http_requests_total,instance=b,job=api"
#define HC "__name__=http_requests_total,instance=c,job=db"

/* ---- selectors ---- */

static void test_selectors(void **state)
{
    (void)state;
    instant("http_requests_total", 5 * MIN, "{" HA "} 50@300\n{" HB "} 2@300\n{" HC "} 1@300");
    instant("http_requests_total{job!=\"api\"}", 5 * MIN, "{" HC "} 1@300");
    instant("http_requests_total{job=~\"a.*\"}", 5 * MIN, "{" HA "} 50@300\n{" HB "} 2@300");
    instant("http_requests_total{instance!~\"a|b\"}", 5 * MIN, "{" HC "} 1@300");
    instant("{__name__=~\"http.*\",instance=\"a\"}", 5 * MIN, "{" HA "} 50@300");
    instant("nothing_here", 5 * MIN, "");
    /* one select, covering the lookback */
    assert_int_equal(nselects, 1);
    instant("http_requests_total{instance=\"a\"}", 5 * MIN, "{" HA "} 50@300");
    assert_int_equal(sel_mint, 0);
    assert_int_equal(sel_maxt, 5 * MIN);
    /* between samples the newest one counts, time stamped with the evaluation time */
    instant("http_requests_total{instance=\"a\"}", 5 * MIN + 30000, "{" HA "} 50@330");
}

static void test_lookback_staleness(void **state)
{
    (void)state;
    instant("temp{room=\"y\"}", 4 * MIN, "{__name__=temp,room=y} 10@240");
    /* 2.42 keeps a sample at exactly t - lookback */
    instant("temp{room=\"y\"}", 5 * MIN, "{__name__=temp,room=y} 10@300");
    instant("temp{room=\"y\"}", 5 * MIN + 1, "");
    instant("temp{room=\"y\"}", 8 * MIN, "{__name__=temp,room=y} 30@480");
    /* x's stale marker at 5m hides it at once */
    instant("temp{room=\"x\"}", 4 * MIN, "{__name__=temp,room=x} 20@240");
    instant("temp{room=\"x\"}", 5 * MIN, "");
    instant("temp{room=\"x\"}", 6 * MIN, "");
    /* a shorter lookback */
    opts.lookback_ms = 2 * MIN;
    instant("temp{room=\"y\"}", 3 * MIN, "");
    instant("temp{room=\"y\"}", 2 * MIN, "{__name__=temp,room=y} 10@120");
    range("temp", 3 * MIN, 7 * MIN, MIN, "{__name__=temp,room=x} 20@180 20@240");
    opts.lookback_ms = 0;
    range("temp", 3 * MIN, 7 * MIN, MIN,
          "{__name__=temp,room=x} 20@180 20@240\n{__name__=temp,room=y} 10@180 10@240 10@300");
}

static void test_offset_at(void **state)
{
    (void)state;
    instant("http_requests_total{instance=\"a\"} offset 2m", 5 * MIN, "{" HA "} 30@300");
    instant("http_requests_total{instance=\"a\"} offset -2m", 5 * MIN, "{" HA "} 70@300");
    instant("http_requests_total{instance=\"a\"} @ 120", 10 * MIN, "{" HA "} 20@600");
    instant("http_requests_total{instance=\"a\"} @ 180 offset 1m", 10 * MIN, "{" HA "} 20@600");
    range("http_requests_total{instance=\"a\"} @ 120", 2 * MIN, 4 * MIN, MIN,
          "{" HA "} 20@120 20@180 20@240");
    range("http_requests_total{instance=\"a\"} @ end()", 2 * MIN, 4 * MIN, MIN,
          "{" HA "} 40@120 40@180 40@240");
    range("http_requests_total{instance=\"a\"} @ start()", 2 * MIN, 4 * MIN, MIN,
          "{" HA "} 20@120 20@180 20@240");
    range("http_requests_total{instance=\"a\"} offset 1m", 2 * MIN, 4 * MIN, MIN,
          "{" HA "} 10@120 20@180 30@240");
    /* the select covers the steps shifted by the offset, plus the lookback */
    assert_int_equal(nselects, 1);
    assert_int_equal(sel_mint, MIN - 5 * MIN);
    assert_int_equal(sel_maxt, 3 * MIN);
    /* an invariant expression mixed with a varying one */
    range("http_requests_total{instance=\"a\"} - http_requests_total{instance=\"a\"} @ 120",
          2 * MIN, 4 * MIN, MIN, "{instance=a,job=api} 0@120 10@180 20@240");
}

static void test_matrix(void **state)
{
    (void)state;
    /* [t - range, t], both ends included as in 2.42, with the stored timestamps */
    instant("http_requests_total{instance=\"a\"}[2m]", 5 * MIN, "{" HA "} 30@180 40@240 50@300");
    instant("http_requests_total{instance=\"a\"}[2m] offset 1m", 5 * MIN,
            "{" HA "} 20@120 30@180 40@240");
    instant("http_requests_total{instance=\"a\"}[1m] @ 60", 5 * MIN, "{" HA "} 0@0 10@60");
    /* stale markers are dropped */
    instant("temp{room=\"x\"}[10m]", 10 * MIN,
            "{__name__=temp,room=x} 20@0 20@60 20@120 20@180 20@240");
    instant("temp[90s]", 5 * MIN, "{__name__=temp,room=x} 20@240");
    fails("http_requests_total[5m]", 0, 10 * MIN, MIN, OSP_EINVAL,
          "invalid expression type \"range vector\" for range query, must be Scalar or instant "
          "Vector");
    fails("\"str\"", 0, 10 * MIN, MIN, OSP_EINVAL, "invalid expression type \"string\"");
}

static void test_literals(void **state)
{
    (void)state;
    instant("1 + 2", 5 * MIN, "scalar 3@300");
    instant("-(2 ^ 3)", 5 * MIN, "scalar -8@300");
    instant("7 % 4", 0, "scalar 3@0");
    instant("1 > bool 2", 0, "scalar 0@0");
    instant("2 >= bool 2", 0, "scalar 1@0");
    instant("0 / 0", 0, "scalar NaN@0");
    instant("\"hello\"", 5 * MIN, "string hello");
    instant("(\"hello\")", 5 * MIN, "string hello");
    range("1", 0, 2 * MIN, MIN, "{} 1@0 1@60 1@120");
    /* unary minus drops the name; plus keeps it */
    instant("-http_requests_total{instance=\"a\"}", 5 * MIN, "{instance=a,job=api} -50@300");
    instant("+http_requests_total{instance=\"a\"}", 5 * MIN, "{" HA "} 50@300");
    fails("-{__name__=~\"http_requests_total|errs\",instance=\"a\"}", 5 * MIN, 5 * MIN, 0,
          OSP_EEXEC, "vector cannot contain metrics with the same labelset");
}

static void test_range_steps(void **state)
{
    (void)state;
    /* steps are start + k*step <= end */
    range("http_requests_total{instance=\"a\"}", 0, 150000, MIN, "{" HA "} 0@0 10@60 20@120");
    range("http_requests_total{instance=\"a\"}", 30000, 150000, MIN, "{" HA "} 0@30 10@90 20@150");
    range("http_requests_total{instance=\"a\"}", MIN, MIN, MIN, "{" HA "} 10@60");
    /* scalar expressions give one series without labels */
    range("2 * 3", 0, MIN, MIN, "{} 6@0 6@60");
    osp_promql_result res;
    assert_int_equal(run_q("1", MIN, 0, MIN, &res), OSP_EINVAL);
    assert_int_equal(run_q("1", 0, MIN, -1, &res), OSP_EINVAL);
}

/* ---- binary operators ---- */

static void test_vector_scalar(void **state)
{
    (void)state;
    instant("http_requests_total * 2", 5 * MIN,
            "{instance=a,job=api} 100@300\n{instance=b,job=api} 4@300\n{instance=c,job=db} 2@300");
    instant("http_requests_total > 10", 5 * MIN, "{" HA "} 50@300");
    instant("http_requests_total > bool 10", 5 * MIN,
            "{instance=a,job=api} 1@300\n{instance=b,job=api} 0@300\n{instance=c,job=db} 0@300");
    /* the scalar on the left: a filter keeps the vector's value */
    instant("10 < http_requests_total", 5 * MIN, "{" HA "} 50@300");
    instant("100 - http_requests_total{instance=\"a\"}", 5 * MIN, "{instance=a,job=api} 50@300");
    instant("http_requests_total{instance=\"a\"} / 0", 5 * MIN, "{instance=a,job=api} inf@300");
    instant("http_requests_total{instance=\"a\"} % 7", 5 * MIN, "{instance=a,job=api} 1@300");
    /* atan2 keeps the metric name, as in Prometheus */
    instant("http_requests_total{instance=\"c\"} atan2 0", 5 * MIN, "{" HC "} 1.570796327@300");
    instant("http_requests_total{instance=\"a\"} == 50", 5 * MIN, "{" HA "} 50@300");
    instant("http_requests_total{instance=\"a\"} != 50", 5 * MIN, "");
    instant("http_requests_total{instance=\"a\"} <= 50", 5 * MIN, "{" HA "} 50@300");
    instant("http_requests_total{instance=\"a\"} >= 51", 5 * MIN, "");
    /* dropping the name can merge series into duplicates */
    fails("{__name__=~\"http_requests_total|errs\",instance=\"a\"} + 1", 5 * MIN, 5 * MIN, 0,
          OSP_EEXEC, "vector cannot contain metrics with the same labelset");
    range("http_requests_total{instance=\"b\"} > 10", 3 * MIN, 6 * MIN, MIN,
          "{" HB "} 15@180 20@240");
}

static void test_vector_vector(void **state)
{
    (void)state;
    instant("http_requests_total / errs", 5 * MIN,
            "{instance=a,job=api} 10@300\n{instance=b,job=api} 0.6666666667@300");
    instant("http_requests_total > errs", 5 * MIN, "{" HA "} 50@300");
    instant("http_requests_total > bool errs", 5 * MIN,
            "{instance=a,job=api} 1@300\n{instance=b,job=api} 0@300");
    instant("http_requests_total > ignoring(foo) errs", 5 * MIN, "{" HA "} 50@300");
    /* on() keeps only the listed labels */
    instant("http_requests_total > on(job, instance) errs", 5 * MIN, "{instance=a,job=api} 50@300");
    instant("http_requests_total - on(instance) errs", 5 * MIN,
            "{instance=a} 45@300\n{instance=b} -1@300");
    /* many-to-one and one-to-many, with labels included from the one side */
    instant("http_requests_total / on(job) group_left(owner) limits", 5 * MIN,
            "{instance=a,job=api,owner=team1} 0.5@300\n{instance=b,job=api,owner=team1} "
            "0.02@300\n{instance=c,job=db,owner=team2} 0.005@300");
    instant("limits / on(job) group_right http_requests_total", 5 * MIN,
            "{instance=a,job=api} 2@300\n{instance=b,job=api} 50@300\n{instance=c,job=db} 200@300");
    instant("http_requests_total * ignoring(instance) group_left errs{instance=\"a\"}", 5 * MIN,
            "{instance=a,job=api} 250@300\n{instance=b,job=api} 10@300");
    /* group_right with a filter: the many side's labels, the left (one) side's value */
    instant("limits < on(job) group_right http_requests_total", 5 * MIN, "");
    instant("limits > on(job) group_right http_requests_total", 5 * MIN,
            "{" HA "} 100@300\n{" HB "} 100@300\n{" HC "} 200@300");
    /* errors */
    fails("http_requests_total + on(job) errs", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "found duplicate series for the match group {job=\"api\"} on the right hand-side of the "
          "operation: [{__name__=\"errs\", instance=\"b\", job=\"api\"}, {__name__=\"errs\", "
          "instance=\"a\", job=\"api\"}];many-to-many matching not allowed: matching labels must "
          "be unique on one side");
    fails("errs - on(job) group_right http_requests_total", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "on the left hand-side of the operation");
    fails("http_requests_total + on(job) limits", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "multiple matches for labels: many-to-one matching must be explicit "
          "(group_left/group_right)");
    fails("{__name__=~\"http_requests_total|errs\",instance=\"a\"} * on(job) group_left limits",
          5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "multiple matches for labels: grouping labels must ensure unique matches");
    /* nothing on one side: no error, no result */
    instant("nothing + on(job) errs", 5 * MIN, "");
    /* matching follows the series across steps */
    range("http_requests_total{instance=\"b\"} - on(job) limits", 4 * MIN, 5 * MIN, MIN,
          "{job=api} -80@240 -98@300");
}

static void test_set_ops(void **state)
{
    (void)state;
    instant("http_requests_total and errs", 5 * MIN, "{" HA "} 50@300\n{" HB "} 2@300");
    instant("http_requests_total unless errs", 5 * MIN, "{" HC "} 1@300");
    instant("errs or http_requests_total", 5 * MIN,
            "{__name__=errs,instance=a,job=api} 5@300\n{__name__=errs,instance=b,job=api} "
            "3@300\n{" HC "} 1@300");
    instant("http_requests_total and on(job) limits{job=\"db\"}", 5 * MIN, "{" HC "} 1@300");
    instant("http_requests_total and nothing", 5 * MIN, "");
    instant("nothing or errs{instance=\"a\"}", 5 * MIN, "{__name__=errs,instance=a,job=api} 5@300");
    instant("http_requests_total unless nothing", 5 * MIN,
            "{" HA "} 50@300\n{" HB "} 2@300\n{" HC "} 1@300");
    /* per step: temp x only exists until 4m, y until 5m */
    range("temp{room=\"y\"} unless ignoring(room) temp{room=\"x\"}", 3 * MIN, 5 * MIN, MIN,
          "{__name__=temp,room=y} 10@300");
}

/* ---- aggregations ---- */

static void test_aggregations(void **state)
{
    (void)state;
    /* at 5m: a = 50, b = 2, c = 1 */
    instant("sum(http_requests_total)", 5 * MIN, "{} 53@300");
    instant("sum by (job) (http_requests_total)", 5 * MIN, "{job=api} 52@300\n{job=db} 1@300");
    instant("sum without (instance) (http_requests_total)", 5 * MIN,
            "{job=api} 52@300\n{job=db} 1@300");
    instant("sum by (__name__) (http_requests_total)", 5 * MIN,
            "{__name__=http_requests_total} 53@300");
    instant("min(http_requests_total)", 5 * MIN, "{} 1@300");
    instant("max(http_requests_total)", 5 * MIN, "{} 50@300");
    instant("avg(http_requests_total)", 5 * MIN, "{} 17.66666667@300");
    instant("count(http_requests_total)", 5 * MIN, "{} 3@300");
    instant("group by (job) (http_requests_total)", 5 * MIN, "{job=api} 1@300\n{job=db} 1@300");
    /* population variance: (2500 + 4 + 1) / 3 - (53 / 3)^2 = 4706 / 9 */
    instant("stdvar(http_requests_total)", 5 * MIN, "{} 522.8888889@300");
    instant("stddev(http_requests_total)", 5 * MIN, "{} 22.86676385@300");
    instant("stddev by (instance) (http_requests_total)", 5 * MIN,
            "{instance=a} 0@300\n{instance=b} 0@300\n{instance=c} 0@300");
    /* sorted by value, the original labels kept, groups in input order */
    instant("topk(2, http_requests_total)", 5 * MIN, "{" HA "} 50@300\n{" HB "} 2@300");
    instant("bottomk(2, http_requests_total)", 5 * MIN, "{" HC "} 1@300\n{" HB "} 2@300");
    instant("topk by (job) (1, http_requests_total)", 5 * MIN, "{" HA "} 50@300\n{" HC "} 1@300");
    instant("topk(0, http_requests_total)", 5 * MIN, "");
    instant("topk(10, errs)", 5 * MIN,
            "{__name__=errs,instance=a,job=api} 5@300\n{__name__=errs,instance=b,job=api} 3@300");
    fails("topk(1e20, errs)", 5 * MIN, 5 * MIN, 0, OSP_EEXEC, "Scalar value 1e+20 overflows int64");
    fails("topk(NaN, errs)", 5 * MIN, 5 * MIN, 0, OSP_EEXEC, "Scalar value NaN overflows int64");
    /* quantile interpolates between the sorted values 1, 2, 50 */
    instant("quantile(0.5, http_requests_total)", 5 * MIN, "{} 2@300");
    instant("quantile(0.25, http_requests_total)", 5 * MIN, "{} 1.5@300");
    instant("quantile(0.75, http_requests_total)", 5 * MIN, "{} 26@300");
    instant("quantile(2, http_requests_total)", 5 * MIN, "{} inf@300");
    instant("quantile(-1, http_requests_total)", 5 * MIN, "{} -inf@300");
    instant("count_values(\"v\", errs)", 5 * MIN, "{v=3} 1@300\n{v=5} 1@300");
    instant("count_values(\"v\", http_requests_total / 4)", 5 * MIN,
            "{v=0.25} 1@300\n{v=0.5} 1@300\n{v=12.5} 1@300");
    instant("count_values by (job) (\"job\", errs)", 5 * MIN, "{job=3} 1@300\n{job=5} 1@300");
    instant("count_values without (instance) (\"v\", errs)", 5 * MIN,
            "{job=api,v=3} 1@300\n{job=api,v=5} 1@300");
    instant("count_values(\"v\", errs * 2e21)", 5 * MIN,
            "{v=10000000000000000000000} 1@300\n{v=6000000000000000000000} 1@300");
    fails("count_values(\"1x\", errs)", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "invalid label name \"1x\"");
    /* nothing to aggregate: nothing out */
    instant("sum(nothing)", 5 * MIN, "");
    instant("count(nothing)", 5 * MIN, "");
    /* range: groups come and go with their series */
    range("sum by (room) (temp)", 3 * MIN, 5 * MIN, MIN,
          "{room=x} 20@180 20@240\n{room=y} 10@180 10@240 10@300");
    range("topk(1, http_requests_total{job=\"api\"})", 3 * MIN, 5 * MIN, MIN, "{" HA "} 30@180 40@240 50@300");
}

static void test_special_values(void **state)
{
    (void)state;
    /* a = NaN, b = 1 at 0m */
    instant("max(nanval)", 0, "{} 1@0");
    instant("min(nanval)", 0, "{} 1@0");
    instant("sum(nanval)", 0, "{} NaN@0");
    instant("avg(nanval)", 0, "{} NaN@0");
    instant("max by (k) (nanval)", 0, "{k=a} NaN@0\n{k=b} 1@0");
    instant("topk(1, nanval)", 0, "{__name__=nanval,k=b} 1@0");
    instant("bottomk(1, nanval)", 0, "{__name__=nanval,k=b} 1@0");
    instant("topk(2, nanval)", 0, "{__name__=nanval,k=b} 1@0\n{__name__=nanval,k=a} NaN@0");
    instant("quantile(0.5, nanval)", 0, "{} NaN@0");
    instant("count_values(\"v\", nanval)", 0, "{v=1} 1@0\n{v=NaN} 1@0");
    /* a = +Inf, b = 1: the mean stays infinite */
    instant("avg(infval)", 0, "{} inf@0");
    instant("sum(infval)", 0, "{} inf@0");
    instant("stddev(infval)", 0, "{} NaN@0");
    instant("count_values(\"v\", infval)", 0, "{v=+Inf} 1@0\n{v=1} 1@0");
    instant("avg(infval - infval)", 0, "{} NaN@0");
    instant("nanval == nanval", 0, "{__name__=nanval,k=b} 1@0");
    instant("nanval != bool nanval", 0, "{k=a} 1@0\n{k=b} 0@0");
}

/* ---- subqueries and calls ---- */

static void test_subqueries(void **state)
{
    (void)state;
    /* steps at multiples of the step: 2m..5m for [3m:1m] at 5m */
    instant("http_requests_total{instance=\"a\"}[3m:1m]", 5 * MIN,
            "{" HA "} 20@120 30@180 40@240 50@300");
    instant("http_requests_total{instance=\"a\"}[3m:1m]", 5 * MIN + 30000,
            "{" HA "} 30@180 40@240 50@300");
    instant("http_requests_total{instance=\"a\"}[3m:1m] offset 1m", 5 * MIN,
            "{" HA "} 10@60 20@120 30@180 40@240");
    instant("http_requests_total{instance=\"a\"}[3m:1m] @ 240", 9 * MIN,
            "{" HA "} 10@60 20@120 30@180 40@240");
    instant("http_requests_total{instance=\"a\"}[2m:90s]", 5 * MIN, "{" HA "} 30@180 40@270");
    /* the default step: 1 minute, or what the options say */
    instant("http_requests_total{instance=\"a\"}[2m:]", 5 * MIN, "{" HA "} 30@180 40@240 50@300");
    opts.subquery_step_ms = 2 * MIN;
    instant("http_requests_total{instance=\"a\"}[2m:]", 5 * MIN, "{" HA "} 40@240");
    opts.subquery_step_ms = 0;
    instant("(errs{instance=\"b\"} * 2)[1m:30s]", 5 * MIN,
            "{instance=b,job=api} 6@240 6@270 6@300");
    /* as a function argument, in a range query, with one select */
    range("count_over_time(http_requests_total{instance=\"a\"}[3m:1m])", 3 * MIN, 5 * MIN, MIN,
          "{instance=a,job=api} 4@180 4@240 4@300");
    assert_int_equal(nselects, 1);
    assert_int_equal(sel_mint, 0 - 5 * MIN);
    assert_int_equal(sel_maxt, 5 * MIN);
    range("count_over_time(temp{room=\"x\"}[3m:1m])", 3 * MIN, 9 * MIN, 2 * MIN,
          "{room=x} 4@180 3@300 1@420");
    /* nested */
    instant("count_over_time(count_over_time(http_requests_total{instance=\"a\"}[2m])[3m:1m])",
            5 * MIN, "{instance=a,job=api} 4@300");
    instant("count_over_time(count_over_time(http_requests_total{instance=\"a\"}[150s:1m])[2m:])",
            5 * MIN, "{instance=a,job=api} 3@300");
}

static void test_calls(void **state)
{
    (void)state;
    /* windows: [t - 2m, t] holds 3 samples */
    instant("count_over_time(http_requests_total{instance=\"a\"}[2m])", 5 * MIN,
            "{instance=a,job=api} 3@300");
    want_end = MIN;
    instant("count_over_time(http_requests_total{instance=\"a\"}[2m] offset 9m)", 10 * MIN,
            "{instance=a,job=api} 2@600");
    instant("count_over_time(http_requests_total{instance=\"a\"}[1m] @ 60)", 10 * MIN,
            "{instance=a,job=api} 2@600");
    want_end = INT64_MIN;
    range("count_over_time(temp[2m])", 4 * MIN, 9 * MIN, MIN,
          "{room=x} 3@240 2@300 1@360\n{room=y} 1@480 1@540");
    /* timestamp() of a selector sees the samples' own times */
    instant("timestamp(temp{room=\"y\"})", 4 * MIN, "{room=y} 0@240");
    instant("timestamp((temp{room=\"y\"}))", 4 * MIN, "{room=y} 0@240");
    instant("timestamp(temp{room=\"y\"} offset 1m)", 10 * MIN, "{room=y} 480@600");
    instant("timestamp(temp{room=\"y\"} * 1)", 4 * MIN, "{room=y} 240@240");
    /* scalar arguments per step */
    range("round(errs{instance=\"a\"}, 1 + 1)", 0, MIN, MIN,
          "{__name__=errs,instance=a,job=api} 7@0 7@60");
    fails("abs(http_requests_total)", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "vector cannot contain metrics with the same labelset");
    fails("clamp_min(errs, 1)", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "function clamp_min is not implemented");
}

/* ---- limits ---- */

static void test_limits(void **state)
{
    (void)state;
    opts.max_samples = 2;
    fails("http_requests_total", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "query processing would load too many samples into memory in query execution");
    fails("errs{instance=\"a\"}", 0, 5 * MIN, MIN, OSP_EEXEC, "too many samples");
    fails("http_requests_total{instance=\"a\"}[5m]", 5 * MIN, 5 * MIN, 0, OSP_EEXEC,
          "too many samples");
    opts.max_samples = 3;
    instant("http_requests_total", 5 * MIN, "{" HA "} 50@300\n{" HB "} 2@300\n{" HC "} 1@300");
    opts.max_samples = 0;
    opts.deadline_ms = 1;
    fails("http_requests_total", 5 * MIN, 5 * MIN, 0, OSP_ETIMEDOUT,
          "query timed out in expression evaluation");
    opts.deadline_ms = 0;
}

int main(void)
{
    build_data();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookback_staleness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vector_scalar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vector_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subqueries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
