/* Test helpers for the SDK's logs, GenAI and callbacks tests: a provider whose span and log
 * batches hand every item to the test instead of an exporter, a fixture around it, and
 * attribute lookups. */
#ifndef OSPREY_TEST_CAPTURE_H
#define OSPREY_TEST_CAPTURE_H

#include <pthread.h>

#include "core/mem.h"
#include "sdk_int.h"

/* The items a batch let go of (exported or dropped), now owned by the test. */
typedef struct capture {
    pthread_mutex_t lock;
    void **items;
    size_t n, cap;
    atomic_uint_fast64_t exported, dropped;
} capture;

static inline int capture_export(void *ctx, void *const *items, size_t n, uint64_t deadline_ns)
{
    (void)ctx, (void)items, (void)n, (void)deadline_ns;
    return 0;
}

/* Keeps the item instead of freeing it. */
static inline void capture_keep(void *ctx, void *item)
{
    capture *c = ctx;
    pthread_mutex_lock(&c->lock);
    void **slot = osp_array_push((void **)&c->items, &c->n, &c->cap, sizeof *c->items);
    assert_non_null(slot);
    *slot = item;
    pthread_mutex_unlock(&c->lock);
}

/* A batch whose items end up in c (flush to move them there). */
static inline osprey__batch *capture_batch(capture *c)
{
    pthread_mutex_init(&c->lock, NULL);
    osprey__batch_config cfg = {
        .max_queue = 1024, .max_batch = 512, .delay_ms = 60000, .export_timeout_ms = 1000};
    osprey__batch_ops ops = {.export = capture_export,
                             .free_item = capture_keep,
                             .ctx = c,
                             .exported = &c->exported,
                             .dropped = &c->dropped};
    osprey__batch *b = NULL;
    assert_int_equal(osprey__batch_create(&cfg, &ops, &b), 0);
    return b;
}

/* A provider with no exporters whose spans and logs go to spans and logs; content capture
 * (the GenAI opt-in) as given. */
static inline osprey_provider *capture_provider(capture *spans, capture *logs, bool content)
{
    osprey_options opt = {.service_name = "capture-test",
                          .traces_exporter = OSPREY_EXPORTER_NONE,
                          .metrics_exporter = OSPREY_EXPORTER_NONE,
                          .logs_exporter = OSPREY_EXPORTER_NONE,
                          .sampler = OSPREY_SAMPLER_ALWAYS_ON};
    osprey_provider *p = osprey_provider_create(&opt);
    assert_non_null(p);
    assert_null(p->spans);
    assert_null(p->logs);
    p->spans = capture_batch(spans);
    p->logs = capture_batch(logs);
    p->config.capture_genai_content = content;
    return p;
}

/* Shuts p down; the captured items stay in the captures. */
static inline void capture_shutdown(osprey_provider *p)
{
    assert_int_equal(osprey_shutdown(p, 2000), 0);
}

static inline void capture_free_spans(capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        osprey__span_data_free(c->items[i]);
    osp_free(c->items);
    pthread_mutex_destroy(&c->lock);
}

static inline void capture_free_logs(capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        osprey__log_record_free(c->items[i]);
    osp_free(c->items);
    pthread_mutex_destroy(&c->lock);
}

/* A test's capturing provider, with a tracer and a meter when asked for. */
typedef struct fixture {
    capture spans, logs;
    osprey_provider *p;
    osprey_tracer *t;
    osprey_meter *m;
} fixture;

/* A fixture whose provider captures spans and logs (GenAI content capture as given); when
 * scope is set, with a tracer and a meter of that scope and version (may be NULL). */
static inline fixture *fixture_new(bool content, const char *scope, const char *version)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->p = capture_provider(&f->spans, &f->logs, content);
    if (scope) {
        f->t = osprey_tracer_get(f->p, scope, version, OSPREY_DETAIL_BASE);
        f->m = osprey_meter_get(f->p, scope, version);
        assert_non_null(f->t);
        assert_non_null(f->m);
    }
    return f;
}

/* Shuts f's provider down and frees f with everything captured. */
static inline void fixture_free(fixture *f)
{
    capture_shutdown(f->p);
    capture_free_spans(&f->spans);
    capture_free_logs(&f->logs);
    free(f);
}

/* Moves the spans ended so far into f->spans. */
static inline void flush_spans(fixture *f)
{
    assert_int_equal(osprey__batch_flush(f->p->spans, 2000), 0);
}

/* The captured span named name (exactly one must exist). */
static inline struct osprey_span_data *capture_span(capture *c, const char *name)
{
    struct osprey_span_data *found = NULL;
    for (size_t i = 0; i < c->n; i++) {
        struct osprey_span_data *d = c->items[i];
        if (strcmp(d->name, name) == 0) {
            assert_null(found);
            found = d;
        }
    }
    assert_non_null(found);
    return found;
}

/* The attribute key of a, which must exist with the given type. */
static inline const osprey__kv *attr_typed(const osprey__attrs *a, const char *key,
                                           osprey_value_type type)
{
    const osprey__kv *kv = osprey__attrs_find(a, key);
    assert_non_null(kv);
    assert_int_equal(kv->type, type);
    return kv;
}

/* The string attribute key of a (must exist). */
static inline const char *attr_str(const osprey__attrs *a, const char *key)
{
    return attr_typed(a, key, OSPREY_VALUE_STRING)->v.s;
}

static inline int64_t attr_int(const osprey__attrs *a, const char *key)
{
    return attr_typed(a, key, OSPREY_VALUE_INT)->v.i;
}

static inline double attr_double(const osprey__attrs *a, const char *key)
{
    return attr_typed(a, key, OSPREY_VALUE_DOUBLE)->v.d;
}

static inline bool attr_bool(const osprey__attrs *a, const char *key)
{
    return attr_typed(a, key, OSPREY_VALUE_BOOL)->v.b;
}

/* The GenAI histogram name of m, looked up with the unit it was created with. */
static inline osprey_instrument *genai_histogram(osprey_meter *m, const char *name)
{
    return osprey_histogram(m, name, strstr(name, "token") ? "{token}" : "s", NULL, NULL, 0);
}

#endif
