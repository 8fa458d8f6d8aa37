/* Handlers of the log query APIs (api/logs.h). Loki's endpoints take their parameters
 * from the query string or a form body and parse times as Loki does; they answer
 * {"status":"success","data":...}, and errors as Loki does: a plain-text body with 400
 * (bad request), 503 (store busy) or 500. The native endpoints answer JSON and errors as
 * {"error":"..."}. */
#include "api/logs.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/form.h"
#include "api/logs_int.h"
#include "api/prom.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rfc3339.h"
#include "core/version.h"
#include "model/logstream.h"
#include "net/http1.h"
#include "proto/otlp_logs.h"
#include "query/logql.h"
#include "query/logql_eval.h"
#include "query/params.h"

#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain; charset=utf-8"
#define LABEL_PREFIX "/loki/api/v1/label/"
#define VALUES_SUFFIX "/values"
#define DEFAULT_TIMEOUT_MS 120000
#define DEFAULT_LIMIT 100
#define CATEGORIZE_LABELS "categorize-labels" /* Loki's response encoding flag */
#define TRACE_LOGS_LIMIT 1000                 /* a trace's logs */
#define DEFAULT_SINCE_NS (3600ull * 1000000000ull)
#define MAX_MATCH 64
#define ERRLEN 512
#define NS UINT64_C(1000000000)

enum { NROUTES = 18 };

typedef void (*logs_fn)(osp_logs_api *api, const osp_http_request *req, osp_http_response *res);

typedef struct logs_endpoint {
    osp_logs_api *api;
    logs_fn fn;
} logs_endpoint;

struct osp_logs_api {
    osp_store *store;
    osp_logs_api_options opt;
    logs_endpoint endpoints[NROUTES];
    osp_route routes[NROUTES];
    size_t nroutes;
    atomic_int tails; /* live tails running: each holds a worker thread */
};

/* ---- responses ---- */

/* A Loki error: the message as plain text. */
void osp__logs_fail(osp_http_response *res, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    osp_buf_reset(&res->body);
    res->status = status;
    res->content_type = TEXT_TYPE;
    if (osp_buf_vprintf(&res->body, fmt, ap) || osp_buf_putc(&res->body, '\n'))
        osp_buf_reset(&res->body);
    va_end(ap);
}

void osp__logs_fail_rc(osp_http_response *res, int rc, const char *err)
{
    if (rc == OSP_EBUSY) {
        osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
        osp__logs_fail(res, 503, "the store is busy, retry later");
    } else if (rc == OSP_ETIMEDOUT) {
        osp__logs_fail(res, 504, "query timed out");
    } else if (rc == OSP_ETOOBIG) {
        osp__logs_fail(res, 422, "the result is too large: narrow the query");
    } else if (rc == OSP_EINVAL || rc == OSP_EPARSE || rc == OSP_EEXEC) {
        osp__logs_fail(res, 400, "%s", err && err[0] ? err : osp_strerror(rc));
    } else {
        osp__logs_fail(res, 500, "%s", err && err[0] ? err : osp_strerror(rc));
    }
}

void osp__logs_finish(osp_http_response *res, int rc)
{
    if (rc > 0) /* a chain of buffer writes joined with || failed: the body hit its cap */
        rc = OSP_ETOOBIG;
    if (rc) {
        osp__logs_fail_rc(res, rc, NULL);
        return;
    }
    res->status = 200;
    res->content_type = JSON_TYPE;
}

static int put_ns(osp_buf *b, uint64_t ns)
{
    return osp_buf_printf(b, "\"%" PRIu64 "\"", ns);
}

static int put_str(osp_buf *b, osp_str s)
{
    return osp_buf_json_str(b, s.p, s.n);
}

static int put_str_array(osp_buf *b, const osp_str *a, size_t n)
{
    int rc = osp_buf_putc(b, '[');
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = (i ? osp_buf_putc(b, ',') : 0) || put_str(b, a[i]);
    return rc ? rc : osp_buf_putc(b, ']');
}

/* ---- parameters ---- */

/* Loki's parseTimestamp: a number with a '.' is float seconds (rounded to the
 * millisecond); an integer of at most 10 digits is seconds, a longer one nanoseconds;
 * anything else RFC 3339. 0 or OSP_EPARSE. */
static int parse_loki_time(osp_str text, uint64_t *ns)
{
    char buf[40], *end;
    if (text.n == 0 || text.n >= sizeof buf)
        return text.n ? osp_rfc3339_parse(text, ns) : OSP_EPARSE;
    memcpy(buf, text.p, text.n);
    buf[text.n] = 0;
    if (memchr(text.p, '.', text.n)) {
        double t = strtod(buf, &end);
        if (*end == 0 && t >= 0 && t < 1.8e10) {
            double whole, frac = modf(t, &whole);
            *ns = (uint64_t)whole * NS + (uint64_t)(round(frac * 1000) * 1e6);
            return 0;
        }
    }
    int digits = 1;
    for (size_t i = 0; i < text.n; i++)
        digits &= text.p[i] >= '0' && text.p[i] <= '9';
    if (digits) {
        unsigned long long v = strtoull(buf, &end, 10);
        if (*end || (text.n <= 10 && v > UINT64_MAX / NS))
            return OSP_EPARSE;
        *ns = text.n <= 10 ? v * NS : v;
        return 0;
    }
    return osp_rfc3339_parse(text, ns);
}

/* A duration as Loki takes one: Prometheus's duration ("5m", "1h30m") or float seconds. */
int osp__logs_parse_duration(osp_str text, uint64_t *ns)
{
    char buf[40], *end;
    int64_t ms;
    if (text.n && text.n < sizeof buf) {
        memcpy(buf, text.p, text.n);
        buf[text.n] = 0;
        double d = strtod(buf, &end);
        if (*end == 0 && d >= 0 && d < 1.8e10) {
            *ns = (uint64_t)(d * 1e9);
            return 0;
        }
    }
    if (osp_prom_duration_parse(text, &ms) || ms < 0)
        return OSP_EPARSE;
    *ns = (uint64_t)ms * 1000000u;
    return 0;
}

/* Reads parameter name with parse. 1 with *ns, 0 absent or empty, -1 answered 400. */
int osp__logs_ns_param(const osp_form *p, osp_http_response *res, const char *name,
                       int (*parse)(osp_str, uint64_t *), uint64_t *ns)
{
    osp_str v;
    int rc = osp_form_get(p, name, &v);
    if (rc < 0) {
        osp__logs_fail(res, 400, "invalid parameter %s: bad percent-encoding", name);
        return -1;
    }
    if (rc == 0 || v.n == 0)
        return 0;
    if (parse(v, ns)) {
        osp__logs_fail(res, 400, "invalid parameter %s: cannot parse \"%.*s\"", name,
                       (int)(v.n > 64 ? 64 : v.n), v.p);
        return -1;
    }
    return 1;
}

/* start, end and since of a range, as Loki defaults them: end now, start end - since
 * (an hour by default). 0, or -1 when answered. */
int osp__logs_range_params(const osp_form *p, osp_http_response *res, uint64_t *start,
                           uint64_t *end)
{
    uint64_t since = DEFAULT_SINCE_NS;
    int rc;
    *end = osp_clock_ns(CLOCK_REALTIME);
    if (osp__logs_ns_param(p, res, "end", parse_loki_time, end) < 0 ||
        osp__logs_ns_param(p, res, "since", osp__logs_parse_duration, &since) < 0 ||
        (rc = osp__logs_ns_param(p, res, "start", parse_loki_time, start)) < 0)
        return -1;
    if (rc == 0)
        *start = *end > since ? *end - since : 0;
    if (*end < *start) {
        osp__logs_fail(res, 400, "end timestamp must not be before or equal to start time");
        return -1;
    }
    return 0;
}

int osp__logs_count_param(const osp_form *p, osp_http_response *res, const char *name, size_t def,
                          size_t *count)
{
    osp_str v;
    *count = def;
    int rc = osp_form_get(p, name, &v);
    if (rc <= 0 || v.n == 0)
        return rc < 0 ? (osp__logs_fail(res, 400, "invalid parameter %s", name), -1) : 0;
    char buf[24], *end;
    if (v.n >= sizeof buf) {
        osp__logs_fail(res, 400, "invalid parameter %s: cannot parse \"%.*s\"", name, 23, v.p);
        return -1;
    }
    memcpy(buf, v.p, v.n);
    buf[v.n] = 0;
    long long n = strtoll(buf, &end, 10);
    if (*end || n <= 0) {
        osp__logs_fail(res, 400, "%s must be a positive value", name);
        return -1;
    }
    if (n > OSP_LOGS_MAX_LIMIT) {
        osp__logs_fail(res, 400,
                       "max entries limit per query exceeded, %s > max_entries_limit (%lld > %d)",
                       name, n, OSP_LOGS_MAX_LIMIT);
        return -1;
    }
    *count = (size_t)n;
    return 0;
}

/* direction: forward or backward (default), any case. 0, or -1 when answered. */
static int direction_param(const osp_form *p, osp_http_response *res, int *forward)
{
    osp_str v;
    *forward = 0;
    int rc = osp_form_get(p, "direction", &v);
    if (rc <= 0 || v.n == 0)
        return rc < 0 ? (osp__logs_fail(res, 400, "invalid parameter direction"), -1) : 0;
    if (osp_str_ieq(v, OSP_STR_LIT("forward")))
        *forward = 1;
    else if (!osp_str_ieq(v, OSP_STR_LIT("backward"))) {
        osp__logs_fail(res, 400, "invalid direction \"%.*s\": expected forward or backward",
                       (int)(v.n > 32 ? 32 : v.n), v.p);
        return -1;
    }
    return 0;
}

/* The query parameter, parsed. 0 with *e, or -1 when answered. */
int osp__logs_query_param(const osp_form *p, osp_http_response *res, osp_arena *arena,
                          osp_logql_expr **e)
{
    osp_str text = {0};
    char err[ERRLEN];
    int rc = osp_form_get(p, "query", &text);
    if (rc <= 0 || text.n == 0) {
        osp__logs_fail(res, 400, "%s",
                       rc < 0 ? "invalid parameter query" : "query parameter is missing");
        return -1;
    }
    rc = osp_logql_parse(text, arena, e, err, sizeof err);
    if (rc) {
        if (rc == OSP_EPARSE)
            osp__logs_fail(res, 400, "parse error: %s", err);
        else
            osp__logs_fail_rc(res, rc, err);
        return -1;
    }
    return 0;
}

/* ---- evaluation ---- */

static int src_scan(void *ctx, const osp_log_query *q, osp_log_fn fn, void *fn_ctx)
{
    return osp_store_scan_logs(ctx, q, fn, fn_ctx);
}

static int src_select(void *ctx, const osp_log_query *q, osp_log_keep_fn keep, void *keep_ctx,
                      osp_log_batch *out, uint64_t **streams)
{
    return osp_store_select_logs(ctx, q, keep, keep_ctx, out, streams);
}

static int src_labels(void *ctx, uint64_t stream, osp_arena *arena, osp_label **labels, size_t *n)
{
    return osp_store_log_stream_labels(ctx, stream, arena, labels, n);
}

static int src_streams(void *ctx, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                       uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids)
{
    return osp_store_log_streams(ctx, m, n, start_ns, end_ns, arena, ids, nids);
}

osp_logql_source osp__logs_source(osp_logs_api *api)
{
    return (osp_logql_source){api->store, src_scan, src_select, src_labels, src_streams};
}

int64_t osp__logs_deadline(const osp_logs_api *api)
{
    return osp_clock_ms(CLOCK_MONOTONIC) +
           (api->opt.timeout_ms ? api->opt.timeout_ms : DEFAULT_TIMEOUT_MS);
}

/* Runs e; answers errors. 0 with *r, or -1 when answered. */
static int eval(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                const osp_logql_expr *e, uint64_t start, uint64_t end, int64_t step_ms,
                const osp_logql_opts *given, osp_logql_result *r)
{
    osp_logql_source src = osp__logs_source(api);
    osp_logql_opts opts = *given;
    char err[ERRLEN] = "";
    opts.deadline_ms = osp__logs_deadline(api);
    int rc = osp_logql_eval(&src, e, start, end, step_ms, &opts, req->arena, r, err, sizeof err);
    if (rc) {
        osp__logs_fail_rc(res, rc, err);
        return -1;
    }
    return 0;
}

static int put_stats(osp_buf *b, const osp_logql_stats *st)
{
    double secs = (double)st->exec_ns / 1e9;
    return osp_buf_printf(
        b,
        "\"stats\":{\"summary\":{\"bytesProcessedPerSecond\":%" PRIu64
        ",\"linesProcessedPerSecond\":%" PRIu64 ",\"totalBytesProcessed\":%" PRIu64
        ",\"totalLinesProcessed\":%" PRIu64 ",\"execTime\":%.6f}}",
        secs > 0 ? (uint64_t)((double)st->bytes / secs) : 0,
        secs > 0 ? (uint64_t)((double)st->lines / secs) : 0, st->bytes, st->lines, secs);
}

/* The third member of a categorized entry: {"structuredMetadata":{..},"parsed":{..}},
 * leaving out either when empty. */
static int put_categories(osp_buf *b, const osp_logql_entry *e)
{
    int rc = osp_buf_putc(b, '{');
    if (!rc && e->nmeta)
        rc =
            osp_buf_puts(b, "\"structuredMetadata\":") || osp_json_put_labels(b, e->meta, e->nmeta);
    if (!rc && e->nparsed)
        rc = osp_buf_puts(b, e->nmeta ? ",\"parsed\":" : "\"parsed\":") ||
             osp_json_put_labels(b, e->parsed, e->nparsed);
    return rc ? rc : osp_buf_putc(b, '}');
}

/* The streams of a log query's result as a JSON array of {"stream":{..},"values":[..]},
 * each value [time, line], or with categorize [time, line, categories]. */
static int put_stream_array(osp_buf *b, const osp_logql_result *r, int categorize)
{
    int rc = osp_buf_putc(b, '[');
    for (size_t i = 0; rc == 0 && i < r->nstreams; i++) {
        const osp_logql_stream *s = &r->streams[i];
        rc = (i ? osp_buf_putc(b, ',') : 0) || osp_buf_puts(b, "{\"stream\":") ||
             osp_json_put_labels(b, s->labels, s->nlabels) || osp_buf_puts(b, ",\"values\":[");
        for (size_t k = 0; rc == 0 && k < s->n; k++)
            rc = (k ? osp_buf_putc(b, ',') : 0) || osp_buf_putc(b, '[') ||
                 put_ns(b, s->entries[k].t_ns) || osp_buf_putc(b, ',') ||
                 put_str(b, s->entries[k].line) ||
                 (categorize && (osp_buf_putc(b, ',') || put_categories(b, &s->entries[k]))) ||
                 osp_buf_putc(b, ']');
        rc = rc ? rc : osp_buf_puts(b, "]}");
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

/* The "data" member of a query answer: streams (categorized: with the encoding flag
 * saying so), or a vector, matrix or scalar in Prometheus's shape (which is Loki's), then
 * the stats. */
static int put_result(osp_buf *b, const osp_logql_result *r, uint64_t t_ns, int categorize)
{
    if (r->type == OSP_LOGQL_RESULT_STREAMS) {
        return osp_buf_puts(b, "{\"resultType\":\"streams\",") ||
               (categorize && osp_buf_puts(b, "\"encodingFlags\":[\"" CATEGORIZE_LABELS "\"],")) ||
               osp_buf_puts(b, "\"result\":") || put_stream_array(b, r, categorize) ||
               osp_buf_putc(b, ',') || put_stats(b, &r->stats) || osp_buf_putc(b, '}');
    }
    osp_promql_result pr = {.type = r->type == OSP_LOGQL_RESULT_SCALAR   ? OSP_PROMQL_T_SCALAR
                                    : r->type == OSP_LOGQL_RESULT_VECTOR ? OSP_PROMQL_T_VECTOR
                                                                         : OSP_PROMQL_T_MATRIX,
                            .scalar = r->scalar,
                            .t_ms = (int64_t)(t_ns / 1000000),
                            .series = r->series,
                            .nseries = r->nseries};
    int rc = osp_prom_put_result(b, &pr);
    if (rc)
        return rc;
    b->len--; /* reopen the object that osp_prom_put_result closed, to add the stats */
    return osp_buf_putc(b, ',') || put_stats(b, &r->stats) || osp_buf_putc(b, '}');
}

/* 1 when the request asks for Loki's categorize-labels encoding, as Grafana's Loki data
 * source does: the flag among the comma-separated X-Loki-Response-Encoding-Flags. */
static int wants_categories(const osp_http_request *req)
{
    static const char *const flag[] = {CATEGORIZE_LABELS};
    return osp_http1_list_flags(osp_http_header_get(req, "x-loki-response-encoding-flags"), flag,
                                1) != 0;
}

static void answer_query(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                         const osp_form *p, uint64_t start, uint64_t end, int64_t step_ms)
{
    osp_logql_expr *e;
    osp_logql_opts opts = {.categorize = wants_categories(req)};
    osp_logql_result r;
    if (osp__logs_query_param(p, res, req->arena, &e) ||
        osp__logs_count_param(p, res, "limit", DEFAULT_LIMIT, &opts.limit) ||
        direction_param(p, res, &opts.forward) ||
        eval(api, req, res, e, start, end, step_ms, &opts, &r))
        return;
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    int rc = osp_buf_puts(b, "{\"status\":\"success\",\"data\":");
    rc = rc ? rc : put_result(b, &r, end, opts.categorize);
    osp__logs_finish(res, rc ? rc : osp_buf_putc(b, '}'));
}

/* GET|POST /loki/api/v1/query?query=&time=&limit=&direction= */
static void loki_query(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    uint64_t t = osp_clock_ns(CLOCK_REALTIME);
    osp_form_init(&p, req);
    if (osp__logs_ns_param(&p, res, "time", parse_loki_time, &t) < 0)
        return;
    answer_query(api, req, res, &p, t, t, 0);
}

/* GET|POST /loki/api/v1/query_range?query=&start=&end=&since=&step=&limit=&direction= */
static void loki_query_range(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    uint64_t start, end, step = 0;
    osp_form_init(&p, req);
    int given;
    if (osp__logs_range_params(&p, res, &start, &end) ||
        (given = osp__logs_ns_param(&p, res, "step", osp__logs_parse_duration, &step)) < 0)
        return;
    if (!given) { /* Loki's default: a 250th of the range, at least a second */
        step = (end - start) / 250 / NS * NS;
        if (step < NS)
            step = NS;
    }
    if (step == 0) {
        osp__logs_fail(res, 400,
                       "zero or negative query resolution step widths are not accepted. Try a "
                       "positive integer");
        return;
    }
    if ((end - start) / step > 11000) {
        osp__logs_fail(res, 400,
                       "exceeded maximum resolution of 11,000 points per timeseries. Try "
                       "increasing the value of the step parameter");
        return;
    }
    answer_query(api, req, res, &p, start, end, (int64_t)(step / 1000000 ? step / 1000000 : 1));
}

/* ---- labels and series ---- */

/* The stream selector of a "query" or "match[]" parameter. 1 with matchers, 0 absent, -1
 * answered. */
static int selector_param(osp_arena *arena, osp_http_response *res, osp_str text,
                          osp_label_matcher **m, size_t *n)
{
    osp_logql_expr *e;
    char err[ERRLEN];
    if (text.n == 0)
        return 0;
    int rc = osp_logql_parse(text, arena, &e, err, sizeof err);
    if (rc == 0 && e->kind != OSP_LOGQL_LOG) {
        rc = OSP_EPARSE;
        snprintf(err, sizeof err, "a stream selector is expected, not a metric query");
    }
    if (rc) {
        osp__logs_fail(res, rc == OSP_EPARSE ? 400 : 500, "parse error: %s", err);
        return -1;
    }
    *m = e->u.log.matchers;
    *n = e->u.log.nmatchers;
    return 1;
}

/* The range and the optional "query" stream selector of the label and pattern endpoints.
 * 0 with *m and *nm (none: NULL, 0), or -1 when answered. */
int osp__logs_range_and_selector(const osp_form *p, const osp_http_request *req,
                                 osp_http_response *res, uint64_t *start, uint64_t *end,
                                 osp_label_matcher **m, size_t *nm)
{
    osp_str q = {0};
    if (osp__logs_range_params(p, res, start, end))
        return -1;
    if (osp_form_get(p, "query", &q) < 0 || selector_param(req->arena, res, q, m, nm) < 0) {
        if (!res->body.len)
            osp__logs_fail(res, 400, "invalid parameter query");
        return -1;
    }
    return 0;
}

static void label_listing(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                          osp_str name)
{
    osp_form p;
    uint64_t start, end;
    osp_label_matcher *m = NULL;
    size_t nm = 0, n = 0;
    osp_str *values = NULL;
    osp_form_init(&p, req);
    if (osp__logs_range_and_selector(&p, req, res, &start, &end, &m, &nm))
        return;
    int rc =
        name.p ? osp_store_log_label_values(api->store, name, m, nm, start, end, req->arena,
                                            &values, &n)
               : osp_store_log_label_names(api->store, m, nm, start, end, req->arena, &values, &n);
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    if (rc == 0)
        rc = osp_buf_puts(b, "{\"status\":\"success\",\"data\":") || put_str_array(b, values, n) ||
             osp_buf_putc(b, '}');
    osp__logs_finish(res, rc);
}

/* GET /loki/api/v1/labels?start=&end=&since=&query= */
static void loki_labels(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    label_listing(api, req, res, (osp_str){0});
}

int osp__logs_path_name(const osp_http_request *req, osp_http_response *res, const char *prefix,
                        const char *what, osp_str *name)
{
    size_t skip = strlen(prefix), suffix = strlen(VALUES_SUFFIX);
    osp_str rest = osp_str_make(req->path.p + skip, req->path.n - skip);
    if (rest.n <= suffix || memcmp(rest.p + rest.n - suffix, VALUES_SUFFIX, suffix) != 0) {
        osp__logs_fail(res, 404, "not found");
        return -1;
    }
    if (osp_http_percent_decode(req->arena, osp_str_make(rest.p, rest.n - suffix), 0, name)) {
        osp__logs_fail(res, 400, "invalid %s name", what);
        return -1;
    }
    return 0;
}

/* GET /loki/api/v1/label/{name}/values */
static void loki_label_values(osp_logs_api *api, const osp_http_request *req,
                              osp_http_response *res)
{
    osp_str name;
    if (osp__logs_path_name(req, res, LABEL_PREFIX, "label", &name) == 0)
        label_listing(api, req, res, name);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* GET|POST /loki/api/v1/series?match[]=&start=&end=&since= */
static void loki_series(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    uint64_t start, end;
    osp_str sels[MAX_MATCH];
    size_t nsels = 0, nmore = 0;
    osp_form_init(&p, req);
    if (osp__logs_range_params(&p, res, &start, &end))
        return;
    if (osp_form_all(&p, "match[]", sels, MAX_MATCH, &nsels) ||
        osp_form_all(&p, "match", sels + nsels, MAX_MATCH - nsels, &nmore)) {
        osp__logs_fail(res, 400, "invalid parameter match[]: at most %d selectors", MAX_MATCH);
        return;
    }
    nsels += nmore;
    uint64_t **ids = osp_arena_calloc(req->arena, nsels + 1, sizeof *ids);
    size_t *nids = osp_arena_calloc(req->arena, nsels + 1, sizeof *nids);
    if (!ids || !nids) {
        osp__logs_fail_rc(res, OSP_ENOMEM, NULL);
        return;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < (nsels ? nsels : 1); i++) {
        osp_label_matcher *m = NULL;
        size_t nm = 0;
        if (nsels && selector_param(req->arena, res, sels[i], &m, &nm) < 0)
            return;
        rc = osp_store_log_streams(api->store, m, nm, start, end, req->arena, &ids[i], &nids[i]);
    }
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    rc = rc ? rc : osp_buf_puts(b, "{\"status\":\"success\",\"data\":[");
    size_t written = 0;
    for (size_t i = 0; rc == 0 && i < (nsels ? nsels : 1); i++)
        for (size_t k = 0; rc == 0 && k < nids[i]; k++) {
            int dup = 0; /* a stream several selectors chose is listed once */
            for (size_t j = 0; j < i && !dup; j++)
                dup = bsearch(&ids[i][k], ids[j], nids[j], sizeof **ids, cmp_u64) != NULL;
            osp_label *l;
            size_t nl;
            if (dup)
                continue;
            rc = osp_store_log_stream_labels(api->store, ids[i][k], req->arena, &l, &nl);
            if (rc == OSP_ENOTFOUND) { /* removed since it was listed: no records left */
                rc = 0;
                continue;
            }
            rc = rc ? rc : (written++ ? osp_buf_putc(b, ',') : 0) || osp_json_put_labels(b, l, nl);
        }
    osp__logs_finish(res, rc ? rc : osp_buf_puts(b, "]}"));
}

/* GET /loki/api/v1/status/buildinfo: what Grafana reads to learn the server's version. */
static void loki_buildinfo(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    (void)api;
    (void)req;
    osp_buf_reset(&res->body);
    osp__logs_finish(res,
                     osp_buf_puts(&res->body, "{\"version\":\"" OSP_VERSION
                                              "\",\"revision\":\"\",\"branch\":\"\",\"buildUser\":"
                                              "\"\",\"buildDate\":\"\",\"goVersion\":\"\"}"));
}

/* GET|POST /loki/api/v1/format_query?query=: the query as Osprey prints it, as Grafana's
 * "Format query" button asks; a query that does not parse is a 400 saying why. */
static void loki_format_query(osp_logs_api *api, const osp_http_request *req,
                              osp_http_response *res)
{
    (void)api;
    osp_form p;
    osp_logql_expr *e;
    osp_form_init(&p, req);
    if (osp__logs_query_param(&p, res, req->arena, &e))
        return;
    osp_buf text;
    osp_buf_init(&text, 0);
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    int rc = osp_logql_format(e, &text);
    rc = rc ? rc : osp_buf_puts(b, "{\"status\":\"success\",\"data\":");
    rc = rc ? rc : put_str(b, osp_buf_str(&text));
    osp_buf_cleanup(&text);
    osp__logs_finish(res, rc ? rc : osp_buf_putc(b, '}'));
}

/* A JSON array of the strings names[0..n) (put_str_array over copies in arena). */
static int put_names(osp_buf *b, osp_arena *arena, const char *const *names, size_t n)
{
    osp_str *a = osp_arena_alloc(arena, (n + 1) * sizeof *a);
    if (!a)
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        a[i] = osp_str_c(names[i]);
    return put_str_array(b, a, n);
}

/* GET /loki/api/v1/drilldown-limits: the limits Grafana's Logs Drilldown reads before it
 * shows a service (which tabs to offer, how far back to look), in Loki's shape, with what
 * Osprey does: levels and services discovered by Loki's rules, volume queries, patterns
 * when mined, the query limits and the retention. */
static void loki_drilldown_limits(osp_logs_api *api, const osp_http_request *req,
                                  osp_http_response *res)
{
    const char *const *levels, *const *services;
    size_t nlevels = osp_level_fields(&levels), nservices = osp_log_service_labels(&services);
    char timeout[32], retention[32];
    osp_prom_duration_format(api->opt.timeout_ms ? api->opt.timeout_ms : DEFAULT_TIMEOUT_MS,
                             timeout, sizeof timeout);
    osp_prom_duration_format((int64_t)(api->opt.retention_ns / 1000000), retention,
                             sizeof retention);
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    int rc =
        osp_buf_puts(b, "{\"limits\":{\"discover_log_levels\":true,\"discover_service_name\":");
    rc = rc ? rc : put_names(b, req->arena, services, nservices);
    rc = rc ? rc : osp_buf_puts(b, ",\"log_level_fields\":");
    rc = rc ? rc : put_names(b, req->arena, levels, nlevels);
    rc = rc ? rc
            : osp_buf_printf(b,
                             ",\"max_entries_limit_per_query\":%d,\"max_query_series\":%d,"
                             "\"query_timeout\":\"%s\",\"retention_period\":\"%s\","
                             "\"volume_enabled\":true},\"pattern_ingester_enabled\":%s,"
                             "\"version\":\"" OSP_VERSION "\"}",
                             OSP_LOGS_MAX_LIMIT, OSP_LOGQL_DEFAULT_MAX_SERIES, timeout, retention,
                             api->opt.patterns ? "true" : "false");
    osp__logs_finish(res, rc);
}

/* ---- native endpoints ---- */

/* One log line of a native answer. */
typedef struct native_entry {
    uint64_t t_ns;
    osp_str line;
    const osp_label *labels;
    size_t nlabels;
} native_entry;

static int cmp_newest(const void *a, const void *b)
{
    const native_entry *x = a, *y = b;
    return (x->t_ns < y->t_ns) - (x->t_ns > y->t_ns);
}

static osp_str label_value(const osp_label *l, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (osp_str_eqz(l[i].name, name))
            return l[i].value;
    return (osp_str){0};
}

/* Whether the store holds a span of the trace with this hex id: "present", "absent", or
 * NULL when the id is not one. */
static const char *trace_presence(osp_store *store, osp_str hex)
{
    uint8_t id[16];
    if (hex.n != 32 || osp_hex_decode(hex.p, sizeof id, id))
        return NULL;
    osp_span_batch b;
    osp_span_batch_init(&b);
    int rc = osp_store_get_trace(store, id, OSP_TRACE_NO_DETAIL, &b);
    osp_span_batch_cleanup(&b);
    return rc == 0 ? "present" : "absent";
}

/* {"logs":[{"time":"<ns>","line":"..","labels":{..},"traceId":"..","spanId":"..",
 * "trace":"present|absent"}, ...]: the trace fields when the line carries a trace id. */
static int put_native_entries(osp_buf *b, osp_store *store, native_entry *e, size_t n)
{
    qsort(e, n, sizeof *e, cmp_newest);
    int rc = osp_buf_puts(b, "{\"logs\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        osp_str trace = label_value(e[i].labels, e[i].nlabels, "trace_id");
        osp_str span = label_value(e[i].labels, e[i].nlabels, "span_id");
        const char *presence = trace.n ? trace_presence(store, trace) : NULL;
        rc = (i ? osp_buf_putc(b, ',') : 0) || osp_buf_puts(b, "{\"time\":") ||
             put_ns(b, e[i].t_ns) || osp_buf_puts(b, ",\"line\":") || put_str(b, e[i].line) ||
             osp_buf_puts(b, ",\"labels\":") || osp_json_put_labels(b, e[i].labels, e[i].nlabels);
        if (rc == 0 && presence)
            rc = osp_buf_puts(b, ",\"traceId\":") || put_str(b, trace) ||
                 (span.n && (osp_buf_puts(b, ",\"spanId\":") || put_str(b, span))) ||
                 osp_buf_printf(b, ",\"trace\":\"%s\"", presence);
        rc = rc ? rc : osp_buf_putc(b, '}');
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

/* GET /api/v1/logs?query=&start=&end=&since=&limit=&direction=: a LogQL log query's lines,
 * flattened across streams and newest first. */
static void native_logs(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    uint64_t start, end;
    osp_logql_expr *e;
    osp_logql_opts opts = {0};
    osp_logql_result r;
    osp_form_init(&p, req);
    if (osp__logs_range_params(&p, res, &start, &end) ||
        osp__logs_query_param(&p, res, req->arena, &e) ||
        osp__logs_count_param(&p, res, "limit", DEFAULT_LIMIT, &opts.limit) ||
        direction_param(&p, res, &opts.forward))
        return;
    if (e->kind != OSP_LOGQL_LOG) {
        osp__logs_fail(res, 400, "a log query is expected, not a metric query");
        return;
    }
    if (start == end)
        end++;
    if (eval(api, req, res, e, start, end, 0, &opts, &r))
        return;
    size_t n = 0;
    for (size_t i = 0; i < r.nstreams; i++)
        n += r.streams[i].n;
    native_entry *entries = osp_arena_calloc(req->arena, n ? n : 1, sizeof *entries);
    if (!entries) {
        osp__logs_fail_rc(res, OSP_ENOMEM, NULL);
        return;
    }
    n = 0;
    for (size_t i = 0; i < r.nstreams; i++)
        for (size_t k = 0; k < r.streams[i].n; k++)
            entries[n++] =
                (native_entry){r.streams[i].entries[k].t_ns, r.streams[i].entries[k].line,
                               r.streams[i].labels, r.streams[i].nlabels};
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    int rc = put_native_entries(b, api->store, entries, n);
    if (rc == 0)
        rc = osp_buf_putc(b, ',') || put_stats(b, &r.stats) || osp_buf_putc(b, '}');
    osp__logs_finish(res, rc);
}

/* The labels of record i of b in stream: its stream labels and structured metadata,
 * merged and sorted (a metadata name equal to a stream label's is left out). */
static int record_labels(osp_store *store, const osp_log_batch *b, size_t i, uint64_t stream,
                         osp_arena *arena, native_entry *e)
{
    osp_label *sl, *md;
    size_t ns, nm;
    osp_buf scratch;
    int rc = osp_store_log_stream_labels(store, stream, arena, &sl, &ns);
    rc = rc ? rc : osp_log_metadata(b, i, arena, &md, &nm);
    osp_label *all = rc ? NULL : osp_arena_alloc(arena, (ns + nm + 1) * sizeof *all);
    if (rc || !all)
        return rc ? rc : OSP_ENOMEM;
    size_t n = 0, x = 0, y = 0;
    while (x < ns || y < nm) {
        int c = x == ns ? 1 : y == nm ? -1 : osp_str_cmp(sl[x].name, md[y].name);
        all[n++] = c <= 0 ? sl[x++] : md[y++];
        y += c == 0;
    }
    osp_buf_init(&scratch, 0);
    osp_str line;
    rc = osp_log_line(&b->records[i], &scratch, &line);
    if (rc == 0 && line.p == scratch.data)
        line = osp_arena_strdup(arena, line);
    osp_buf_cleanup(&scratch);
    *e = (native_entry){osp_log_time(&b->records[i]), line, all, n};
    return rc;
}

void osp_logs_api_trace_logs(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                             osp_str trace_id)
{
    uint8_t tid[16], sid[8];
    osp_param_err perr;
    osp_form p;
    osp_str span = {0};
    osp_form_init(&p, req);
    size_t limit;
    if (osp_param_trace_id("traceId", trace_id, tid, &perr)) {
        osp_http_response_error(res, 400, "%s", perr.msg);
        return;
    }
    if (osp_form_get(&p, "spanId", &span) < 0 ||
        (span.n && (span.n != 16 || osp_hex_decode(span.p, sizeof sid, sid)))) {
        osp_http_response_error(res, 400, "invalid spanId: expected 16 hex digits");
        return;
    }
    osp_str format = {0};
    if (osp_form_get(&p, "format", &format) < 0 ||
        (format.n && !osp_str_eqz(format, "otlp") && !osp_str_eqz(format, "lines"))) {
        osp_http_response_error(res, 400, "invalid format: expected lines or otlp");
        return;
    }
    int otlp = osp_str_eqz(format, "otlp");
    if (osp__logs_count_param(&p, res, "limit", TRACE_LOGS_LIMIT, &limit))
        return;
    osp_label_matcher any = {OSP_MATCH_RE, OSP_STR_LIT("service_name"), OSP_STR_LIT(".+")};
    osp_log_query q = {
        .m = &any, .n = 1, .trace_id = tid, .span_id = span.n ? sid : NULL, .limit = limit};
    osp_log_batch b;
    uint64_t *streams;
    osp_log_batch_init(&b);
    int rc = osp_store_select_logs(api->store, &q, NULL, NULL, &b, &streams);
    osp_buf *out = &res->body;
    osp_buf_reset(out);
    if (otlp) { /* the records themselves, every field, as OTLP/JSON LogsData */
        osp__logs_finish(res, rc ? rc : osp_otlp_logs_encode_json(&b, out));
        osp_log_batch_cleanup(&b);
        return;
    }
    native_entry *entries =
        rc ? NULL : osp_arena_calloc(req->arena, b.nrecords + 1, sizeof *entries);
    if (rc == 0 && !entries)
        rc = OSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < b.nrecords; i++)
        rc = record_labels(api->store, &b, i, streams[i], req->arena, &entries[i]);
    rc = rc ? rc : put_native_entries(out, api->store, entries, b.nrecords);
    osp__logs_finish(res, rc ? rc : osp_buf_putc(out, '}'));
    osp_log_batch_cleanup(&b);
}

/* ---- patterns ---- */

/* Runs a pattern query over [start, end] for service (NULL data: every service). 0 with
 * *r, or -1 when answered. */
static int run_patterns(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                        osp_str service, uint64_t start, uint64_t end, size_t limit,
                        osp_logpattern_result *r)
{
    if (!api->opt.patterns) {
        osp__logs_fail(res, 404, "log pattern mining is off");
        return -1;
    }
    osp_logpattern_query q = {.service = service, .start_ns = start, .end_ns = end, .limit = limit};
    int rc = osp_logpattern_query_run(api->opt.patterns, &q, req->arena, r);
    if (rc) {
        osp__logs_fail_rc(res, rc, NULL);
        return -1;
    }
    return 0;
}

/* GET /api/v1/logs/patterns?service=&start=&end=&since=&limit=: templates with their
 * counts per bucket, the most frequent first. */
static void native_patterns(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    uint64_t start, end;
    osp_str service = {0};
    size_t limit;
    osp_logpattern_result r;
    osp_form_init(&p, req);
    if (osp__logs_range_params(&p, res, &start, &end) ||
        osp__logs_count_param(&p, res, "limit", DEFAULT_LIMIT, &limit))
        return;
    if (osp_form_get(&p, "service", &service) < 0) {
        osp__logs_fail(res, 400, "invalid parameter service");
        return;
    }
    if (run_patterns(api, req, res, service, start, end, limit, &r))
        return;
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    int rc = osp_buf_printf(b,
                            "{\"bucketSeconds\":%" PRIu64 ",\"firstBucket\":\"%" PRIu64
                            "\",\"other\":%" PRIu64 ",\"patterns\":[",
                            r.bucket_ns / NS, r.first_bucket_ns, r.other);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const osp_logpattern_row *row = &r.rows[i];
        rc = (i ? osp_buf_putc(b, ',') : 0) ||
             osp_buf_printf(b, "{\"id\":\"%016" PRIx64 "\",\"service\":", row->id) ||
             put_str(b, row->service) || osp_buf_puts(b, ",\"pattern\":") ||
             put_str(b, row->text) ||
             osp_buf_printf(b,
                            ",\"count\":%" PRIu64 ",\"total\":%" PRIu64 ",\"firstSeen\":\"%" PRIu64
                            "\",\"lastSeen\":\"%" PRIu64 "\",\"new\":%s,\"counts\":[",
                            row->count, row->total, row->first_seen_ns, row->last_seen_ns,
                            row->is_new ? "true" : "false");
        for (size_t k = 0; rc == 0 && k < r.nbuckets; k++)
            rc = osp_buf_printf(b, "%s%u", k ? "," : "", row->buckets[k]);
        rc = rc ? rc : osp_buf_puts(b, "]}");
    }
    osp__logs_finish(res, rc ? rc : osp_buf_puts(b, "]}"));
}

/* Loki writes a pattern's variables as <_>; the miner as <*>. */
static int put_loki_pattern(osp_buf *b, osp_str text, osp_arena *arena)
{
    char *t = osp_arena_memdup(arena, text.p, text.n);
    if (!t && text.n)
        return OSP_ENOMEM;
    for (size_t i = 0; i + 3 <= text.n; i++)
        if (memcmp(t + i, OSP_LOGPATTERN_WILDCARD, 3) == 0)
            t[i + 1] = '_';
    return put_str(b, osp_str_make(t, text.n));
}

/* GET /loki/api/v1/patterns?query={service_name="x"}&start=&end=: Loki's pattern answer,
 * {"status":"success","data":[{"pattern":"..","samples":[[<unix s>,<count>],..]}]}. The
 * service comes from the selector's service_name equality matcher (every service without
 * one). */
static void loki_patterns(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    uint64_t start, end;
    osp_str service = {0};
    osp_label_matcher *m = NULL;
    size_t nm = 0;
    osp_logpattern_result r;
    osp_form_init(&p, req);
    if (osp__logs_range_and_selector(&p, req, res, &start, &end, &m, &nm))
        return;
    for (size_t i = 0; i < nm; i++)
        if (m[i].type == OSP_MATCH_EQ && osp_str_eqz(m[i].name, "service_name"))
            service = m[i].value;
    if (run_patterns(api, req, res, service, start, end, 0, &r))
        return;
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    int rc = osp_buf_puts(b, "{\"status\":\"success\",\"data\":[");
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        rc = (i ? osp_buf_putc(b, ',') : 0) || osp_buf_puts(b, "{\"pattern\":") ||
             put_loki_pattern(b, r.rows[i].text, req->arena) || osp_buf_puts(b, ",\"samples\":[");
        for (size_t k = 0, w = 0; rc == 0 && k < r.nbuckets; k++)
            if (r.rows[i].buckets[k])
                rc = osp_buf_printf(b, "%s[%" PRIu64 ",%u]", w++ ? "," : "",
                                    (r.first_bucket_ns + k * r.bucket_ns) / NS,
                                    r.rows[i].buckets[k]);
        rc = rc ? rc : osp_buf_puts(b, "]}");
    }
    osp__logs_finish(res, rc ? rc : osp_buf_puts(b, "]}"));
}

/* ---- live tail ---- */

#define TAIL_BATCH OSP_LOGS_MAX_LIMIT /* entries per poll */
#define TAIL_POLL_MS 1000
#define TAIL_MAX_DELAY_S 5 /* Loki's cap on delay_for */

/* A tail frame: {"streams":[...],"dropped_entries":null}, Loki's shape; categorized, with
 * each value's categories and the encoding flag after, as Loki 3 writes them. */
static int put_tail_frame(osp_buf *b, const osp_logql_result *r, int categorize)
{
    osp_buf_reset(b);
    return osp_buf_puts(b, "{\"streams\":") || put_stream_array(b, r, categorize) ||
           osp_buf_puts(b, ",\"dropped_entries\":null") ||
           (categorize && osp_buf_puts(b, ",\"encodingFlags\":[\"" CATEGORIZE_LABELS "\"]")) ||
           osp_buf_putc(b, '}');
}

/* GET /loki/api/v1/tail?query=&start=&limit=&delay_for= over a WebSocket: first the
 * entries since start (at most limit), then every second the entries that arrived, each
 * batch one text frame (categorized when the upgrade request asks, as for queries), until
 * the client goes away. delay_for (0..5 s) holds entries back that long, for late
 * arrivals. */
static void loki_tail(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_form p;
    osp_logql_expr *e;
    osp_logql_opts opts = {.forward = 1, .categorize = wants_categories(req)};
    uint64_t start = 0, delay = 0, now = osp_clock_ns(CLOCK_REALTIME);
    osp_form_init(&p, req);
    if (!res->ws) {
        osp__logs_fail(res, 400, "the tail endpoint needs a WebSocket upgrade");
        return;
    }
    if (osp__logs_query_param(&p, res, req->arena, &e) ||
        osp__logs_count_param(&p, res, "limit", DEFAULT_LIMIT, &opts.limit) ||
        osp__logs_ns_param(&p, res, "start", parse_loki_time, &start) < 0 ||
        osp__logs_ns_param(&p, res, "delay_for", osp__logs_parse_duration, &delay) < 0)
        goto refused;
    if (e->kind != OSP_LOGQL_LOG || delay > TAIL_MAX_DELAY_S * NS) {
        osp__logs_fail(res, 400,
                       e->kind != OSP_LOGQL_LOG ? "a log query is expected, not a metric query"
                                                : "delay_for can't be greater than 5");
        goto refused;
    }
    if (!start)
        start = now > DEFAULT_SINCE_NS ? now - DEFAULT_SINCE_NS : 0;
    int running = atomic_fetch_add(&api->tails, 1) + 1;
    if (running > OSP_LOGS_MAX_TAILS) {
        atomic_fetch_sub(&api->tails, 1);
        osp__logs_fail(res, 429,
                       "max concurrent tail requests limit exceeded, count > limit (%d > %d)",
                       running, OSP_LOGS_MAX_TAILS);
        goto refused;
    }
    osp_buf frame;
    osp_buf_init(&frame, 0);
    while (!osp_ws_closed(res->ws)) {
        uint64_t end = osp_clock_ns(CLOCK_REALTIME) - delay;
        osp_logql_result r;
        osp_arena arena;
        osp_arena_init(&arena, 0, 0);
        osp_logql_source src = osp__logs_source(api);
        int rc = end > start ? osp_logql_eval(&src, e, start, end, 0, &opts, &arena, &r, NULL, 0)
                             : OSP_ENOTFOUND;
        if (rc == 0 && r.nstreams) {
            for (size_t i = 0; i < r.nstreams; i++)
                for (size_t k = 0; k < r.streams[i].n; k++)
                    if (r.streams[i].entries[k].t_ns >= start)
                        start = r.streams[i].entries[k].t_ns + 1;
            if (put_tail_frame(&frame, &r, opts.categorize) ||
                osp_ws_send_text(res->ws, osp_buf_str(&frame)))
                rc = -1;
        }
        osp_arena_cleanup(&arena);
        if (rc && rc != OSP_ENOTFOUND)
            break;
        opts.limit = TAIL_BATCH;
        osp_ws_wait_closed(res->ws, TAIL_POLL_MS);
    }
    osp_buf_cleanup(&frame);
    atomic_fetch_sub(&api->tails, 1);
    return;
refused: /* the reason goes to the client as a text frame before the Close */
    osp_ws_send_text(res->ws, osp_buf_str(&res->body));
}

/* ---- lifecycle ---- */

/* Every route enters here: GET and POST only. */
static void dispatch(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const logs_endpoint *e = ctx;
    if (!osp_str_eqz(req->method, "GET") && !osp_str_eqz(req->method, "POST")) {
        osp_http_response_header(res, "allow", OSP_STR_LIT("GET, POST"));
        osp__logs_fail(res, 405, "method not allowed");
        return;
    }
    size_t max = res->body.max;
    if (res->body.max > OSP_LOGS_MAX_RESPONSE)
        res->body.max = OSP_LOGS_MAX_RESPONSE;
    e->fn(e->api, req, res);
    res->body.max = max;
}

int osp_logs_api_create(osp_store *store, const osp_logs_api_options *opt, osp_logs_api **out)
{
    static const struct {
        const char *path;
        logs_fn fn;
    } table[] = {
        {"/loki/api/v1/query", loki_query},
        {"/loki/api/v1/query_range", loki_query_range},
        {"/loki/api/v1/labels", loki_labels},
        {LABEL_PREFIX "*", loki_label_values},
        {"/loki/api/v1/series", loki_series},
        {"/loki/api/v1/patterns", loki_patterns},
        {"/loki/api/v1/status/buildinfo", loki_buildinfo},
        {"/loki/api/v1/format_query", loki_format_query},
        {"/loki/api/v1/drilldown-limits", loki_drilldown_limits},
        {"/loki/api/v1/index/stats", osp__logs_index_stats},
        {"/loki/api/v1/index/volume", osp__logs_index_volume},
        {"/loki/api/v1/index/volume_range", osp__logs_index_volume_range},
        {"/loki/api/v1/detected_labels", osp__logs_detected_labels},
        {"/loki/api/v1/detected_fields", osp__logs_detected_fields},
        {OSP_LOGS_DETECTED_FIELD_PREFIX "*", osp__logs_detected_field_values},
        {"/loki/api/v1/tail", loki_tail},
        {"/api/v1/logs", native_logs},
        {"/api/v1/logs/patterns", native_patterns},
    };
    _Static_assert(sizeof table / sizeof table[0] <= NROUTES, "route table");
    osp_logs_api *api = osp_calloc(1, sizeof *api);
    if (!api)
        return OSP_ENOMEM;
    api->store = store;
    if (opt)
        api->opt = *opt;
    api->nroutes = sizeof table / sizeof table[0];
    for (size_t i = 0; i < api->nroutes; i++) {
        api->endpoints[i] = (logs_endpoint){api, table[i].fn};
        api->routes[i] = (osp_route){.path = table[i].path,
                                     .handler = dispatch,
                                     .ctx = &api->endpoints[i],
                                     .websocket = table[i].fn == loki_tail};
    }
    *out = api;
    return 0;
}

void osp_logs_api_destroy(osp_logs_api *api)
{
    osp_free(api);
}

void osp_logs_api_routes(osp_logs_api *api, const osp_route **routes, size_t *n)
{
    *routes = api->routes;
    *n = api->nroutes;
}
