/* Handlers of the session, user and agent APIs (api/sessions.h): parameters from the query
 * string, records from the store's AI call index, computations from analytics/sessions.h,
 * JSON answers. */
#include "api/sessions.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/sessions.h"
#include "api/golden_int.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/numfmt.h"
#include "query/params.h"

#define PREFIX "/api/v1/sessions/"
#define MAX_LIMIT 1000
#define DEFAULT_STALL_MS 1000
#define MAX_RECORDS 2000000 /* records a session's detail may read (lists scan in place) */

typedef void (*sessions_fn)(osp_sessions_api *api, const osp_http_request *req,
                            osp_http_response *res);

typedef struct sessions_endpoint {
    osp_sessions_api *api;
    sessions_fn fn;
} sessions_endpoint;

struct osp_sessions_api {
    osp_store *store;
    osp_price_table *prices;
    sessions_endpoint endpoints[OSP_SESSIONS_API_NROUTES];
    osp_route routes[OSP_SESSIONS_API_NROUTES];
};

/* ---- parameters and loading ---- */

/* A count parameter in [1, max] (def when absent). 0, or answers 400 and returns -1. */
static int count_param(const osp_http_request *req, osp_http_response *res, const char *name,
                       long def, long max, long *out)
{
    osp_str v;
    char buf[24], *end;
    int rc = osp__api_param(req, res, name, &v);
    *out = def;
    if (rc <= 0)
        return rc;
    if (v.n < sizeof buf) {
        memcpy(buf, v.p, v.n);
        buf[v.n] = 0;
        *out = strtol(buf, &end, 10);
        if (!*end && *out >= 1 && *out <= max)
            return 0;
    }
    osp__api_fail(res, 400, "invalid %s \"%.*s\": expected a whole number from 1 to %ld", name,
                  (int)(v.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : v.n), v.p, max);
    return -1;
}

/* The window of start and end: (start, end] in nanoseconds, into *q and *w. 0, or answers
 * 400 and returns -1. */
static int window_params(const osp_http_request *req, osp_http_response *res, osp_aicall_query *q,
                         osp_sessions_window *w)
{
    int64_t start, end;
    if (osp__api_range(req, res, &start, &end))
        return -1;
    q->start_ns = w->start_ns = (uint64_t)start * 1000000 + 1;
    q->end_ns = w->end_ns = (uint64_t)end * 1000000;
    q->max_records = MAX_RECORDS;
    return 0;
}

static const osp_price_table *prices_of(osp_sessions_api *api)
{
    if (api->prices)
        osp_price_table_refresh(api->prices);
    return api->prices;
}

/* ---- JSON ---- */

/* ,"name":seconds, from nanoseconds, to the millisecond. */
static int put_time_field(osp_buf *b, const char *name, uint64_t ns)
{
    return osp__api_num_field(b, name, (double)(ns / 1000000) / 1000);
}

/* ,"name":milliseconds of a nanosecond count; null when negative (unknown). */
static int put_ms_field(osp_buf *b, const char *name, int64_t ns)
{
    int rc = osp_buf_printf(b, ",\"%s\":", name);
    if (rc == 0)
        rc = ns < 0 ? osp_buf_puts(b, "null") : osp_buf_float(b, (double)ns / 1e6);
    return rc;
}

static int put_strs(osp_buf *b, const char *name, const osp_str *s, size_t n)
{
    int rc = osp_buf_printf(b, ",\"%s\":[", name);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = i ? osp_buf_putc(b, ',') : 0;
        rc |= osp_buf_json_str(b, s[i].p, s[i].n);
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

/* Writes one item of a list. */
typedef int (*put_fn)(osp_buf *b, const void *item);

/* The start of the AI call index when its memory budget left out days that q's range
 * reaches into; 0 when the range is whole. */
static uint64_t indexed_from(osp_sessions_api *api, const osp_aicall_query *q)
{
    uint64_t from = osp_store_aicalls_indexed_from(api->store);
    return from > q->start_ns ? from : 0;
}

/* Closes an answer whose last member is an array: "]", "indexedFrom" when from is set (see
 * indexed_from), "}". */
static int close_answer(osp_buf *b, uint64_t from)
{
    int rc = osp_buf_putc(b, ']') | (from ? put_time_field(b, "indexedFrom", from) : 0);
    return rc ? rc : osp_buf_putc(b, '}');
}

/* Answers {"name":[...]} with items[0..n) of size bytes each written by put, and
 * "indexedFrom" (seconds) when the range reaches before the index (from, see
 * indexed_from), or the failure rc. */
static void answer_list(osp_http_response *res, int rc, uint64_t from, const char *name,
                        const void *items, size_t n, size_t size, put_fn put)
{
    if (rc == 0)
        rc = osp_buf_printf(&res->body, "{\"%s\":[", name);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = (i ? osp_buf_putc(&res->body, ',') : 0) |
             put(&res->body, (const char *)items + i * size);
    osp__api_finish(res, rc ? rc : close_answer(&res->body, from));
}

/* ---- /api/v1/sessions ---- */

static int put_session(osp_buf *b, const void *item)
{
    const osp_session_summary *s = item;
    int rc = osp_buf_putc(b, '{');
    rc |= osp__api_str_field(b, "id", s->id, 1);
    rc |= osp__api_str_field(b, "user", s->user, 0);
    rc |= put_strs(b, "services", s->services, s->nservices);
    rc |= osp__api_num_field(b, "turns", (double)s->turns);
    rc |= osp__api_num_field(b, "traces", (double)s->traces);
    rc |= osp__api_num_field(b, "inputTokens", (double)s->input_tokens);
    rc |= osp__api_num_field(b, "outputTokens", (double)s->output_tokens);
    rc |= osp__api_num_field(b, "cost", s->cost);
    rc |= osp__api_num_field(b, "errors", (double)s->errors);
    rc |= put_ms_field(b, "durationMs", (int64_t)(s->last_ns - s->first_ns));
    rc |= put_time_field(b, "firstSeen", s->first_ns);
    rc |= put_time_field(b, "lastSeen", s->last_ns);
    return rc ? rc : osp_buf_putc(b, '}');
}

static void sessions_list(osp_sessions_api *api, const osp_http_request *req,
                          osp_http_response *res)
{
    osp_aicall_query q = {0};
    osp_sessions_filter f = {0};
    osp_session_summary *s = NULL;
    size_t n = 0;
    long limit;
    if (window_params(req, res, &q, &f.w) || osp__api_param(req, res, "user", &f.user) < 0 ||
        osp__api_param(req, res, "service", &f.service) < 0 ||
        count_param(req, res, "limit", 100, MAX_LIMIT, &limit))
        return;
    q.user = f.user;
    f.limit = (size_t)limit;
    osp_aicall_source src = {.store = api->store, .q = &q};
    int rc = osp_sessions_list(&src, &f, prices_of(api), req->arena, &s, &n);
    answer_list(res, rc, indexed_from(api, &q), "sessions", s, n, sizeof *s, put_session);
}

/* ---- /api/v1/sessions/{id} ---- */

static int put_turn(osp_buf *b, const osp_session_turn *t)
{
    char hex[33];
    osp_hex_encode(t->trace_id, 16, hex);
    int rc = osp_buf_printf(b, "{\"traceId\":\"%.32s\"", hex);
    rc |= put_time_field(b, "start", t->start_ns);
    rc |= put_ms_field(b, "durationMs", (int64_t)(t->end_ns - t->start_ns));
    rc |= osp__api_str_field(b, "model", t->model, 0);
    rc |= osp__api_num_field(b, "inputTokens", (double)t->input_tokens);
    rc |= osp__api_num_field(b, "outputTokens", (double)t->output_tokens);
    rc |= osp__api_num_field(b, "cacheReadTokens", (double)t->cache_read_tokens);
    rc |= osp__api_num_field(b, "cost", t->cost);
    rc |= put_ms_field(b, "ttftMs", t->ttft_ns);
    rc |= osp__api_num_field(b, "errors", (double)t->errors);
    rc |= osp__api_str_field(b, "input", t->input, 0);
    rc |= osp__api_str_field(b, "output", t->output, 0);
    rc |= osp__api_num_field(b, "llmCalls", (double)t->llm_calls);
    rc |= osp_buf_puts(b, ",\"toolCalls\":[");
    for (size_t i = 0; rc == 0 && i < t->ntools; i++) {
        rc = osp_buf_puts(b, i ? ",{" : "{");
        rc |= osp__api_str_field(b, "name", t->tools[i].name, 1);
        rc |= osp_buf_printf(b, ",\"error\":%s}", t->tools[i].error ? "true" : "false");
    }
    return rc ? rc : osp_buf_puts(b, "]}");
}

/* Answers 404 for session id, saying where the AI call index starts when the memory budget
 * left days out (from, 0: none). */
static void session_not_found(osp_http_response *res, osp_str id, uint64_t from)
{
    time_t day = (time_t)(from / 1000000000);
    struct tm tm;
    char since[160];
    if (!from || !gmtime_r(&day, &tm) ||
        !strftime(since, sizeof since,
                  " in the AI call index, which holds the records written from %Y-%m-%d (UTC) on "
                  "(--ai-index-memory)",
                  &tm))
        since[0] = 0;
    osp__api_fail(res, 404, "session \"%.*s\" not found%s",
                  (int)(id.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : id.n), id.p, since);
}

static void session_get(osp_sessions_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_str raw = osp_str_make(req->path.p + strlen(PREFIX), req->path.n - strlen(PREFIX)), id;
    osp_session_detail d;
    osp_aicall_set set;
    if (!raw.n || memchr(raw.p, '/', raw.n) || osp_http_percent_decode(req->arena, raw, 0, &id) ||
        !id.n || id.n > OSP_AICALL_MAX_TEXT) {
        osp__api_fail(res, 400, "invalid session id: expected /api/v1/sessions/{id}");
        return;
    }
    osp_aicall_query q = {.session = id, .with_text = 1, .max_records = MAX_RECORDS};
    uint64_t from = indexed_from(api, &q); /* the detail's range is all time */
    int rc = osp_sessions_load(api->store, &q, req->arena, &set);
    if (rc == 0)
        rc = osp_session_get(&set, id, prices_of(api), req->arena, &d);
    if (rc == OSP_ENOTFOUND) {
        session_not_found(res, id, from);
        return;
    }
    if (rc == 0) {
        rc = osp_buf_putc(&res->body, '{');
        rc |= osp__api_str_field(&res->body, "id", d.id, 1);
        rc |= osp__api_str_field(&res->body, "user", d.user, 0);
        rc |= osp_buf_puts(&res->body, ",\"turns\":[");
    }
    for (size_t i = 0; rc == 0 && i < d.nturns; i++)
        rc = (i ? osp_buf_putc(&res->body, ',') : 0) | put_turn(&res->body, &d.turns[i]);
    osp__api_finish(res, rc ? rc : close_answer(&res->body, from));
}

/* ---- /api/v1/users ---- */

static int put_user(osp_buf *b, const void *item)
{
    const osp_user_usage *u = item;
    int rc = osp_buf_putc(b, '{');
    rc |= osp__api_str_field(b, "id", u->id, 1);
    rc |= osp__api_num_field(b, "sessions", (double)u->sessions);
    rc |= osp__api_num_field(b, "traces", (double)u->traces);
    rc |= osp__api_num_field(b, "llmCalls", (double)u->llm_calls);
    rc |= osp__api_num_field(b, "inputTokens", (double)u->input_tokens);
    rc |= osp__api_num_field(b, "outputTokens", (double)u->output_tokens);
    rc |= osp__api_num_field(b, "cost", u->cost);
    rc |= osp__api_num_field(b, "errors", (double)u->errors);
    rc |= put_time_field(b, "firstSeen", u->first_ns);
    rc |= put_time_field(b, "lastSeen", u->last_ns);
    return rc ? rc : osp_buf_putc(b, '}');
}

static void users_list(osp_sessions_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_aicall_query q = {0};
    osp_sessions_window w;
    osp_user_usage *u = NULL;
    size_t n = 0;
    long limit;
    if (window_params(req, res, &q, &w) || count_param(req, res, "limit", 100, MAX_LIMIT, &limit))
        return;
    osp_aicall_source src = {.store = api->store, .q = &q};
    int rc = osp_users_list(&src, &w, (size_t)limit, prices_of(api), req->arena, &u, &n);
    answer_list(res, rc, indexed_from(api, &q), "users", u, n, sizeof *u, put_user);
}

/* ---- /api/v1/agents ---- */

static int put_agent(osp_buf *b, const void *item)
{
    const osp_agent_stats *a = item;
    int rc = osp_buf_putc(b, '{');
    rc |= osp__api_str_field(b, "name", a->name, 1);
    rc |= osp__api_num_field(b, "runs", (double)a->runs);
    rc |= osp__api_num_field(b, "llmCallsPerRun", a->llm_calls_per_run);
    rc |= osp__api_num_field(b, "errors", (double)a->errors);
    rc |= osp_buf_puts(b, ",\"tools\":[");
    for (size_t i = 0; rc == 0 && i < a->ntools; i++) {
        rc = osp_buf_puts(b, i ? ",{" : "{");
        rc |= osp__api_str_field(b, "name", a->tools[i].name, 1);
        rc |= osp__api_num_field(b, "calls", (double)a->tools[i].calls);
        rc |= osp__api_num_field(b, "errors", (double)a->tools[i].errors);
        rc |= osp__api_num_field(b, "p95Ms", a->tools[i].p95_ms);
        rc |= osp_buf_putc(b, '}');
    }
    rc |= osp_buf_puts(b, "],\"transitions\":[");
    for (int from = 0, k = 0; rc == 0 && from < OSP_ROLE_COUNT; from++)
        for (int to = 0; rc == 0 && to < OSP_ROLE_COUNT; to++)
            if (a->transitions[from][to])
                rc = osp_buf_printf(b, "%s{\"from\":\"%s\",\"to\":\"%s\",\"count\":%llu}",
                                    k++ ? "," : "", osp_agent_role_name(from),
                                    osp_agent_role_name(to),
                                    (unsigned long long)a->transitions[from][to]);
    return rc ? rc : osp_buf_puts(b, "]}");
}

static void agents_list(osp_sessions_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_aicall_query q = {0};
    osp_sessions_window w;
    osp_agent_stats *a = NULL;
    size_t n = 0;
    if (window_params(req, res, &q, &w) || osp__api_param(req, res, "agent", &q.agent) < 0)
        return;
    osp_aicall_source src = {.store = api->store, .q = &q};
    size_t k = 0;
    int rc = osp_agents_list(&src, &w, req->arena, &a, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) /* an agent's traces may run others too */
        if (!q.agent.n || osp_str_eq(a[i].name, q.agent))
            a[k++] = a[i];
    answer_list(res, rc, indexed_from(api, &q), "agents", a, k, sizeof *a, put_agent);
}

/* ---- /api/v1/llm/streaming ---- */

static int put_streaming(osp_buf *b, const void *item)
{
    const osp_streaming_stats *s = item;
    int rc = osp_buf_putc(b, '{');
    rc |= osp__api_str_field(b, "provider", s->provider, 1);
    rc |= osp__api_str_field(b, "model", s->model, 0);
    rc |= osp__api_num_field(b, "streamedCalls", (double)s->streamed);
    rc |= osp__api_num_field(b, "failedAfterFirstToken", (double)s->failed_after_first_token);
    rc |= osp__api_num_field(b, "failedAfterFirstTokenShare", s->failed_share);
    rc |= osp__api_num_field(b, "stalls", (double)s->stalls);
    rc |= put_ms_field(b, "maxGapMs", s->max_gap_ns);
    return rc ? rc : osp_buf_putc(b, '}');
}

static void streaming_list(osp_sessions_api *api, const osp_http_request *req,
                           osp_http_response *res)
{
    osp_aicall_query q = {0};
    osp_sessions_window w;
    osp_streaming_stats *s = NULL;
    size_t n = 0;
    long stall_ms;
    if (window_params(req, res, &q, &w) ||
        count_param(req, res, "stallMs", DEFAULT_STALL_MS, 3600 * 1000, &stall_ms))
        return;
    osp_aicall_source src = {.store = api->store, .q = &q};
    int rc = osp_streaming_list(&src, &w, (int64_t)stall_ms * 1000000, req->arena, &s, &n);
    answer_list(res, rc, indexed_from(api, &q), "models", s, n, sizeof *s, put_streaming);
}

/* ---- lifecycle ---- */

static void dispatch(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const sessions_endpoint *e = ctx;
    e->fn(e->api, req, res);
}

int osp_sessions_api_create(osp_store *store, osp_price_table *prices, osp_sessions_api **out)
{
    static const struct {
        const char *path;
        sessions_fn fn;
    } table[OSP_SESSIONS_API_NROUTES] = {
        {"/api/v1/sessions", sessions_list},
        {PREFIX "*", session_get},
        {"/api/v1/users", users_list},
        {"/api/v1/agents", agents_list},
        {"/api/v1/llm/streaming", streaming_list},
    };
    osp_sessions_api *api = osp_calloc(1, sizeof *api);
    if (!api)
        return OSP_ENOMEM;
    api->store = store;
    api->prices = prices;
    for (size_t i = 0; i < OSP_SESSIONS_API_NROUTES; i++) {
        api->endpoints[i] = (sessions_endpoint){api, table[i].fn};
        api->routes[i] = (osp_route){
            .method = "GET", .path = table[i].path, .handler = dispatch, .ctx = &api->endpoints[i]};
    }
    *out = api;
    return 0;
}

void osp_sessions_api_destroy(osp_sessions_api *api)
{
    osp_free(api);
}

void osp_sessions_api_routes(osp_sessions_api *api, const osp_route **routes, size_t *n)
{
    *routes = api->routes;
    *n = OSP_SESSIONS_API_NROUTES;
}
