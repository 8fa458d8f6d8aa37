/* Generated log batches for the log store's unit tests: services with pods, a mix of
 * body kinds, ids, severities and attributes, reproducible from a seed. */
#ifndef OSP_TEST_LOGGEN_H
#define OSP_TEST_LOGGEN_H

#include "core/buf.h"
#include "model/attr.h"
#include "model/log.h"

#define LG_DAY0 1767225600000000000ull /* 2026-01-01T00:00:00Z */
#define LG_NS_PER_DAY 86400000000000ull

static uint64_t lg_state = 1;

static inline uint64_t lg_rand(void)
{
    lg_state = lg_state * 6364136223846793005ull + 1442695040888963407ull;
    return lg_state >> 17;
}

/* Copies buf's bytes into b's arena. */
static inline osp_str lg_keep(osp_log_batch *b, const osp_buf *buf)
{
    return osp_arena_strdup(&b->arena, osp_buf_str(buf));
}

/* An AnyValue string body. */
static inline osp_str lg_string_body(osp_log_batch *b, const char *text)
{
    osp_buf buf;
    osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(text)};
    osp_buf_init(&buf, 0);
    osp_value_put(&buf, &v);
    osp_str s = lg_keep(b, &buf);
    osp_buf_cleanup(&buf);
    return s;
}

/* The bytes a part counts for r's line (OSP_LSTREAM_LINE_BYTES): the text of a body that
 * is one string value as written canonically, any other body's bytes. */
static inline uint64_t lg_stored_line_bytes(const osp_log_record *r)
{
    osp_value v;
    uint64_t n;
    if (osp_value_decode(r->body, &v) || v.type != OSP_VAL_STRING)
        return r->body.n;
    n = v.s.n;
    size_t head = 2; /* the tag and the length's varint */
    while (n >= 128) {
        n >>= 7;
        head++;
    }
    return r->body.n == head + v.s.n ? v.s.n : r->body.n;
}

/* A resource of service svc on pod: service.name, k8s.pod.name promoted to stream labels
 * and host.name left as structured metadata. */
static inline uint32_t lg_resource(osp_log_batch *b, const char *svc, const char *pod)
{
    osp_buf buf;
    const char *kv[] = {"service.name", svc, "k8s.pod.name", pod, "host.name", "node-7"};
    osp_buf_init(&buf, 0);
    for (size_t i = 0; i < 6; i += 2) {
        osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(kv[i + 1])};
        osp_attr_append(&buf, osp_str_c(kv[i]), &v);
    }
    osp_resource *r = osp_log_batch_add_resource(b);
    r->service_name = osp_arena_strdup(&b->arena, osp_str_c(svc));
    r->attributes = lg_keep(b, &buf);
    osp_buf_cleanup(&buf);
    return (uint32_t)(b->nresources - 1);
}

/* A record of resource res at time t with line text (a string body). */
static inline osp_log_record *lg_record(osp_log_batch *b, uint32_t res, uint64_t t,
                                        const char *text)
{
    if (!b->nscopes) {
        osp_scope *sc = osp_log_batch_add_scope(b);
        sc->name = osp_str_c("app.logger");
        sc->version = osp_str_c("1.0");
    }
    osp_log_record *r = osp_log_batch_add_record(b);
    r->time_ns = t;
    r->observed_ns = t + 500;
    r->has_body = 1;
    r->body = lg_string_body(b, text);
    r->severity_number = OSP_SEVERITY_INFO;
    r->severity_text = osp_str_c("INFO");
    r->resource = res;
    r->scope = 0;
    return r;
}

static const char *const lg_services[] = {"checkout", "payments", "gateway", "search"};
static const char *const lg_verbs[] = {"GET", "POST", "PUT", "DELETE"};

/* n records of 4 services x 3 pods, times from t0 on, 1 ms apart on average (shuffled
 * within a few ms), each with a trace id (record number in the first bytes) and a line
 * like "GET /api/v1/items/1234 status=200 took=17ms user=u42 req=checkout-000123". */
static inline void lg_generate(osp_log_batch *b, size_t n, uint64_t t0, uint64_t seed)
{
    uint32_t res[12];
    char text[200], pod[64];
    lg_state = seed;
    for (size_t i = 0; i < 12; i++) {
        snprintf(pod, sizeof pod, "%s-%zu", lg_services[i % 4], i / 4);
        res[i] = lg_resource(b, lg_services[i % 4], pod);
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = lg_rand() % 12;
        uint64_t status = lg_rand() % 10 == 0 ? 500 : 200;
        snprintf(text, sizeof text,
                 "%s /api/v1/items/%llu status=%llu took=%llums user=u%llu req=%s-%06zu",
                 lg_verbs[lg_rand() % 4], (unsigned long long)(lg_rand() % 10000),
                 (unsigned long long)status, (unsigned long long)(lg_rand() % 300),
                 (unsigned long long)(lg_rand() % 100), lg_services[r % 4], i);
        osp_log_record *rec = lg_record(b, res[r], t0 + i * 1000000 + lg_rand() % 3000000, text);
        uint32_t id = (uint32_t)i + 1;
        memcpy(rec->trace_id, &id, sizeof id);
        rec->trace_id[15] = 0x5a;
        memcpy(rec->span_id, &id, sizeof id);
        if (status == 500) {
            rec->severity_number = OSP_SEVERITY_ERROR;
            rec->severity_text = osp_str_c("ERROR");
        }
    }
}

#endif
