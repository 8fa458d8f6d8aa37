/* HTTP handlers of the native query API, the Jaeger query API, health and metrics. */
#include "api/api.h"

#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "api/logs.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "proto/otlp.h"
#include "query/jaeger.h"
#include "query/params.h"
#include "query/traces.h"

#define DEFAULT_LIMIT 20
#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define NATIVE_TRACES "/api/v1/traces/"
#define NATIVE_SERVICES "/api/v1/services/"
#define JAEGER_TRACES "/api/traces/"
#define JAEGER_SERVICES "/api/services/"
#define OPERATIONS_SUFFIX "/operations"
#define LOGS_SUFFIX "/logs"

enum { NROUTES = 12 };

typedef void (*endpoint_fn)(osp_api *api, const osp_http_request *req, osp_http_response *res);

/* What a route's ctx points to. */
typedef struct endpoint {
    osp_api *api;
    endpoint_fn fn;
} endpoint;

struct osp_api {
    osp_store *store;
    osp_logs_api *logs; /* serves /api/v1/traces/{traceId}/logs; NULL: not served */
    atomic_int ready;
    osp_metric *mem_in_use; /* osprey_memory_in_use_bytes */
    osp_metric *rss;        /* osprey_process_resident_memory_bytes */
    endpoint endpoints[NROUTES];
    /* the golden API's after ours, then the sessions API's */
    osp_route routes[NROUTES + OSP_GOLDEN_API_NROUTES + OSP_SESSIONS_API_NROUTES];
    size_t nroutes;
};

/* Every route enters here: the response body is capped while the endpoint runs. */
static void dispatch(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const endpoint *e = ctx;
    size_t max = res->body.max;
    if (res->body.max > OSP_API_MAX_RESPONSE)
        res->body.max = OSP_API_MAX_RESPONSE;
    e->fn(e->api, req, res);
    res->body.max = max;
}

/* The two error-body styles: {"error":"..."} or Jaeger's envelope with "errors". */
enum dialect { NATIVE, JAEGER };

static void ok(osp_http_response *res, const char *content_type)
{
    res->status = 200;
    res->content_type = content_type;
}

static void fail(osp_http_response *res, enum dialect d, int status, const char *msg)
{
    osp_buf_reset(&res->body);
    if (d == NATIVE) {
        osp_http_response_error(res, status, "%s", msg);
        return;
    }
    res->status = status;
    res->content_type = JSON_TYPE;
    if (osp_jaeger_error(&res->body, status, msg))
        osp_buf_reset(&res->body);
}

/* Answers a failed store, search or render call. */
static void fail_rc(osp_http_response *res, enum dialect d, int rc)
{
    if (rc == OSP_EBUSY) {
        osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
        fail(res, d, 503, "the store is busy, retry later");
    } else if (rc == OSP_ETOOBIG) {
        fail(res, d, 422, "the result is too large: lower limit or narrow the search");
    } else {
        fail(res, d, 500, osp_strerror(rc));
    }
}

/* The part of the path after a route's prefix. */
static osp_str path_rest(const osp_http_request *req, const char *prefix)
{
    size_t n = strlen(prefix);
    assert(osp_str_has_prefix(req->path, osp_str_make(prefix, n)));
    return osp_str_make(req->path.p + n, req->path.n - n);
}

/* The {service} of ".../services/{service}/operations". 0, OSP_ENOTFOUND when the path has
 * another shape, OSP_EPARSE (bad percent-encoding or empty name), OSP_ENOMEM. */
static int path_service(const osp_http_request *req, const char *prefix, osp_str *service)
{
    osp_str rest = path_rest(req, prefix), suffix = OSP_STR_LIT(OPERATIONS_SUFFIX);
    if (rest.n < suffix.n ||
        !osp_str_eq(osp_str_make(rest.p + rest.n - suffix.n, suffix.n), suffix))
        return OSP_ENOTFOUND;
    osp_str raw = osp_str_make(rest.p, rest.n - suffix.n);
    if (memchr(raw.p, '/', raw.n))
        return OSP_ENOTFOUND;
    int rc = osp_http_percent_decode(req->arena, raw, 0, service);
    return rc == 0 && service->n == 0 ? OSP_EPARSE : rc;
}

/* Answers path_service's failures; 1 when it did. */
static int fail_path_service(osp_http_response *res, enum dialect d, int rc)
{
    if (rc == OSP_ENOTFOUND)
        fail(res, d, 404, "not found");
    else if (rc == OSP_EPARSE)
        fail(res, d, 400, "invalid service: empty or badly percent-encoded");
    else if (rc)
        fail_rc(res, d, rc);
    return rc != 0;
}

/* A query parameter that is present and non-empty: 1; 0 when absent or empty (both mean
 * "not given"); OSP_EPARSE on bad percent-encoding. */
static int param(const osp_http_request *req, const char *name, osp_str *v)
{
    int rc = osp_http_query_get(req, name, v);
    return rc == 1 && v->n == 0 ? 0 : rc;
}

/* Answers a failure to read the query string (osp_http_query_* errors). */
static void fail_query(osp_http_response *res, enum dialect d, int rc)
{
    if (rc == OSP_EPARSE)
        fail(res, d, 400, "malformed query string: bad percent-encoding");
    else
        fail_rc(res, d, rc);
}

static int put_str_array(osp_buf *out, const osp_str *a, size_t n)
{
    int rc = osp_buf_putc(out, '[');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc = osp_buf_putc(out, ',');
        if (rc == 0)
            rc = osp_buf_json_str(out, a[i].p, a[i].n);
    }
    return rc ? rc : osp_buf_putc(out, ']');
}

static const char *otlp_kind_name(int32_t kind)
{
    static const char *const names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    return kind > 0 && kind < (int32_t)(sizeof names / sizeof names[0]) ? names[kind] : names[0];
}

/* ---- search parameters shared by both dialects ---- */

static int add_filter(osp_trace_query *q, osp_attr_filter *filters, const char *param_name,
                      osp_str key, osp_str value, osp_param_err *err)
{
    if (key.n == 0) {
        snprintf(err->msg, sizeof err->msg, "invalid %s: a key is required", param_name);
        return OSP_EINVAL;
    }
    if (q->nattrs == OSP_API_MAX_FILTERS) {
        snprintf(err->msg, sizeof err->msg, "invalid %s: at most %d filters are allowed",
                 param_name, OSP_API_MAX_FILTERS);
        return OSP_EINVAL;
    }
    filters[q->nattrs++] = (osp_attr_filter){key, value};
    return 0;
}

static int check_ranges(const osp_trace_query *q, osp_param_err *err)
{
    if (q->min_duration_ns && q->max_duration_ns && q->max_duration_ns < q->min_duration_ns) {
        snprintf(err->msg, sizeof err->msg, "invalid maxDuration: less than minDuration");
        return OSP_EINVAL;
    }
    if (q->start_ns && q->end_ns && q->end_ns < q->start_ns) {
        snprintf(err->msg, sizeof err->msg, "invalid end: before start");
        return OSP_EINVAL;
    }
    return 0;
}

/* ---- native API ---- */

/* One parameter of GET /api/v1/traces; unknown names are ignored. */
static int native_search_param(osp_trace_query *q, osp_attr_filter *filters, osp_str name,
                               osp_str v, osp_param_err *err)
{
    osp_str attr = OSP_STR_LIT("attr.");
    if (osp_str_has_prefix(name, attr))
        return add_filter(q, filters, "attr.KEY", osp_str_make(name.p + attr.n, name.n - attr.n), v,
                          err);
    if (v.n == 0)
        return 0;
    if (osp_str_eqz(name, "service"))
        q->service = v;
    else if (osp_str_eqz(name, "operation"))
        q->operation = v;
    else if (osp_str_eqz(name, "minDuration"))
        return osp_param_duration("minDuration", v, &q->min_duration_ns, err);
    else if (osp_str_eqz(name, "maxDuration"))
        return osp_param_duration("maxDuration", v, &q->max_duration_ns, err);
    else if (osp_str_eqz(name, "start"))
        return osp_param_time("start", v, &q->start_ns, err);
    else if (osp_str_eqz(name, "end"))
        return osp_param_time("end", v, &q->end_ns, err);
    else if (osp_str_eqz(name, "status"))
        return osp_param_status("status", v, &q->status, err);
    else if (osp_str_eqz(name, "limit"))
        return osp_param_limit("limit", v, OSP_API_MAX_LIMIT, &q->limit, err);
    return 0;
}

static void native_search(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_trace_query q = {.status = -1, .limit = DEFAULT_LIMIT};
    osp_attr_filter *filters = osp_arena_calloc(req->arena, OSP_API_MAX_FILTERS, sizeof *filters);
    osp_trace_summary *sums = NULL;
    osp_param_err err;
    osp_str name, v;
    size_t pos = 0, n = 0;
    int more = 0, rc = 0;
    if (!filters) {
        fail_rc(res, NATIVE, OSP_ENOMEM);
        return;
    }
    while (rc == 0 && (more = osp_http_query_next(req, &pos, &name, &v)) == 1)
        rc = native_search_param(&q, filters, name, v, &err);
    if (rc == 0 && more < 0) {
        fail_query(res, NATIVE, more);
        return;
    }
    if (rc || check_ranges(&q, &err)) {
        fail(res, NATIVE, 400, err.msg);
        return;
    }
    q.attrs = filters;
    rc = osp_trace_search(api->store, &q, req->arena, &sums, &n);
    if (rc == 0)
        rc = osp_trace_summaries_json(sums, n, &res->body);
    if (rc)
        fail_rc(res, NATIVE, rc);
    else
        ok(res, JSON_TYPE);
}

static void native_trace(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    uint8_t id[16];
    char hex[32], msg[64];
    osp_param_err err;
    osp_span_batch b;
    int rc;
    osp_str rest = path_rest(req, NATIVE_TRACES), logs = OSP_STR_LIT(LOGS_SUFFIX);
    if (api->logs && rest.n > logs.n && !memcmp(rest.p + rest.n - logs.n, logs.p, logs.n)) {
        osp_logs_api_trace_logs(api->logs, req, res, osp_str_make(rest.p, rest.n - logs.n));
        return;
    }
    if (osp_param_trace_id("traceId", rest, id, &err)) {
        fail(res, NATIVE, 400, err.msg);
        return;
    }
    osp_span_batch_init(&b);
    rc = osp_store_get_trace(api->store, id, 0, &b);
    if (rc == 0)
        rc = osp_otlp_traces_encode_json(&b, &res->body);
    if (rc == OSP_ENOTFOUND) {
        osp_hex_encode(id, sizeof id, hex);
        snprintf(msg, sizeof msg, "trace %.32s not found", hex);
        fail(res, NATIVE, 404, msg);
    } else if (rc) {
        fail_rc(res, NATIVE, rc);
    } else {
        ok(res, JSON_TYPE);
    }
    osp_span_batch_cleanup(&b);
}

static void native_services(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_str *names;
    size_t n;
    int rc = osp_store_services(api->store, req->arena, &names, &n);
    if (rc == 0)
        rc = osp_buf_puts(&res->body, "{\"services\":");
    if (rc == 0)
        rc = put_str_array(&res->body, names, n);
    if (rc == 0)
        rc = osp_buf_putc(&res->body, '}');
    if (rc)
        fail_rc(res, NATIVE, rc);
    else
        ok(res, JSON_TYPE);
}

static void native_operations(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_operation *ops;
    osp_str service;
    size_t n;
    int rc = path_service(req, NATIVE_SERVICES, &service);
    if (fail_path_service(res, NATIVE, rc))
        return;
    rc = osp_store_operations(api->store, service, req->arena, &ops, &n);
    if (rc == 0)
        rc = osp_buf_puts(&res->body, "{\"operations\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = osp_buf_puts(&res->body, i ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = osp_buf_json_str(&res->body, ops[i].name.p, ops[i].name.n);
        if (rc == 0)
            rc = osp_buf_printf(&res->body, ",\"spanKind\":\"%s\"}", otlp_kind_name(ops[i].kind));
    }
    if (rc == 0)
        rc = osp_buf_puts(&res->body, "]}");
    if (rc)
        fail_rc(res, NATIVE, rc);
    else
        ok(res, JSON_TYPE);
}

/* ---- Jaeger API ---- */

static void jaeger_services(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_str *names;
    size_t n;
    int rc = osp_store_services(api->store, req->arena, &names, &n);
    if (rc == 0)
        rc = osp_jaeger_begin(&res->body);
    if (rc == 0)
        rc = put_str_array(&res->body, names, n);
    if (rc == 0)
        rc = osp_jaeger_end(&res->body, n);
    if (rc)
        fail_rc(res, JAEGER, rc);
    else
        ok(res, JSON_TYPE);
}

/* /api/services/{service}/operations: distinct operation names. */
static void jaeger_service_operations(osp_api *api, const osp_http_request *req,
                                      osp_http_response *res)
{
    osp_operation *ops;
    osp_str service;
    size_t n, count = 0;
    int rc = path_service(req, JAEGER_SERVICES, &service);
    if (fail_path_service(res, JAEGER, rc))
        return;
    rc = osp_store_operations(api->store, service, req->arena, &ops, &n);
    if (rc == 0)
        rc = osp_jaeger_begin(&res->body);
    if (rc == 0)
        rc = osp_buf_putc(&res->body, '[');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i && osp_str_eq(ops[i].name, ops[i - 1].name)) /* sorted by name */
            continue;
        if (count++)
            rc = osp_buf_putc(&res->body, ',');
        if (rc == 0)
            rc = osp_buf_json_str(&res->body, ops[i].name.p, ops[i].name.n);
    }
    if (rc == 0)
        rc = osp_buf_putc(&res->body, ']');
    if (rc == 0)
        rc = osp_jaeger_end(&res->body, count);
    if (rc)
        fail_rc(res, JAEGER, rc);
    else
        ok(res, JSON_TYPE);
}

/* /api/operations?service=S&spanKind=K: [{"name","spanKind"}], "" for unspecified kinds. */
static void jaeger_operations(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_operation *ops;
    osp_str service, kind_text;
    int32_t kind = -1;
    size_t n, count = 0;
    char msg[160];
    int rc = param(req, "service", &service);
    if (rc < 0) {
        fail_query(res, JAEGER, rc);
        return;
    }
    if (rc == 0) {
        fail(res, JAEGER, 400, "parameter 'service' is required");
        return;
    }
    rc = param(req, "spanKind", &kind_text);
    if (rc < 0) {
        fail_query(res, JAEGER, rc);
        return;
    }
    for (int32_t k = OSP_SPAN_KIND_INTERNAL; rc == 1 && k <= OSP_SPAN_KIND_CONSUMER; k++)
        if (osp_str_eqz(kind_text, osp_jaeger_span_kind(k)))
            kind = k;
    if (rc == 1 && kind < 0) {
        snprintf(msg, sizeof msg,
                 "invalid spanKind \"%.*s\": expected server, client, producer, consumer or "
                 "internal",
                 (int)(kind_text.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : kind_text.n),
                 kind_text.p);
        fail(res, JAEGER, 400, msg);
        return;
    }
    rc = osp_store_operations(api->store, service, req->arena, &ops, &n);
    if (rc == 0)
        rc = osp_jaeger_begin(&res->body);
    if (rc == 0)
        rc = osp_buf_putc(&res->body, '[');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *name = osp_jaeger_span_kind(ops[i].kind);
        if (kind >= 0 && ops[i].kind != kind)
            continue;
        rc = osp_buf_puts(&res->body, count++ ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = osp_buf_json_str(&res->body, ops[i].name.p, ops[i].name.n);
        if (rc == 0)
            rc = osp_buf_printf(&res->body, ",\"spanKind\":\"%s\"}", name ? name : "");
    }
    if (rc == 0)
        rc = osp_buf_putc(&res->body, ']');
    if (rc == 0)
        rc = osp_jaeger_end(&res->body, count);
    if (rc)
        fail_rc(res, JAEGER, rc);
    else
        ok(res, JSON_TYPE);
}

/* One parameter of Jaeger's GET /api/traces; unknown names are ignored. */
static int jaeger_search_param(const osp_http_request *req, osp_trace_query *q,
                               osp_attr_filter *filters, uint64_t *lookback, osp_str name,
                               osp_str v, osp_param_err *err)
{
    if (v.n == 0)
        return 0;
    if (osp_str_eqz(name, "service"))
        q->service = v;
    else if (osp_str_eqz(name, "operation"))
        q->operation = v;
    else if (osp_str_eqz(name, "tags"))
        return osp_param_tags("tags", v, req->arena, filters, OSP_API_MAX_FILTERS, &q->nattrs, err);
    else if (osp_str_eqz(name, "tag")) {
        const char *colon = memchr(v.p, ':', v.n);
        if (!colon) {
            snprintf(err->msg, sizeof err->msg, "invalid tag \"%.*s\": expected key:value",
                     (int)(v.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : v.n), v.p);
            return OSP_EINVAL;
        }
        size_t k = (size_t)(colon - v.p);
        return add_filter(q, filters, "tag", osp_str_make(v.p, k),
                          osp_str_make(colon + 1, v.n - k - 1), err);
    } else if (osp_str_eqz(name, "minDuration"))
        return osp_param_duration("minDuration", v, &q->min_duration_ns, err);
    else if (osp_str_eqz(name, "maxDuration"))
        return osp_param_duration("maxDuration", v, &q->max_duration_ns, err);
    else if (osp_str_eqz(name, "start"))
        return osp_param_time_us("start", v, &q->start_ns, err);
    else if (osp_str_eqz(name, "end"))
        return osp_param_time_us("end", v, &q->end_ns, err);
    else if (osp_str_eqz(name, "limit"))
        return osp_param_limit("limit", v, OSP_API_MAX_LIMIT, &q->limit, err);
    else if (osp_str_eqz(name, "lookback") && !osp_str_eqz(v, "custom"))
        return osp_param_lookback("lookback", v, lookback, err);
    return 0;
}

/* Jaeger clients search for errors with the tags error=true or otel.status_code=X, which
 * Osprey keeps as the span status rather than as attributes: turn those into q->status. */
static int tags_to_status(osp_trace_query *q, osp_attr_filter *filters, osp_param_err *err)
{
    size_t kept = 0;
    for (size_t i = 0; i < q->nattrs; i++) {
        osp_attr_filter f = filters[i];
        if (osp_str_eqz(f.key, "error") && osp_str_eqz(f.value, "true")) {
            q->status = OSP_STATUS_ERROR;
        } else if (osp_str_eqz(f.key, "otel.status_code")) {
            if (osp_param_status("otel.status_code", f.value, &q->status, err))
                return OSP_EINVAL;
        } else {
            filters[kept++] = f;
        }
    }
    q->nattrs = kept;
    return 0;
}

static void jaeger_search(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_trace_query q = {.status = -1, .limit = DEFAULT_LIMIT};
    osp_attr_filter *filters = osp_arena_calloc(req->arena, OSP_API_MAX_FILTERS, sizeof *filters);
    osp_trace_hit *hits = NULL;
    osp_param_err err;
    osp_span_batch b;
    osp_str name, v;
    uint64_t lookback = 0;
    size_t pos = 0, nhits = 0;
    int more = 0, rc = 0;
    if (!filters) {
        fail_rc(res, JAEGER, OSP_ENOMEM);
        return;
    }
    while (rc == 0 && (more = osp_http_query_next(req, &pos, &name, &v)) == 1)
        rc = jaeger_search_param(req, &q, filters, &lookback, name, v, &err);
    if (rc == OSP_ENOMEM) {
        fail_rc(res, JAEGER, rc);
        return;
    }
    if (rc == 0 && more < 0) {
        fail_query(res, JAEGER, more);
        return;
    }
    if (rc || tags_to_status(&q, filters, &err) || check_ranges(&q, &err)) {
        fail(res, JAEGER, 400, err.msg);
        return;
    }
    if (lookback && !q.start_ns) {
        uint64_t end = q.end_ns ? q.end_ns : osp_clock_ns(CLOCK_REALTIME);
        q.start_ns = end > lookback ? end - lookback : 0;
    }
    q.attrs = filters;
    osp_span_batch_init(&b);
    rc = osp_store_search_traces(api->store, &q, req->arena, &hits, &nhits);
    if (rc == 0)
        rc = osp_jaeger_begin(&res->body);
    if (rc == 0)
        rc = osp_buf_putc(&res->body, '[');
    for (size_t i = 0, written = 0; rc == 0 && i < nhits; i++) {
        osp_span_batch_reset(&b);
        rc = osp_store_get_trace(api->store, hits[i].trace_id, 0, &b);
        if (rc == OSP_ENOTFOUND) { /* dropped by retention since the search */
            rc = 0;
            continue;
        }
        if (rc == 0 && written++)
            rc = osp_buf_putc(&res->body, ',');
        if (rc == 0)
            rc = osp_jaeger_trace(&b, 0, b.nspans, &res->body);
    }
    if (rc == 0)
        rc = osp_buf_putc(&res->body, ']');
    if (rc == 0)
        rc = osp_jaeger_end(&res->body, 0);
    if (rc)
        fail_rc(res, JAEGER, rc);
    else
        ok(res, JSON_TYPE);
    osp_span_batch_cleanup(&b);
}

static void jaeger_trace(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    uint8_t id[16];
    osp_param_err err;
    osp_span_batch b;
    int rc;
    if (osp_param_trace_id("traceID", path_rest(req, JAEGER_TRACES), id, &err)) {
        fail(res, JAEGER, 400, err.msg);
        return;
    }
    osp_span_batch_init(&b);
    rc = osp_store_get_trace(api->store, id, 0, &b);
    if (rc == 0)
        rc = osp_jaeger_render(&b, &res->body);
    if (rc == OSP_ENOTFOUND)
        fail(res, JAEGER, 404, "trace not found");
    else if (rc)
        fail_rc(res, JAEGER, rc);
    else
        ok(res, JSON_TYPE);
    osp_span_batch_cleanup(&b);
}

/* ---- health and metrics ---- */

static void text(osp_http_response *res, int status, const char *body)
{
    osp_buf_reset(&res->body);
    res->status = osp_buf_puts(&res->body, body) ? 500 : status;
    res->content_type = TEXT_TYPE;
}

static void healthz(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    (void)api;
    (void)req;
    text(res, 200, "ok");
}

static void readyz(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    (void)req;
    if (atomic_load(&api->ready))
        text(res, 200, "ok");
    else
        text(res, 503, "not ready");
}

/* Resident set size from /proc/self/statm. 0 or OSP_EIO. */
static int resident_bytes(uint64_t *out)
{
    unsigned long pages = 0;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    int rc = OSP_EIO;
    if (!f)
        return rc;
    if (fscanf(f, "%*s %lu", &pages) == 1 && page > 0) {
        *out = (uint64_t)pages * (uint64_t)page;
        rc = 0;
    }
    fclose(f);
    return rc;
}

static void metrics(osp_api *api, const osp_http_request *req, osp_http_response *res)
{
    uint64_t rss;
    (void)req;
    osp_gauge_set(api->mem_in_use, (double)osp_mem_in_use());
    if (resident_bytes(&rss) == 0)
        osp_gauge_set(api->rss, (double)rss);
    if (osp_metrics_render(&res->body)) {
        text(res, 500, "cannot render metrics");
        return;
    }
    ok(res, METRICS_TYPE);
}

/* ---- lifecycle ---- */

int osp_api_create(osp_store *store, osp_api **out)
{
    static const struct {
        const char *path;
        endpoint_fn fn;
    } table[NROUTES] = {
        {"/healthz", healthz},
        {"/readyz", readyz},
        {"/metrics", metrics},
        {"/api/v1/traces", native_search},
        {NATIVE_TRACES "*", native_trace},
        {"/api/v1/services", native_services},
        {NATIVE_SERVICES "*", native_operations},
        {"/api/services", jaeger_services},
        {JAEGER_SERVICES "*", jaeger_service_operations},
        {"/api/operations", jaeger_operations},
        {"/api/traces", jaeger_search},
        {JAEGER_TRACES "*", jaeger_trace},
    };
    osp_api *api = osp_calloc(1, sizeof *api);
    if (!api)
        return OSP_ENOMEM;
    api->store = store;
    atomic_init(&api->ready, 0);
    api->mem_in_use = osp_gauge("osprey_memory_in_use_bytes",
                                "Bytes currently allocated through Osprey's allocator.", "");
    api->rss = osp_gauge("osprey_process_resident_memory_bytes",
                         "Resident set size of the process in bytes.", "");
    for (size_t i = 0; i < NROUTES; i++) {
        api->endpoints[i] = (endpoint){api, table[i].fn};
        api->routes[i] = (osp_route){
            .method = "GET", .path = table[i].path, .handler = dispatch, .ctx = &api->endpoints[i]};
    }
    api->nroutes = NROUTES;
    *out = api;
    return 0;
}

void osp_api_destroy(osp_api *api)
{
    osp_free(api);
}

void osp_api_routes(osp_api *api, const osp_route **routes, size_t *n)
{
    *routes = api->routes;
    *n = api->nroutes;
}

void osp_api_set_golden(osp_api *api, osp_golden_api *golden)
{
    const osp_route *routes;
    size_t n;
    assert(api->nroutes == NROUTES);
    osp_golden_api_routes(golden, &routes, &n);
    memcpy(api->routes + NROUTES, routes, n * sizeof *routes);
    api->nroutes = NROUTES + n;
}

void osp_api_set_sessions(osp_api *api, osp_sessions_api *sessions)
{
    const osp_route *routes;
    size_t n;
    assert(api->nroutes == NROUTES + OSP_GOLDEN_API_NROUTES);
    osp_sessions_api_routes(sessions, &routes, &n);
    memcpy(api->routes + api->nroutes, routes, n * sizeof *routes);
    api->nroutes += n;
}

void osp_api_set_logs(osp_api *api, osp_logs_api *logs)
{
    api->logs = logs;
}

void osp_api_set_ready(osp_api *api, int ready)
{
    atomic_store(&api->ready, ready ? 1 : 0);
}
