/* Test data for the part store: deterministic batches of realistic AI-workload traces
 * (gateway -> agent -> LLM / tool / vector DB spans, ~15 attributes each) with every
 * field of a span populated somewhere, including non-canonical blobs. */
#ifndef OSP_TEST_SPANGEN_H
#define OSP_TEST_SPANGEN_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "model/attr.h"
#include "model/span.h"

typedef struct spangen {
    uint64_t rng;
    uint64_t base_ns; /* start of the first trace */
    osp_buf tmp;
} spangen;

static inline uint64_t gen_next(spangen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static inline uint64_t gen_range(spangen *g, uint64_t n)
{
    return gen_next(g) % n;
}

static inline void gen_init(spangen *g, uint64_t seed, uint64_t base_ns)
{
    g->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    g->base_ns = base_ns;
    osp_buf_init(&g->tmp, 0);
}

static inline void gen_cleanup(spangen *g)
{
    osp_buf_cleanup(&g->tmp);
}

static inline osp_str gen_keep(osp_span_batch *b, const void *p, size_t n)
{
    return osp_str_make(osp_arena_memdup(&b->arena, p, n), n);
}

static inline osp_str gen_fmt(osp_span_batch *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline osp_str gen_fmt(osp_span_batch *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return gen_keep(b, tmp, (size_t)n);
}

static inline void put_s(osp_buf *a, const char *k, osp_str s)
{
    osp_value v = {.type = OSP_VAL_STRING, .s = s};
    osp_attr_append(a, osp_str_c(k), &v);
}

static inline void put_z(osp_buf *a, const char *k, const char *z)
{
    put_s(a, k, osp_str_c(z));
}

static inline void put_i(osp_buf *a, const char *k, int64_t i)
{
    osp_value v = {.type = OSP_VAL_INT, .i = i};
    osp_attr_append(a, osp_str_c(k), &v);
}

static inline void put_d(osp_buf *a, const char *k, double d)
{
    osp_value v = {.type = OSP_VAL_DOUBLE, .d = d};
    osp_attr_append(a, osp_str_c(k), &v);
}

static inline void put_b(osp_buf *a, const char *k, int on)
{
    osp_value v = {.type = OSP_VAL_BOOL, .i = on};
    osp_attr_append(a, osp_str_c(k), &v);
}

static inline osp_str gen_blob(osp_span_batch *b, osp_buf *a)
{
    osp_str s = gen_keep(b, a->data, a->len);
    osp_buf_reset(a);
    return s;
}

static inline void gen_hex(spangen *g, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[i] = hex[gen_range(g, 16)];
    out[n] = 0;
}

static const char *const gen_services[] = {"gateway", "agent", "llm-router", "retriever",
                                           "billing"};
static const char *const gen_models[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet",
                                         "llama-3.1-70b"};

/* Adds one resource per service and two scopes. */
static inline void gen_origins(spangen *g, osp_span_batch *b)
{
    osp_buf a;
    osp_buf_init(&a, 0);
    for (size_t i = 0; i < sizeof gen_services / sizeof gen_services[0]; i++) {
        osp_resource *r = osp_span_batch_add_resource(b);
        put_z(&a, "service.name", gen_services[i]);
        put_z(&a, "service.version", "1.4.2");
        put_z(&a, "deployment.environment", "production");
        put_s(&a, "host.name", gen_fmt(b, "node-%02zu.eu-west-1", i));
        put_z(&a, "telemetry.sdk.language", i % 2 ? "python" : "nodejs");
        put_i(&a, "process.pid", 1000 + (int64_t)i);
        r->attributes = gen_blob(b, &a);
        r->service_name = osp_str_c(gen_services[i]);
        r->schema_url = OSP_STR_LIT("https://opentelemetry.io/schemas/1.26.0");
        r->dropped_attributes = (uint32_t)(i == 4);
        if (i == 3) {
            size_t mark;
            osp_entity_ref_begin(&a, OSP_STR_LIT("https://x/schema"), OSP_STR_LIT("service"),
                                 &mark);
            osp_entity_ref_add_key(&a, 0, OSP_STR_LIT("service.name"));
            osp_entity_ref_add_key(&a, 1, OSP_STR_LIT("host.name"));
            osp_entity_ref_end(&a, mark);
            r->entity_refs = gen_blob(b, &a);
        }
    }
    osp_scope *s = osp_span_batch_add_scope(b);
    s->name = OSP_STR_LIT("@opentelemetry/instrumentation-http");
    s->version = OSP_STR_LIT("0.52.1");
    s = osp_span_batch_add_scope(b);
    s->name = OSP_STR_LIT("osprey.genai");
    s->version = OSP_STR_LIT("1.0.0");
    put_z(&a, "library.kind", "genai");
    s->attributes = gen_blob(b, &a);
    s->dropped_attributes = 2;
    s->schema_url = OSP_STR_LIT("https://opentelemetry.io/schemas/1.26.0");
    osp_buf_cleanup(&a);
    (void)g;
}

/* ~15 attributes of a realistic span of the given role. */
static inline osp_str gen_attrs(spangen *g, osp_span_batch *b, int role, int err)
{
    osp_buf *a = &g->tmp;
    char id[40];
    gen_hex(g, id, 32);
    switch (role) {
    case 0: /* gateway HTTP server span */
        put_z(a, "http.request.method", gen_range(g, 4) ? "POST" : "GET");
        put_z(a, "http.route", "/v1/chat/completions");
        put_s(a, "url.full", gen_fmt(b, "https://api.example.com/v1/chat/completions?s=%.12s", id));
        put_z(a, "url.scheme", "https");
        put_i(a, "http.response.status_code", err ? 500 : 200);
        put_z(a, "server.address", "api.example.com");
        put_i(a, "server.port", 443);
        put_s(a, "client.address",
              gen_fmt(b, "10.0.%d.%d", (int)gen_range(g, 8), (int)gen_range(g, 250)));
        put_z(a, "user_agent.original", "openai-python/1.35.3");
        put_s(a, "user.id", gen_fmt(b, "user-%05d", (int)gen_range(g, 20000)));
        put_s(a, "session.id", gen_keep(b, id, 32));
        put_i(a, "http.request.body.size", 200 + (int64_t)gen_range(g, 4000));
        put_i(a, "http.response.body.size", 300 + (int64_t)gen_range(g, 8000));
        put_z(a, "network.protocol.version", "1.1");
        put_i(a, "thread.id", 1 + (int64_t)gen_range(g, 16));
        break;
    case 1: /* LLM chat client span */
        put_z(a, "gen_ai.operation.name", "chat");
        put_z(a, "gen_ai.provider.name", "openai");
        put_z(a, "gen_ai.request.model", gen_models[gen_range(g, 4)]);
        put_z(a, "gen_ai.response.model", gen_models[gen_range(g, 4)]);
        put_d(a, "gen_ai.request.temperature", (double)gen_range(g, 11) / 10);
        put_i(a, "gen_ai.request.max_tokens", 1024);
        put_i(a, "gen_ai.usage.input_tokens", 20 + (int64_t)gen_range(g, 4000));
        put_i(a, "gen_ai.usage.output_tokens", 1 + (int64_t)gen_range(g, 900));
        put_s(a, "gen_ai.response.id", gen_fmt(b, "chatcmpl-%.24s", id));
        {
            osp_buf arr;
            osp_buf_init(&arr, 0);
            osp_value e = {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("stop")};
            osp_array_append(&arr, &e);
            osp_value v = {.type = OSP_VAL_ARRAY, .s = osp_buf_str(&arr)};
            osp_attr_append(a, OSP_STR_LIT("gen_ai.response.finish_reasons"), &v);
            osp_buf_cleanup(&arr);
        }
        put_z(a, "server.address", "api.openai.com");
        put_i(a, "server.port", 443);
        put_s(a, "gen_ai.conversation.id", gen_fmt(b, "conv-%.16s", id + 8));
        put_b(a, "gen_ai.request.stream", (int)gen_range(g, 2));
        put_d(a, "gen_ai.usage.cost", (double)gen_range(g, 100000) / 1e6);
        break;
    case 2: /* vector DB client span */
        put_z(a, "db.system", "qdrant");
        put_z(a, "db.operation.name", "search");
        put_z(a, "db.collection.name", "docs-v3");
        put_i(a, "db.vector.query.top_k", 8);
        put_s(a, "db.query.text",
              gen_fmt(b, "how do I reset my %s password", gen_range(g, 2) ? "account" : "api"));
        put_z(a, "server.address", "qdrant.internal");
        put_i(a, "server.port", 6333);
        put_i(a, "db.response.returned_rows", (int64_t)gen_range(g, 9));
        put_d(a, "db.vector.query.score_threshold", 0.75);
        put_z(a, "network.peer.address", "10.1.0.7");
        put_z(a, "code.function", "Retriever.search");
        put_z(a, "code.namespace", "rag.retriever");
        put_i(a, "thread.id", 1 + (int64_t)gen_range(g, 16));
        put_b(a, "cache.hit", (int)gen_range(g, 2));
        put_s(a, "request.id", gen_keep(b, id, 32));
        break;
    default: /* agent / tool internal span */
        put_z(a, "gen_ai.operation.name", "execute_tool");
        put_z(a, "gen_ai.tool.name", gen_range(g, 2) ? "web_search" : "calculator");
        put_s(a, "gen_ai.tool.call.id", gen_fmt(b, "call_%.20s", id));
        put_z(a, "gen_ai.agent.name", "support-agent");
        put_i(a, "agent.step", (int64_t)gen_range(g, 6));
        put_z(a, "code.function", "Agent.run_tool");
        put_z(a, "code.namespace", "agents.support");
        put_i(a, "thread.id", 1 + (int64_t)gen_range(g, 16));
        put_b(a, "tool.cached", 0);
        put_d(a, "tool.latency_budget_s", 2.5);
        put_z(a, "deployment.region", "eu-west-1");
        put_s(a, "user.id", gen_fmt(b, "user-%05d", (int)gen_range(g, 20000)));
        put_i(a, "retry.count", 0);
        put_z(a, "feature.flag", "tools-v2");
        {
            osp_buf kv;
            osp_buf_init(&kv, 0);
            put_z(&kv, "q", "weather in Paris");
            put_i(&kv, "limit", 3);
            osp_value v = {.type = OSP_VAL_KVLIST, .s = osp_buf_str(&kv)};
            osp_attr_append(a, OSP_STR_LIT("gen_ai.tool.arguments"), &v);
            osp_value by = {.type = OSP_VAL_BYTES, .s = OSP_STR_LIT("\x01\x02\x03")};
            osp_attr_append(a, OSP_STR_LIT("tool.digest"), &by);
            osp_value em = {.type = OSP_VAL_EMPTY};
            osp_attr_append(a, OSP_STR_LIT("tool.note"), &em);
            osp_buf_cleanup(&kv);
        }
        break;
    }
    return gen_blob(b, a);
}

/* Appends ntraces traces (4..9 spans each) starting spacing_ns apart from g->base_ns. */
static inline void gen_traces(spangen *g, osp_span_batch *b, size_t ntraces, uint64_t spacing_ns)
{
    if (b->nresources == 0)
        gen_origins(g, b);
    osp_buf ev, sub;
    osp_buf_init(&ev, 0);
    osp_buf_init(&sub, 0);
    for (size_t t = 0; t < ntraces; t++) {
        uint8_t trace[16], ids[10][8];
        for (int i = 0; i < 16; i++)
            trace[i] = (uint8_t)gen_next(g);
        uint64_t t0 = g->base_ns + t * spacing_ns + gen_range(g, spacing_ns ? spacing_ns : 1);
        size_t n = 4 + gen_range(g, 6);
        for (size_t k = 0; k < n; k++) {
            uint64_t r = gen_next(g);
            memcpy(ids[k], &r, 8);
            osp_span *s = osp_span_batch_add_span(b);
            int role = k == 0 ? 0 : k % 3 == 1 ? 1 : k % 3 == 2 ? 2 : 3;
            int err = gen_range(g, 20) == 0;
            memcpy(s->trace_id, trace, 16);
            memcpy(s->span_id, ids[k], 8);
            if (k)
                memcpy(s->parent_span_id, ids[k == 1 ? 0 : 1 + gen_range(g, k - 1)], 8);
            s->start_ns = t0 + k * 1000000 + gen_range(g, 1000000);
            s->end_ns = s->start_ns + 50000 + gen_range(g, 800000000);
            s->kind = role == 0   ? OSP_SPAN_KIND_SERVER
                      : role == 3 ? OSP_SPAN_KIND_INTERNAL
                                  : OSP_SPAN_KIND_CLIENT;
            s->status_code = err ? OSP_STATUS_ERROR : k == 0 ? OSP_STATUS_OK : OSP_STATUS_UNSET;
            s->flags = 0x101;
            s->resource = (uint32_t)(role == 0 ? 0 : role == 1 ? 2 : role == 2 ? 3 : 1);
            s->scope = role == 1;
            s->name = role == 0   ? OSP_STR_LIT("POST /v1/chat/completions")
                      : role == 1 ? gen_fmt(b, "chat %s", gen_models[gen_range(g, 4)])
                      : role == 2 ? OSP_STR_LIT("qdrant search")
                                  : OSP_STR_LIT("execute_tool");
            s->attributes = gen_attrs(g, b, role, err);
            if (err)
                s->status_message = OSP_STR_LIT("upstream timeout after 30s");
            if (role == 0 && gen_range(g, 4) == 0)
                s->trace_state = OSP_STR_LIT("vendor=abc,sampled=1");
            if (role == 1) { /* first-token event */
                osp_event e = {.time_ns = s->start_ns + 1000 + gen_range(g, 500000000),
                               .name = OSP_STR_LIT("gen_ai.first_token")};
                put_i(&sub, "gen_ai.token.index", 0);
                e.attributes = osp_buf_str(&sub);
                osp_events_append(&ev, &e);
                osp_buf_reset(&sub);
            }
            if (err) {
                osp_event e = {.time_ns = s->end_ns,
                               .name = OSP_STR_LIT("exception"),
                               .dropped_attributes = 1};
                put_z(&sub, "exception.type", "TimeoutError");
                put_z(&sub, "exception.message", "upstream timeout after 30s");
                put_z(&sub, "exception.stacktrace", "at call (client.js:10)\nat run (agent.js:4)");
                e.attributes = osp_buf_str(&sub);
                osp_events_append(&ev, &e);
                osp_buf_reset(&sub);
                s->dropped_events = 3;
            }
            s->events = gen_blob(b, &ev);
            if (role == 3 && gen_range(g, 3) == 0) {
                osp_link l = {.flags = 1, .dropped_attributes = 1};
                for (int i = 0; i < 16; i++)
                    l.trace_id[i] = (uint8_t)gen_next(g);
                memcpy(l.span_id, ids[0], 8);
                l.trace_state = OSP_STR_LIT("vendor=xyz");
                put_z(&sub, "link.kind", "follows_from");
                l.attributes = osp_buf_str(&sub);
                osp_links_append(&ev, &l);
                osp_buf_reset(&sub);
                s->links = gen_blob(b, &ev);
                s->dropped_links = 1;
            }
            if (gen_range(g, 50) == 0) {
                s->dropped_attributes = 4;
                /* Non-canonical bytes must come back unchanged too: a bool encoded as 2,
                 * and garbage where events belong. */
                static const char odd_attrs[] = "\x0a\x07\x0a\x01x\x12\x02\x10\x02";
                static const char odd_events[] = "\xff\x01garbage";
                s->attributes = osp_str_make(odd_attrs, sizeof odd_attrs - 1);
                s->events = osp_str_make(odd_events, sizeof odd_events - 1);
            }
        }
    }
    osp_buf_cleanup(&ev);
    osp_buf_cleanup(&sub);
}

/* 1 when span ia of a is span ib of b as a read without detail (OSP_TRACE_NO_DETAIL)
 * returns it: every field equal, resource and scope included, and the detail empty. */
static inline int span_equal_no_detail(const osp_span_batch *a, size_t ia, const osp_span_batch *b,
                                       size_t ib)
{
    osp_span_batch t;
    osp_span_batch_init(&t);
    int eq = osp_span_batch_copy_span(&t, b, ib) == 0;
    if (eq) {
        osp_span *s = &t.spans[0];
        s->attributes = s->events = s->links = OSP_STR_NULL;
        s->trace_state = s->status_message = OSP_STR_NULL;
        eq = osp_span_equal(a, ia, &t, 0);
    }
    osp_span_batch_cleanup(&t);
    return eq;
}

#endif
