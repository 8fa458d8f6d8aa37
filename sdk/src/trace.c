/* Tracers and spans: parent resolution, detail levels, the sampling decision, and the
 * recorded span. A recorded span is one allocation: its data followed by a bump pool
 * that holds its name, attributes, events and links until they outgrow it. */
#include "trace_int.h"

#include <stddef.h>
#include <string.h>

#include "core/mem.h"

/* With osp_malloc's 16-byte header, one 1 KiB chunk: small enough for malloc's fast
 * per-thread cache, big enough for a span with a dozen short attributes. */
#define SPAN_BLOCK_SIZE 1008

typedef struct span_block {
    struct osprey_span_data d; /* first: a span's data pointer is its block */
    osprey__pool pool;
    _Alignas(16) char bytes[]; /* the pool's region, to SPAN_BLOCK_SIZE */
} span_block;

static const osprey_span_options default_options;

/* ---- Tracers ----------------------------------------------------------------------------------
 */

static bool same_version(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static osprey_detail clamp_level(osprey_detail level)
{
    return level > OSPREY_DETAIL_DETAILED   ? OSPREY_DETAIL_DETAILED
           : level < OSPREY_DETAIL_DISABLED ? OSPREY_DETAIL_DISABLED
                                            : level;
}

static osprey_tracer *tracer_new(osprey_provider *p, const char *name, const char *version)
{
    osprey_tracer *t = osp_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->provider = p;
    t->name = osp_strdup(name);
    t->version = version ? osp_strdup(version) : NULL;
    if (!t->name || (version && !t->version)) {
        osp_free(t->name);
        osp_free(t->version);
        osp_free(t);
        return NULL;
    }
    return t;
}

osprey_tracer *osprey_tracer_get(osprey_provider *p, const char *name, const char *version,
                                 osprey_detail level)
{
    if (!p || !name)
        return NULL;
    pthread_mutex_lock(&p->lock);
    osprey_tracer *t = p->tracers;
    while (t && !(strcmp(t->name, name) == 0 && same_version(t->version, version)))
        t = t->next;
    if (!t && (t = tracer_new(p, name, version)) != NULL) {
        t->next = p->tracers;
        p->tracers = t;
    }
    if (t)
        atomic_store(&t->level, clamp_level(level));
    pthread_mutex_unlock(&p->lock);
    return t;
}

void osprey_tracer_set_detail(osprey_tracer *t, osprey_detail level)
{
    if (t)
        atomic_store(&t->level, clamp_level(level));
}

/* ---- Recorded span parts ------------------------------------------------------------------ */

static osprey__pool *span_pool(struct osprey_span_data *d)
{
    return &((span_block *)d)->pool;
}

/* Grows the array *arr of n elements (capacity *cap) to hold one more. */
static int grow(osprey__pool *pool, void **arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return 0;
    uint32_t ncap = *cap ? 2 * *cap : 4;
    void *items = osprey__pool_alloc(pool, ncap * elem);
    if (!items)
        return OSPREY_ENOMEM;
    if (n)
        memcpy(items, *arr, n * elem);
    osprey__pool_free(pool, *arr);
    *arr = items;
    *cap = ncap;
    return 0;
}

static char *pool_strdup(osprey__pool *pool, const char *s)
{
    return osprey__pool_strndup(pool, s ? s : "", s ? strlen(s) : 0);
}

/* A pool copy of a trace state (cut as osprey__tracestate_copy does); NULL for none. */
static char *copy_trace_state(osprey__pool *pool, const char *ts, bool *oom)
{
    char tmp[OSPREY_TRACESTATE_MAX + 1];
    size_t n = ts ? osprey__tracestate_copy(tmp, ts) : 0;
    char *copy = n ? osprey__pool_strndup(pool, tmp, n) : NULL;
    *oom = n && !copy;
    return copy;
}

static void event_cleanup(osprey__event *e, osprey__pool *pool)
{
    osprey__pool_free(pool, e->name);
    osprey__attrs_cleanup_pool(&e->attrs, pool);
}

static void link_cleanup(osprey__link *l, osprey__pool *pool)
{
    osprey__pool_free(pool, l->trace_state);
    osprey__attrs_cleanup_pool(&l->attrs, pool);
}

/* Adds an event; past the limit, or out of memory, it is counted in dropped_events. */
static void add_event(struct osprey_span_data *d, const char *name, uint64_t time_ns,
                      const osprey_attr *attrs, size_t n)
{
    osprey__pool *pool = span_pool(d);
    if (d->nevents >= OSPREY__SPAN_EVENT_LIMIT ||
        grow(pool, (void **)&d->events, d->nevents, &d->cap_events, sizeof *d->events) < 0) {
        d->dropped_events++;
        return;
    }
    osprey__event *e = &d->events[d->nevents];
    *e = (osprey__event){.name = pool_strdup(pool, name),
                         .time_ns = time_ns ? time_ns : osprey_now_ns()};
    if (!e->name || osprey__attrs_set_pool(&e->attrs, attrs, n, OSPREY__SPAN_ATTR_LIMIT, pool)) {
        event_cleanup(e, pool);
        d->dropped_events++;
        return;
    }
    d->nevents++;
}

/* Adds a link; past the limit, or out of memory, it is counted in dropped_links. */
static void add_link(struct osprey_span_data *d, const osprey_span_context *c,
                     const osprey_attr *attrs, size_t n)
{
    osprey__pool *pool = span_pool(d);
    bool oom = false;
    if (d->nlinks >= OSPREY__SPAN_LINK_LIMIT ||
        grow(pool, (void **)&d->links, d->nlinks, &d->cap_links, sizeof *d->links) < 0) {
        d->dropped_links++;
        return;
    }
    osprey__link *l = &d->links[d->nlinks];
    *l = (osprey__link){.flags = c->trace_flags};
    memcpy(l->trace_id, c->trace_id, 16);
    memcpy(l->span_id, c->span_id, 8);
    l->trace_state = copy_trace_state(pool, c->trace_state, &oom);
    if (oom || osprey__attrs_set_pool(&l->attrs, attrs, n, OSPREY__SPAN_ATTR_LIMIT, pool)) {
        link_cleanup(l, pool);
        d->dropped_links++;
        return;
    }
    d->nlinks++;
}

void osprey__span_data_free(struct osprey_span_data *d)
{
    if (!d)
        return;
    osprey__pool *pool = span_pool(d);
    for (uint32_t i = 0; i < d->nevents; i++)
        event_cleanup(&d->events[i], pool);
    for (uint32_t i = 0; i < d->nlinks; i++)
        link_cleanup(&d->links[i], pool);
    osprey__pool_free(pool, d->events);
    osprey__pool_free(pool, d->links);
    osprey__attrs_cleanup_pool(&d->attrs, pool);
    osprey__pool_free(pool, d->name);
    osprey__pool_free(pool, d->trace_state);
    osprey__pool_free(pool, d->status_message);
    osp_free(d);
}

/* ---- Starting spans ---------------------------------------------------------------------------
 */

/* The parent of a new span into *parent: none for root, else opt->parent, else the
 * thread's current context. False when there is no valid one. */
static bool resolve_parent(const osprey_span_options *opt, osprey_span_context *parent)
{
    if (opt->root)
        return false;
    if (!opt->parent)
        return osprey_current_context(parent);
    *parent = *opt->parent;
    return osprey_span_context_valid(parent);
}

/* Allocates and fills the recorded span for s (ids and flags already in s->context).
 * 0 or OSPREY_ENOMEM (nothing left allocated). */
static int span_record(osprey_tracer *t, const char *name, const osprey_span_options *opt,
                       const osprey_span_context *parent, osprey_span *s)
{
    span_block *b = osp_malloc(SPAN_BLOCK_SIZE);
    if (!b)
        return OSPREY_ENOMEM;
    struct osprey_span_data *d = &b->d;
    osprey__pool *pool = &b->pool;
    bool oom = false;
    *d = (struct osprey_span_data){
        .tracer = t,
        .flags = s->context.trace_flags,
        .kind = opt->kind ? opt->kind : OSPREY_SPAN_INTERNAL,
        .start_ns = opt->start_ns ? opt->start_ns : osprey_now_ns(),
    };
    *pool = (osprey__pool){b->bytes, 0, SPAN_BLOCK_SIZE - offsetof(span_block, bytes)};
    memcpy(d->trace_id, s->context.trace_id, 16);
    memcpy(d->span_id, s->context.span_id, 8);
    if (parent) {
        memcpy(d->parent_span_id, parent->span_id, 8);
        d->parent_remote = parent->is_remote;
        d->trace_state = copy_trace_state(pool, parent->trace_state, &oom);
    }
    if (oom || !(d->name = pool_strdup(pool, name)) ||
        osprey__attrs_set_pool(&d->attrs, opt->attrs, opt->nattrs, OSPREY__SPAN_ATTR_LIMIT, pool)) {
        osprey__span_data_free(d);
        return OSPREY_ENOMEM;
    }
    for (size_t i = 0; opt->links && i < opt->nlinks; i++)
        add_link(d, &opt->links[i].context, opt->links[i].attrs, opt->links[i].nattrs);
    s->data = d;
    s->context.trace_state = d->trace_state;
    return 0;
}

/* Whether t records spans of the given detail. */
static bool records(const osprey_tracer *t, osprey_detail detail)
{
    int need = detail == OSPREY_DETAIL_DETAILED ? OSPREY_DETAIL_DETAILED : OSPREY_DETAIL_BASE;
    return atomic_load_explicit(&t->level, memory_order_relaxed) >= need;
}

osprey_span osprey_span_start(osprey_tracer *t, const char *name, const osprey_span_options *opt)
{
    osprey_span s = {0};
    osprey_span_context parent;
    if (!opt)
        opt = &default_options;
    bool has_parent = resolve_parent(opt, &parent);
    if (has_parent)
        memcpy(s.context.trace_id, parent.trace_id, 16);
    else
        osprey__new_trace_id(s.context.trace_id);
    osprey__new_span_id(s.context.span_id);
    s.context.trace_flags = has_parent ? parent.trace_flags & ~1 : 0;
    if (!t || !records(t, opt->detail))
        return s;
    osprey_provider *p = t->provider;
    if (!osprey__sampler_should_sample(p->config.sampler, p->config.sampler_ratio,
                                       has_parent ? &parent : NULL, s.context.trace_id)) {
        atomic_fetch_add_explicit(&p->stats.spans_sampled_out, 1, memory_order_relaxed);
        return s;
    }
    s.context.trace_flags |= 1;
    if (span_record(t, name, opt, has_parent ? &parent : NULL, &s) < 0) {
        s.context.trace_flags &= ~1;
        atomic_fetch_add_explicit(&p->stats.spans_dropped, 1, memory_order_relaxed);
        return s;
    }
    atomic_fetch_add_explicit(&p->stats.spans_started, 1, memory_order_relaxed);
    return s;
}

/* ---- Span operations --------------------------------------------------------------------------
 */

bool osprey_span_is_recording(const osprey_span *s)
{
    return s && s->data;
}

void osprey_span_set_attrs(osprey_span *s, const osprey_attr *attrs, size_t n)
{
    if (s && s->data)
        osprey__attrs_set_pool(&s->data->attrs, attrs, n, OSPREY__SPAN_ATTR_LIMIT,
                               span_pool(s->data));
}

void osprey_span_set_attr(osprey_span *s, osprey_attr a)
{
    osprey_span_set_attrs(s, &a, 1);
}

void osprey_span_add_event(osprey_span *s, const char *name, uint64_t time_ns,
                           const osprey_attr *attrs, size_t n)
{
    if (s && s->data)
        add_event(s->data, name, time_ns, attrs, n);
}

void osprey_span_detail_event(osprey_span *s, const char *name)
{
    if (s && s->data && records(s->data->tracer, OSPREY_DETAIL_DETAILED))
        add_event(s->data, name, 0, NULL, 0);
}

void osprey_span_add_link(osprey_span *s, const osprey_span_context *c, const osprey_attr *attrs,
                          size_t n)
{
    if (s && s->data && c)
        add_link(s->data, c, attrs, n);
}

void osprey_span_set_status(osprey_span *s, osprey_status_code code, const char *message)
{
    struct osprey_span_data *d = s ? s->data : NULL;
    if (!d || d->status == OSPREY_STATUS_OK ||
        (code != OSPREY_STATUS_OK && code != OSPREY_STATUS_ERROR))
        return;
    char *copy = NULL;
    if (code == OSPREY_STATUS_ERROR && message && !(copy = pool_strdup(span_pool(d), message)))
        return; /* out of memory: keep the previous status */
    osprey__pool_free(span_pool(d), d->status_message);
    d->status_message = copy;
    d->status = code;
}

void osprey_span_record_error(osprey_span *s, const char *type, const char *message)
{
    if (!s || !s->data)
        return;
    osprey_attr ev[2] = {0};
    size_t n = 0;
    if (type)
        ev[n++] = OSPREY_STR("exception.type", type);
    if (message)
        ev[n++] = OSPREY_STR("exception.message", message);
    add_event(s->data, "exception", 0, ev, n);
    osprey_span_set_attr(s, OSPREY_STR("error.type", type ? type : "_OTHER"));
    osprey_span_set_status(s, OSPREY_STATUS_ERROR, message);
}

void osprey_span_update_name(osprey_span *s, const char *name)
{
    char *copy = s && s->data ? pool_strdup(span_pool(s->data), name) : NULL;
    if (copy) {
        osprey__pool_free(span_pool(s->data), s->data->name);
        s->data->name = copy;
    }
}

void osprey_span_end(osprey_span *s, uint64_t end_ns)
{
    if (!s || !s->data)
        return;
    struct osprey_span_data *d = s->data;
    d->end_ns = end_ns ? end_ns : osprey_now_ns();
    s->data = NULL;
    s->context.trace_state = NULL;
    osprey__provider_emit_span(d->tracer->provider, d);
}

osprey_scope osprey_span_attach(const osprey_span *s)
{
    return osprey_attach(s ? &s->context : NULL);
}
