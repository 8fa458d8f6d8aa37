/* Handlers of the Prometheus HTTP API (api/prom.h). Parameters come from the query string
 * and, for POST, from a form-encoded body, as Prometheus reads them; times and durations
 * parse as Prometheus parses them; responses use its envelope:
 *   {"status":"success","data":...} or
 *   {"status":"error","errorType":"bad_data|execution|timeout|internal","error":"..."}. */
#include "api/prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/form.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/numfmt.h"
#include "core/version.h"
#include "query/params.h"
#include "query/promql_eval.h"
#include "query/promql_parse.h"
#include "scrape/relabel.h"

#define JSON_TYPE "application/json"
#define LABEL_PREFIX "/api/v1/label/"
#define VALUES_SUFFIX "/values"
#define DEFAULT_TIMEOUT_MS 120000
#define MAX_POINTS 11000 /* per series in a range query, as Prometheus */
#define MAX_MATCH 64     /* match[] parameters per request */
#define MIN_TIME_MS INT64_MIN / 2
#define MAX_TIME_MS INT64_MAX / 2
#define ERRLEN 512

enum { NROUTES = 9 };

typedef struct prom_endpoint prom_endpoint;
typedef void (*prom_fn)(osp_prom_api *api, const osp_http_request *req, osp_http_response *res);

struct prom_endpoint {
    osp_prom_api *api;
    prom_fn fn;
};

struct osp_prom_api {
    osp_store *store;
    osp_prom_api_options opt;
    prom_endpoint endpoints[NROUTES];
    osp_route routes[NROUTES];
};

/* ---- responses ---- */

/* Answers an error in Prometheus's envelope. */
static void fail(osp_http_response *res, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(osp_http_response *res, int status, const char *type, const char *fmt, ...)
{
    char msg[ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    osp_buf_reset(&res->body);
    res->status = status;
    res->content_type = JSON_TYPE;
    int rc =
        osp_buf_printf(&res->body, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":", type);
    rc |= osp_buf_json_str(&res->body, msg, strlen(msg));
    rc |= osp_buf_putc(&res->body, '}');
    if (rc)
        osp_buf_reset(&res->body);
}

/* Answers a failure of the store or of rendering. */
static void fail_rc(osp_http_response *res, int rc)
{
    if (rc == OSP_EBUSY) {
        osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
        fail(res, 503, "unavailable", "the store is busy, retry later");
    } else if (rc == OSP_ETOOBIG) {
        fail(res, 422, "execution", "the result is too large: narrow the query");
    } else if (rc == OSP_EPARSE || rc == OSP_EINVAL) {
        fail(res, 400, "bad_data", "%s", osp_strerror(rc));
    } else {
        fail(res, 500, "internal", "%s", osp_strerror(rc));
    }
}

static int begin_success(osp_buf *b)
{
    return osp_buf_puts(b, "{\"status\":\"success\",\"data\":");
}

static void finish_success(osp_http_response *res, int rc)
{
    if (rc == 0)
        rc = osp_buf_putc(&res->body, '}');
    if (rc) {
        fail_rc(res, rc);
        return;
    }
    res->status = 200;
    res->content_type = JSON_TYPE;
}

/* Unix seconds as Prometheus writes a timestamp: the milliseconds as a three-digit
 * fraction when there are any ("1700000000.250"). */
static int put_time(osp_buf *b, int64_t t_ms)
{
    uint64_t a = t_ms < 0 ? (uint64_t)0 - (uint64_t)t_ms : (uint64_t)t_ms;
    int rc = osp_buf_printf(b, "%s%" PRIu64, t_ms < 0 ? "-" : "", a / 1000);
    return rc || a % 1000 == 0 ? rc : osp_buf_printf(b, ".%03u", (unsigned)(a % 1000));
}

/* [seconds,"value"] as Prometheus writes a point. */
static int put_point(osp_buf *b, int64_t t_ms, double v)
{
    int rc = osp_buf_putc(b, '[');
    rc |= put_time(b, t_ms);
    rc |= osp_buf_puts(b, ",\"");
    rc |= osp_buf_float_prom(b, v);
    return rc ? rc : osp_buf_puts(b, "\"]");
}

static int put_str_array(osp_buf *b, const osp_str *a, size_t n)
{
    int rc = osp_buf_putc(b, '[');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc = osp_buf_putc(b, ',');
        if (rc == 0)
            rc = osp_buf_json_str(b, a[i].p, a[i].n);
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

/* Writes the buckets of one histogram into its JSON object. */
typedef struct bucket_writer {
    osp_buf *b;
    size_t n; /* buckets written */
} bucket_writer;

/* Appends one bucket as [rule,"lower","upper","count"], opening "buckets" before the first
 * (osp_hist_each_bucket callback). */
static int put_bucket(void *ctx, const osp_hist_bucket *bk)
{
    bucket_writer *w = ctx;
    int rc = osp_buf_printf(w->b, "%s%d,\"", w->n++ ? ",[" : ",\"buckets\":[[",
                            osp_hist_bucket_boundaries(bk));
    rc |= osp_buf_float_prom(w->b, bk->lower);
    rc |= osp_buf_puts(w->b, "\",\"");
    rc |= osp_buf_float_prom(w->b, bk->upper);
    rc |= osp_buf_puts(w->b, "\",\"");
    rc |= osp_buf_float_prom(w->b, bk->count);
    return rc ? rc : osp_buf_puts(w->b, "\"]");
}

/* [seconds,{"count":"..","sum":"..","buckets":[...]}] as Prometheus writes a histogram
 * point: numbers as sample values, buckets with a count other than 0 in ascending order,
 * "buckets" left out when there are none. */
static int put_hpoint(osp_buf *b, int64_t t_ms, const osp_histogram *h)
{
    bucket_writer w = {b, 0};
    int rc = osp_buf_putc(b, '[');
    rc |= put_time(b, t_ms);
    rc |= osp_buf_puts(b, ",{\"count\":\"");
    rc |= osp_buf_float_prom(b, h->count);
    rc |= osp_buf_puts(b, "\",\"sum\":\"");
    rc |= osp_buf_float_prom(b, h->sum);
    rc |= osp_buf_putc(b, '"');
    if (rc == 0)
        rc = osp_hist_each_bucket(h, put_bucket, &w);
    if (rc == 0 && w.n)
        rc = osp_buf_putc(b, ']');
    return rc ? rc : osp_buf_puts(b, "}]");
}

int osp_prom_put_result(osp_buf *b, const osp_promql_result *r)
{
    static const char *const names[] = {
        [OSP_PROMQL_T_SCALAR] = "scalar",
        [OSP_PROMQL_T_VECTOR] = "vector",
        [OSP_PROMQL_T_MATRIX] = "matrix",
        [OSP_PROMQL_T_STRING] = "string",
    };
    int rc = osp_buf_printf(b, "{\"resultType\":\"%s\",\"result\":", names[r->type]);
    if (r->type == OSP_PROMQL_T_SCALAR) { /* Prometheus writes scalars without exponents */
        rc |= osp_buf_putc(b, '[');
        rc |= put_time(b, r->t_ms);
        rc |= osp_buf_puts(b, ",\"");
        rc |= osp_buf_float(b, r->scalar);
        return rc ? rc : osp_buf_puts(b, "\"]}");
    }
    if (r->type == OSP_PROMQL_T_STRING) {
        rc |= osp_buf_putc(b, '[');
        rc |= put_time(b, r->t_ms);
        rc |= osp_buf_putc(b, ',');
        rc |= osp_buf_json_str(b, r->string.p, r->string.n);
        return rc ? rc : osp_buf_puts(b, "]}");
    }
    rc |= osp_buf_putc(b, '[');
    for (size_t i = 0; rc == 0 && i < r->nseries; i++) {
        const osp_series *s = &r->series[i];
        if (i)
            rc |= osp_buf_putc(b, ',');
        rc |= osp_buf_puts(b, "{\"metric\":");
        rc |= osp_json_put_labels(b, s->labels, s->nlabels);
        if (r->type == OSP_PROMQL_T_VECTOR && s->nsamples) {
            rc |= osp_buf_puts(b, ",\"value\":");
            rc |= put_point(b, s->samples[0].t_ms, s->samples[0].v);
        } else if (r->type == OSP_PROMQL_T_VECTOR) {
            rc |= osp_buf_puts(b, ",\"histogram\":");
            rc |= s->nhsamples ? put_hpoint(b, s->hsamples[0].t_ms, s->hsamples[0].h) : OSP_EINVAL;
        } else {
            /* as Prometheus: "values" only when there are floats, then "histograms" */
            if (s->nsamples)
                rc |= osp_buf_puts(b, ",\"values\":[");
            for (size_t j = 0; rc == 0 && j < s->nsamples; j++) {
                if (j)
                    rc |= osp_buf_putc(b, ',');
                rc |= put_point(b, s->samples[j].t_ms, s->samples[j].v);
            }
            if (s->nsamples)
                rc |= osp_buf_putc(b, ']');
            if (s->nhsamples)
                rc |= osp_buf_puts(b, ",\"histograms\":[");
            for (size_t j = 0; rc == 0 && j < s->nhsamples; j++) {
                if (j)
                    rc |= osp_buf_putc(b, ',');
                rc |= put_hpoint(b, s->hsamples[j].t_ms, s->hsamples[j].h);
            }
            if (s->nhsamples)
                rc |= osp_buf_putc(b, ']');
        }
        rc |= osp_buf_putc(b, '}');
    }
    return rc ? rc : osp_buf_puts(b, "]}");
}

/* ---- parameters ---- */

/* A float in text, as strconv.ParseFloat reads it (NaN refused): 1 with *v, else 0. */
static int parse_float(osp_str text, double *v)
{
    char buf[64], *end;
    if (text.n == 0 || text.n >= sizeof buf)
        return 0;
    memcpy(buf, text.p, text.n);
    buf[text.n] = 0;
    *v = strtod(buf, &end);
    return *end == 0 && !isnan(*v);
}

/* Prometheus's parseTime: float seconds (rounded to the millisecond) or RFC 3339. */
static int parse_time(osp_str text, int64_t *ms)
{
    double t;
    if (parse_float(text, &t)) {
        if (!(fabs(t) < 9.2e15))
            return OSP_EPARSE;
        double whole, frac = modf(t, &whole);
        frac = round(frac * 1000) / 1000;
        int64_t ns = (int64_t)(frac * 1e9);
        *ms = (int64_t)whole * 1000 + ns / 1000000;
        return 0;
    }
    uint64_t ns;
    osp_param_err err;
    if (osp_param_time("time", text, &ns, &err))
        return OSP_EPARSE;
    *ms = (int64_t)(ns / 1000000);
    return 0;
}

/* Prometheus's parseDuration: float seconds or a PromQL duration, in milliseconds. */
static int parse_duration(osp_str text, int64_t *ms)
{
    double d;
    if (parse_float(text, &d)) {
        if (!(fabs(d * 1e9) < 9.2e18))
            return OSP_ETOOBIG;
        *ms = (int64_t)(d * 1e9) / 1000000;
        return 0;
    }
    return osp_prom_duration_parse(text, ms);
}

/* Reads parameter name with parse (a time or a duration, "timestamp" or "duration" in
 * messages). 1 with *ms, 0 when absent or empty, or answers 400 and returns -1. */
static int ms_param(const osp_form *p, osp_http_response *res, const char *name,
                    int (*parse)(osp_str, int64_t *), const char *what, int64_t *ms)
{
    osp_str v;
    int rc = osp_form_get(p, name, &v);
    if (rc < 0) {
        fail(res, 400, "bad_data", "invalid parameter \"%s\": bad percent-encoding", name);
        return -1;
    }
    if (rc == 0 || v.n == 0)
        return 0;
    rc = parse(v, ms);
    if (rc) {
        fail(res, 400, "bad_data",
             "invalid parameter \"%s\": cannot parse \"%.*s\" to a valid "
             "%s%s",
             name, (int)(v.n > 64 ? 64 : v.n), v.p, what,
             rc == OSP_ETOOBIG ? ". It overflows int64" : "");
        return -1;
    }
    return 1;
}

/* Reads time parameter name into *ms, def when absent. 0, or answers 400 and returns -1. */
static int time_param(const osp_form *p, osp_http_response *res, const char *name, int64_t def,
                      int64_t *ms)
{
    int rc = ms_param(p, res, name, parse_time, "timestamp", ms);
    if (rc == 0)
        *ms = def;
    return rc < 0 ? -1 : 0;
}

/* Reads duration parameter name; *given says whether it was there. 0, or answers and -1. */
static int duration_param(const osp_form *p, osp_http_response *res, const char *name, int64_t *ms,
                          int *given)
{
    int rc = ms_param(p, res, name, parse_duration, "duration", ms);
    *given = rc == 1;
    return rc < 0 ? -1 : 0;
}

/* ---- selectors ---- */

static int to_matcher_type(osp_promql_match op)
{
    switch (op) {
    case OSP_PROMQL_MATCH_EQ:
        return OSP_MATCH_EQ;
    case OSP_PROMQL_MATCH_NE:
        return OSP_MATCH_NEQ;
    case OSP_PROMQL_MATCH_RE:
        return OSP_MATCH_RE;
    case OSP_PROMQL_MATCH_NRE:
        return OSP_MATCH_NRE;
    }
    return OSP_MATCH_EQ;
}

/* A match[] selector parsed into store matchers (arena). 0, or answers 400 and returns -1. */
typedef struct selector {
    osp_label_matcher *m;
    size_t n;
} selector;

/* The store matchers of vector selector e (the metric name as a __name__ matcher first).
 * 0 or OSP_ENOMEM. */
static int vector_matchers(osp_arena *arena, const osp_promql_expr *e, selector *out)
{
    size_t n = e->u.vs.nmatchers + (e->u.vs.name.n > 0);
    out->m = osp_arena_calloc(arena, n ? n : 1, sizeof *out->m);
    if (!out->m)
        return OSP_ENOMEM;
    out->n = 0;
    if (e->u.vs.name.n)
        out->m[out->n++] =
            (osp_label_matcher){OSP_MATCH_EQ, OSP_STR_LIT(OSP_METRIC_NAME_LABEL), e->u.vs.name};
    for (size_t i = 0; i < e->u.vs.nmatchers; i++) {
        const osp_promql_matcher *pm = &e->u.vs.matchers[i];
        out->m[out->n++] = (osp_label_matcher){to_matcher_type(pm->op), pm->name, pm->value};
    }
    return 0;
}

static int parse_selector(osp_arena *arena, osp_str text, selector *out, osp_http_response *res)
{
    char err[ERRLEN];
    osp_promql_expr *e;
    int rc = osp_promql_parse(text, arena, &e, err, sizeof err);
    if (rc == OSP_ENOMEM) {
        fail_rc(res, rc);
        return -1;
    }
    if (rc == 0 && e->kind != OSP_PROMQL_VECTOR) {
        snprintf(err, sizeof err, "1:1: parse error: expected a vector selector");
        rc = OSP_EPARSE;
    }
    if (rc) {
        fail(res, 400, "bad_data", "invalid parameter \"match[]\": %s", err);
        return -1;
    }
    if (vector_matchers(arena, e, out)) {
        fail_rc(res, OSP_ENOMEM);
        return -1;
    }
    return 0;
}

/* Every match[] of the request. 0, or answers and returns -1. */
static int match_params(const osp_form *p, osp_http_response *res, selector **sels, size_t *n)
{
    osp_str texts[MAX_MATCH];
    int rc = osp_form_all(p, "match[]", texts, MAX_MATCH, n);
    if (rc == OSP_ETOOBIG) {
        fail(res, 400, "bad_data", "too many match[] parameters (at most %d)", MAX_MATCH);
        return -1;
    }
    if (rc) {
        fail(res, 400, "bad_data", "invalid parameter \"match[]\": bad percent-encoding");
        return -1;
    }
    *sels = osp_arena_calloc(p->req->arena, *n ? *n : 1, sizeof **sels);
    if (!*sels) {
        fail_rc(res, OSP_ENOMEM);
        return -1;
    }
    for (size_t i = 0; i < *n; i++)
        if (parse_selector(p->req->arena, texts[i], &(*sels)[i], res))
            return -1;
    return 0;
}

/* start/end of the metadata endpoints, defaulting to all time. */
static int range_params(const osp_form *p, osp_http_response *res, int64_t *start, int64_t *end)
{
    return time_param(p, res, "start", MIN_TIME_MS, start) ||
           time_param(p, res, "end", MAX_TIME_MS, end);
}

/* ---- PromQL ---- */

typedef struct store_source {
    osp_store *store;
} store_source;

static int select_from_store(void *ctx, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                             int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout)
{
    store_source *s = ctx;
    return osp_store_select_series(s->store, m, n, mint_ms, maxt_ms, 1, arena, out, nout);
}

/* Parses and evaluates the query; answers errors. 0 with *r, or -1 when answered. */
static int run_query(osp_prom_api *api, const osp_form *p, osp_http_response *res, int64_t start,
                     int64_t end, int64_t step, osp_promql_result *r)
{
    osp_str text = {0};
    char err[ERRLEN];
    int64_t timeout = api->opt.timeout_ms ? api->opt.timeout_ms : DEFAULT_TIMEOUT_MS, t;
    int given;
    if (osp_form_get(p, "query", &text) < 0) {
        fail(res, 400, "bad_data", "invalid parameter \"query\": bad percent-encoding");
        return -1;
    }
    if (duration_param(p, res, "timeout", &t, &given))
        return -1;
    if (given && t > 0 && t < timeout)
        timeout = t;
    osp_promql_expr *e;
    int rc = osp_promql_parse(text, p->req->arena, &e, err, sizeof err);
    if (rc == OSP_EPARSE) {
        fail(res, 400, "bad_data", "invalid parameter \"query\": %s", err);
        return -1;
    }
    if (rc) {
        fail_rc(res, rc);
        return -1;
    }
    store_source src_ctx = {api->store};
    osp_promql_source src = {&src_ctx, select_from_store};
    osp_promql_opts opts = {.lookback_ms = api->opt.lookback_ms,
                            .max_samples = api->opt.max_samples,
                            .deadline_ms = osp_clock_ms(CLOCK_MONOTONIC) + timeout};
    rc = osp_promql_eval(&src, e, start, end, step, &opts, p->req->arena, r, err, sizeof err);
    switch (rc) {
    case 0:
        return 0;
    case OSP_EINVAL:
    case OSP_EPARSE:
        fail(res, 400, "bad_data", "%s", err[0] ? err : osp_strerror(rc));
        break;
    case OSP_EEXEC:
        fail(res, 422, "execution", "%s", err);
        break;
    case OSP_ETIMEDOUT:
        fail(res, 503, "timeout", "query timed out in expression evaluation");
        break;
    case OSP_ENOMEM:
        fail(res, 422, "execution", "out of memory evaluating the query");
        break;
    default:
        fail(res, 500, "internal", "%s", err[0] ? err : osp_strerror(rc));
    }
    return -1;
}

static void query(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    int64_t t;
    osp_promql_result r;
    osp_form_init(&p, req);
    if (time_param(&p, res, "time", osp_clock_ms(CLOCK_REALTIME), &t) ||
        run_query(api, &p, res, t, t, 0, &r))
        return;
    int rc = begin_success(&res->body);
    rc |= osp_prom_put_result(&res->body, &r);
    finish_success(res, rc);
}

static void query_range(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    int64_t start, end, step;
    int given;
    osp_promql_result r;
    osp_form_init(&p, req);
    if (time_param(&p, res, "start", INT64_MIN, &start) ||
        time_param(&p, res, "end", INT64_MIN, &end))
        return;
    if (start == INT64_MIN || end == INT64_MIN) {
        fail(res, 400, "bad_data",
             "invalid parameter \"%s\": cannot parse \"\" to a valid "
             "timestamp",
             start == INT64_MIN ? "start" : "end");
        return;
    }
    if (end < start) {
        fail(res, 400, "bad_data", "end timestamp must not be before start time");
        return;
    }
    if (duration_param(&p, res, "step", &step, &given))
        return;
    if (!given) {
        fail(res, 400, "bad_data",
             "invalid parameter \"step\": cannot parse \"\" to a valid "
             "duration");
        return;
    }
    if (step <= 0) {
        fail(res, 400, "bad_data",
             "zero or negative query resolution step widths are not "
             "accepted. Try a positive integer");
        return;
    }
    if ((end - start) / step > MAX_POINTS) {
        fail(res, 400, "bad_data",
             "exceeded maximum resolution of 11,000 points per "
             "timeseries. Try decreasing the query resolution (?step=XX)");
        return;
    }
    if (run_query(api, &p, res, start, end, step, &r))
        return;
    int rc = begin_success(&res->body);
    rc |= osp_prom_put_result(&res->body, &r);
    finish_success(res, rc);
}

/* ---- exemplars ---- */

/* The vector selectors of an expression, as Prometheus's parser.ExtractSelectors. */
typedef struct selectors {
    osp_arena *arena;
    osp_matcher_set *a;
    size_t n, cap;
} selectors;

static int collect_selectors(selectors *out, const osp_promql_expr *e)
{
    int rc = 0;
    if (!e)
        return 0;
    switch (e->kind) {
    case OSP_PROMQL_VECTOR: {
        selector sel;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 8;
            osp_matcher_set *a = osp_arena_alloc(out->arena, cap * sizeof *a);
            if (!a)
                return OSP_ENOMEM;
            if (out->n)
                memcpy(a, out->a, out->n * sizeof *a);
            out->a = a;
            out->cap = cap;
        }
        if ((rc = vector_matchers(out->arena, e, &sel)) == 0)
            out->a[out->n++] = (osp_matcher_set){sel.m, sel.n};
        return rc;
    }
    case OSP_PROMQL_MATRIX:
        return collect_selectors(out, e->u.ms.vs);
    case OSP_PROMQL_SUBQUERY:
        return collect_selectors(out, e->u.sq.expr);
    case OSP_PROMQL_CALL:
        for (size_t i = 0; i < e->u.call.nargs && rc == 0; i++)
            rc = collect_selectors(out, e->u.call.args[i]);
        return rc;
    case OSP_PROMQL_AGG:
        if ((rc = collect_selectors(out, e->u.agg.param)) == 0)
            rc = collect_selectors(out, e->u.agg.expr);
        return rc;
    case OSP_PROMQL_BINARY:
        if ((rc = collect_selectors(out, e->u.bin.lhs)) == 0)
            rc = collect_selectors(out, e->u.bin.rhs);
        return rc;
    case OSP_PROMQL_UNARY:
        return collect_selectors(out, e->u.unary.expr);
    case OSP_PROMQL_PAREN:
        return collect_selectors(out, e->u.paren.expr);
    default:
        return 0;
    }
}

/* {"labels":{...},"value":"v","timestamp":seconds}, as Prometheus writes an exemplar. */
static int put_exemplar(osp_buf *b, const osp_prom_exemplar *x)
{
    int rc = osp_buf_puts(b, "{\"labels\":");
    rc |= osp_json_put_labels(b, x->labels, x->nlabels);
    rc |= osp_buf_puts(b, ",\"value\":\"");
    rc |= osp_buf_float_prom(b, x->value);
    rc |= osp_buf_puts(b, "\",\"timestamp\":");
    rc |= put_time(b, x->t_ms);
    return rc ? rc : osp_buf_putc(b, '}');
}

static void query_exemplars(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    osp_str text = {0};
    int64_t start, end;
    char err[ERRLEN];
    osp_promql_expr *e;
    selectors sels = {.arena = req->arena};
    osp_series_exemplars *out;
    size_t n;
    osp_form_init(&p, req);
    if (range_params(&p, res, &start, &end))
        return;
    if (end < start) {
        fail(res, 400, "bad_data", "end timestamp must not be before start timestamp");
        return;
    }
    if (osp_form_get(&p, "query", &text) < 0) {
        fail(res, 400, "bad_data", "invalid parameter \"query\": bad percent-encoding");
        return;
    }
    int rc = osp_promql_parse(text, req->arena, &e, err, sizeof err);
    if (rc == OSP_EPARSE) {
        fail(res, 400, "bad_data", "%s", err);
        return;
    }
    if (rc == 0)
        rc = collect_selectors(&sels, e);
    if (rc == 0 && sels.n == 0) { /* Prometheus answers 204 when there is no selector */
        osp_buf_reset(&res->body);
        res->status = 204;
        return;
    }
    if (rc == 0)
        rc = osp_store_select_exemplars(api->store, sels.a, sels.n, start, end, req->arena, &out,
                                        &n);
    if (rc) {
        fail_rc(res, rc);
        return;
    }
    rc = begin_success(&res->body) | osp_buf_putc(&res->body, '[');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc |= (i ? osp_buf_putc(&res->body, ',') : 0) |
              osp_buf_puts(&res->body, "{\"seriesLabels\":");
        rc |= osp_json_put_labels(&res->body, out[i].labels, out[i].nlabels);
        rc |= osp_buf_puts(&res->body, ",\"exemplars\":[");
        for (size_t k = 0; rc == 0 && k < out[i].nexemplars; k++)
            rc |= (k ? osp_buf_putc(&res->body, ',') : 0) |
                  put_exemplar(&res->body, &out[i].exemplars[k]);
        rc |= osp_buf_puts(&res->body, "]}");
    }
    rc |= osp_buf_putc(&res->body, ']');
    finish_success(res, rc);
}

/* ---- series and labels ---- */

/* Appends the selected series of every selector to *all (deduplicated by the caller). */
static int select_all(osp_prom_api *api, osp_arena *arena, const selector *sels, size_t nsels,
                      int64_t start, int64_t end, osp_series **all, size_t *n)
{
    *all = NULL;
    *n = 0;
    for (size_t i = 0; i < nsels; i++) {
        osp_series *s;
        size_t ns;
        int rc = osp_store_select_series(api->store, sels[i].m, sels[i].n, start, end, 0, arena, &s,
                                         &ns);
        if (rc)
            return rc;
        if (*n == 0) {
            *all = s;
            *n = ns;
            continue;
        }
        osp_series *merged = osp_arena_alloc(arena, (*n + ns) * sizeof *merged + 1);
        if (!merged)
            return OSP_ENOMEM;
        memcpy(merged, *all, *n * sizeof *merged);
        memcpy(merged + *n, s, ns * sizeof *merged);
        *all = merged;
        *n += ns;
    }
    return 0;
}

static int cmp_series(const void *a, const void *b)
{
    const osp_series *x = a, *y = b;
    return osp_labels_compare(x->labels, x->nlabels, y->labels, y->nlabels);
}

static void series(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    selector *sels;
    size_t nsels, n;
    int64_t start, end;
    osp_series *all;
    osp_form_init(&p, req);
    if (match_params(&p, res, &sels, &nsels) || range_params(&p, res, &start, &end))
        return;
    if (nsels == 0) {
        fail(res, 400, "bad_data", "no match[] parameter provided");
        return;
    }
    int rc = select_all(api, req->arena, sels, nsels, start, end, &all, &n);
    if (rc) {
        fail_rc(res, rc);
        return;
    }
    if (nsels > 1 && n > 1)
        qsort(all, n, sizeof *all, cmp_series);
    rc = begin_success(&res->body) | osp_buf_putc(&res->body, '[');
    for (size_t i = 0, first = 1; rc == 0 && i < n; i++) {
        if (i && cmp_series(&all[i - 1], &all[i]) == 0)
            continue;
        if (!first)
            rc |= osp_buf_putc(&res->body, ',');
        first = 0;
        rc |= osp_json_put_labels(&res->body, all[i].labels, all[i].nlabels);
    }
    rc |= osp_buf_putc(&res->body, ']');
    finish_success(res, rc);
}

static int cmp_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

/* Sorts and removes duplicates in place; returns the new count. */
static size_t sort_unique(osp_str *a, size_t n)
{
    size_t k = 0;
    if (n > 1)
        qsort(a, n, sizeof *a, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || !osp_str_eq(a[k - 1], a[i]))
            a[k++] = a[i];
    return k;
}

/* Label names (name.n == 0) or the values of one label over every selector's series. */
static void label_listing(osp_prom_api *api, const osp_http_request *req, osp_http_response *res,
                          osp_str name)
{
    osp_form p;
    selector *sels;
    size_t nsels, n = 0;
    int64_t start, end;
    osp_str *out = NULL;
    osp_form_init(&p, req);
    if (match_params(&p, res, &sels, &nsels) || range_params(&p, res, &start, &end))
        return;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < (nsels ? nsels : 1); i++) {
        const osp_label_matcher *m = nsels ? sels[i].m : NULL;
        size_t nm = nsels ? sels[i].n : 0, k;
        osp_str *part;
        rc = name.n ? osp_store_label_values(api->store, name, m, nm, start, end, req->arena, &part,
                                             &k)
                    : osp_store_label_names(api->store, m, nm, start, end, req->arena, &part, &k);
        if (rc || k == 0)
            continue;
        osp_str *grown = osp_arena_alloc(req->arena, (n + k) * sizeof *grown);
        if (!grown) {
            rc = OSP_ENOMEM;
            break;
        }
        if (n)
            memcpy(grown, out, n * sizeof *grown);
        memcpy(grown + n, part, k * sizeof *grown);
        out = grown;
        n += k;
    }
    if (rc) {
        fail_rc(res, rc);
        return;
    }
    n = sort_unique(out, n);
    rc = begin_success(&res->body);
    rc |= put_str_array(&res->body, out, n);
    finish_success(res, rc);
}

static void labels(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    label_listing(api, req, res, (osp_str){0});
}

static void label_values(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_str rest = osp_str_make(req->path.p + strlen(LABEL_PREFIX),
                                req->path.n - strlen(LABEL_PREFIX)),
            suffix = OSP_STR_LIT(VALUES_SUFFIX), name;
    if (rest.n <= suffix.n ||
        !osp_str_eq(osp_str_make(rest.p + rest.n - suffix.n, suffix.n), suffix) ||
        memchr(rest.p, '/', rest.n - suffix.n)) {
        fail(res, 404, "not_found", "not found");
        return;
    }
    if (osp_http_percent_decode(req->arena, osp_str_make(rest.p, rest.n - suffix.n), 0, &name)) {
        fail(res, 400, "bad_data", "invalid label name: bad percent-encoding");
        return;
    }
    if (!osp_label_name_valid(name)) {
        fail(res, 400, "bad_data", "invalid label name: \"%.*s\"", (int)(name.n > 64 ? 64 : name.n),
             name.p);
        return;
    }
    label_listing(api, req, res, name);
}

/* ---- metadata and build information ---- */

static void metadata(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    osp_str family = {0}, limit_text = {0};
    size_t limit = SIZE_MAX, n;
    osp_metric_meta *meta;
    osp_form_init(&p, req);
    if (osp_form_get(&p, "metric", &family) < 0 || osp_form_get(&p, "limit", &limit_text) < 0) {
        fail(res, 400, "bad_data", "malformed query string: bad percent-encoding");
        return;
    }
    if (limit_text.n) {
        char buf[24];
        char *end;
        long long v;
        snprintf(buf, sizeof buf, "%.*s", (int)(limit_text.n < 23 ? limit_text.n : 23),
                 limit_text.p);
        v = strtoll(buf, &end, 10);
        if (*end || limit_text.n > 23) {
            fail(res, 400, "bad_data", "limit must be a number");
            return;
        }
        if (v >= 0)
            limit = (size_t)v;
    }
    int rc = osp_store_metric_metadata(api->store, family, req->arena, &meta, &n);
    if (rc) {
        fail_rc(res, rc);
        return;
    }
    if (n > limit)
        n = limit;
    rc = begin_success(&res->body) | osp_buf_putc(&res->body, '{');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc |= osp_buf_putc(&res->body, ',');
        rc |= osp_buf_json_str(&res->body, meta[i].family.p, meta[i].family.n);
        rc |= osp_buf_printf(&res->body,
                             ":[{\"type\":\"%s\",\"help\":", osp_metric_kind_name(meta[i].kind));
        rc |= osp_buf_json_str(&res->body, meta[i].help.p, meta[i].help.n);
        rc |= osp_buf_puts(&res->body, ",\"unit\":");
        rc |= osp_buf_json_str(&res->body, meta[i].unit.p, meta[i].unit.n);
        rc |= osp_buf_puts(&res->body, "}]");
    }
    rc |= osp_buf_putc(&res->body, '}');
    finish_success(res, rc);
}

static void buildinfo(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    (void)api;
    (void)req;
    /* The version is the Prometheus API level served, which clients such as Grafana read to
     * pick features; the application is named in "branch". */
    int rc = begin_success(&res->body);
    rc |= osp_buf_puts(&res->body, "{\"version\":\"2.42.0\",\"revision\":\"" OSP_VERSION
                                   "\",\"branch\":\"osprey\",\"buildUser\":\"\","
                                   "\"buildDate\":\"\",\"goVersion\":\"\"}");
    finish_success(res, rc);
}

/* ---- scrape targets ---- */

/* RFC 3339 UTC with milliseconds, as a JSON string. */
static int put_rfc3339(osp_buf *b, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char text[40];
    gmtime_r(&secs, &tm);
    size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(text + n, sizeof text - n, ".%03dZ", (int)(ms % 1000));
    return osp_buf_printf(b, "\"%s\"", text);
}

static int put_target(osp_buf *b, const osp_target_status *t)
{
    static const char *const health[] = {"unknown", "up", "down"};
    char ivl[32], tmo[32];
    osp_prom_duration_format(t->interval_ms, ivl, sizeof ivl);
    osp_prom_duration_format(t->timeout_ms, tmo, sizeof tmo);
    int rc = osp_buf_puts(b, "{\"discoveredLabels\":");
    rc |= osp_json_put_labels(b, t->discovered_labels, t->ndiscovered_labels);
    rc |= osp_buf_puts(b, ",\"labels\":");
    rc |= osp_json_put_labels(b, t->labels, t->nlabels);
    rc |= osp_buf_puts(b, ",\"scrapePool\":");
    rc |= osp_buf_json_str(b, t->scrape_pool, strlen(t->scrape_pool));
    rc |= osp_buf_puts(b, ",\"scrapeUrl\":");
    rc |= osp_buf_json_str(b, t->scrape_url, strlen(t->scrape_url));
    rc |= osp_buf_puts(b, ",\"globalUrl\":");
    rc |= osp_buf_json_str(b, t->global_url, strlen(t->global_url));
    rc |= osp_buf_puts(b, ",\"lastError\":");
    rc |= osp_buf_json_str(b, t->last_error, strlen(t->last_error));
    rc |= osp_buf_puts(b, ",\"lastScrape\":");
    rc |= t->last_scrape_ms ? put_rfc3339(b, t->last_scrape_ms)
                            : osp_buf_puts(b, "\"0001-01-01T00:00:00Z\"");
    rc |= osp_buf_puts(b, ",\"lastScrapeDuration\":");
    rc |= osp_buf_float(b, t->last_scrape_duration);
    rc |=
        osp_buf_printf(b, ",\"health\":\"%s\",\"scrapeInterval\":\"%s\",\"scrapeTimeout\":\"%s\"}",
                       health[t->health >= 0 && t->health <= 2 ? t->health : 0], ivl, tmo);
    return rc;
}

/* Active targets of the scraper; ?state=active|dropped|any as Prometheus (no target is
 * kept as dropped). */
static void targets(osp_prom_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_target_status *t = NULL;
    size_t n = 0;
    int rc = api->opt.scraper ? osp_scraper_targets(api->opt.scraper, req->arena, &t, &n) : 0;
    if (rc) {
        fail_rc(res, rc);
        return;
    }
    rc = begin_success(&res->body) | osp_buf_puts(&res->body, "{\"activeTargets\":[");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc |= (i ? osp_buf_putc(&res->body, ',') : 0) | put_target(&res->body, &t[i]);
    rc |= osp_buf_puts(&res->body, "],\"droppedTargets\":[]}");
    finish_success(res, rc);
}

/* ---- lifecycle ---- */

/* Every route enters here: GET and POST only. */
static void dispatch(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const prom_endpoint *e = ctx;
    if (!osp_str_eqz(req->method, "GET") && !osp_str_eqz(req->method, "POST")) {
        osp_http_response_header(res, "allow", OSP_STR_LIT("GET, POST"));
        fail(res, 405, "bad_data", "method not allowed");
        return;
    }
    e->fn(e->api, req, res);
}

int osp_prom_api_create(osp_store *store, const osp_prom_api_options *opt, osp_prom_api **out)
{
    static const struct {
        const char *path;
        prom_fn fn;
    } table[NROUTES] = {
        {"/api/v1/query", query},
        {"/api/v1/query_range", query_range},
        {"/api/v1/series", series},
        {"/api/v1/labels", labels},
        {LABEL_PREFIX "*", label_values},
        {"/api/v1/metadata", metadata},
        {"/api/v1/status/buildinfo", buildinfo},
        {"/api/v1/targets", targets},
        {"/api/v1/query_exemplars", query_exemplars},
    };
    osp_prom_api *api = osp_calloc(1, sizeof *api);
    if (!api)
        return OSP_ENOMEM;
    api->store = store;
    if (opt)
        api->opt = *opt;
    for (size_t i = 0; i < NROUTES; i++) {
        api->endpoints[i] = (prom_endpoint){api, table[i].fn};
        api->routes[i] =
            (osp_route){.path = table[i].path, .handler = dispatch, .ctx = &api->endpoints[i]};
    }
    *out = api;
    return 0;
}

void osp_prom_api_destroy(osp_prom_api *api)
{
    osp_free(api);
}

void osp_prom_api_routes(osp_prom_api *api, const osp_route **routes, size_t *n)
{
    *routes = api->routes;
    *n = NROUTES;
}
