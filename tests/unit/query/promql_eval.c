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
     {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100},
     11,
     NULL},
    {{"__name__", "http_requests_total", "instance", "b", "job", "api"},
     {0, 5, 10, 15, 20, 2, 7, 12, 17, 22, 27},
     11,
     NULL},
    {{"__name__", "http_requests_total", "instance", "c", "job", "db"},
     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
     11,
     NULL},
    {{"__name__", "errs", "instance", "a", "job", "api"},
     {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
     11,
     NULL},
    {{"__name__", "errs", "instance", "b", "job", "api"},
     {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
     11,
     NULL},
    {{"__name__", "limits", "job", "api", "owner", "team1"},
     {100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100},
     11,
     NULL},
    {{"__name__", "limits", "job", "db", "owner", "team2"},
     {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200},
     11,
     NULL},
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

/* Native histograms, one sample a minute from 0m to 10m unless noted, at schema 0 with the
 * zero bucket [-0.001, 0.001] and the positive buckets (0.5, 1] and (1, 2]:
 *   hist{job="a"}    zero k, (0.5,1] 2k, (1,2] k, count 4k, sum 5k at minute k;
 *   hist{job="b"}    as a until 3m, then reset: as a at minute k - 3 from 4m on;
 *   ghist{job="g"}   a gauge histogram: zero 1, (0.5,1] g[k], (1,2] 1, sum g[k];
 *   mixed{job="m"}   the float k from 0m to 4m, then as a from 5m on;
 *   hstale{job="s"}  as a from 0m to 3m, and the stale marker at 4m. */
enum { H_A, H_B, H_GAUGE, H_MIXED, H_STALE, NHIST };
static const char *const hist_labels[NHIST][4] = {
    {"hist", "a"}, {"hist", "b"}, {"ghist", "g"}, {"mixed", "m"}, {"hstale", "s"}};
static const double gauge_b0[11] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};

#define NALL (NDATA + NHIST)
static osp_series all[NALL];
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
    *out = osp_arena_alloc(arena, NALL * sizeof **out);
    *nout = 0;
    for (size_t i = 0; i < NALL; i++) {
        int ok = 1;
        for (size_t j = 0; j < n; j++)
            ok &= matches(&all[i], &m[j]);
        if (!ok)
            continue;
        osp_series s = all[i];
        s.samples = osp_arena_alloc(arena, (all[i].nsamples + 1) * sizeof *s.samples);
        s.hsamples = osp_arena_alloc(arena, (all[i].nhsamples + 1) * sizeof *s.hsamples);
        s.nsamples = s.nhsamples = 0;
        for (size_t j = 0; j < all[i].nsamples; j++)
            if (all[i].samples[j].t_ms >= mint && all[i].samples[j].t_ms <= maxt)
                s.samples[s.nsamples++] = all[i].samples[j];
        for (size_t j = 0; j < all[i].nhsamples; j++)
            if (all[i].hsamples[j].t_ms >= mint && all[i].hsamples[j].t_ms <= maxt)
                s.hsamples[s.nhsamples++] = all[i].hsamples[j];
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
            labels[i][k] =
                (osp_label){osp_str_c(data[i].l[2 * k]), osp_str_c(data[i].l[2 * k + 1])};
        for (int j = 0; j < data[i].n; j++) {
            int64_t t = (int64_t)(data[i].at ? data[i].at[j] : j) * MIN;
            double v = data[i].v[j] == STALE ? osp_stale_nan() : data[i].v[j];
            samples[i][j] = (osp_sample){t, v};
        }
        all[i] = (osp_series){.labels = labels[i],
                              .nlabels = k,
                              .samples = samples[i],
                              .nsamples = (size_t)data[i].n};
    }
    static osp_label hlabels[NHIST][2];
    static osp_histogram hists[NHIST][11];
    static osp_hist_span spans[NHIST][11];
    static double buckets[NHIST][11][2];
    static osp_hsample hsamples[NHIST][11];
    static osp_sample mixed_floats[5];
    for (int i = 0; i < NHIST; i++) {
        osp_series *s = &all[NDATA + i];
        hlabels[i][0] = (osp_label){OSP_STR_LIT("__name__"), osp_str_c(hist_labels[i][0])};
        hlabels[i][1] = (osp_label){OSP_STR_LIT("job"), osp_str_c(hist_labels[i][1])};
        *s = (osp_series){.labels = hlabels[i], .nlabels = 2, .hsamples = hsamples[i]};
        for (int k = 0; k < 11; k++) {
            double j = i == H_B && k >= 4 ? k - 3 : k, zero = j, b0 = 2 * j, b1 = j, sum = 5 * j;
            if (i == H_MIXED && k < 5) {
                mixed_floats[k] = (osp_sample){k * MIN, k};
                continue;
            }
            if (i == H_STALE && k > 4)
                break;
            if (i == H_GAUGE) {
                zero = 1;
                b0 = sum = gauge_b0[k];
                b1 = 1;
            }
            osp_histogram *h = &hists[i][k];
            spans[i][k] = (osp_hist_span){0, 2};
            buckets[i][k][0] = b0;
            buckets[i][k][1] = b1;
            *h = (osp_histogram){.schema = 0,
                                 .hint = i == H_GAUGE ? OSP_HIST_HINT_GAUGE : OSP_HIST_HINT_UNKNOWN,
                                 .zero_threshold = 0.001,
                                 .zero_count = zero,
                                 .count = zero + b0 + b1,
                                 .sum = i == H_STALE && k == 4 ? osp_stale_nan() : sum,
                                 .pspans = &spans[i][k],
                                 .npspans = 1,
                                 .pbuckets = buckets[i][k],
                                 .npbuckets = 2};
            hsamples[i][s->nhsamples++] = (osp_hsample){k * MIN, h};
        }
    }
    all[NDATA + H_MIXED].samples = mixed_floats;
    all[NDATA + H_MIXED].nsamples = 5;
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
        out->a[out->n++] = (osp_promql_elem){l, n, c->t_ms, (double)m->series[i].nsamples, NULL};
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
        out->a[i] = (osp_promql_elem){NULL, 0, c->t_ms, args[0].vec.a[i].v, NULL};
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
static char text[16384];
static osp_promql_opts opts;

static void fmt_num(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else
        snprintf(buf, cap, "%.10g", v);
}

typedef struct hist_text {
    char *p;
    size_t cap, at;
} hist_text;

static int put_bucket(void *ctx, const osp_hist_bucket *b)
{
    hist_text *t = ctx;
    char lo[32], hi[32], c[32];
    fmt_num(lo, sizeof lo, b->lower);
    fmt_num(hi, sizeof hi, b->upper);
    fmt_num(c, sizeof c, b->count);
    t->at += (size_t)snprintf(t->p + t->at, t->cap - t->at, " %s..%s=%s", lo, hi, c);
    return 0;
}

/* A histogram as "h(c=count s=sum lower..upper=count ...)" with its non-empty buckets. */
static size_t fmt_hist(char *buf, size_t cap, const osp_histogram *h)
{
    char c[32], sum[32];
    hist_text t = {buf, cap, 0};
    fmt_num(c, sizeof c, h->count);
    fmt_num(sum, sizeof sum, h->sum);
    t.at = (size_t)snprintf(buf, cap, "h(c=%s s=%s", c, sum);
    osp_hist_each_bucket(h, put_bucket, &t);
    t.at += (size_t)snprintf(buf + t.at, cap - t.at, ")");
    return t.at;
}

/* The result as text: one line per series, "{labels} v@t v@t ..." with t in seconds, the
 * float samples first, then the histograms as fmt_hist writes them. */
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
        for (size_t j = 0; j < s->nhsamples; j++) {
            char h[512];
            fmt_hist(h, sizeof h, s->hsamples[j].h);
            at += (size_t)snprintf(text + at, sizeof text - at, " %s@%g", h,
                                   (double)s->hsamples[j].t_ms / 1000);
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
    range("topk(1, http_requests_total{job=\"api\"})", 3 * MIN, 5 * MIN, MIN,
          "{" HA "} 30@180 40@240 50@300");
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

/* ---- native histograms ---- */

/* hist{job="a"} at minute k (hist{job="b"} from 4m on at minute k - 3). */
#define A0 "h(c=0 s=0)"
#define A1 "h(c=4 s=5 -0.001..0.001=1 0.5..1=2 1..2=1)"
#define A2 "h(c=8 s=10 -0.001..0.001=2 0.5..1=4 1..2=2)"
#define A3 "h(c=12 s=15 -0.001..0.001=3 0.5..1=6 1..2=3)"
#define A4 "h(c=16 s=20 -0.001..0.001=4 0.5..1=8 1..2=4)"
#define A5 "h(c=20 s=25 -0.001..0.001=5 0.5..1=10 1..2=5)"
#define A6 "h(c=24 s=30 -0.001..0.001=6 0.5..1=12 1..2=6)"
#define A10 "h(c=40 s=50 -0.001..0.001=10 0.5..1=20 1..2=10)"
/* A1 per minute, as a per-second rate: 1/60, 2/60 and 4/60 */
#define A1_RATE                                                                                    \
    "h(c=0.06666666667 s=0.08333333333 -0.001..0.001=0.01666666667 0.5..1=0.03333333333 "          \
    "1..2=0.01666666667)"

static void test_hist_selectors(void **state)
{
    (void)state;
    instant("hist", 5 * MIN, "{__name__=hist,job=a} " A5 "@300\n{__name__=hist,job=b} " A2 "@300");
    /* the newest sample of either kind, stamped with the step time */
    instant("mixed", 4 * MIN, "{__name__=mixed,job=m} 4@240");
    instant("mixed", 5 * MIN + 30000, "{__name__=mixed,job=m} " A5 "@330");
    range("mixed", 3 * MIN, 6 * MIN, MIN,
          "{__name__=mixed,job=m} 3@180 4@240 " A5 "@300 " A6 "@360");
    /* the lookback keeps a histogram at exactly t - 5m, as for floats */
    instant("hist{job=\"a\"}", 15 * MIN, "{__name__=hist,job=a} " A10 "@900");
    instant("hist{job=\"a\"}", 15 * MIN + 1, "");
    /* a stale histogram ends the series */
    instant("hstale", 3 * MIN, "{__name__=hstale,job=s} " A3 "@180");
    instant("hstale", 4 * MIN, "");
    instant("hstale", 8 * MIN, "");
    range("hstale", 2 * MIN, 5 * MIN, MIN, "{__name__=hstale,job=s} " A2 "@120 " A3 "@180");
    /* range selectors return histograms with their stored times, stale markers dropped */
    instant("hstale[10m]", 10 * MIN,
            "{__name__=hstale,job=s} " A0 "@0 " A1 "@60 " A2 "@120 " A3 "@180");
    instant("mixed[1m]", 5 * MIN, "{__name__=mixed,job=m} 4@240 " A5 "@300");
    instant("hist{job=\"a\"}[2m:1m]", 5 * MIN,
            "{__name__=hist,job=a} " A3 "@180 " A4 "@240 " A5 "@300");
    /* an @-pinned histogram repeats on every step */
    range("hist{job=\"a\"} @ 60", 0, 2 * MIN, MIN,
          "{__name__=hist,job=a} " A1 "@0 " A1 "@60 " A1 "@120");
    /* histogram samples count against max_samples */
    opts.max_samples = 3;
    fails("hstale[10m]", 10 * MIN, 10 * MIN, 0, OSP_EEXEC, "too many samples");
    fails("hist{job=\"a\"}", 0, 3 * MIN, MIN, OSP_EEXEC, "too many samples");
    instant("hist", 5 * MIN, "{__name__=hist,job=a} " A5 "@300\n{__name__=hist,job=b} " A2 "@300");
    opts.max_samples = 0;
}

static void test_hist_rate(void **state)
{
    (void)state;
    osp__promql_set_fn_lookup(NULL);
    /* [5m, 10m]: A10 - A5 = A5 over exactly 300 s */
    instant("rate(hist{job=\"a\"}[5m])", 10 * MIN, "{job=a} " A1_RATE "@600");
    /* [30s, 330s] holds 1m..5m: A5 - A1 = A4 over 240 s, extrapolated by 30 s on each side
     * (within 1.1 average steps): A4 * 300 / 240 = A5 */
    instant("increase(hist{job=\"a\"}[5m])", 5 * MIN + 30000, "{job=a} " A5 "@330");
    /* [-1m, 4m] holds 0m..4m: as in Prometheus 2.42 the zero point does not limit the
     * extrapolation of histograms (floats stop at it): A4 * 300 / 240 = A5 */
    instant("increase(hist{job=\"a\"}[5m])", 4 * MIN, "{job=a} " A5 "@240");
    instant("increase(http_requests_total{instance=\"a\"}[5m])", 4 * MIN,
            "{instance=a,job=api} 40@240");
    /* b resets at 4m: A2 - A0 plus A3 (the sample before the reset) = A5 */
    instant("increase(hist{job=\"b\"}[5m])", 5 * MIN, "{job=b} " A5 "@300");
    /* [1m, 3m]: A3 - A1; [2m, 4m]: A1 - A2 + A3; [3m, 5m]: A2 - A3 + A3: A2 each time */
    range("increase(hist{job=\"b\"}[2m])", 3 * MIN, 5 * MIN, MIN,
          "{job=b} " A2 "@180 " A2 "@240 " A2 "@300");
    /* a gauge histogram: (0.5,1] goes 4 -> 1 -> 5 over [2m, 4m], 1 -> 5 -> 9 over [3m, 5m] */
    instant("delta(ghist[2m])", 4 * MIN, "{job=g} h(c=1 s=1 0.5..1=1)@240");
    instant("delta(ghist[2m])", 5 * MIN, "{job=g} h(c=8 s=8 0.5..1=8)@300");
    /* windows mixing floats and histograms give nothing; floats alone or histograms alone
     * do: 1 -> 4 over [1m, 4m], and A10 - A7 = A3 over 180 s */
    instant("rate(mixed[3m])", 6 * MIN, "");
    instant("rate(mixed[3m])", 4 * MIN, "{job=m} 0.01666666667@240");
    instant("rate(mixed[3m])", 10 * MIN, "{job=m} " A1_RATE "@600");
    /* irate and idelta: the newest two samples; irate takes the newest alone after a
     * reset (A1 / 60 s), idelta subtracts (A1 - A3) */
    instant("irate(hist{job=\"a\"}[5m])", 5 * MIN, "{job=a} " A1_RATE "@300");
    instant("irate(hist{job=\"b\"}[5m])", 4 * MIN, "{job=b} " A1_RATE "@240");
    /* (as in Prometheus, the zero bucket shows only with a positive count) */
    instant("idelta(hist{job=\"b\"}[5m])", 4 * MIN, "{job=b} h(c=-8 s=-10 0.5..1=-4 1..2=-2)@240");
    instant("irate(mixed[1m])", 5 * MIN, "");
    instant("irate(mixed[2m])", 6 * MIN, "{job=m} " A1_RATE "@360");
}

static void test_hist_over_time(void **state)
{
    (void)state;
    osp__promql_set_fn_lookup(NULL);
    /* A3 + A4 + A5, and that over 3 */
    instant("sum_over_time(hist{job=\"a\"}[2m])", 5 * MIN,
            "{job=a} h(c=48 s=60 -0.001..0.001=12 0.5..1=24 1..2=12)@300");
    instant("avg_over_time(hist{job=\"a\"}[2m])", 5 * MIN, "{job=a} " A4 "@300");
    instant("sum_over_time(mixed[3m])", 6 * MIN, "");
    instant("avg_over_time(mixed[3m])", 6 * MIN, "");
    /* histograms count as samples: floats at 3m and 4m, histograms at 5m and 6m */
    instant("count_over_time(mixed[3m])", 6 * MIN, "{job=m} 4@360");
    instant("present_over_time(hist{job=\"a\"}[1m])", 5 * MIN, "{job=a} 1@300");
    instant("last_over_time(mixed[3m])", 4 * MIN, "{__name__=mixed,job=m} 4@240");
    instant("last_over_time(mixed[3m])", 6 * MIN, "{__name__=mixed,job=m} " A6 "@360");
    instant("absent_over_time(hstale[1m])", 3 * MIN, "");
    instant("absent_over_time(hstale[1m])", 5 * MIN, "{} 1@300");
    /* float-only functions read the floats of a window and ignore its histograms */
    instant("max_over_time(mixed[3m])", 6 * MIN, "{job=m} 4@360");
    instant("max_over_time(hist[5m])", 6 * MIN, "");
    instant("deriv(mixed[3m])", 6 * MIN, "{job=m} 0.01666666667@360");
    instant("quantile_over_time(0.5, hist[5m])", 6 * MIN, "");
}

static void test_hist_functions(void **state)
{
    (void)state;
    osp__promql_set_fn_lookup(NULL);
    instant("histogram_count(hist)", 5 * MIN, "{job=a} 20@300\n{job=b} 8@300");
    instant("histogram_sum(hist{job=\"a\"})", 5 * MIN, "{job=a} 25@300");
    instant("histogram_count(errs)", 5 * MIN, "");
    /* A5: rank 10 lies in (0.5, 1] after the zero bucket's 5: 0.5 + 0.5 * 5 / 10; rank 2
     * in the zero bucket, taken as [0, 0.001] without negative buckets: 0.001 * 2 / 5 */
    instant("histogram_quantile(0.5, hist{job=\"a\"})", 5 * MIN, "{job=a} 0.75@300");
    instant("histogram_quantile(0.1, hist{job=\"a\"})", 5 * MIN, "{job=a} 0.0004@300");
    /* [-1, 1] holds the zero bucket and (0.5, 1]: 15 of 20 */
    instant("histogram_fraction(-1, 1, hist{job=\"a\"})", 5 * MIN, "{job=a} 0.75@300");
    /* buckets at their geometric middles 0, sqrt(0.5), sqrt(2) around the mean 25 / 20:
     * (5 * 1.25^2 + 10 * (sqrt(0.5) - 1.25)^2 + 5 * (sqrt(2) - 1.25)^2) / 20 */
    instant("histogram_stdvar(hist{job=\"a\"})", 5 * MIN, "{job=a} 0.544733047@300");
    instant("histogram_stddev(hist{job=\"a\"})", 5 * MIN, "{job=a} 0.7380603275@300");
    instant("timestamp(hist{job=\"a\"})", 5 * MIN + 30000, "{job=a} 300@330");
    instant("timestamp(mixed)", 5 * MIN, "{job=m} 300@300");
    instant("label_replace(hist{job=\"a\"}, \"x\", \"y\", \"\", \"\")", 5 * MIN,
            "{__name__=hist,job=a,x=y} " A5 "@300");
    instant("label_join(hist{job=\"a\"}, \"x\", \"-\", \"job\", \"job\")", 5 * MIN,
            "{__name__=hist,job=a,x=a-a} " A5 "@300");
    instant("absent(hist{job=\"a\"})", 5 * MIN, "");
    /* float functions drop histogram elements */
    instant("abs(hist)", 5 * MIN, "");
    instant("sort(hist)", 5 * MIN, "");
    instant("clamp_min(hist, 0)", 5 * MIN, "");
    instant("round({__name__=~\"hist|errs\"})", 5 * MIN,
            "{instance=a,job=api} 5@300\n{instance=b,job=api} 3@300");
    instant("scalar(hist{job=\"a\"})", 5 * MIN, "scalar NaN@300");
}

static void test_hist_binops(void **state)
{
    (void)state;
    /* at 5m: a = A5, b = A2 */
    instant("hist{job=\"a\"} + on() hist{job=\"b\"}", 5 * MIN,
            "{} h(c=28 s=35 -0.001..0.001=7 0.5..1=14 1..2=7)@300");
    instant("hist{job=\"a\"} - ignoring(job) hist{job=\"b\"}", 5 * MIN, "{} " A3 "@300");
    instant("hist{job=\"a\"} * 2", 5 * MIN,
            "{job=a} h(c=40 s=50 -0.001..0.001=10 0.5..1=20 1..2=10)@300");
    instant("2 * hist{job=\"a\"}", 5 * MIN,
            "{job=a} h(c=40 s=50 -0.001..0.001=10 0.5..1=20 1..2=10)@300");
    instant("hist{job=\"a\"} / 2", 5 * MIN,
            "{job=a} h(c=10 s=12.5 -0.001..0.001=2.5 0.5..1=5 1..2=2.5)@300");
    /* vector matching with floats: errs{instance="a"} is 5, errs{instance="b"} 3 */
    instant("hist{job=\"a\"} * on() errs{instance=\"a\"}", 5 * MIN,
            "{} h(c=100 s=125 -0.001..0.001=25 0.5..1=50 1..2=25)@300");
    instant("errs{instance=\"a\"} * on() hist{job=\"a\"}", 5 * MIN,
            "{} h(c=100 s=125 -0.001..0.001=25 0.5..1=50 1..2=25)@300");
    instant("hist * on() group_left errs{instance=\"b\"}", 5 * MIN,
            "{job=a} h(c=60 s=75 -0.001..0.001=15 0.5..1=30 1..2=15)@300\n"
            "{job=b} h(c=24 s=30 -0.001..0.001=6 0.5..1=12 1..2=6)@300");
    /* every other operator or combination drops the element */
    instant("2 / hist{job=\"a\"}", 5 * MIN, "");
    instant("hist{job=\"a\"} + 1", 5 * MIN, "");
    instant("hist{job=\"a\"} ^ 2", 5 * MIN, "");
    instant("hist{job=\"a\"} > 1", 5 * MIN, "");
    instant("hist{job=\"a\"} > bool 1", 5 * MIN, "");
    instant("hist{job=\"a\"} + on() errs{instance=\"a\"}", 5 * MIN, "");
    instant("hist{job=\"a\"} * on() hist{job=\"b\"}", 5 * MIN, "");
    instant("hist{job=\"a\"} == bool on() hist{job=\"b\"}", 5 * MIN, "");
    /* set operators pass histograms through by labels */
    instant("hist and on(job) hist{job=\"a\"}", 5 * MIN, "{__name__=hist,job=a} " A5 "@300");
    instant("hist unless on(job) hist{job=\"a\"}", 5 * MIN, "{__name__=hist,job=b} " A2 "@300");
    instant("hist{job=\"a\"} or errs{instance=\"a\"}", 5 * MIN,
            "{__name__=errs,instance=a,job=api} 5@300\n{__name__=hist,job=a} " A5 "@300");
    /* unary minus is times -1 (the zero bucket shows only with a positive count) */
    instant("-hist{job=\"a\"}", 5 * MIN, "{job=a} h(c=-20 s=-25 0.5..1=-10 1..2=-5)@300");
    range("hist{job=\"a\"} / 4", 0, 2 * MIN, MIN,
          "{job=a} h(c=0 s=0)@0 h(c=1 s=1.25 -0.001..0.001=0.25 0.5..1=0.5 1..2=0.25)@60 "
          "h(c=2 s=2.5 -0.001..0.001=0.5 0.5..1=1 1..2=0.5)@120");
}

static void test_hist_aggregations(void **state)
{
    (void)state;
    /* at 5m: a = A5, b = A2 */
    instant("sum(hist)", 5 * MIN, "{} h(c=28 s=35 -0.001..0.001=7 0.5..1=14 1..2=7)@300");
    instant("avg(hist)", 5 * MIN, "{} h(c=14 s=17.5 -0.001..0.001=3.5 0.5..1=7 1..2=3.5)@300");
    instant("sum by (job) (hist)", 5 * MIN, "{job=a} " A5 "@300\n{job=b} " A2 "@300");
    instant("count(hist)", 5 * MIN, "{} 2@300");
    instant("group(hist)", 5 * MIN, "{} 1@300");
    instant("count({__name__=~\"hist|errs\"})", 5 * MIN, "{} 4@300");
    /* a group of floats and histograms gives nothing */
    instant("sum({__name__=~\"hist|errs\"})", 5 * MIN, "");
    instant("avg({__name__=~\"hist|errs\"})", 5 * MIN, "");
    instant("sum by (__name__) ({__name__=~\"hist|errs\"})", 5 * MIN,
            "{__name__=errs} 8@300\n{__name__=hist} h(c=28 s=35 -0.001..0.001=7 0.5..1=14 "
            "1..2=7)@300");
    /* the other operators ignore histograms */
    instant("max(hist)", 5 * MIN, "");
    instant("min({__name__=~\"hist|errs\"})", 5 * MIN, "{} 3@300");
    instant("stddev(hist)", 5 * MIN, "");
    instant("quantile(0.5, hist)", 5 * MIN, "");
    instant("topk(1, hist)", 5 * MIN, "");
    instant("count_values(\"v\", hist)", 5 * MIN, "");
    /* per step: 3m: A3 + A3; 4m: A4 + A1; 5m: A5 + A2; mixed switches kind at 5m */
    range("sum(hist)", 3 * MIN, 5 * MIN, MIN,
          "{} h(c=24 s=30 -0.001..0.001=6 0.5..1=12 1..2=6)@180 " A5 "@240 "
          "h(c=28 s=35 -0.001..0.001=7 0.5..1=14 1..2=7)@300");
    range("avg(mixed)", 4 * MIN, 5 * MIN, MIN, "{} 4@240 " A5 "@300");
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
        cmocka_unit_test_setup_teardown(test_hist_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hist_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hist_over_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hist_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hist_binops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hist_aggregations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
