/* Deterministic AI-microservice trace workload: gateway -> auth -> agent -> retrieval, LLM
 * chat and tool calls, built as canonical rows with the model API. */
#include "gen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "model/attr.h"

#define MS 1000000ULL
#define US 1000ULL

/* ---- static description of the fleet ---- */

enum { SVC_GATEWAY, SVC_AUTH, SVC_AGENT, SVC_RETRIEVAL, SVC_TOOLS, NSVC };
#define MAX_REPLICAS 4

static const struct svc_def {
    const char *name, *version, *lang, *sdk_version, *runtime;
    int replicas;
} svcs[NSVC] = {
    [SVC_GATEWAY] = {"api-gateway", "2.14.3", "go", "1.33.0", "go", 3},
    [SVC_AUTH] = {"auth-service", "1.9.0", "go", "1.33.0", "go", 2},
    [SVC_AGENT] = {"agent-orchestrator", "0.42.1", "python", "1.29.0", "cpython", 4},
    [SVC_RETRIEVAL] = {"retrieval-service", "0.17.5", "python", "1.29.0", "cpython", 2},
    [SVC_TOOLS] = {"tool-runner", "3.2.0", "nodejs", "1.30.1", "nodejs", 2},
};

enum {
    SC_OTELHTTP,
    SC_REDIS,
    SC_FASTAPI,
    SC_HTTPX,
    SC_OPENAI,
    SC_AGENT,
    SC_VECTOR,
    SC_NODEHTTP,
    SC_PG,
    NSCOPE
};

static const struct scope_def {
    const char *name, *version;
} scopes[NSCOPE] = {
    [SC_OTELHTTP] = {"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.58.0"},
    [SC_REDIS] = {"github.com/redis/go-redis/extra/redisotel", "9.7.0"},
    [SC_FASTAPI] = {"opentelemetry.instrumentation.fastapi", "0.50b0"},
    [SC_HTTPX] = {"opentelemetry.instrumentation.httpx", "0.50b0"},
    [SC_OPENAI] = {"opentelemetry.instrumentation.openai_v2", "2.1b0"},
    [SC_AGENT] = {"assist.agent", "0.42.1"},
    [SC_VECTOR] = {"assist.retrieval.vectordb", "0.17.5"},
    [SC_NODEHTTP] = {"@opentelemetry/instrumentation-http", "0.57.1"},
    [SC_PG] = {"@opentelemetry/instrumentation-pg", "0.50.0"},
};

static const struct model_def {
    const char *request, *response, *provider, *span_name, *server;
    double ttft_ms, tpot_ms; /* medians */
    unsigned weight;         /* out of 100 */
} models[] = {
    {"gpt-4o", "gpt-4o-2024-08-06", "openai", "chat gpt-4o", "api.openai.com", 450, 18, 40},
    {"gpt-4o-mini", "gpt-4o-mini-2024-07-18", "openai", "chat gpt-4o-mini", "api.openai.com", 300,
     9, 30},
    {"claude-sonnet-4", "claude-sonnet-4-20250514", "anthropic", "chat claude-sonnet-4",
     "api.anthropic.com", 650, 22, 20},
    {"meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", "aws.bedrock",
     "chat meta.llama3-1-70b-instruct-v1:0", "bedrock-runtime.eu-west-1.amazonaws.com", 380, 14,
     10},
};
#define NMODELS (sizeof models / sizeof models[0])

static const struct agent_def {
    const char *name, *id, *span_name, *description;
} agents[] = {
    {"support-agent", "asst_7Kq2VxR1", "invoke_agent support-agent",
     "Answers customer questions from the knowledge base and order system"},
    {"research-agent", "asst_3Fm9TzL8", "invoke_agent research-agent",
     "Researches product questions across documents and the web"},
    {"order-agent", "asst_9Hd4WcN2", "invoke_agent order-agent",
     "Looks up and explains order, shipping and refund status"},
};
#define NAGENTS (sizeof agents / sizeof agents[0])

enum { TOOL_DB, TOOL_HTTP };
static const struct tool_def {
    const char *name, *span_name, *server_span, *route, *description;
    int kind;
    const char *db_op, *db_table, *db_query, *db_span; /* TOOL_DB */
    const char *host, *path;                           /* TOOL_HTTP */
} tools[] = {
    {"get_order_status", "execute_tool get_order_status", "POST /tools/get_order_status",
     "/tools/get_order_status", "Returns the status of a customer's recent orders", TOOL_DB,
     "SELECT", "orders",
     "SELECT id, status, total, updated_at FROM orders WHERE customer_id = $1 ORDER BY "
     "created_at DESC LIMIT $2",
     "SELECT shop.orders", NULL, NULL},
    {"lookup_customer", "execute_tool lookup_customer", "POST /tools/lookup_customer",
     "/tools/lookup_customer", "Fetches the customer's profile and plan", TOOL_DB, "SELECT",
     "customers", "SELECT id, name, plan, region FROM customers WHERE id = $1",
     "SELECT shop.customers", NULL, NULL},
    {"web_search", "execute_tool web_search", "POST /tools/web_search", "/tools/web_search",
     "Searches the public web", TOOL_HTTP, NULL, NULL, NULL, NULL, "search.example.com",
     "/v2/search"},
    {"get_weather", "execute_tool get_weather", "POST /tools/get_weather", "/tools/get_weather",
     "Current weather for a city", TOOL_HTTP, NULL, NULL, NULL, NULL, "weather.example.net",
     "/v1/current"},
};
#define NTOOLS (sizeof tools / sizeof tools[0])

static const char *const user_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
    "assist-android/5.12.0 (Pixel 8; Android 15)",
    "python-requests/2.32.3",
    "assist-sdk-node/1.8.2",
};
#define NUAS (sizeof user_agents / sizeof user_agents[0])

static const char *const stacktraces[] = {
    "Traceback (most recent call last):\n"
    "  File \"/app/agent/llm.py\", line 188, in complete\n"
    "    resp = await self.client.chat.completions.create(**req)\n"
    "  File \"/usr/local/lib/python3.12/site-packages/openai/resources/chat/completions.py\", "
    "line 1720, in create\n"
    "    return await self._post(\"/chat/completions\", body=body, cast_to=ChatCompletion)\n"
    "  File \"/usr/local/lib/python3.12/site-packages/openai/_base_client.py\", line 1584, in "
    "_request\n"
    "    raise self._make_status_error_from_response(err.response) from None\n"
    "openai.RateLimitError: Error code: 429 - Rate limit reached for requests\n",
    "Traceback (most recent call last):\n"
    "  File \"/app/agent/llm.py\", line 188, in complete\n"
    "    resp = await self.client.chat.completions.create(**req)\n"
    "  File \"/usr/local/lib/python3.12/site-packages/httpx/_transports/default.py\", line "
    "373, in handle_async_request\n"
    "    raise mapped_exc(message) from exc\n"
    "httpx.ReadTimeout: The read operation timed out\n",
};

static const char *const tool_stack =
    "Error: connect ETIMEDOUT 10.40.3.17:5432\n"
    "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)\n"
    "    at Client._handleErrorEvent (/app/node_modules/pg/lib/client.js:336:5)\n"
    "    at async runTool (/app/src/tools/index.js:88:19)\n";

/* Searches with a selective but non-empty answer in this workload. */
static const osp_gen_search searches[] = {
    {"agent-orchestrator", "chat gpt-4o", 8000 * MS},
    {"agent-orchestrator", "chat claude-sonnet-4", 10000 * MS},
    {"api-gateway", "POST /v1/chat", 15000 * MS},
    {"retrieval-service", "query kb_chunks_v3", 30 * MS},
    {"tool-runner", "POST /tools/get_order_status", 25 * MS},
    {"agent-orchestrator", "execute_tool web_search", 900 * MS},
};

/* ---- generator state ---- */

#define NRES (NSVC * MAX_REPLICAS)

struct osp_gen {
    uint64_t rng;
    uint64_t next_start_ns, interval_ns;
    osp_buf attrs, evattrs, events, links, tmp;
    osp_buf res_attrs[NRES];                  /* precomputed resource attribute blobs */
    const osp_span_batch *mapped;             /* batch the maps below are valid for */
    int32_t res_map[NRES], scope_map[NSCOPE]; /* index in `mapped`, or -1 */
    int err;                                  /* first buffer error since the last check */
};

/* What one trace shares across its spans. */
typedef struct trace_ctx {
    uint8_t trace_id[16];
    char request_id[37], user[16], tenant[16], conv[40], session[24], client_ip[16];
    const char *ua;
    int res[NSVC]; /* chosen replica per service (global resource index) */
    const struct model_def *model;
    const struct agent_def *agent;
    int64_t in_tokens, out_tokens;
    int failed; /* the request as a whole fails */
} trace_ctx;

static uint64_t rnd(osp_gen *g)
{
    /* splitmix64 */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rnd_below(osp_gen *g, uint64_t n)
{
    return n ? rnd(g) % n : 0;
}

static double rnd_unit(osp_gen *g)
{
    return (double)(rnd(g) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t rnd_range(osp_gen *g, uint64_t lo, uint64_t hi)
{
    return lo + rnd_below(g, hi - lo + 1);
}

/* Log-normal sample with the given median and spread (sigma of the underlying normal). */
static double rnd_lognormal(osp_gen *g, double median, double sigma)
{
    double u1 = rnd_unit(g), u2 = rnd_unit(g);
    if (u1 < 1e-12)
        u1 = 1e-12;
    double n = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    return median * exp(sigma * n);
}

static uint64_t lognormal_ns(osp_gen *g, double median_ms, double sigma)
{
    double ms = rnd_lognormal(g, median_ms, sigma);
    return (uint64_t)(ms * (double)MS) + 1000;
}

static int chance(osp_gen *g, double p)
{
    return rnd_unit(g) < p;
}

static void rnd_bytes(osp_gen *g, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rnd(g);
        for (size_t j = 0; j < 8 && i + j < n; j++)
            out[i + j] = (uint8_t)(v >> (8 * j));
    }
    out[0] |= 1; /* never all zero */
}

static void rnd_alnum(osp_gen *g, char *out, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        out[i] = al[rnd_below(g, sizeof al - 1)];
    out[n] = 0;
}

static void rnd_uuid(osp_gen *g, char out[37])
{
    uint8_t b[16];
    char hex[32];
    rnd_bytes(g, b, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    osp_hex_encode(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* ---- attribute helpers: append to `to`, remembering the first error in g->err ---- */

static void put(osp_gen *g, osp_buf *to, const char *key, const osp_value *v)
{
    int rc = osp_attr_append(to, osp_str_c(key), v);
    if (rc && !g->err)
        g->err = rc;
}

static void a_str(osp_gen *g, osp_buf *to, const char *key, const char *val)
{
    osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(val)};
    put(g, to, key, &v);
}

static void a_int(osp_gen *g, osp_buf *to, const char *key, int64_t val)
{
    osp_value v = {.type = OSP_VAL_INT, .i = val};
    put(g, to, key, &v);
}

static void a_dbl(osp_gen *g, osp_buf *to, const char *key, double val)
{
    osp_value v = {.type = OSP_VAL_DOUBLE, .d = val};
    put(g, to, key, &v);
}

static void a_bool(osp_gen *g, osp_buf *to, const char *key, int val)
{
    osp_value v = {.type = OSP_VAL_BOOL, .i = val != 0};
    put(g, to, key, &v);
}

static void a_strarr(osp_gen *g, osp_buf *to, const char *key, const char *const *vals, size_t n)
{
    osp_buf_reset(&g->tmp);
    for (size_t i = 0; i < n; i++) {
        osp_value e = {.type = OSP_VAL_STRING, .s = osp_str_c(vals[i])};
        int rc = osp_array_append(&g->tmp, &e);
        if (rc && !g->err)
            g->err = rc;
    }
    osp_value v = {.type = OSP_VAL_ARRAY, .s = osp_buf_str(&g->tmp)};
    put(g, to, key, &v);
}

static void a_fmt(osp_gen *g, osp_buf *to, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void a_fmt(osp_gen *g, osp_buf *to, const char *key, const char *fmt, ...)
{
    char s[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    a_str(g, to, key, s);
}

/* Adds an event built from g->evattrs to g->events and empties g->evattrs. */
static void add_event(osp_gen *g, uint64_t time_ns, const char *name)
{
    osp_event ev = {
        .time_ns = time_ns, .name = osp_str_c(name), .attributes = osp_buf_str(&g->evattrs)};
    int rc = osp_events_append(&g->events, &ev);
    if (rc && !g->err)
        g->err = rc;
    osp_buf_reset(&g->evattrs);
}

static void add_exception(osp_gen *g, uint64_t time_ns, const char *type, const char *msg,
                          const char *stack)
{
    a_str(g, &g->evattrs, "exception.type", type);
    a_str(g, &g->evattrs, "exception.message", msg);
    a_str(g, &g->evattrs, "exception.stacktrace", stack);
    a_bool(g, &g->evattrs, "exception.escaped", 0);
    add_event(g, time_ns, "exception");
}

/* ---- rows ---- */

static osp_str arena_copy(osp_gen *g, osp_span_batch *b, const osp_buf *src)
{
    if (src->len == 0)
        return OSP_STR_NULL;
    void *p = osp_arena_memdup(&b->arena, src->data, src->len);
    if (!p) {
        if (!g->err)
            g->err = OSP_ENOMEM;
        return OSP_STR_NULL;
    }
    return osp_str_make(p, src->len);
}

/* Makes sure b holds the resource and scope rows; returns their indexes in b. */
static int map_rows(osp_gen *g, osp_span_batch *b, int res, int scope, uint32_t *bres,
                    uint32_t *bscope)
{
    if (g->mapped != b || (b->nresources == 0 && b->nscopes == 0)) {
        for (int i = 0; i < NRES; i++)
            g->res_map[i] = -1;
        for (int i = 0; i < NSCOPE; i++)
            g->scope_map[i] = -1;
        g->mapped = b;
    }
    if (g->res_map[res] < 0) {
        osp_str attrs = arena_copy(g, b, &g->res_attrs[res]);
        osp_resource *r = g->err ? NULL : osp_span_batch_add_resource(b);
        if (!r)
            return OSP_ENOMEM;
        r->attributes = attrs;
        r->service_name = osp_str_c(svcs[res / MAX_REPLICAS].name);
        r->schema_url = OSP_STR_LIT("https://opentelemetry.io/schemas/1.28.0");
        g->res_map[res] = (int32_t)(b->nresources - 1);
    }
    if (g->scope_map[scope] < 0) {
        osp_scope *s = osp_span_batch_add_scope(b);
        if (!s)
            return OSP_ENOMEM;
        s->name = osp_str_c(scopes[scope].name);
        s->version = osp_str_c(scopes[scope].version);
        g->scope_map[scope] = (int32_t)(b->nscopes - 1);
    }
    *bres = (uint32_t)g->res_map[res];
    *bscope = (uint32_t)g->scope_map[scope];
    return 0;
}

/* Writes one span from g->attrs, g->events and g->links (emptied afterwards). */
static int emit(osp_gen *g, osp_span_batch *b, const trace_ctx *t, const uint8_t id[8],
                const uint8_t *parent, int res, int scope, const char *name, int kind,
                uint64_t start, uint64_t end, int status, const char *status_msg)
{
    uint32_t bres, bscope;
    int rc = map_rows(g, b, res, scope, &bres, &bscope);
    osp_str attrs = arena_copy(g, b, &g->attrs);
    osp_str events = arena_copy(g, b, &g->events);
    osp_str links = arena_copy(g, b, &g->links);
    osp_buf_reset(&g->attrs);
    osp_buf_reset(&g->events);
    osp_buf_reset(&g->links);
    if (rc == 0 && g->err)
        rc = g->err;
    g->err = 0;
    if (rc)
        return rc;
    osp_span *s = osp_span_batch_add_span(b);
    if (!s)
        return OSP_ENOMEM;
    memcpy(s->trace_id, t->trace_id, 16);
    memcpy(s->span_id, id, 8);
    if (parent)
        memcpy(s->parent_span_id, parent, 8);
    s->start_ns = start;
    s->end_ns = end;
    s->flags = 0x101; /* sampled; has-is-remote bit, local parent */
    s->kind = kind;
    s->status_code = status;
    s->name = osp_str_c(name);
    s->status_message = status_msg ? osp_str_c(status_msg) : OSP_STR_NULL;
    s->attributes = attrs;
    s->events = events;
    s->links = links;
    s->resource = bres;
    s->scope = bscope;
    return 0;
}

/* ---- the workload ---- */

static void http_server_attrs(osp_gen *g, const trace_ctx *t, const char *route, const char *host,
                              int port, const char *scheme, const char *peer, const char *ua,
                              const char *proto, int status)
{
    osp_buf *a = &g->attrs;
    a_str(g, a, "http.request.method", "POST");
    a_str(g, a, "http.route", route);
    a_str(g, a, "url.path", route);
    a_str(g, a, "url.scheme", scheme);
    a_str(g, a, "server.address", host);
    a_int(g, a, "server.port", port);
    a_str(g, a, "client.address", peer);
    a_str(g, a, "network.peer.address", peer);
    a_int(g, a, "network.peer.port", (int64_t)rnd_range(g, 32768, 60999));
    a_str(g, a, "network.protocol.version", proto);
    a_str(g, a, "user_agent.original", ua);
    a_int(g, a, "http.response.status_code", status);
    a_int(g, a, "http.request.body.size", (int64_t)rnd_range(g, 180, 4200));
    a_int(g, a, "http.response.body.size", (int64_t)rnd_range(g, 90, 9000));
    a_str(g, a, "app.request.id", t->request_id);
    if (status >= 500)
        a_fmt(g, a, "error.type", "%d", status);
}

static void http_client_attrs(osp_gen *g, const trace_ctx *t, const char *host, int port,
                              const char *path, const char *ua, int status)
{
    osp_buf *a = &g->attrs;
    a_str(g, a, "http.request.method", "POST");
    a_fmt(g, a, "url.full", "http://%s:%d%s", host, port, path);
    a_str(g, a, "server.address", host);
    a_int(g, a, "server.port", port);
    a_fmt(g, a, "network.peer.address", "10.40.%u.%u", (unsigned)rnd_range(g, 0, 15),
          (unsigned)rnd_range(g, 2, 250));
    a_int(g, a, "network.peer.port", port);
    a_str(g, a, "network.protocol.name", "http");
    a_str(g, a, "network.transport", "tcp");
    a_str(g, a, "network.protocol.version", "1.1");
    a_str(g, a, "user_agent.original", ua);
    a_int(g, a, "http.response.status_code", status);
    a_int(g, a, "http.request.body.size", (int64_t)rnd_range(g, 180, 4200));
    a_int(g, a, "http.response.body.size", (int64_t)rnd_range(g, 90, 9000));
    a_str(g, a, "app.request.id", t->request_id);
    if (status >= 500)
        a_fmt(g, a, "error.type", "%d", status);
}

static const char *internal_host(int svc)
{
    switch (svc) {
    case SVC_AUTH:
        return "auth-service.assist.svc.cluster.local";
    case SVC_AGENT:
        return "agent-orchestrator.assist.svc.cluster.local";
    case SVC_RETRIEVAL:
        return "retrieval-service.assist.svc.cluster.local";
    default:
        return "tool-runner.assist.svc.cluster.local";
    }
}

static const char *pod_ip(osp_gen *g, char buf[16])
{
    snprintf(buf, 16, "10.40.%u.%u", (unsigned)rnd_range(g, 0, 15), (unsigned)rnd_range(g, 2, 250));
    return buf;
}

/* gateway -> auth-service -> redis. Returns the end of the client span. */
static int auth_call(osp_gen *g, osp_span_batch *b, const trace_ctx *t, const uint8_t *parent,
                     uint64_t start, uint64_t *end)
{
    uint8_t cid[8], sid[8], rid[8];
    char ip[16];
    rnd_bytes(g, cid, 8);
    rnd_bytes(g, sid, 8);
    rnd_bytes(g, rid, 8);
    uint64_t s0 = start + rnd_range(g, 150, 600) * US;
    uint64_t r0 = s0 + rnd_range(g, 100, 400) * US;
    uint64_t r1 = r0 + lognormal_ns(g, 0.6, 0.5);
    uint64_t s1 = r1 + lognormal_ns(g, 1.5, 0.6);
    uint64_t e = s1 + rnd_range(g, 150, 600) * US;
    int rc;

    osp_buf *a = &g->attrs;
    a_str(g, a, "db.system.name", "redis");
    a_str(g, a, "db.operation.name", "GET");
    a_str(g, a, "db.namespace", "0");
    a_fmt(g, a, "db.query.text", "GET session:%.16s", t->conv + 5);
    a_str(g, a, "server.address", "redis-master.assist.svc.cluster.local");
    a_int(g, a, "server.port", 6379);
    a_str(g, a, "network.peer.address", pod_ip(g, ip));
    a_int(g, a, "network.peer.port", 6379);
    a_str(g, a, "network.transport", "tcp");
    a_str(g, a, "db.client.connection.pool.name", "auth-sessions");
    a_str(g, a, "app.tenant.id", t->tenant);
    a_str(g, a, "app.request.id", t->request_id);
    rc = emit(g, b, t, rid, sid, t->res[SVC_AUTH], SC_REDIS, "GET", OSP_SPAN_KIND_CLIENT, r0, r1,
              OSP_STATUS_UNSET, NULL);
    if (rc)
        return rc;

    http_server_attrs(g, t, "/v1/verify", internal_host(SVC_AUTH), 8080, "http", pod_ip(g, ip),
                      "Go-http-client/1.1", "1.1", 200);
    a_str(g, a, "enduser.id", t->user);
    a_str(g, a, "app.tenant.id", t->tenant);
    a_str(g, a, "auth.method", chance(g, 0.85) ? "jwt" : "api_key");
    rc = emit(g, b, t, sid, cid, t->res[SVC_AUTH], SC_OTELHTTP, "POST /v1/verify",
              OSP_SPAN_KIND_SERVER, s0, s1, OSP_STATUS_UNSET, NULL);
    if (rc)
        return rc;

    http_client_attrs(g, t, internal_host(SVC_AUTH), 8080, "/v1/verify", "Go-http-client/1.1", 200);
    rc = emit(g, b, t, cid, parent, t->res[SVC_GATEWAY], SC_OTELHTTP, "POST", OSP_SPAN_KIND_CLIENT,
              start, e, OSP_STATUS_UNSET, NULL);
    *end = e;
    return rc;
}

/* Agent -> retrieval-service: embeddings + vector-DB query. */
static int retrieval_call(osp_gen *g, osp_span_batch *b, trace_ctx *t, const uint8_t *parent,
                          uint64_t start, uint64_t *end)
{
    uint8_t cid[8], sid[8], eid[8], vid[8];
    char ip[16];
    rnd_bytes(g, cid, 8);
    rnd_bytes(g, sid, 8);
    rnd_bytes(g, eid, 8);
    rnd_bytes(g, vid, 8);
    uint64_t s0 = start + rnd_range(g, 300, 1200) * US;
    uint64_t e0 = s0 + rnd_range(g, 200, 800) * US;
    uint64_t e1 = e0 + lognormal_ns(g, 85, 0.5);
    uint64_t v0 = e1 + rnd_range(g, 50, 300) * US;
    uint64_t v1 = v0 + lognormal_ns(g, 12, 0.6);
    uint64_t s1 = v1 + rnd_range(g, 300, 2000) * US;
    uint64_t e = s1 + rnd_range(g, 300, 1200) * US;
    int64_t top_k = chance(g, 0.7) ? 8 : 16;
    int64_t in_tok = (int64_t)rnd_range(g, 8, 120);
    int rc;
    osp_buf *a = &g->attrs;

    a_str(g, a, "gen_ai.operation.name", "embeddings");
    a_str(g, a, "gen_ai.provider.name", "openai");
    a_str(g, a, "gen_ai.request.model", "text-embedding-3-small");
    a_str(g, a, "gen_ai.response.model", "text-embedding-3-small");
    static const char *const fmt_float[] = {"float"};
    a_strarr(g, a, "gen_ai.request.encoding_formats", fmt_float, 1);
    a_int(g, a, "gen_ai.embeddings.dimension.count", 1536);
    a_int(g, a, "gen_ai.usage.input_tokens", in_tok);
    a_str(g, a, "server.address", "api.openai.com");
    a_int(g, a, "server.port", 443);
    a_int(g, a, "http.response.status_code", 200);
    a_str(g, a, "app.request.id", t->request_id);
    a_str(g, a, "app.tenant.id", t->tenant);
    a_str(g, a, "gen_ai.conversation.id", t->conv);
    rc = emit(g, b, t, eid, sid, t->res[SVC_RETRIEVAL], SC_OPENAI,
              "embeddings text-embedding-3-small", OSP_SPAN_KIND_CLIENT, e0, e1, OSP_STATUS_UNSET,
              NULL);
    if (rc)
        return rc;

    a_str(g, a, "db.system.name", "qdrant");
    a_str(g, a, "db.operation.name", "query");
    a_str(g, a, "db.collection.name", "kb_chunks_v3");
    a_str(g, a, "db.namespace", "assist-prod");
    a_str(g, a, "db.query.summary", "query kb_chunks_v3");
    a_str(g, a, "server.address", "qdrant.vector.svc.cluster.local");
    a_int(g, a, "server.port", 6334);
    a_str(g, a, "network.peer.address", pod_ip(g, ip));
    a_int(g, a, "db.vector.query.top_k", top_k);
    a_int(g, a, "db.response.returned_rows",
          (int64_t)rnd_range(g, (uint64_t)top_k / 2, (uint64_t)top_k));
    a_dbl(g, a, "db.vector.query.score_threshold", 0.72);
    a_str(g, a, "db.response.status_code", "OK");
    a_str(g, a, "app.request.id", t->request_id);
    a_str(g, a, "app.tenant.id", t->tenant);
    rc = emit(g, b, t, vid, sid, t->res[SVC_RETRIEVAL], SC_VECTOR, "query kb_chunks_v3",
              OSP_SPAN_KIND_CLIENT, v0, v1, OSP_STATUS_UNSET, NULL);
    if (rc)
        return rc;

    http_server_attrs(g, t, "/v1/retrieve", internal_host(SVC_RETRIEVAL), 8000, "http",
                      pod_ip(g, ip), "python-httpx/0.28.1", "1.1", 200);
    a_str(g, a, "app.tenant.id", t->tenant);
    a_str(g, a, "gen_ai.conversation.id", t->conv);
    a_int(g, a, "retrieval.top_k", top_k);
    rc = emit(g, b, t, sid, cid, t->res[SVC_RETRIEVAL], SC_FASTAPI, "POST /v1/retrieve",
              OSP_SPAN_KIND_SERVER, s0, s1, OSP_STATUS_UNSET, NULL);
    if (rc)
        return rc;

    http_client_attrs(g, t, internal_host(SVC_RETRIEVAL), 8000, "/v1/retrieve",
                      "python-httpx/0.28.1", 200);
    rc = emit(g, b, t, cid, parent, t->res[SVC_AGENT], SC_HTTPX, "POST", OSP_SPAN_KIND_CLIENT,
              start, e, OSP_STATUS_UNSET, NULL);
    *end = e;
    return rc;
}

/* One LLM chat call. *outcome: 0 stop, 1 tool_calls, -1 failed. */
static int chat_call(osp_gen *g, osp_span_batch *b, trace_ctx *t, const uint8_t *parent,
                     uint64_t start, int iteration, uint64_t *end, int *outcome)
{
    const struct model_def *m = t->model;
    uint8_t id[8];
    char resp_id[48], tok[32];
    rnd_bytes(g, id, 8);
    int failed = chance(g, 0.03);
    int tool_calls = !failed && iteration < 3 && chance(g, iteration == 1 ? 0.55 : 0.25);
    int64_t in_tok = (int64_t)rnd_lognormal(g, 1800.0 * iteration, 0.6) + 40;
    int64_t out_tok =
        tool_calls ? (int64_t)rnd_range(g, 18, 90) : (int64_t)rnd_lognormal(g, 260, 0.7) + 2;
    uint64_t ttft = lognormal_ns(g, m->ttft_ms, 0.45);
    uint64_t e;
    osp_buf *a = &g->attrs;

    a_str(g, a, "gen_ai.operation.name", "chat");
    a_str(g, a, "gen_ai.provider.name", m->provider);
    a_str(g, a, "gen_ai.request.model", m->request);
    a_dbl(g, a, "gen_ai.request.temperature", iteration == 1 ? 0.2 : 0.0);
    a_int(g, a, "gen_ai.request.max_tokens", 1024);
    a_dbl(g, a, "gen_ai.request.top_p", 1.0);
    a_bool(g, a, "gen_ai.request.stream", 1);
    a_str(g, a, "gen_ai.conversation.id", t->conv);
    a_str(g, a, "server.address", m->server);
    a_int(g, a, "server.port", 443);
    a_str(g, a, "app.request.id", t->request_id);
    if (failed) {
        int timeout = chance(g, 0.3);
        e = start + (timeout ? 30000 * MS : lognormal_ns(g, 180, 0.4));
        a_str(g, a, "error.type", timeout ? "httpx.ReadTimeout" : "openai.RateLimitError");
        if (!timeout)
            a_int(g, a, "http.response.status_code", 429);
        add_exception(g, e - 200 * US, timeout ? "httpx.ReadTimeout" : "openai.RateLimitError",
                      timeout ? "The read operation timed out"
                              : "Error code: 429 - Rate limit reached for requests",
                      stacktraces[timeout]);
        *outcome = -1;
        *end = e;
        return emit(g, b, t, id, parent, t->res[SVC_AGENT], SC_OPENAI, m->span_name,
                    OSP_SPAN_KIND_CLIENT, start, e, OSP_STATUS_ERROR,
                    timeout ? "The read operation timed out" : "Rate limit reached for requests");
    }
    uint64_t tpot = (uint64_t)(rnd_lognormal(g, m->tpot_ms, 0.25) * (double)MS);
    e = start + ttft + tpot * (uint64_t)(out_tok - 1);
    static const char *const stop[] = {"stop"}, *const tc[] = {"tool_calls"};
    rnd_alnum(g, tok, 24);
    snprintf(resp_id, sizeof resp_id, "chatcmpl-%s", tok);
    a_str(g, a, "gen_ai.response.model", m->response);
    a_str(g, a, "gen_ai.response.id", resp_id);
    a_strarr(g, a, "gen_ai.response.finish_reasons", tool_calls ? tc : stop, 1);
    a_int(g, a, "gen_ai.usage.input_tokens", in_tok);
    a_int(g, a, "gen_ai.usage.output_tokens", out_tok);
    a_str(g, a, "gen_ai.output.type", "text");
    a_dbl(g, a, "gen_ai.response.time_to_first_token", (double)ttft / 1e9);
    add_event(g, start + ttft, "gen_ai.first_token");
    t->in_tokens += in_tok;
    t->out_tokens += out_tok;
    *outcome = tool_calls;
    *end = e;
    return emit(g, b, t, id, parent, t->res[SVC_AGENT], SC_OPENAI, m->span_name,
                OSP_SPAN_KIND_CLIENT, start, e, OSP_STATUS_UNSET, NULL);
}

/* execute_tool in the agent -> tool-runner -> postgres or an external API. */
static int tool_call(osp_gen *g, osp_span_batch *b, trace_ctx *t, const uint8_t *parent,
                     uint64_t start, uint64_t *end)
{
    const struct tool_def *tl = &tools[rnd_below(g, NTOOLS)];
    uint8_t xid[8], cid[8], sid[8], did[8];
    char ip[16], call_id[48], tok[32];
    rnd_bytes(g, xid, 8);
    rnd_bytes(g, cid, 8);
    rnd_bytes(g, sid, 8);
    rnd_bytes(g, did, 8);
    int failed = chance(g, 0.015);
    uint64_t c0 = start + rnd_range(g, 100, 500) * US;
    uint64_t s0 = c0 + rnd_range(g, 300, 1200) * US;
    uint64_t d0 = s0 + rnd_range(g, 200, 900) * US;
    uint64_t d1 =
        d0 + (failed ? 5000 * MS
                     : (tl->kind == TOOL_DB ? lognormal_ns(g, 4, 0.8) : lognormal_ns(g, 420, 0.5)));
    uint64_t s1 = d1 + rnd_range(g, 200, 1500) * US;
    uint64_t c1 = s1 + rnd_range(g, 300, 1200) * US;
    uint64_t e = c1 + rnd_range(g, 100, 600) * US;
    int status = failed ? 500 : 200;
    int rc;
    osp_buf *a = &g->attrs;

    if (tl->kind == TOOL_DB) {
        a_str(g, a, "db.system.name", "postgresql");
        a_str(g, a, "db.namespace", "shop");
        a_str(g, a, "db.operation.name", tl->db_op);
        a_str(g, a, "db.collection.name", tl->db_table);
        a_str(g, a, "db.query.text", tl->db_query);
        a_str(g, a, "db.query.summary", tl->db_span);
        a_str(g, a, "server.address", "pg-primary.data.svc.cluster.local");
        a_int(g, a, "server.port", 5432);
        a_str(g, a, "network.peer.address", pod_ip(g, ip));
        a_int(g, a, "network.peer.port", 5432);
        a_str(g, a, "db.user", "tool_runner");
        a_str(g, a, "app.request.id", t->request_id);
        if (failed) {
            a_str(g, a, "error.type", "ETIMEDOUT");
            add_exception(g, d1, "Error", "connect ETIMEDOUT 10.40.3.17:5432", tool_stack);
        } else {
            a_int(g, a, "db.response.returned_rows", (int64_t)rnd_range(g, 0, 20));
        }
        rc = emit(g, b, t, did, sid, t->res[SVC_TOOLS], SC_PG, tl->db_span, OSP_SPAN_KIND_CLIENT,
                  d0, d1, failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET,
                  failed ? "connect ETIMEDOUT" : NULL);
    } else {
        a_str(g, a, "http.request.method", "GET");
        a_fmt(g, a, "url.full", "https://%s%s?q=%.12s", tl->host, tl->path, t->request_id);
        a_str(g, a, "url.scheme", "https");
        a_str(g, a, "server.address", tl->host);
        a_int(g, a, "server.port", 443);
        a_str(g, a, "network.protocol.version", "1.1");
        a_int(g, a, "http.response.status_code", failed ? 503 : 200);
        a_int(g, a, "http.response.body.size", (int64_t)rnd_range(g, 800, 24000));
        a_str(g, a, "app.request.id", t->request_id);
        if (failed)
            a_str(g, a, "error.type", "503");
        rc = emit(g, b, t, did, sid, t->res[SVC_TOOLS], SC_NODEHTTP, "GET", OSP_SPAN_KIND_CLIENT,
                  d0, d1, failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET, NULL);
    }
    if (rc)
        return rc;

    http_server_attrs(g, t, tl->route, internal_host(SVC_TOOLS), 3000, "http", pod_ip(g, ip),
                      "python-httpx/0.28.1", "1.1", status);
    a_str(g, a, "enduser.id", t->user);
    if (failed)
        add_exception(g, s1 - 100 * US, "ToolError", "tool backend unavailable", tool_stack);
    rc = emit(g, b, t, sid, cid, t->res[SVC_TOOLS], SC_NODEHTTP, tl->server_span,
              OSP_SPAN_KIND_SERVER, s0, s1, failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET, NULL);
    if (rc)
        return rc;

    http_client_attrs(g, t, internal_host(SVC_TOOLS), 3000, tl->route, "python-httpx/0.28.1",
                      status);
    rc = emit(g, b, t, cid, xid, t->res[SVC_AGENT], SC_HTTPX, "POST", OSP_SPAN_KIND_CLIENT, c0, c1,
              failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET, NULL);
    if (rc)
        return rc;

    rnd_alnum(g, tok, 24);
    snprintf(call_id, sizeof call_id, "call_%s", tok);
    a_str(g, a, "gen_ai.operation.name", "execute_tool");
    a_str(g, a, "gen_ai.tool.name", tl->name);
    a_str(g, a, "gen_ai.tool.call.id", call_id);
    a_str(g, a, "gen_ai.tool.type", "function");
    a_str(g, a, "gen_ai.tool.description", tl->description);
    a_fmt(g, a, "gen_ai.tool.call.arguments", "{\"customer_id\":\"%s\",\"limit\":%u}", t->user,
          (unsigned)rnd_range(g, 1, 10));
    a_fmt(g, a, "code.function.name", "assist.agent.tools.%s", tl->name);
    a_str(g, a, "gen_ai.conversation.id", t->conv);
    a_str(g, a, "gen_ai.agent.name", t->agent->name);
    a_str(g, a, "app.request.id", t->request_id);
    if (failed)
        a_str(g, a, "error.type", "ToolError");
    rc = emit(g, b, t, xid, parent, t->res[SVC_AGENT], SC_AGENT, tl->span_name,
              OSP_SPAN_KIND_INTERNAL, start, e, failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET,
              failed ? "tool backend unavailable" : NULL);
    *end = e;
    return rc;
}

/* gateway -> agent-orchestrator: invoke_agent with retrieval, chat and tool loop. */
static int agent_call(osp_gen *g, osp_span_batch *b, trace_ctx *t, const uint8_t *parent,
                      uint64_t start, uint64_t *end)
{
    uint8_t cid[8], sid[8], iid[8];
    char ip[16];
    rnd_bytes(g, cid, 8);
    rnd_bytes(g, sid, 8);
    rnd_bytes(g, iid, 8);
    uint64_t s0 = start + rnd_range(g, 300, 1500) * US;
    uint64_t i0 = s0 + rnd_range(g, 200, 900) * US;
    uint64_t now;
    int rc = retrieval_call(g, b, t, iid, i0 + rnd_range(g, 100, 400) * US, &now);
    if (rc)
        return rc;
    int iteration = 1, retries = 0, outcome = 0;
    while (iteration <= 3) {
        uint64_t e;
        rc = chat_call(g, b, t, iid, now + rnd_range(g, 200, 1500) * US, iteration, &e, &outcome);
        if (rc)
            return rc;
        now = e;
        if (outcome < 0) {
            if (++retries > 1) { /* second failure in a row: give up */
                t->failed = 1;
                break;
            }
            now += lognormal_ns(g, 800, 0.3); /* backoff */
            continue;
        }
        retries = 0;
        if (outcome == 0)
            break;
        int ntools = chance(g, 0.6) ? 1 : 2;
        for (int k = 0; k < ntools; k++) {
            rc = tool_call(g, b, t, iid, now + rnd_range(g, 100, 800) * US, &e);
            if (rc)
                return rc;
            now = e;
        }
        iteration++;
    }
    uint64_t i1 = now + rnd_range(g, 300, 2500) * US;
    uint64_t s1 = i1 + rnd_range(g, 200, 900) * US;
    uint64_t e = s1 + rnd_range(g, 300, 1500) * US;
    osp_buf *a = &g->attrs;

    a_str(g, a, "gen_ai.operation.name", "invoke_agent");
    a_str(g, a, "gen_ai.agent.name", t->agent->name);
    a_str(g, a, "gen_ai.agent.id", t->agent->id);
    a_str(g, a, "gen_ai.agent.description", t->agent->description);
    a_str(g, a, "gen_ai.conversation.id", t->conv);
    a_str(g, a, "gen_ai.provider.name", t->model->provider);
    a_str(g, a, "gen_ai.request.model", t->model->request);
    a_int(g, a, "gen_ai.usage.input_tokens", t->in_tokens);
    a_int(g, a, "gen_ai.usage.output_tokens", t->out_tokens);
    a_int(g, a, "agent.iterations", iteration > 3 ? 3 : iteration);
    a_str(g, a, "enduser.id", t->user);
    a_str(g, a, "session.id", t->session);
    a_str(g, a, "app.request.id", t->request_id);
    a_str(g, a, "app.tenant.id", t->tenant);
    if (t->failed)
        a_str(g, a, "error.type", "LLMUnavailable");
    if (chance(g, 0.2)) { /* follow-up turn: link to the previous turn's trace */
        osp_link ln = {.flags = 0x101};
        rnd_bytes(g, ln.trace_id, 16);
        rnd_bytes(g, ln.span_id, 8);
        osp_buf_reset(&g->evattrs);
        a_str(g, &g->evattrs, "link.reason", "conversation.previous_turn");
        a_str(g, &g->evattrs, "gen_ai.conversation.id", t->conv);
        ln.attributes = osp_buf_str(&g->evattrs);
        rc = osp_links_append(&g->links, &ln);
        osp_buf_reset(&g->evattrs);
        if (rc)
            return rc;
    }
    rc = emit(g, b, t, iid, sid, t->res[SVC_AGENT], SC_AGENT, t->agent->span_name,
              OSP_SPAN_KIND_INTERNAL, i0, i1, t->failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET,
              t->failed ? "model call failed after retry" : NULL);
    if (rc)
        return rc;

    int status = t->failed ? 500 : 200;
    http_server_attrs(g, t, "/agent/run", internal_host(SVC_AGENT), 8000, "http", pod_ip(g, ip),
                      "Go-http-client/1.1", "1.1", status);
    a_str(g, a, "enduser.id", t->user);
    a_str(g, a, "app.tenant.id", t->tenant);
    a_str(g, a, "gen_ai.conversation.id", t->conv);
    if (t->failed)
        add_exception(g, s1 - 300 * US, "agent.errors.LLMUnavailable",
                      "model call failed after retry", stacktraces[0]);
    rc = emit(g, b, t, sid, cid, t->res[SVC_AGENT], SC_FASTAPI, "POST /agent/run",
              OSP_SPAN_KIND_SERVER, s0, s1, t->failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET, NULL);
    if (rc)
        return rc;

    http_client_attrs(g, t, internal_host(SVC_AGENT), 8000, "/agent/run", "Go-http-client/1.1",
                      status);
    rc = emit(g, b, t, cid, parent, t->res[SVC_GATEWAY], SC_OTELHTTP, "POST", OSP_SPAN_KIND_CLIENT,
              start, e, t->failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET, NULL);
    *end = e;
    return rc;
}

/* Appends one whole trace to b: a gateway request through auth, an agent with retrieval
 * (embeddings and a vector-DB query), LLM chat calls with a first-token event, tool calls
 * and occasional errors with exception events; about 18 spans and 15 attributes per span,
 * starting at the next scheduled time. When trace_ids is not NULL a record is appended to
 * it: the trace's 16-byte id, then its number of spans as a 4-byte little-endian integer.
 * Returns 0 or OSP_ENOMEM. */
static int gen_trace(osp_gen *g, osp_span_batch *b, osp_buf *trace_ids)
{
    trace_ctx t;
    memset(&t, 0, sizeof t);
    uint64_t start_ns = g->next_start_ns + rnd_below(g, g->interval_ns / 2 + 1);
    g->next_start_ns += g->interval_ns;
    rnd_bytes(g, t.trace_id, 16);
    rnd_uuid(g, t.request_id);
    /* skewed user popularity: a few heavy users, a long tail */
    double u = rnd_unit(g);
    unsigned user = (unsigned)(u * u * 50000);
    snprintf(t.user, sizeof t.user, "user-%05u", user);
    snprintf(t.tenant, sizeof t.tenant, "tenant-%03u", user % 211);
    /* a user has a handful of conversations; several turns share one */
    uint64_t conv = (uint64_t)user * 0x9e3779b97f4a7c15ULL + rnd_below(g, 6);
    snprintf(t.conv, sizeof t.conv, "conv_%016llx", (unsigned long long)conv);
    snprintf(t.session, sizeof t.session, "sess-%08llx", (unsigned long long)(conv >> 20));
    snprintf(t.client_ip, sizeof t.client_ip, "%u.%u.%u.%u", 100 + (unsigned)rnd_below(g, 100),
             (unsigned)rnd_below(g, 256), (unsigned)rnd_below(g, 256),
             1 + (unsigned)rnd_below(g, 254));
    t.ua = user_agents[user % NUAS];
    for (int s = 0; s < NSVC; s++)
        t.res[s] = s * MAX_REPLICAS + (int)rnd_below(g, (uint64_t)svcs[s].replicas);
    unsigned w = (unsigned)rnd_below(g, 100), acc = 0;
    t.model = &models[NMODELS - 1];
    for (size_t i = 0; i < NMODELS; i++) {
        acc += models[i].weight;
        if (w < acc) {
            t.model = &models[i];
            break;
        }
    }
    t.agent = &agents[rnd_below(g, NAGENTS)];
    size_t first = b->nspans;

    uint8_t gw[8];
    rnd_bytes(g, gw, 8);
    uint64_t now;
    int rc = auth_call(g, b, &t, gw, start_ns + rnd_range(g, 80, 400) * US, &now);
    if (rc == 0)
        rc = agent_call(g, b, &t, gw, now + rnd_range(g, 50, 300) * US, &now);
    if (rc)
        return rc;
    uint64_t end = now + rnd_range(g, 100, 700) * US;
    int status = t.failed ? 502 : 200;
    osp_buf *a = &g->attrs;
    http_server_attrs(g, &t, "/v1/chat", "api.assist.example.com", 443, "https", t.client_ip, t.ua,
                      "2", status);
    a_str(g, a, "enduser.id", t.user);
    a_str(g, a, "app.tenant.id", t.tenant);
    a_str(g, a, "session.id", t.session);
    rc = emit(g, b, &t, gw, NULL, t.res[SVC_GATEWAY], SC_OTELHTTP, "POST /v1/chat",
              OSP_SPAN_KIND_SERVER, start_ns, end, t.failed ? OSP_STATUS_ERROR : OSP_STATUS_UNSET,
              NULL);
    if (rc == 0 && trace_ids) {
        uint32_t n = (uint32_t)(b->nspans - first);
        uint8_t cnt[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        rc = osp_buf_append(trace_ids, t.trace_id, 16);
        if (rc == 0)
            rc = osp_buf_append(trace_ids, cnt, 4);
    }
    return rc;
}

int osp_gen_fill(osp_gen *g, osp_span_batch *b, size_t min_spans, osp_buf *trace_ids)
{
    while (b->nspans < min_spans) {
        int rc = gen_trace(g, b, trace_ids);
        if (rc)
            return rc;
    }
    return 0;
}

int osp_gen_group(osp_span_batch *b)
{
    size_t nkeys = b->nresources * b->nscopes;
    if (b->nspans < 2 || nkeys == 0)
        return 0;
    size_t *start = osp_calloc(nkeys + 1, sizeof *start);
    osp_span *sorted = osp_malloc(b->nspans * sizeof *sorted);
    if (!start || !sorted) {
        osp_free(start);
        osp_free(sorted);
        return OSP_ENOMEM;
    }
    /* counting sort on (resource, scope): stable and linear */
    for (size_t i = 0; i < b->nspans; i++)
        start[b->spans[i].resource * b->nscopes + b->spans[i].scope + 1]++;
    for (size_t k = 0; k < nkeys; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < b->nspans; i++)
        sorted[start[b->spans[i].resource * b->nscopes + b->spans[i].scope]++] = b->spans[i];
    memcpy(b->spans, sorted, b->nspans * sizeof *sorted);
    osp_free(start);
    osp_free(sorted);
    return 0;
}

const osp_gen_search *osp_gen_searches(size_t *n)
{
    *n = sizeof searches / sizeof searches[0];
    return searches;
}

/* ---- setup ---- */

static int build_resource(osp_gen *g, int svc, int replica)
{
    const struct svc_def *d = &svcs[svc];
    osp_buf *a = &g->res_attrs[svc * MAX_REPLICAS + replica];
    char uuid[37], rs[16], pod[8];
    rnd_uuid(g, uuid);
    rnd_alnum(g, rs, 10);
    for (int i = 0; i < 10; i++)
        rs[i] = (char)("bcdfghjklmnpqrstvwxz2456789"[(unsigned char)rs[i] % 27]);
    rnd_alnum(g, pod, 5);
    for (int i = 0; i < 5; i++)
        pod[i] = (char)("bcdfghjklmnpqrstvwxz2456789"[(unsigned char)pod[i] % 27]);
    char podname[96];
    snprintf(podname, sizeof podname, "%s-%s-%s", d->name, rs, pod);

    a_str(g, a, "service.name", d->name);
    a_str(g, a, "service.namespace", "assist");
    a_str(g, a, "service.version", d->version);
    a_str(g, a, "service.instance.id", uuid);
    a_str(g, a, "deployment.environment.name", "production");
    a_str(g, a, "telemetry.sdk.name", "opentelemetry");
    a_str(g, a, "telemetry.sdk.language", d->lang);
    a_str(g, a, "telemetry.sdk.version", d->sdk_version);
    a_str(g, a, "process.runtime.name", d->runtime);
    a_int(g, a, "process.pid", (int64_t)rnd_range(g, 1, 64));
    a_str(g, a, "host.name", podname);
    a_str(g, a, "host.arch", "amd64");
    a_str(g, a, "os.type", "linux");
    a_str(g, a, "k8s.cluster.name", "prod-eu-west-1");
    a_str(g, a, "k8s.namespace.name", "assist");
    a_str(g, a, "k8s.deployment.name", d->name);
    a_fmt(g, a, "k8s.replicaset.name", "%s-%s", d->name, rs);
    a_str(g, a, "k8s.pod.name", podname);
    rnd_uuid(g, uuid);
    a_str(g, a, "k8s.pod.uid", uuid);
    a_fmt(g, a, "k8s.node.name", "ip-10-40-%u-%u.eu-west-1.compute.internal",
          (unsigned)rnd_range(g, 0, 15), (unsigned)rnd_range(g, 2, 250));
    a_str(g, a, "cloud.provider", "aws");
    a_str(g, a, "cloud.region", "eu-west-1");
    a_fmt(g, a, "cloud.availability_zone", "eu-west-1%c", (char)('a' + replica % 3));
    a_fmt(g, a, "container.image.name", "assist/%s", d->name);
    a_str(g, a, "container.image.tag", d->version);
    int rc = g->err;
    g->err = 0;
    return rc;
}

int osp_gen_create(const osp_gen_options *opt, osp_gen **out)
{
    osp_gen *g = osp_calloc(1, sizeof *g);
    if (!g)
        return OSP_ENOMEM;
    g->rng = opt->seed ^ 0x6a09e667f3bcc908ULL;
    double tps = opt->traces_per_sec > 0 ? opt->traces_per_sec : 100.0;
    g->interval_ns = (uint64_t)(1e9 / tps);
    g->next_start_ns = opt->base_ns;
    osp_buf_init(&g->attrs, 0);
    osp_buf_init(&g->evattrs, 0);
    osp_buf_init(&g->events, 0);
    osp_buf_init(&g->links, 0);
    osp_buf_init(&g->tmp, 0);
    for (int i = 0; i < NRES; i++)
        osp_buf_init(&g->res_attrs[i], 0);
    for (int s = 0; s < NSVC; s++) {
        for (int r = 0; r < svcs[s].replicas; r++) {
            int rc = build_resource(g, s, r);
            if (rc) {
                osp_gen_destroy(g);
                return rc;
            }
        }
    }
    *out = g;
    return 0;
}

void osp_gen_destroy(osp_gen *g)
{
    if (!g)
        return;
    osp_buf_cleanup(&g->attrs);
    osp_buf_cleanup(&g->evattrs);
    osp_buf_cleanup(&g->events);
    osp_buf_cleanup(&g->links);
    osp_buf_cleanup(&g->tmp);
    for (int i = 0; i < NRES; i++)
        osp_buf_cleanup(&g->res_attrs[i]);
    osp_free(g);
}
