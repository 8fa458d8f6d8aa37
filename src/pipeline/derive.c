/* The write-path derivations (derive.h): normalizes stored spans, feeds them to every
 * deriver under that deriver's lock, and flushes their series into the store from a
 * background thread. */
#include "pipeline/derive.h"

#include <pthread.h>
#include <string.h>

#include "analytics/genai_metrics.h"
#include "analytics/pricing.h"
#include "analytics/servicegraph.h"
#include "analytics/spanmetrics.h"
#include "model/aicall.h"
#include "core/clock.h"
#include "core/cond.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/thread.h"
#include "store/store.h"

#define DEFAULT_INTERVAL_MS 15000
/* Spans normalized together: a span inherits session and user ids from ancestors among
 * them. Bounds the canonical fields held at once. */
#define WINDOW 256
#define INDEX_SLOTS (2 * WINDOW) /* span id -> position in the window, open addressing */
#define MAX_ANCESTORS 16         /* parent links followed for inheritance */
#define ERROR_LOG_MS 60000       /* at most one flush error logged per minute */
#define MAX_PENDING_CALLS 262144 /* AI call records held between writes; more are dropped */
#define CALLS_BATCH 16384        /* queued records that wake the flush thread to write them */

/* Every deriver the pipeline feeds; adding one is adding a line. */
static const osp_deriver *const derivers[] = {
    &osp_spanmetrics_deriver,
    &osp_servicegraph_deriver,
    &osp_genai_deriver,
};
#define NDERIVERS (sizeof derivers / sizeof derivers[0])

typedef struct instance {
    const osp_deriver *d;
    void *self;
    pthread_mutex_t mu; /* held while the instance adds or flushes */
} instance;

struct osp_derive {
    osp_store *store;
    osp_derive_env env;
    osp_price_table *prices; /* env.prices, refreshed before each flush */
    uint32_t interval_ms;
    instance inst[NDERIVERS];
    size_t ninst;             /* instances created */
    pthread_mutex_t flush_mu; /* one flush at a time; guards the fields below */
    int64_t last_t_ms;        /* flush times strictly increase */
    int64_t last_error_ms;
    uint64_t errors_unlogged;
    pthread_mutex_t mu; /* guards stop, with cv */
    pthread_cond_t cv;
    int stop;
    pthread_t thread;
    osp_metric *m_spans, *m_flushes, *m_series, *m_errors;
    /* AI call records (model/aicall.h) for the store's session index, written at flushes. */
    pthread_mutex_t calls_mu; /* guards calls */
    osp_aicall_batch calls;
    osp_metric *m_calls, *m_calls_dropped;
};

/* ---- feeding ---- */

/* Canonical fields of a span that could not be normalized: not an AI span. */
static void set_none(osp_genai *g)
{
    memset(g, 0, sizeof *g);
    g->type = OSP_GENAI_NONE;
    g->input_tokens = g->output_tokens = -1;
    g->cache_read_tokens = g->cache_write_tokens = g->reasoning_tokens = -1;
    g->cache_in_input = g->streaming = -1;
    g->ttft_ns = g->tpot_ns = -1;
}

static const osp_resource *resource_of(const osp_span_batch *b, const osp_span *s)
{
    return s->resource < b->nresources ? &b->resources[s->resource] : NULL;
}

static size_t id_slot(const uint8_t id[8])
{
    uint64_t h;
    memcpy(&h, id, sizeof h);
    return (size_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & (INDEX_SLOTS - 1);
}

/* Indexes spans[0..n) by span id: slots hold position + 1, 0 empty. */
static void index_window(const osp_span *spans, size_t n, uint16_t slots[INDEX_SLOTS])
{
    memset(slots, 0, INDEX_SLOTS * sizeof *slots);
    for (size_t i = 0; i < n; i++) {
        size_t k = id_slot(spans[i].span_id);
        while (slots[k])
            k = (k + 1) & (INDEX_SLOTS - 1);
        slots[k] = (uint16_t)(i + 1);
    }
}

/* Position of the span with id in the window, or -1. */
static int find_in_window(const osp_span *spans, const uint16_t slots[INDEX_SLOTS],
                          const uint8_t id[8])
{
    for (size_t k = id_slot(id); slots[k]; k = (k + 1) & (INDEX_SLOTS - 1))
        if (!memcmp(spans[slots[k] - 1].span_id, id, 8))
            return slots[k] - 1;
    return -1;
}

/* Session and user ids of AI spans from their nearest ancestors in the window. */
static void inherit_window(const osp_span *spans, size_t n, osp_genai *g)
{
    uint16_t slots[INDEX_SLOTS];
    index_window(spans, n, slots);
    for (size_t i = 0; i < n; i++) {
        size_t cur = i;
        for (int depth = 0; g[i].type != OSP_GENAI_NONE && depth < MAX_ANCESTORS &&
                            (!g[i].session_id.n || !g[i].user_id.n);
             depth++) {
            int p = find_in_window(spans, slots, spans[cur].parent_span_id);
            if (p < 0 || (size_t)p == cur)
                break;
            osp_genai_inherit(&g[i], &g[p]);
            cur = (size_t)p;
        }
    }
}

/* Feeds spans[0..n) with their canonical fields to every deriver. */
static void feed(osp_derive *d, const osp_span_batch *b, const osp_span *spans, size_t n,
                 const osp_genai *g, size_t gstep, int64_t now_ms)
{
    for (size_t k = 0; k < d->ninst; k++) {
        instance *in = &d->inst[k];
        pthread_mutex_lock(&in->mu);
        for (size_t i = 0; i < n; i++) {
            osp_derived_span ds = {&spans[i], resource_of(b, &spans[i]), &g[i * gstep]};
            in->d->add(in->self, &ds, now_ms);
        }
        pthread_mutex_unlock(&in->mu);
    }
}

/* Queues the AI call records of spans[0..n) for the next write; reaching a full batch wakes
 * the flush thread to write them (at an interval's pace, a busy gateway would fill the
 * queue). */
static void queue_calls(osp_derive *d, const osp_span_batch *b, const osp_span *spans, size_t n,
                        const osp_genai *g)
{
    size_t dropped = 0;
    pthread_mutex_lock(&d->calls_mu);
    size_t before = d->calls.n;
    for (size_t i = 0; i < n; i++)
        if (osp_aicall_wanted(&g[i]) && !osp_genai_serves_call(&g[i], &spans[i]) &&
            (d->calls.n >= MAX_PENDING_CALLS ||
             osp_aicall_add(&d->calls, &spans[i], resource_of(b, &spans[i]), &g[i])))
            dropped++;
    int wake = before < CALLS_BATCH && d->calls.n >= CALLS_BATCH;
    pthread_mutex_unlock(&d->calls_mu);
    osp_counter_add(d->m_calls_dropped, dropped);
    if (wake) {
        pthread_mutex_lock(&d->mu);
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}

void osp_derive_spans(osp_derive *d, const osp_span_batch *b)
{
    size_t win = b->nspans < WINDOW ? b->nspans : WINDOW;
    int64_t now_ms = osp_clock_ms(CLOCK_REALTIME);
    osp_genai none, *g = win ? osp_malloc(win * sizeof *g) : NULL;
    osp_arena arena;
    osp_arena_init(&arena, 16384, 0);
    set_none(&none);
    for (size_t start = 0; start < b->nspans; start += win) {
        const osp_span *spans = &b->spans[start];
        size_t n = b->nspans - start < win ? b->nspans - start : win;
        for (size_t i = 0; g && i < n; i++)
            if (osp_genai_normalize(&spans[i], resource_of(b, &spans[i]), &arena, &g[i]) != 0)
                set_none(&g[i]);
        if (g) {
            inherit_window(spans, n, g);
            queue_calls(d, b, spans, n, g);
        }
        /* Without memory for the canonical fields, every span counts as a plain span. */
        feed(d, b, spans, n, g ? g : &none, g ? 1 : 0, now_ms);
        osp_arena_cleanup(&arena);
    }
    osp_free(g);
    osp_counter_add(d->m_spans, b->nspans);
}

/* ---- flushing ---- */

/* Logs a flush error, at most once per ERROR_LOG_MS (under flush_mu). */
static void log_error(osp_derive *d, int rc, int64_t now_ms)
{
    osp_counter_inc(d->m_errors);
    if (d->last_error_ms && now_ms - d->last_error_ms < ERROR_LOG_MS) {
        d->errors_unlogged++;
        return;
    }
    osp_warn("derive",
             "storing derived series failed: %s (%llu more failures since the last message); "
             "retrying at the next flush",
             osp_strerror(rc), (unsigned long long)d->errors_unlogged);
    d->last_error_ms = now_ms;
    d->errors_unlogged = 0;
}

/* Every deriver's series into out, at t_ms. */
static int collect(osp_derive *d, int64_t t_ms, osp_series_batch *out)
{
    int rc = 0;
    for (size_t k = 0; k < d->ninst && rc == 0; k++) {
        instance *in = &d->inst[k];
        pthread_mutex_lock(&in->mu);
        rc = in->d->flush(in->self, t_ms, out);
        pthread_mutex_unlock(&in->mu);
    }
    return rc;
}

/* Writes the queued AI call records to the store (under flush_mu); on failure they are
 * dropped, logged and counted. */
static void store_calls(osp_derive *d)
{
    osp_aicall_batch out;
    pthread_mutex_lock(&d->calls_mu);
    out = d->calls;
    osp_aicall_batch_init(&d->calls);
    pthread_mutex_unlock(&d->calls_mu);
    int rc = osp_store_append_aicalls(d->store, out.calls, out.n);
    if (rc == 0) {
        osp_counter_add(d->m_calls, out.n);
    } else if (rc != OSP_EUNSUPPORTED) {
        osp_warn("derive", "storing %zu AI call records failed: %s; they are dropped", out.n,
                 osp_strerror(rc));
        osp_counter_add(d->m_calls_dropped, out.n);
    }
    osp_aicall_batch_cleanup(&out);
}

int osp_derive_flush(osp_derive *d)
{
    osp_series_batch out;
    int rc;
    osp_series_batch_init(&out);
    pthread_mutex_lock(&d->flush_mu);
    if (d->prices) /* a changed price file applies to what is priced from now on */
        osp_price_table_refresh(d->prices);
    int64_t now_ms = osp_clock_ms(CLOCK_REALTIME);
    int64_t t_ms = now_ms > d->last_t_ms ? now_ms : d->last_t_ms + 1;
    d->last_t_ms = t_ms;
    rc = collect(d, t_ms, &out);
    if (rc == 0 && out.nseries)
        rc = osp_store_append_series(d->store, &out, NULL);
    if (rc == 0 && out.nexemplars)
        rc = osp_store_append_exemplars(d->store, &out, NULL);
    osp_counter_inc(d->m_flushes);
    osp_gauge_set(d->m_series, (double)out.nseries);
    if (rc)
        log_error(d, rc, now_ms);
    store_calls(d);
    pthread_mutex_unlock(&d->flush_mu);
    osp_series_batch_cleanup(&out);
    return rc;
}

static size_t calls_queued(osp_derive *d)
{
    pthread_mutex_lock(&d->calls_mu);
    size_t n = d->calls.n;
    pthread_mutex_unlock(&d->calls_mu);
    return n;
}

/* The flush thread: flushes every interval until told to stop, and writes the AI call
 * records in between whenever a batch of them is queued. */
static void *flush_loop(void *arg)
{
    osp_derive *d = arg;
    int64_t next = osp_clock_ms(CLOCK_MONOTONIC) + d->interval_ms;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        int64_t now = osp_clock_ms(CLOCK_MONOTONIC);
        if (now < next && calls_queued(d) >= CALLS_BATCH) {
            pthread_mutex_unlock(&d->mu);
            pthread_mutex_lock(&d->flush_mu);
            store_calls(d);
            pthread_mutex_unlock(&d->flush_mu);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        if (now < next) {
            osp_cond_wait_ms(&d->cv, &d->mu, (uint32_t)(next - now));
            continue;
        }
        pthread_mutex_unlock(&d->mu);
        (void)osp_derive_flush(d); /* errors are logged and counted there */
        next = osp_clock_ms(CLOCK_MONOTONIC) + d->interval_ms;
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* Frees d and its derivers (the thread already stopped or never started). */
static void free_derive(osp_derive *d)
{
    for (size_t k = 0; k < d->ninst; k++) {
        d->inst[k].d->destroy(d->inst[k].self);
        pthread_mutex_destroy(&d->inst[k].mu);
    }
    osp_aicall_batch_cleanup(&d->calls);
    pthread_mutex_destroy(&d->calls_mu);
    pthread_mutex_destroy(&d->flush_mu);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    osp_free(d);
}

int osp_derive_create(struct osp_store *store, const osp_derive_options *opt, osp_derive **out)
{
    osp_derive *d = osp_calloc(1, sizeof *d);
    if (!d)
        return OSP_ENOMEM;
    d->store = store;
    d->prices = opt ? opt->prices : NULL;
    d->env = (osp_derive_env){store, d->prices};
    d->interval_ms = opt && opt->interval_ms ? opt->interval_ms : DEFAULT_INTERVAL_MS;
    pthread_mutex_init(&d->flush_mu, NULL);
    pthread_mutex_init(&d->mu, NULL);
    pthread_mutex_init(&d->calls_mu, NULL);
    osp_aicall_batch_init(&d->calls);
    osp_cond_init_monotonic(&d->cv);
    d->m_spans = osp_counter("osprey_derive_spans_total",
                             "Stored spans fed to the derived-series pipeline.", "");
    d->m_flushes =
        osp_counter("osprey_derive_flushes_total", "Flushes of derived series into the store.", "");
    d->m_series =
        osp_gauge("osprey_derive_series", "Series written by the last derived flush.", "");
    d->m_errors = osp_counter("osprey_derive_flush_errors_total",
                              "Derived flushes the store refused (retried at the next one).", "");
    d->m_calls = osp_counter("osprey_derive_aicalls_total",
                             "AI call records written to the session and agent index.", "");
    d->m_calls_dropped =
        osp_counter("osprey_derive_aicalls_dropped_total",
                    "AI call records dropped: queue full, out of memory or a failed write.", "");
    for (size_t k = 0; k < NDERIVERS; k++) {
        instance *in = &d->inst[k];
        in->d = derivers[k];
        if (!(in->self = in->d->create(&d->env)))
            break;
        pthread_mutex_init(&in->mu, NULL);
        d->ninst++;
    }
    if (d->ninst < NDERIVERS || osp_thread_start(&d->thread, "osp-derive", flush_loop, d) != 0) {
        free_derive(d);
        return OSP_ENOMEM;
    }
    *out = d;
    return 0;
}

void osp_derive_destroy(osp_derive *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    (void)osp_derive_flush(d); /* errors are logged there */
    free_derive(d);
}
