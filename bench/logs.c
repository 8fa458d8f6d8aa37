/* osprey-logs-bench: the logs benchmark's workload (deterministic service logs with planted
 * needles), its requests as OTLP protobuf, Loki JSON and ClickHouse TSV, and the search
 * latency series against Osprey and ClickHouse. Driven by bench/run.sh (BENCH_PART=logs);
 * method and figures in docs/benchmarks.md. */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "chpeer.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "core/str.h"
#include "model/log.h"
#include "model/logstream.h"
#include "proto/loki.h"
#include "proto/otlp_logs.h"

static void usage(void)
{
    fprintf(
        stderr,
        "usage: osprey-logs-bench gen --format otlp|loki|tsv --out PACK [--lines N] [--batch B]\n"
        "                             [--seed S] [--start-ns NS] [--spacing-us U]\n"
        "                             [--needle-lines K] [--targets FILE] [--max-lines M]\n"
        "       osprey-logs-bench sample [--lines N] [--seed S]   (prints lines)\n"
        "       osprey-logs-bench selftest [--seed S]\n"
        "       osprey-logs-bench ch-schema --db DB              (prints statements)\n"
        "       osprey-logs-bench search --url BASE --targets FILE --start NS --end NS\n"
        "                                [--lines N] [--clickhouse DB] [--reps R]\n"
        "                                [--max-seconds S]\n"
        "gen writes a pack of request bodies (benchutil.h; each record's count is its\n"
        "lines) and prints key=value figures of the workload; search prints p50/p99 per\n"
        "query kind (the volume query counts the lines of every service per minute, and\n"
        "its answer must add up to --lines).\n");
}

/* ---- the workload ---- */

#define NEEDLES 8   /* distinct rare tokens */
#define NSLOTS 256  /* requests in flight: lines of one trace interleave with others */
#define MAX_KEPT 64 /* trace ids remembered for the trace-id searches */
#define MAX_PODS 32 /* service instances (streams) */
#define ENV "production"

typedef struct service {
    const char *name, *ns;
    unsigned pods, weight; /* instances; share of the lines (out of the sum) */
} service;

enum svc_id { API_GW, CHECKOUT, PAYMENTS, CART, LLM_GW, VECTOR_DB, AUTH, INVENTORY, NOTIFY, NSVC };

static const service services[NSVC] = {
    [API_GW] = {"api-gateway", "edge", 4, 24},      [CHECKOUT] = {"checkout", "shop", 3, 12},
    [PAYMENTS] = {"payments", "shop", 2, 7},        [CART] = {"cart", "shop", 3, 11},
    [LLM_GW] = {"llm-gateway", "ai", 3, 12},        [VECTOR_DB] = {"vector-db", "ai", 3, 10},
    [AUTH] = {"auth", "identity", 2, 11},           [INVENTORY] = {"inventory", "shop", 2, 8},
    [NOTIFY] = {"notification", "messaging", 1, 5},
};

typedef struct pod {
    enum svc_id svc;
    char name[40];
    char labels[192]; /* the stream's label set as Loki text, {a="b",...} sorted by name */
    size_t labels_len;
} pod;

typedef struct slot { /* one request in flight */
    uint8_t trace_id[16], span_id[8];
    uint32_t left, lines; /* lines still to come; lines so far */
    uint64_t req;         /* request id */
    uint32_t user;
} slot;

typedef struct kept_trace {
    uint8_t id[16];
    uint32_t lines;
} kept_trace;

typedef struct lgen {
    uint64_t seed, nlines, next; /* lines in the whole workload; index of the next */
    uint64_t base_ns, spacing_ns;
    uint64_t rng;
    pod pods[MAX_PODS];
    size_t npods;
    unsigned wsum;
    slot slots[NSLOTS];
    uint64_t *needle_pos; /* sorted line indexes that carry a needle */
    size_t nneedle_pos, next_needle, needle_lines;
    char needles[NEEDLES][16];
    kept_trace kept[MAX_KEPT];
    size_t nkept;
    uint64_t ntraces, keep_stride;
} lgen;

/* One generated line; its text is text[off, off + len) of the batch. */
typedef struct lrec {
    uint64_t ts;
    uint32_t off, len;
    uint16_t pod;
    uint8_t sev; /* OTLP severity number */
    uint8_t traced;
    uint8_t trace_id[16], span_id[8];
} lrec;

typedef struct lbatch {
    lrec *r;
    size_t n, cap;
    osp_buf text;
} lbatch;

static uint64_t mix64(uint64_t x) /* splitmix64's finalizer */
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t rnd(lgen *g)
{
    return mix64(g->rng += 0x9e3779b97f4a7c15ULL);
}

static unsigned pick(lgen *g, unsigned n)
{
    return (unsigned)(rnd(g) % n);
}

static void rnd_bytes(lgen *g, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rnd(g);
        for (size_t k = 0; k < 8 && i + k < n; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
    }
}

static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static void alnum_str(uint64_t h, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = alnum[h % 62];
        h = h / 62 ^ mix64(h + i);
    }
    out[n] = 0;
}

/* n lowercase letters from h (digits become `digit`), as Kubernetes names pods. */
static void lower_name(uint64_t h, char *out, size_t n, char digit)
{
    alnum_str(h, out, n);
    for (size_t i = 0; i < n; i++) {
        char c = (char)(out[i] | 0x20);
        out[i] = c >= 'a' && c <= 'z' ? c : digit;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The stream label text of pod p, as Loki prints a label set (names sorted). */
static void pod_labels(pod *p)
{
    const service *s = &services[p->svc];
    char name[sizeof p->name];
    memcpy(name, p->name, sizeof name);
    int n = snprintf(p->labels, sizeof p->labels,
                     "{deployment_environment=\"%s\",k8s_namespace_name=\"%s\",k8s_pod_name=\"%s\","
                     "service_name=\"%s\",service_namespace=\"%s\"}",
                     ENV, s->ns, name, s->name, s->ns);
    p->labels_len = (size_t)n;
}

/* Sets up a generator of nlines lines; needle_lines lines per needle. 0 or OSP_ENOMEM. */
static int lgen_init(lgen *g, uint64_t seed, uint64_t nlines, uint64_t base_ns, uint64_t spacing_ns,
                     size_t needle_lines)
{
    memset(g, 0, sizeof *g);
    g->seed = seed;
    g->rng = mix64(seed);
    g->nlines = nlines;
    g->base_ns = base_ns;
    g->spacing_ns = spacing_ns ? spacing_ns : 1;
    for (unsigned s = 0; s < NSVC; s++) {
        char rs[6], id[6]; /* a Deployment's ReplicaSet hash and a pod's suffix */
        lower_name(mix64(seed ^ (s * 7919 + 1)), rs, 5, '7');
        for (unsigned k = 0; k < services[s].pods && g->npods < MAX_PODS; k++) {
            pod *p = &g->pods[g->npods++];
            lower_name(mix64(seed ^ (s * 131 + k + 17)), id, 5, '4');
            p->svc = (enum svc_id)s;
            snprintf(p->name, sizeof p->name, "%s-%s-%s", services[s].name, rs, id);
            pod_labels(p);
        }
        g->wsum += services[s].weight;
    }
    for (int j = 0; j < NEEDLES; j++) {
        memcpy(g->needles[j], "needle", 6);
        alnum_str(mix64(seed * 31 + (uint64_t)j + 1000), g->needles[j] + 6, 6);
    }
    /* needle j's k-th line lies in segment k * NEEDLES + j of equal segments, so the lines
     * of every needle are spread over the whole time range */
    size_t np = (size_t)NEEDLES * needle_lines;
    if (np && nlines >= np) {
        g->needle_pos = osp_malloc(np * sizeof *g->needle_pos);
        if (!g->needle_pos)
            return OSP_ENOMEM;
        uint64_t seg = nlines / np;
        for (size_t i = 0; i < np; i++)
            g->needle_pos[i] = i * seg + mix64(seed ^ (i + 77)) % seg;
        qsort(g->needle_pos, np, sizeof *g->needle_pos, cmp_u64);
        g->nneedle_pos = np;
        g->needle_lines = needle_lines;
    }
    /* about 0.6 / 7.5 of the lines start a trace: keep MAX_KEPT spread over the data */
    uint64_t traces = nlines * 6 / 75;
    g->keep_stride = traces / MAX_KEPT > 1 ? traces / MAX_KEPT : 1;
    return 0;
}

static void lgen_cleanup(lgen *g)
{
    osp_free(g->needle_pos);
    g->needle_pos = NULL;
}

static const char *const sev_text[25] = {
    [5] = "DEBUG", [9] = "INFO", [13] = "WARN", [17] = "ERROR"};
static const char *const sev_lower[25] = {
    [5] = "debug", [9] = "info", [13] = "warn", [17] = "error"};

static const char *const paths[] = {
    "/v1/chat/completions", "/api/cart/items", "/api/checkout",        "/api/orders",
    "/api/products/search", "/api/users/me",   "/api/payments/intent", "/v1/embeddings",
};
static const char *const upstreams[] = {"checkout", "cart", "llm-gateway", "auth", "inventory"};
static const char *const agents[] = {
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0.0.0 Safari/537.36",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "Osprey-iOS/3.14.2 CFNetwork/1496.0.7",
};
static const char *const models[] = {"gpt-4o-mini", "gpt-4.1", "claude-sonnet-4", "llama-3.1-70b",
                                     "mistral-large"};
static const char *const providers[] = {"openai", "openai", "anthropic", "vllm", "mistral"};
static const char *const collections[] = {"docs_v3", "products_2026q4", "support_kb",
                                          "chat_memory"};
static const char *const currencies[] = {"USD", "EUR", "GBP", "JPY"};

/* Appends the message of one line of service s at level sev to t. */
static void message(lgen *g, enum svc_id s, int sev, const slot *sl, uint64_t ts, osp_buf *t)
{
    uint64_t req = sl ? sl->req : rnd(g);
    unsigned user = sl ? sl->user : pick(g, 500000);
    unsigned r = pick(g, 1000);
    const char *lv = sev_lower[sev];
    switch (s) {
    case API_GW: {
        const char *path = paths[pick(g, 8)];
        if (sev == 9 || sev == 5)
            osp_buf_printf(t,
                           "method=%s path=%s status=%d duration_ms=%.1f bytes_out=%u "
                           "request_id=req_%012llx user_id=u_%u client_ip=10.%u.%u.%u "
                           "upstream=%s:8080 user_agent=\"%s\"",
                           r < 600   ? "GET"
                           : r < 950 ? "POST"
                                     : "PUT",
                           path,
                           r < 970   ? 200
                           : r < 990 ? 404
                                     : 401,
                           (double)(pick(g, 90000) + 300) / 100, pick(g, 60000) + 120,
                           (unsigned long long)(req & 0xffffffffffffULL), user, pick(g, 8),
                           pick(g, 256), pick(g, 256) + 1, upstreams[pick(g, 5)],
                           agents[pick(g, 5)]);
        else
            osp_buf_printf(t,
                           "upstream %s method=POST path=%s status=%d duration_ms=%u "
                           "request_id=req_%012llx upstream=%s:8080 retries=%u",
                           sev == 17 ? "error error=\"connection reset by peer\"" : "slow", path,
                           sev == 17 ? 502 : 200, pick(g, 9000) + 1000,
                           (unsigned long long)(req & 0xffffffffffffULL), upstreams[pick(g, 5)],
                           pick(g, 3));
        break;
    }
    case CHECKOUT: {
        static const char *const msgs[] = {"order placed", "cart validated", "inventory reserved",
                                           "shipping quote received"};
        if (sev == 17)
            osp_buf_printf(
                t,
                "{\"level\":\"error\",\"msg\":\"payment declined\",\"order_id\":\"ord_%010llx\","
                "\"user_id\":\"u_%u\",\"error\":{\"type\":\"CardDeclined\",\"code\":"
                "\"insufficient_funds\"},\"request_id\":\"req_%012llx\"}",
                (unsigned long long)(rnd(g) & 0xffffffffffULL), user,
                (unsigned long long)(req & 0xffffffffffffULL));
        else
            osp_buf_printf(
                t,
                "{\"level\":\"%s\",\"msg\":\"%s\",\"order_id\":\"ord_%010llx\",\"user_id\":"
                "\"u_%u\",\"items\":%u,\"total_cents\":%u,\"currency\":\"%s\","
                "\"request_id\":\"req_%012llx\",\"duration_ms\":%u}",
                lv, sev == 13 ? "coupon rejected" : msgs[pick(g, 4)],
                (unsigned long long)(rnd(g) & 0xffffffffffULL), user, pick(g, 9) + 1,
                pick(g, 40000) + 499, currencies[pick(g, 4)],
                (unsigned long long)(req & 0xffffffffffffULL), pick(g, 400) + 3);
        break;
    }
    case PAYMENTS: {
        time_t sec = (time_t)(ts / 1000000000ULL);
        struct tm tm;
        gmtime_r(&sec, &tm);
        osp_buf_printf(t, "%04d-%02d-%02d %02d:%02d:%02d.%03u %5s 1 --- [nio-8080-exec-%u] ",
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       tm.tm_sec, (unsigned)(ts / 1000000 % 1000), sev_text[sev], pick(g, 200) + 1);
        if (sev != 17) {
            osp_buf_printf(t,
                           "c.o.payments.ChargeService : charge %s id=ch_%016llx amount=%u "
                           "currency=%s card_brand=%s last4=%04u latency=%ums",
                           sev == 13 ? "retried after 3DS challenge" : "authorized",
                           (unsigned long long)rnd(g), pick(g, 90000) + 100, currencies[pick(g, 4)],
                           r < 600 ? "visa" : "mastercard", pick(g, 10000), pick(g, 700) + 40);
            break;
        }
        osp_buf_printf(
            t,
            "c.o.payments.ChargeService : charge failed id=ch_%016llx\n"
            "com.osprey.payments.GatewayException: upstream PSP timeout after 5000ms\n"
            "\tat com.osprey.payments.psp.PspClient.authorize(PspClient.java:%u)\n"
            "\tat com.osprey.payments.ChargeService.charge(ChargeService.java:%u)\n"
            "\tat com.osprey.payments.api.ChargeController.create(ChargeController.java:57)\n"
            "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
            (unsigned long long)rnd(g), pick(g, 300) + 80, pick(g, 200) + 100);
        break;
    }
    case CART:
        if (r < 500 && sev != 17)
            osp_buf_printf(t,
                           "level=%s msg=\"cache %s\" key=cart:u_%u ttl_s=%u size_bytes=%u "
                           "redis=redis-cart-%u:6379 elapsed_us=%u",
                           lv, r < 350 ? "hit" : "miss", user, pick(g, 3600), pick(g, 4000) + 80,
                           pick(g, 3), pick(g, 2000) + 60);
        else
            osp_buf_printf(
                t,
                "level=%s msg=\"%s\" cart_id=c_%010llx sku=SKU-%06u qty=%u "
                "request_id=req_%012llx user_id=u_%u",
                lv, sev == 17 ? "failed to persist cart: context deadline exceeded" : "item added",
                (unsigned long long)(rnd(g) & 0xffffffffffULL), pick(g, 999999), pick(g, 5) + 1,
                (unsigned long long)(req & 0xffffffffffffULL), user);
        break;
    case LLM_GW: {
        unsigned m = pick(g, 5);
        if (sev == 13 || sev == 17)
            osp_buf_printf(t,
                           "level=%s msg=\"%s\" provider=%s model=%s status=%d attempt=%u "
                           "retry_after_ms=%u request_id=req_%012llx tenant=t_%u",
                           lv, sev == 13 ? "rate limited, retrying" : "provider timeout",
                           providers[m], models[m], sev == 13 ? 429 : 504, pick(g, 3) + 1,
                           pick(g, 4000), (unsigned long long)(req & 0xffffffffffffULL),
                           pick(g, 900));
        else
            osp_buf_printf(t,
                           "level=%s msg=\"chat completion\" provider=%s model=%s "
                           "prompt_tokens=%u completion_tokens=%u ttft_ms=%u duration_ms=%u "
                           "cache=%s request_id=req_%012llx tenant=t_%u",
                           lv, providers[m], models[m], pick(g, 6000) + 20, pick(g, 900) + 1,
                           pick(g, 900) + 80, pick(g, 9000) + 300, r < 200 ? "hit" : "miss",
                           (unsigned long long)(req & 0xffffffffffffULL), pick(g, 900));
        break;
    }
    case VECTOR_DB:
        if (r < 120)
            osp_buf_printf(t, "%-5s [index] flushed segment=%u vectors=%u bytes=%u wal_lsn=%llu",
                           sev_text[sev], pick(g, 5000), pick(g, 200000) + 1000,
                           pick(g, 400000000) + 100000, (unsigned long long)(rnd(g) >> 24));
        else
            osp_buf_printf(t,
                           "%-5s [query] %scollection=%s top_k=%u ef=%u filter=\"tenant_id = "
                           "'t_%u' AND lang = 'en'\" latency_us=%u results=%u segments=%u",
                           sev_text[sev], sev >= 13 ? "slow query " : "", collections[pick(g, 4)],
                           5 + 5 * pick(g, 4), 64 << pick(g, 3), pick(g, 900), pick(g, 90000) + 200,
                           pick(g, 20), pick(g, 40) + 1);
        break;
    case AUTH:
        if (sev == 13 || sev == 17)
            osp_buf_printf(t,
                           "level=%s msg=\"login failed\" user=user%u@example.com reason=%s "
                           "attempts=%u client_ip=203.0.%u.%u request_id=req_%012llx",
                           lv, user, sev == 13 ? "bad_password" : "account_locked", pick(g, 6) + 1,
                           pick(g, 256), pick(g, 256),
                           (unsigned long long)(req & 0xffffffffffffULL));
        else
            osp_buf_printf(t,
                           "level=%s msg=\"token %s\" user_id=u_%u client_id=web-%u "
                           "scope=\"openid profile cart:write\" ttl_s=3600 mfa=%s "
                           "session=s_%016llx",
                           lv, r < 700 ? "validated" : "issued", user, pick(g, 4),
                           r < 300 ? "true" : "false", (unsigned long long)rnd(g));
        break;
    case INVENTORY:
        if (sev == 13 || sev == 17)
            osp_buf_printf(t,
                           "%s:  deadlock detected, retrying tx=%u attempt=%u "
                           "detail=\"Process %u waits for ShareLock on transaction %u\"",
                           sev == 13 ? "WARNING" : "ERROR", pick(g, 9000000), pick(g, 3) + 1,
                           pick(g, 60000), pick(g, 9000000));
        else if (r < 500)
            osp_buf_printf(t,
                           "duration: %u.%03u ms  statement: SELECT id, sku, qty, warehouse_id "
                           "FROM stock WHERE sku = 'SKU-%06u' AND warehouse_id = %u FOR UPDATE",
                           pick(g, 40), pick(g, 1000), pick(g, 999999), pick(g, 12) + 1);
        else
            osp_buf_printf(t,
                           "duration: %u.%03u ms  statement: UPDATE stock SET qty = qty - %u, "
                           "updated_at = now() WHERE sku = 'SKU-%06u' AND warehouse_id = %u",
                           pick(g, 40), pick(g, 1000), pick(g, 4) + 1, pick(g, 999999),
                           pick(g, 12) + 1);
        break;
    default:
        osp_buf_printf(t,
                       "%s sent email template=%s to=user%u@example.com provider=ses "
                       "message_id=<%016llx@email.amazonses.com> latency_ms=%u",
                       sev_text[sev], r < 600 ? "order_confirmation" : "password_reset", user,
                       (unsigned long long)rnd(g), pick(g, 900) + 20);
        break;
    }
}

/* The next line into b (text appended to b->text). 0 or OSP_ENOMEM. */
static int lgen_line(lgen *g, lbatch *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        lrec *r = osp_realloc(b->r, cap * sizeof *r);
        if (!r)
            return OSP_ENOMEM;
        b->r = r;
        b->cap = cap;
    }
    uint64_t i = g->next++;
    lrec *l = &b->r[b->n++];
    memset(l, 0, sizeof *l);
    l->ts = g->base_ns + i * g->spacing_ns + rnd(g) % g->spacing_ns;
    int needle = -1;
    if (g->next_needle < g->nneedle_pos && g->needle_pos[g->next_needle] == i)
        needle = (int)(g->next_needle++ % NEEDLES);
    /* service by weight (a needle's lines all come from one service) */
    unsigned w = pick(g, g->wsum), s = 0;
    while (w >= services[s].weight)
        w -= services[s++].weight;
    if (needle >= 0)
        s = (unsigned)needle % NSVC;
    unsigned first = 0;
    for (unsigned k = 0; k < s; k++)
        first += services[k].pods;
    l->pod = (uint16_t)(first + pick(g, services[s].pods));
    unsigned r = pick(g, 1000);
    l->sev = r < 15 ? 17 : r < 60 ? 13 : r < 160 ? 5 : 9;
    slot *sl = NULL;
    if (pick(g, 100) < 60) { /* part of a request */
        sl = &g->slots[pick(g, NSLOTS)];
        if (sl->left == 0) {
            rnd_bytes(g, sl->trace_id, 16);
            rnd_bytes(g, sl->span_id, 8);
            sl->left = 2 + pick(g, 12);
            sl->lines = 0;
            sl->req = rnd(g);
            sl->user = pick(g, 500000);
        }
        l->traced = 1;
        memcpy(l->trace_id, sl->trace_id, 16);
        memcpy(l->span_id, sl->span_id, 8);
        l->span_id[0] ^= (uint8_t)(s * 37 + 1); /* one span per service within the trace */
        sl->lines++;
        if (--sl->left == 0 && g->ntraces++ % g->keep_stride == g->keep_stride / 2 &&
            g->nkept < MAX_KEPT) {
            memcpy(g->kept[g->nkept].id, sl->trace_id, 16);
            g->kept[g->nkept++].lines = sl->lines;
        }
    }
    size_t off = b->text.len;
    message(g, (enum svc_id)s, l->sev, sl, l->ts, &b->text);
    if (needle >= 0)
        osp_buf_printf(&b->text, " note=%s", g->needles[needle]);
    if (b->text.len > UINT32_MAX)
        return OSP_ENOMEM;
    l->off = (uint32_t)off;
    l->len = (uint32_t)(b->text.len - off);
    return 0;
}

/* Empties b and fills it with the next n lines (fewer at the end). */
static int lgen_batch(lgen *g, lbatch *b, size_t n)
{
    b->n = 0;
    osp_buf_reset(&b->text);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n && g->next < g->nlines; k++)
        rc = lgen_line(g, b);
    return rc;
}

/* ---- request encodings ---- */

/* Line indexes of b ordered by pod, in time order within a pod: one stream (resource) per
 * pod per request, as a collector's batch or a Loki client's push groups them. */
static void by_pod(const lbatch *b, size_t *order, size_t *start /* MAX_PODS + 1 */)
{
    memset(start, 0, (MAX_PODS + 1) * sizeof *start);
    for (size_t i = 0; i < b->n; i++)
        start[b->r[i].pod + 1]++;
    for (size_t p = 0; p < MAX_PODS; p++)
        start[p + 1] += start[p];
    size_t fill[MAX_PODS];
    memcpy(fill, start, sizeof fill);
    for (size_t i = 0; i < b->n; i++)
        order[fill[b->r[i].pod]++] = i;
}

static int pb_kv(osp_buf *o, uint32_t num, const char *key, const char *val)
{
    size_t kv, av;
    int rc = osp_pb_begin(o, num, &kv);
    rc = rc ? rc : osp_pb_put_str(o, 1, osp_str_c(key));
    rc = rc ? rc : osp_pb_begin(o, 2, &av);
    rc = rc ? rc : osp_pb_put_str(o, 1, osp_str_c(val));
    rc = rc ? rc : osp_pb_end(o, av);
    return rc ? rc : osp_pb_end(o, kv);
}

/* ExportLogsServiceRequest: one ResourceLogs per pod with its resource attributes (the
 * ones Loki and Osprey promote to stream labels), one ScopeLogs with an empty scope (as
 * the collector's filelog receiver sends), records with time, severity, a string body and
 * trace context where the line has it. */
static int encode_otlp(const lgen *g, const lbatch *b, size_t *order, osp_buf *o)
{
    size_t start[MAX_PODS + 1], rl, res, sl, rec, body;
    by_pod(b, order, start);
    int rc = 0;
    for (size_t p = 0; rc == 0 && p < g->npods; p++) {
        if (start[p] == start[p + 1])
            continue;
        const pod *pd = &g->pods[p];
        const service *s = &services[pd->svc];
        rc = osp_pb_begin(o, 1, &rl);
        rc = rc ? rc : osp_pb_begin(o, 1, &res);
        rc = rc ? rc : pb_kv(o, 1, "service.name", s->name);
        rc = rc ? rc : pb_kv(o, 1, "service.namespace", s->ns);
        rc = rc ? rc : pb_kv(o, 1, "deployment.environment", ENV);
        rc = rc ? rc : pb_kv(o, 1, "k8s.namespace.name", s->ns);
        rc = rc ? rc : pb_kv(o, 1, "k8s.pod.name", pd->name);
        rc = rc ? rc : osp_pb_end(o, res);
        rc = rc ? rc : osp_pb_begin(o, 2, &sl);
        rc = rc ? rc : osp_pb_put_bytes(o, 1, "", 0);
        for (size_t k = start[p]; rc == 0 && k < start[p + 1]; k++) {
            const lrec *l = &b->r[order[k]];
            rc = osp_pb_begin(o, 2, &rec);
            rc = rc ? rc : osp_pb_put_fixed64(o, 1, l->ts);
            rc = rc ? rc : osp_pb_put_uint(o, 2, l->sev);
            rc = rc ? rc : osp_pb_put_str(o, 3, osp_str_c(sev_text[l->sev]));
            rc = rc ? rc : osp_pb_begin(o, 5, &body);
            rc = rc ? rc : osp_pb_put_bytes(o, 1, b->text.data + l->off, l->len);
            rc = rc ? rc : osp_pb_end(o, body);
            if (rc == 0 && l->traced) {
                rc = osp_pb_put_fixed32(o, 8, 1);
                rc = rc ? rc : osp_pb_put_bytes(o, 9, l->trace_id, 16);
                rc = rc ? rc : osp_pb_put_bytes(o, 10, l->span_id, 8);
            }
            rc = rc ? rc : osp_pb_end(o, rec);
        }
        rc = rc ? rc : osp_pb_end(o, sl);
        rc = rc ? rc : osp_pb_end(o, rl);
    }
    return rc;
}

/* Loki push JSON: one stream per pod with the same labels Osprey derives from the OTLP
 * resource; trace and span ids as structured metadata (as Loki's OTLP ingest keeps them). */
static int encode_loki(const lgen *g, const lbatch *b, size_t *order, osp_buf *o)
{
    size_t start[MAX_PODS + 1];
    by_pod(b, order, start);
    int rc = osp_buf_puts(o, "{\"streams\":[");
    int first = 1;
    for (size_t p = 0; rc == 0 && p < g->npods; p++) {
        if (start[p] == start[p + 1])
            continue;
        const pod *pd = &g->pods[p];
        const service *s = &services[pd->svc];
        rc = osp_buf_printf(o,
                            "%s{\"stream\":{\"service_name\":\"%s\",\"service_namespace\":\"%s\","
                            "\"deployment_environment\":\"%s\",\"k8s_namespace_name\":\"%s\","
                            "\"k8s_pod_name\":\"%s\"},\"values\":[",
                            first ? "" : ",", s->name, s->ns, ENV, s->ns, pd->name);
        first = 0;
        for (size_t k = start[p]; rc == 0 && k < start[p + 1]; k++) {
            const lrec *l = &b->r[order[k]];
            rc = osp_buf_printf(o, "%s[\"%llu\",", k == start[p] ? "" : ",",
                                (unsigned long long)l->ts);
            rc = rc ? rc : osp_buf_json_str(o, b->text.data + l->off, l->len);
            if (rc == 0 && l->traced) {
                char tid[33], sid[17];
                osp_hex_encode(l->trace_id, 16, tid);
                osp_hex_encode(l->span_id, 8, sid);
                rc = osp_buf_printf(o, ",{\"trace_id\":\"%.32s\",\"span_id\":\"%.16s\"}", tid, sid);
            }
            rc = rc ? rc : osp_buf_putc(o, ']');
        }
        rc = rc ? rc : osp_buf_puts(o, "]}");
    }
    return rc ? rc : osp_buf_puts(o, "]}");
}

/* Appends n bytes as a TabSeparated field (ClickHouse's escapes). */
static int tsv_field(osp_buf *o, const char *p, size_t n)
{
    int rc = osp_buf_reserve(o, 2 * n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char c = p[i], e = c == '\t'   ? 't'
                           : c == '\n' ? 'n'
                           : c == '\r' ? 'r'
                           : c == '\\' ? '\\'
                                       : 0;
        if (e) {
            o->data[o->len++] = '\\';
            o->data[o->len++] = e;
        } else {
            o->data[o->len++] = c;
        }
    }
    return rc;
}

/* TabSeparated rows of the ClickHouse table (chpeer.h), in time order. */
static int encode_tsv(const lgen *g, const lbatch *b, osp_buf *o)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        const lrec *l = &b->r[i];
        const pod *pd = &g->pods[l->pod];
        const service *s = &services[pd->svc];
        char tid[33] = "", sid[17] = "";
        if (l->traced) {
            osp_hex_encode(l->trace_id, 16, tid);
            osp_hex_encode(l->span_id, 8, sid);
            tid[32] = sid[16] = 0;
        }
        rc = osp_buf_printf(o, "%llu\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", (unsigned long long)l->ts,
                            s->name, s->ns, ENV, pd->name, sev_text[l->sev], tid, sid);
        rc = rc ? rc : tsv_field(o, b->text.data + l->off, l->len);
        rc = rc ? rc : osp_buf_putc(o, '\n');
    }
    return rc;
}

/* ---- gen ---- */

typedef struct gen_args {
    uint64_t lines, seed, start_ns, spacing_ns;
    uint64_t max_lines; /* stop after this many (the workload is still that of `lines`) */
    size_t batch, needle_lines;
} gen_args;

static void gen_args_parse(const osp_bench_opts *o, gen_args *a)
{
    a->lines = osp_bench_opt_u64(o, "--lines", 1000000);
    a->seed = osp_bench_opt_u64(o, "--seed", 42);
    a->start_ns = osp_bench_opt_u64(o, "--start-ns", 1795219200000000000ULL); /* 2026-11-21 */
    a->spacing_ns = osp_bench_opt_u64(o, "--spacing-us", 100) * 1000;
    a->max_lines = osp_bench_opt_u64(o, "--max-lines", a->lines);
    a->batch = (size_t)osp_bench_opt_u64(o, "--batch", 1000);
    a->needle_lines = (size_t)osp_bench_opt_u64(o, "--needle-lines", 10);
}

/* The needles and the kept trace ids, one per line: "needle TOKEN SERVICE LINES" and
 * "trace HEX LINES". */
static int write_targets(const lgen *g, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "logs-bench: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (int j = 0; g->needle_lines && j < NEEDLES; j++)
        fprintf(f, "needle %s %s %zu\n", g->needles[j], services[j % NSVC].name, g->needle_lines);
    for (size_t i = 0; i < g->nkept; i++) {
        char hex[33];
        osp_hex_encode(g->kept[i].id, 16, hex);
        fprintf(f, "trace %.32s %u\n", hex, g->kept[i].lines);
    }
    return fclose(f) == 0 ? 0 : 1;
}

static int cmd_gen(const osp_bench_opts *o)
{
    const char *fmt = osp_bench_opt_str(o, "--format", NULL),
               *out = osp_bench_opt_str(o, "--out", NULL),
               *targets = osp_bench_opt_str(o, "--targets", NULL);
    gen_args a;
    gen_args_parse(o, &a);
    int kind = !fmt                   ? -1
               : !strcmp(fmt, "otlp") ? 0
               : !strcmp(fmt, "loki") ? 1
               : !strcmp(fmt, "tsv")  ? 2
                                      : -1;
    if (kind < 0 || !out || !a.lines || !a.batch) {
        usage();
        return 2;
    }
    double cpu0 = osp_bench_cpu_seconds();
    lgen g;
    lbatch b = {0};
    osp_buf body;
    osp_buf_init(&b.text, 0);
    osp_buf_init(&body, 0);
    size_t *order = osp_malloc(a.batch * sizeof *order);
    FILE *f = fopen(out, "wb");
    int rc = lgen_init(&g, a.seed, a.lines, a.start_ns, a.spacing_ns, a.needle_lines);
    uint64_t line_bytes = 0, label_bytes = 0, wire = 0, traced = 0, reqs = 0, first = 0, last = 0;
    if (!f || !order) {
        fprintf(stderr, "logs-bench gen: cannot write %s: %s\n", out, strerror(errno));
        rc = OSP_EIO;
    }
    while (rc == 0 && g.next < g.nlines && g.next < a.max_lines) {
        rc = lgen_batch(&g, &b, a.max_lines - g.next < a.batch ? a.max_lines - g.next : a.batch);
        osp_buf_reset(&body);
        if (rc == 0)
            rc = kind == 0   ? encode_otlp(&g, &b, order, &body)
                 : kind == 1 ? encode_loki(&g, &b, order, &body)
                             : encode_tsv(&g, &b, &body);
        for (size_t i = 0; rc == 0 && i < b.n; i++) {
            line_bytes += b.r[i].len;
            label_bytes += g.pods[b.r[i].pod].labels_len;
            traced += b.r[i].traced;
            first = first && first < b.r[i].ts ? first : b.r[i].ts;
            last = last > b.r[i].ts ? last : b.r[i].ts;
        }
        if (rc == 0)
            rc = osp_bench_pack_write(f, body.data, body.len, (uint32_t)b.n);
        wire += body.len;
        reqs++;
    }
    if (f && fclose(f) != 0 && rc == 0)
        rc = OSP_EIO;
    if (rc == 0 && targets)
        rc = write_targets(&g, targets) ? OSP_EIO : 0;
    if (rc == 0)
        printf("format=%s\nlines=%llu\nrequests=%llu\nlines_per_request=%zu\nline_bytes=%llu\n"
               "label_bytes=%llu\nwire_bytes=%llu\ntraced_lines=%llu\nstreams=%zu\n"
               "avg_line_bytes=%.1f\nwire_bytes_per_line=%.1f\nfirst_ns=%llu\nlast_ns=%llu\n"
               "needles=%d\nneedle_lines=%zu\nkept_traces=%zu\ngen_cpu_s=%.1f\n",
               fmt, (unsigned long long)g.next, (unsigned long long)reqs, a.batch,
               (unsigned long long)line_bytes, (unsigned long long)label_bytes,
               (unsigned long long)wire, (unsigned long long)traced, g.npods,
               (double)line_bytes / (double)g.next, (double)wire / (double)g.next,
               (unsigned long long)first, (unsigned long long)last, g.needle_lines ? NEEDLES : 0,
               g.needle_lines, g.nkept, osp_bench_cpu_seconds() - cpu0);
    else
        fprintf(stderr, "logs-bench gen: %s\n", osp_strerror(rc));
    lgen_cleanup(&g);
    osp_free(b.r);
    osp_free(order);
    osp_buf_cleanup(&b.text);
    osp_buf_cleanup(&body);
    return rc ? 1 : 0;
}

/* Prints the first lines of the workload, one per line (newlines shown as \n). */
static int cmd_sample(const osp_bench_opts *o)
{
    gen_args a;
    gen_args_parse(o, &a);
    lgen g;
    lbatch b = {0};
    osp_buf t;
    osp_buf_init(&b.text, 0);
    osp_buf_init(&t, 0);
    int rc = lgen_init(&g, a.seed, a.lines < 100000 ? 100000 : a.lines, a.start_ns, a.spacing_ns,
                       a.needle_lines);
    rc = rc ? rc : lgen_batch(&g, &b, a.lines < 100000 ? a.lines : 100000);
    for (size_t i = 0; rc == 0 && i < b.n; i++) {
        osp_buf_reset(&t);
        tsv_field(&t, b.text.data + b.r[i].off, b.r[i].len);
        printf("%s %s %.*s\n", g.pods[b.r[i].pod].name, sev_text[b.r[i].sev], (int)t.len, t.data);
    }
    lgen_cleanup(&g);
    osp_free(b.r);
    osp_buf_cleanup(&b.text);
    osp_buf_cleanup(&t);
    return rc ? 1 : 0;
}

/* ---- selftest: the encodings decode, with Osprey's own decoders, to the same lines ---- */

static int check_decoded(const char *what, const lbatch *b, const size_t *order, osp_log_batch *d)
{
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    int bad = d->nrecords != b->n;
    for (size_t i = 0; !bad && i < d->nrecords; i++) {
        const lrec *l = &b->r[order[i]];
        osp_str line;
        bad = osp_log_line(&d->records[i], &scratch, &line) != 0 || line.n != l->len ||
              memcmp(line.p, b->text.data + l->off, l->len) != 0 || d->records[i].time_ns != l->ts;
        if (bad)
            fprintf(stderr, "logs-bench selftest: %s record %zu differs\n", what, i);
    }
    if (d->nrecords != b->n)
        fprintf(stderr, "logs-bench selftest: %s: %zu records, expected %zu\n", what, d->nrecords,
                b->n);
    osp_buf_cleanup(&scratch);
    return bad;
}

static int cmd_selftest(const osp_bench_opts *o)
{
    lgen g;
    lbatch b = {0};
    osp_buf body;
    osp_log_batch d;
    osp_decode_report rep;
    osp_loki_report lrep;
    size_t order[2000];
    osp_buf_init(&b.text, 0);
    osp_buf_init(&body, 0);
    osp_log_batch_init(&d);
    int bad = lgen_init(&g, osp_bench_opt_u64(o, "--seed", 42), 100000, 1795219200000000000ULL,
                        100000, 10) != 0;
    for (int round = 0; !bad && round < 10; round++) {
        bad = lgen_batch(&g, &b, 2000) != 0;
        osp_buf_reset(&body);
        memset(&rep, 0, sizeof rep);
        bad = bad || encode_otlp(&g, &b, order, &body) != 0 ||
              osp_otlp_logs_decode_pb(osp_buf_str(&body), &d, &rep) != 0 || rep.rejected ||
              check_decoded("otlp", &b, order, &d);
        osp_log_batch_cleanup(&d);
        osp_buf_reset(&body);
        memset(&lrep, 0, sizeof lrep);
        bad = bad || encode_loki(&g, &b, order, &body) != 0 ||
              osp_loki_decode_json(osp_buf_str(&body), &d, &lrep) != 0 || lrep.rejected ||
              check_decoded("loki", &b, order, &d);
        osp_log_batch_cleanup(&d);
    }
    fprintf(stderr, "logs-bench selftest: %s\n", bad ? "FAILED" : "ok");
    lgen_cleanup(&g);
    osp_free(b.r);
    osp_buf_cleanup(&b.text);
    osp_buf_cleanup(&body);
    return bad;
}

/* ---- ClickHouse schema ---- */

static int cmd_ch_schema(const osp_bench_opts *o)
{
    const char *db = osp_bench_opt_str(o, "--db", NULL);
    if (!db) {
        usage();
        return 2;
    }
    osp_buf s;
    osp_buf_init(&s, 0);
    for (int i = 0; osp_ch_logs_schema_stmt(db, i, &s) == 1; i++)
        printf("%.*s\n", (int)s.len, s.data);
    osp_buf_cleanup(&s);
    return 0;
}

/* ---- search latency ---- */

enum { Q_NEEDLE_SVC, Q_NEEDLE_ALL, Q_TRACE, Q_VOLUME, NQ };
static const char *const qname[NQ] = {"needle_service", "needle_all", "trace", "volume"};
#define MINUTE_NS 60000000000ULL

typedef struct target {
    char tok[40], svc[40];
    unsigned lines;
} target;

typedef struct targets {
    target needle[64], trace[MAX_KEPT];
    size_t nneedle, ntrace;
} targets;

static int read_targets(const char *path, targets *t)
{
    FILE *f = fopen(path, "r");
    char kind[16];
    target x;
    memset(t, 0, sizeof *t);
    if (!f) {
        fprintf(stderr, "logs-bench: cannot read %s\n", path);
        return 1;
    }
    while (fscanf(f, "%15s %39s", kind, x.tok) == 2) {
        x.svc[0] = 0;
        if (!strcmp(kind, "needle") && fscanf(f, "%39s %u", x.svc, &x.lines) == 2 &&
            t->nneedle < 64)
            t->needle[t->nneedle++] = x;
        else if (!strcmp(kind, "trace") && fscanf(f, "%u", &x.lines) == 1 && t->ntrace < MAX_KEPT)
            t->trace[t->ntrace++] = x;
    }
    fclose(f);
    return t->nneedle && t->ntrace ? 0 : 1;
}

/* The URL of query kind q for target x into url; what each answer row contains (to count
 * them) into *row. */
static void query_url(CURL *h, const char *base, const char *db, int q, const target *x,
                      uint64_t start, uint64_t end, osp_buf *url, osp_buf *row)
{
    osp_buf text;
    osp_buf_init(&text, 0);
    osp_buf_reset(url);
    osp_buf_reset(row);
    if (q == Q_VOLUME) {
        /* minutes from start; Osprey's last window ends at or after end */
        end = start + (end - start + MINUTE_NS - 1) / MINUTE_NS * MINUTE_NS;
        if (db)
            osp_buf_printf(&text,
                           "SELECT service, intDiv(ts - %llu, %llu) AS m, count() FROM %s.logs "
                           "WHERE ts >= %llu AND ts < %llu GROUP BY service, m FORMAT TSV",
                           (unsigned long long)start, MINUTE_NS, db, (unsigned long long)start,
                           (unsigned long long)end);
        else
            osp_buf_printf(&text,
                           "sum by (service_name) (count_over_time({deployment_environment=\"%s\"}"
                           "[1m]))",
                           ENV);
        osp_buf_putc(&text, 0);
        char *esc = curl_easy_escape(h, text.data, 0);
        if (db)
            osp_buf_printf(url, "%s/?query=%s", base, esc);
        else
            osp_buf_printf(url, "%s/loki/api/v1/query_range?query=%s&start=%llu&end=%llu&step=60",
                           base, esc, (unsigned long long)start, (unsigned long long)end);
        curl_free(esc);
    } else if (db) {
        osp_ch_logs_query(db, q == Q_TRACE ? NULL : x->tok, q == Q_NEEDLE_SVC ? x->svc : NULL,
                          q == Q_TRACE ? x->tok : NULL, 100, &text);
        osp_buf_putc(&text, 0);
        char *esc = curl_easy_escape(h, text.data, 0);
        osp_buf_printf(url, "%s/?query=%s", base, esc);
        curl_free(esc);
        osp_buf_putc(row, '\n');
    } else if (q == Q_TRACE) {
        osp_buf_printf(url, "%s/api/v1/traces/%s/logs?limit=1000", base, x->tok);
        osp_buf_puts(row, "{\"time\":");
    } else {
        if (q == Q_NEEDLE_SVC)
            osp_buf_printf(&text, "{service_name=\"%s\"} |= \"%s\"", x->svc, x->tok);
        else
            osp_buf_printf(&text, "{deployment_environment=\"%s\"} |= \"%s\"", ENV, x->tok);
        osp_buf_putc(&text, 0);
        char *esc = curl_easy_escape(h, text.data, 0);
        osp_buf_printf(url, "%s/loki/api/v1/query_range?query=%s&start=%llu&end=%llu&limit=100",
                       base, esc, (unsigned long long)start, (unsigned long long)end);
        curl_free(esc);
        osp_buf_printf(row, "note=%s", x->tok);
    }
    osp_buf_putc(url, 0);
    osp_buf_cleanup(&text);
}

static size_t count_in(const osp_buf *b, const osp_buf *what)
{
    size_t n = 0;
    const char *p = b->data, *end = b->data + b->len;
    while (p && p < end && (p = memmem(p, (size_t)(end - p), what->data, what->len))) {
        n++;
        p += what->len;
    }
    return n;
}

/* The lines a volume answer counts: the sum of its values (Loki's matrix JSON) or of its
 * rows' last column (ClickHouse's TSV). text is NUL-terminated. */
static uint64_t volume_lines(const char *text, int tsv)
{
    double sum = 0, v;
    for (const char *p = text; *p; p++) {
        if (tsv && *p == '\t' && !memchr(p + 1, '\t', strcspn(p + 1, "\n")))
            sum += strtod(p + 1, NULL);
        else if (!tsv && *p == '[' && sscanf(p, "[%*f,\"%lf\"]", &v) == 1)
            sum += v;
    }
    return (uint64_t)(sum + 0.5);
}

static double pct_ms(const uint64_t *sorted, size_t n, double p)
{
    return n ? (double)sorted[(size_t)((double)(n - 1) * p + 0.5)] / 1e6 : 0;
}

static int cmd_search(const osp_bench_opts *o)
{
    const char *base = osp_bench_opt_str(o, "--url", NULL),
               *tf = osp_bench_opt_str(o, "--targets", NULL),
               *db = osp_bench_opt_str(o, "--clickhouse", NULL);
    uint64_t start = osp_bench_opt_u64(o, "--start", 0), end = osp_bench_opt_u64(o, "--end", 0);
    size_t reps = (size_t)osp_bench_opt_u64(o, "--reps", 30);
    uint64_t lines = osp_bench_opt_u64(o, "--lines", 0);
    uint64_t max_ns = osp_bench_opt_u64(o, "--max-seconds", 0) * 1000000000ULL;
    targets t;
    if (!base || !tf || !end || !reps) {
        usage();
        return 2;
    }
    if (read_targets(tf, &t))
        return 1;
    osp_buf body, url, row;
    osp_buf_init(&body, 0);
    osp_buf_init(&url, 0);
    osp_buf_init(&row, 0);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, osp_bench_keep_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    uint64_t *lat = osp_calloc(reps, sizeof *lat);
    int failed = 0;
    for (int q = 0; lat && q < NQ - !lines; q++) { /* no volume query without --lines */
        size_t n = 0, errors = 0, wrong = 0, bytes = 0;
        uint64_t began = osp_bench_now_ns(CLOCK_MONOTONIC);
        for (size_t rep = 0; rep <= reps; rep++) { /* rep 0 warms up */
            if (max_ns && rep > 2 && osp_bench_now_ns(CLOCK_MONOTONIC) - began > max_ns)
                break;
            const target *x = q == Q_TRACE ? &t.trace[rep % t.ntrace] : &t.needle[rep % t.nneedle];
            uint64_t ns;
            query_url(h, base, db, q, x, start, end, &url, &row);
            if (osp_bench_timed_get(h, url.data, &body, &ns) != 0) {
                if (errors++ < 3)
                    fprintf(stderr, "logs-bench search %s: %.*s\n", qname[q],
                            (int)(body.len < 400 ? body.len : 400), body.data ? body.data : "");
                continue;
            }
            uint64_t hits = q != Q_VOLUME                 ? count_in(&body, &row)
                            : osp_buf_putc(&body, 0) == 0 ? volume_lines(body.data, db != NULL)
                                                          : 0;
            uint64_t want = q == Q_VOLUME ? lines : x->lines;
            if (hits != want && wrong++ < 3)
                fprintf(stderr, "logs-bench search %s %s: %llu lines, expected %llu\n", qname[q],
                        q == Q_VOLUME ? "" : x->tok, (unsigned long long)hits,
                        (unsigned long long)want);
            bytes += body.len;
            if (rep > 0)
                lat[n++] = ns;
        }
        qsort(lat, n, sizeof *lat, cmp_u64);
        printf("%s_reps=%zu\n%s_errors=%zu\n%s_wrong=%zu\n%s_p50_ms=%.2f\n%s_p99_ms=%.2f\n"
               "%s_max_ms=%.2f\n%s_avg_bytes=%.0f\n",
               qname[q], n, qname[q], errors, qname[q], wrong, qname[q], pct_ms(lat, n, 0.5),
               qname[q], pct_ms(lat, n, 0.99), qname[q], n ? (double)lat[n - 1] / 1e6 : 0.0,
               qname[q], n ? (double)bytes / (double)(n + 1) : 0.0);
        failed |= errors > 0;
    }
    curl_easy_cleanup(h);
    osp_free(lat);
    osp_buf_cleanup(&body);
    osp_buf_cleanup(&url);
    osp_buf_cleanup(&row);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    osp_bench_opts o = {argc - 2, argv + 2};
    const char *cmd = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = !strcmp(cmd, "gen")         ? cmd_gen(&o)
             : !strcmp(cmd, "sample")    ? cmd_sample(&o)
             : !strcmp(cmd, "selftest")  ? cmd_selftest(&o)
             : !strcmp(cmd, "ch-schema") ? cmd_ch_schema(&o)
             : !strcmp(cmd, "search")    ? cmd_search(&o)
                                         : (usage(), 2);
    curl_global_cleanup();
    return rc;
}
