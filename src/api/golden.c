/* Handlers of the golden-signal APIs (api/golden.h): parameters from the query string,
 * computations from analytics/golden.h, JSON answers; errors as {"error":"..."}. */
#include "api/golden.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/server_ttft.h"
#include "analytics/sessions.h"
#include "api/golden_int.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/numfmt.h"
#include "core/rfc3339.h"
#include "query/params.h"

#define JSON_TYPE "application/json"
#define DEFAULT_RANGE_MS ((int64_t)3600 * 1000)
#define DEFAULT_POINTS 100 /* time series without a step */
#define BY_USER 3          /* groupBy=user, after enum osp_golden_group: from the AI call index */

typedef void (*golden_fn)(osp_golden_api *api, const osp_http_request *req, osp_http_response *res);

typedef struct golden_endpoint {
    osp_golden_api *api;
    golden_fn fn;
} golden_endpoint;

struct osp_golden_api {
    osp_golden_env env;
    osp_golden_thresholds thresholds;
    golden_endpoint endpoints[OSP_GOLDEN_API_NROUTES];
    osp_route routes[OSP_GOLDEN_API_NROUTES];
};

/* ---- responses ---- */

void osp__api_fail(osp_http_response *res, int status, const char *fmt, ...)
{
    char msg[OSP_PARAM_ECHO_MAX * 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    osp_buf_reset(&res->body);
    osp_http_response_error(res, status, "%s", msg);
}

void osp__api_finish(osp_http_response *res, int rc)
{
    if (rc == 0) {
        res->status = 200;
        res->content_type = JSON_TYPE;
    } else if (rc == OSP_EBUSY) {
        osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
        osp__api_fail(res, 503, "the store is busy, retry later");
    } else if (rc == OSP_ETOOBIG) {
        osp__api_fail(res, 422, "the result is too large: narrow the range");
    } else {
        osp__api_fail(res, 500, "%s", osp_strerror(rc));
    }
}

/* A JSON number; null for NaN and infinities. */
static int put_num(osp_buf *b, double v)
{
    return isfinite(v) ? osp_buf_float(b, v) : osp_buf_puts(b, "null");
}

int osp__api_num_field(osp_buf *b, const char *name, double v)
{
    int rc = osp_buf_printf(b, ",\"%s\":", name);
    return rc ? rc : put_num(b, v);
}

int osp__api_str_field(osp_buf *b, const char *name, osp_str v, int first)
{
    int rc = osp_buf_printf(b, "%s\"%s\":", first ? "" : ",", name);
    return rc ? rc : osp_buf_json_str(b, v.p, v.n);
}

static int put_health(osp_buf *b, unsigned h)
{
    static const char *const names[] = {"busy", "slow", "failing"};
    int rc = osp_buf_puts(b, ",\"health\":[");
    for (size_t i = 0, n = 0; rc == 0 && i < 3; i++)
        if (h & (1u << i))
            rc = osp_buf_printf(b, "%s\"%s\"", n++ ? "," : "", names[i]);
    if (rc == 0 && h == 0)
        rc = osp_buf_puts(b, "\"ok\"");
    return rc ? rc : osp_buf_putc(b, ']');
}

/* ---- parameters ---- */

int osp__api_param(const osp_http_request *req, osp_http_response *res, const char *name,
                   osp_str *v)
{
    int rc = osp_http_query_get(req, name, v);
    if (rc < 0) {
        osp__api_fail(res, 400, "malformed query string: bad percent-encoding");
        return -1;
    }
    return rc == 1 && v->n > 0;
}

/* A number of seconds (fraction allowed) in text: 0 with *ms, else -1. */
static int parse_seconds(osp_str text, int64_t *ms)
{
    char buf[40], *end;
    if (text.n >= sizeof buf)
        return -1;
    memcpy(buf, text.p, text.n);
    buf[text.n] = 0;
    double s = strtod(buf, &end);
    if (*end || !(s >= 0 && s < 1e13))
        return -1;
    *ms = (int64_t)llround(s * 1000);
    return 0;
}

/* Time parameter name: unix seconds or RFC 3339; def when absent. 0, or answers 400 and
 * returns -1. */
static int time_param(const osp_http_request *req, osp_http_response *res, const char *name,
                      int64_t def, int64_t *ms)
{
    osp_str v;
    uint64_t ns;
    int rc = osp__api_param(req, res, name, &v);
    if (rc <= 0) {
        *ms = def;
        return rc;
    }
    if (parse_seconds(v, ms) == 0)
        return 0;
    if (osp_rfc3339_parse(v, &ns) == 0 && ns / 1000000 <= INT64_MAX) {
        *ms = (int64_t)(ns / 1000000);
        return 0;
    }
    osp__api_fail(res, 400, "invalid %s \"%.*s\": expected unix seconds or an RFC 3339 time", name,
                  (int)(v.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : v.n), v.p);
    return -1;
}

int osp__api_range(const osp_http_request *req, osp_http_response *res, int64_t *start,
                   int64_t *end)
{
    int64_t now = (int64_t)(osp_clock_ns(CLOCK_REALTIME) / 1000000);
    if (time_param(req, res, "end", now, end) ||
        time_param(req, res, "start", *end - DEFAULT_RANGE_MS, start))
        return -1;
    if (*end <= *start) {
        osp__api_fail(res, 400, "invalid end: not after start");
        return -1;
    }
    if (*end - *start > OSP_GOLDEN_MAX_RANGE_MS) {
        osp__api_fail(res, 400, "invalid start: the range is longer than 366 days");
        return -1;
    }
    return 0;
}

/* Parameter name as one of names[0..n) (def when absent): its index, or answers 400 and
 * returns -1. */
static int choice_param(const osp_http_request *req, osp_http_response *res, const char *name,
                        const char *const *names, size_t n, int def)
{
    osp_str v;
    int rc = osp__api_param(req, res, name, &v);
    if (rc <= 0)
        return rc < 0 ? -1 : def;
    for (size_t i = 0; i < n; i++)
        if (osp_str_eqz(v, names[i]))
            return (int)i;
    char list[128] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    osp__api_fail(res, 400, "invalid %s \"%.*s\": use one of %s", name,
                  (int)(v.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : v.n), v.p, list);
    return -1;
}

static int group_param(const osp_http_request *req, osp_http_response *res)
{
    static const char *const names[] = {"model", "provider", "service", "user"};
    return choice_param(req, res, "groupBy", names, 4, OSP_GOLDEN_BY_MODEL);
}

/* step: seconds or a Prometheus duration; by default a hundredth of the range, rounded up
 * to a second. 0, or answers 400 and returns -1. */
static int step_param(const osp_http_request *req, osp_http_response *res, int64_t range,
                      int64_t *step)
{
    osp_str v;
    int rc = osp__api_param(req, res, "step", &v);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *step = (range / DEFAULT_POINTS + 999) / 1000 * 1000;
        *step = *step > range ? range : *step;
        return 0;
    }
    if ((parse_seconds(v, step) && osp_prom_duration_parse(v, step)) || *step <= 0) {
        osp__api_fail(res, 400,
                      "invalid step \"%.*s\": expected a positive duration like 30s or 5m",
                      (int)(v.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : v.n), v.p);
        return -1;
    }
    if (*step > range || range / *step > OSP_GOLDEN_MAX_STEPS) {
        osp__api_fail(res, 400, "invalid step: it must make from 1 to %d steps of the range",
                      OSP_GOLDEN_MAX_STEPS);
        return -1;
    }
    return 0;
}

/* The environment of one request: prices brought up to date. */
static const osp_golden_env *env_of(osp_golden_api *api)
{
    if (api->env.prices)
        osp_price_table_refresh(api->env.prices);
    return &api->env;
}

/* ---- overview ---- */

static int put_red(osp_buf *b, const osp_golden_red *r, int quantiles)
{
    int rc = osp__api_num_field(b, "rate", r->rate);
    rc |= osp__api_num_field(b, "errorRate", r->error_rate);
    if (quantiles) {
        rc |= osp__api_num_field(b, "p50", r->p50);
        rc |= osp__api_num_field(b, "p95", r->p95);
        rc |= osp__api_num_field(b, "p99", r->p99);
        rc |= osp__api_num_field(b, "calls", r->calls);
        rc |= osp__api_num_field(b, "errors", r->errors);
    } else {
        rc |= osp__api_num_field(b, "p95", r->p95);
    }
    return rc;
}

static int put_overview(osp_buf *b, const osp_golden_overview *o)
{
    int rc = osp_buf_puts(b, "{\"services\":[");
    for (size_t i = 0; rc == 0 && i < o->nservices; i++) {
        rc = osp_buf_puts(b, i ? ",{" : "{");
        rc |= osp__api_str_field(b, "name", o->services[i].name, 1);
        rc |= put_red(b, &o->services[i].red, 1);
        rc |= osp_buf_putc(b, '}');
    }
    rc |= osp_buf_puts(b, "],\"models\":[");
    for (size_t i = 0; rc == 0 && i < o->nmodels; i++) {
        const osp_golden_usage *u = &o->models[i];
        rc = osp_buf_puts(b, i ? ",{" : "{");
        rc |= osp__api_str_field(b, "provider", u->provider, 1);
        rc |= osp__api_str_field(b, "model", u->model, 0);
        rc |= osp__api_num_field(b, "calls", u->calls);
        rc |= osp__api_num_field(b, "errors", u->errors);
        rc |= osp__api_num_field(b, "cost", u->cost);
        rc |= osp__api_num_field(b, "inputTokens", u->input_tokens);
        rc |= osp__api_num_field(b, "outputTokens", u->output_tokens);
        rc |= osp_buf_putc(b, '}');
    }
    return rc ? rc : osp_buf_puts(b, "]}");
}

static void overview(osp_golden_api *api, const osp_http_request *req, osp_http_response *res)
{
    int64_t start, end;
    osp_golden_overview o;
    if (osp__api_range(req, res, &start, &end))
        return;
    int rc = osp_golden_overview_get(env_of(api), start, end, req->arena, &o);
    osp__api_finish(res, rc ? rc : put_overview(&res->body, &o));
}

/* ---- topology ---- */

static int put_topology(osp_buf *b, const osp_golden_topology *t)
{
    int rc = osp_buf_puts(b, "{\"nodes\":[");
    for (size_t i = 0; rc == 0 && i < t->nnodes; i++) {
        const osp_golden_node *n = &t->nodes[i];
        rc = osp_buf_puts(b, i ? ",{" : "{");
        rc |= osp__api_str_field(b, "id", n->id, 1);
        rc |= osp_buf_printf(b, ",\"kind\":\"%s\"", n->is_virtual ? "virtual" : "service");
        rc |= put_red(b, &n->red, 0);
        rc |= put_health(b, n->health);
        rc |= osp_buf_putc(b, '}');
    }
    rc |= osp_buf_puts(b, "],\"edges\":[");
    for (size_t i = 0; rc == 0 && i < t->nedges; i++) {
        const osp_golden_edge *e = &t->edges[i];
        rc = osp_buf_puts(b, i ? ",{" : "{");
        rc |= osp__api_str_field(b, "client", t->nodes[e->client].id, 1);
        rc |= osp__api_str_field(b, "server", t->nodes[e->server].id, 0);
        rc |= osp__api_str_field(b, "connectionType", e->connection_type, 0);
        rc |= put_red(b, &e->red, 0);
        rc |= put_health(b, e->health);
        rc |= osp_buf_putc(b, '}');
    }
    rc |= osp_buf_puts(b, "],\"hotPath\":[");
    for (size_t i = 0; rc == 0 && i < t->nhot; i++) {
        osp_str id = t->nodes[t->hot_path[i]].id;
        rc = (i ? osp_buf_putc(b, ',') : 0) | osp_buf_json_str(b, id.p, id.n);
    }
    return rc ? rc : osp_buf_puts(b, "]}");
}

static void topology(osp_golden_api *api, const osp_http_request *req, osp_http_response *res)
{
    int64_t start, end;
    osp_golden_topology t;
    if (osp__api_range(req, res, &start, &end))
        return;
    int rc = osp_golden_topology_get(env_of(api), &api->thresholds, start, end, req->arena, &t);
    osp__api_finish(res, rc ? rc : put_topology(&res->body, &t));
}

/* ---- LLM usage ---- */

static int put_usage(osp_buf *b, const osp_golden_usage *u, int by)
{
    int rc = osp__api_str_field(b, "key", u->key, 1);
    if (by == OSP_GOLDEN_BY_MODEL)
        rc |= osp__api_str_field(b, "provider", u->provider, 0);
    rc |= osp__api_num_field(b, "calls", u->calls);
    rc |= osp__api_num_field(b, "errors", u->errors);
    rc |= osp__api_num_field(b, "inputTokens", u->input_tokens);
    rc |= osp__api_num_field(b, "outputTokens", u->output_tokens);
    rc |= osp__api_num_field(b, "cacheReadTokens", u->cache_read_tokens);
    rc |= osp__api_num_field(b, "cacheWriteTokens", u->cache_write_tokens);
    rc |= osp__api_num_field(b, "cost", u->cost);
    rc |= osp__api_num_field(b, "latencyP50", u->latency_p50);
    rc |= osp__api_num_field(b, "latencyP95", u->latency_p95);
    rc |= osp__api_num_field(b, "ttftP50", u->ttft_p50);
    rc |= osp__api_num_field(b, "ttftP95", u->ttft_p95);
    rc |= osp__api_num_field(b, "tpotP50", u->tpot_p50);
    rc |= osp__api_num_field(b, "tpotP95", u->tpot_p95);
    rc |= osp__api_num_field(b, "streamingShare", u->streaming_share);
    return rc;
}

/* LLM usage per user over (start_ms, end_ms], from the AI call index. */
static int usage_by_user(const osp_golden_env *env, int64_t start_ms, int64_t end_ms,
                         osp_arena *arena, osp_golden_usage **u, size_t *n)
{
    osp_aicall_query q = {.start_ns = (uint64_t)start_ms * 1000000 + 1,
                          .end_ns = (uint64_t)end_ms * 1000000};
    osp_sessions_window w = {q.start_ns, q.end_ns};
    osp_aicall_source src = {.store = env->store, .q = &q};
    return osp_sessions_usage_by_user(&src, &w, env->prices, arena, u, n);
}

static void llm_models(osp_golden_api *api, const osp_http_request *req, osp_http_response *res)
{
    int64_t start, end;
    osp_golden_usage *u;
    size_t n;
    int by;
    if (osp__api_range(req, res, &start, &end) || (by = group_param(req, res)) < 0)
        return;
    int rc = by == BY_USER ? usage_by_user(env_of(api), start, end, req->arena, &u, &n)
                           : osp_golden_models_get(env_of(api), by, start, end, req->arena, &u, &n);
    if (rc == 0)
        rc = osp_buf_puts(&res->body, "{\"models\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = osp_buf_puts(&res->body, i ? ",{" : "{");
        rc |= put_usage(&res->body, &u[i], by);
        rc |= osp_buf_putc(&res->body, '}');
    }
    osp__api_finish(res, rc ? rc : osp_buf_puts(&res->body, "]}"));
}

/* Unix seconds, with the milliseconds as a fraction when there are any. */
static int put_seconds(osp_buf *b, int64_t ms)
{
    return osp_buf_float(b, (double)ms / 1000);
}

static int put_series(osp_buf *b, const osp_golden_series *s, size_t n, size_t nsteps,
                      int64_t start, int64_t step)
{
    int rc = osp_buf_puts(b, "{\"step\":");
    rc |= put_seconds(b, step);
    rc |= osp_buf_puts(b, ",\"series\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = osp_buf_puts(b, i ? ",{" : "{");
        rc |= osp__api_str_field(b, "key", s[i].key, 1);
        rc |= osp_buf_puts(b, ",\"points\":[");
        for (size_t k = 0; rc == 0 && k < nsteps; k++) {
            rc = osp_buf_puts(b, k ? ",[" : "[");
            rc |= put_seconds(b, start + (int64_t)(k + 1) * step);
            rc |= osp_buf_putc(b, ',');
            rc |= put_num(b, s[i].v[k]);
            rc |= osp_buf_putc(b, ']');
        }
        rc |= osp_buf_puts(b, "]}");
    }
    return rc ? rc : osp_buf_puts(b, "]}");
}

static void llm_timeseries(osp_golden_api *api, const osp_http_request *req, osp_http_response *res)
{
    static const char *const metrics[] = {"calls",       "errors",   "tokens",  "cost",
                                          "latency_p95", "ttft_p95", "tpot_p95"};
    int64_t start, end, step;
    osp_golden_series *s;
    size_t n, nsteps;
    int by, metric;
    if (osp__api_range(req, res, &start, &end) || (by = group_param(req, res)) < 0 ||
        (metric = choice_param(req, res, "metric", metrics, 7, OSP_GOLDEN_CALLS)) < 0 ||
        step_param(req, res, end - start, &step))
        return;
    int rc = osp_golden_timeseries_get(env_of(api), metric, by, start, end, step, req->arena, &s,
                                       &n, &nsteps);
    osp__api_finish(res, rc ? rc : put_series(&res->body, s, n, nsteps, start, step));
}

/* ---- diagnostic ---- */

/* The value of field f of g as JSON (TTFT and TPOT in seconds). */
static int put_field_value(osp_buf *b, const osp_genai *g, int f)
{
    osp_str str;
    int64_t i = 0;
    switch (osp_genai_field_value(g, f, &str, &i)) {
    case OSP_GV_STR:
        return osp_buf_json_str(b, str.p, str.n);
    case OSP_GV_INT:
        return osp_buf_printf(b, "%lld", (long long)i);
    case OSP_GV_BOOL:
        return osp_buf_puts(b, i ? "true" : "false");
    case OSP_GV_NS:
        return put_num(b, (double)i / 1e9);
    default:
        return osp_buf_puts(b, "null");
    }
}

static int put_field(osp_buf *b, const osp_genai *g, int f)
{
    static const char *const status[] = {"missing", "filled",  "inherited",
                                         "derived", "invalid", "not_applicable"};
    const osp_genai_source *src = &g->src[f];
    int has_value = src->status == OSP_GS_FILLED || src->status == OSP_GS_INHERITED ||
                    src->status == OSP_GS_DERIVED;
    int rc = osp_buf_printf(b, "\"%s\":{\"status\":\"%s\"", osp_genai_field_name(f),
                            src->status < 6 ? status[src->status] : "missing");
    if (has_value) {
        rc |= osp_buf_puts(b, ",\"value\":");
        rc |= put_field_value(b, g, f);
    }
    if (src->attr)
        rc |= osp__api_str_field(b, "attribute", osp_str_c(src->attr), 0);
    if (src->convention)
        rc |= osp__api_str_field(b, "convention",
                                 osp_str_c(osp_genai_convention_name(src->convention)), 0);
    if (src->reason)
        rc |= osp__api_str_field(b, "reason", osp_str_c(src->reason), 0);
    return rc ? rc : osp_buf_putc(b, '}');
}

static int put_diagnosed_span(osp_buf *b, const osp_span *s, const osp_genai *g)
{
    char hex[17];
    osp_hex_encode(s->span_id, 8, hex);
    int rc = osp__api_str_field(b, "spanId", osp_str_make(hex, 16), 1);
    rc |= osp__api_str_field(b, "name", s->name, 0);
    rc |= osp_buf_printf(b, ",\"type\":\"%s\",\"conventions\":[", osp_genai_type_name(g->type));
    for (unsigned bit = 0, n = 0; rc == 0 && bit < OSP_CONV_COUNT; bit++)
        if (g->conventions & (1u << bit))
            rc =
                osp_buf_printf(b, "%s\"%s\"", n++ ? "," : "", osp_genai_convention_name(1u << bit));
    rc |= osp_buf_puts(b, "],\"fields\":{");
    for (int f = 0; rc == 0 && f < OSP_GF_COUNT; f++)
        rc = (f ? osp_buf_putc(b, ',') : 0) | put_field(b, g, f);
    return rc ? rc : osp_buf_puts(b, "}");
}

static void llm_diagnose(osp_golden_api *api, const osp_http_request *req, osp_http_response *res)
{
    uint8_t id[16];
    char hex[33];
    osp_param_err err;
    osp_span_batch b;
    osp_genai *g = NULL;
    osp_str v = OSP_STR_LIT("");
    int rc = osp__api_param(req, res, "traceId", &v);
    if (rc < 0)
        return;
    if (osp_param_trace_id("traceId", v, id, &err)) {
        osp__api_fail(res, 400, "%s", rc ? err.msg : "missing traceId");
        return;
    }
    osp_hex_encode(id, sizeof id, hex);
    osp_span_batch_init(&b);
    rc = osp_store_get_trace(api->env.store, id, 0, &b);
    if (rc == 0)
        rc = osp_golden_diagnose(&b, req->arena, &g);
    if (rc == 0)
        rc = osp_server_ttft_fill_spans(api->env.store, &b, g, req->arena);
    if (rc == 0)
        rc = osp_buf_printf(&res->body,
                            "{\"traceId\":\"%.32s\",\"mappingVersion\":\"%s\",\"spans\":[", hex,
                            OSP_GENAI_MAPPING_VERSION);
    for (size_t i = 0, n = 0; rc == 0 && i < b.nspans; i++) {
        if (g[i].type == OSP_GENAI_NONE)
            continue;
        rc = osp_buf_puts(&res->body, n++ ? ",{" : "{");
        rc |= put_diagnosed_span(&res->body, &b.spans[i], &g[i]);
        rc |= osp_buf_putc(&res->body, '}');
    }
    if (rc == OSP_ENOTFOUND)
        osp__api_fail(res, 404, "trace %.32s not found", hex);
    else
        osp__api_finish(res, rc ? rc : osp_buf_puts(&res->body, "]}"));
    osp_span_batch_cleanup(&b);
}

/* ---- lifecycle ---- */

static void dispatch(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const golden_endpoint *e = ctx;
    e->fn(e->api, req, res);
}

int osp_golden_api_create(osp_store *store, const osp_golden_api_options *opt, osp_golden_api **out)
{
    static const struct {
        const char *path;
        golden_fn fn;
    } table[OSP_GOLDEN_API_NROUTES] = {
        {"/api/v1/overview", overview},         {"/api/v1/topology", topology},
        {"/api/v1/llm/models", llm_models},     {"/api/v1/llm/timeseries", llm_timeseries},
        {"/api/v1/llm/diagnose", llm_diagnose},
    };
    osp_golden_api *api = osp_calloc(1, sizeof *api);
    if (!api)
        return OSP_ENOMEM;
    api->env =
        (osp_golden_env){.store = store, .prices = opt->prices, .interval_ms = opt->interval_ms};
    api->thresholds = opt->thresholds;
    for (size_t i = 0; i < OSP_GOLDEN_API_NROUTES; i++) {
        api->endpoints[i] = (golden_endpoint){api, table[i].fn};
        api->routes[i] = (osp_route){
            .method = "GET", .path = table[i].path, .handler = dispatch, .ctx = &api->endpoints[i]};
    }
    *out = api;
    return 0;
}

void osp_golden_api_destroy(osp_golden_api *api)
{
    osp_free(api);
}

void osp_golden_api_routes(osp_golden_api *api, const osp_route **routes, size_t *n)
{
    *routes = api->routes;
    *n = OSP_GOLDEN_API_NROUTES;
}
