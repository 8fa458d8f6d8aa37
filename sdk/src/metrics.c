/* Metrics: meters, instruments, per-attribute-set aggregation, collection and the
 * periodic export thread. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "metrics_int.h"

typedef struct cleanup_hook {
    void (*fn)(void *);
    void *arg;
} cleanup_hook;

struct osprey__metrics {
    osprey_provider *provider;
    pthread_mutex_t lock; /* guards the meter and instrument lists and hooks */
    osprey_meter *meters;
    cleanup_hook *hooks;
    size_t nhooks, cap_hooks;
    pthread_mutex_t collect_lock; /* one collection at a time (callbacks) */
    pthread_mutex_t export_lock;  /* one export at a time (transport) */
    uint64_t last_export_ns;      /* time of the last exported collection, under export_lock */
    pthread_mutex_t wait_lock;    /* guards stop, with cond */
    pthread_cond_t cond;
    bool stop, has_thread;
    pthread_t thread;
};

struct osprey_observer {
    osprey_instrument *inst;
};

/* What an instrument is asked for with. */
typedef struct inst_spec {
    osprey__inst_kind kind;
    const char *name, *unit, *description;
    const double *bounds;
    size_t nbounds;
    osprey_observe_fn cb;
    void *arg;
} inst_spec;

static const double default_bounds[] = {0,   5,   10,   25,   50,   75,   100,  250,
                                        500, 750, 1000, 2500, 5000, 7500, 10000};

bool osprey__inst_is_sum(osprey__inst_kind k)
{
    return k == OSPREY__INST_COUNTER || k == OSPREY__INST_UPDOWN || k == OSPREY__INST_OBS_COUNTER ||
           k == OSPREY__INST_OBS_UPDOWN;
}

bool osprey__inst_is_monotonic(osprey__inst_kind k)
{
    return k == OSPREY__INST_COUNTER || k == OSPREY__INST_OBS_COUNTER;
}

static bool inst_is_observable(osprey__inst_kind k)
{
    return k >= OSPREY__INST_OBS_COUNTER;
}

/* ---- Attribute sets: sorted borrowed views, hashing, matching owned copies ---------------- */

static bool attr_type_ok(osprey_value_type t)
{
    return t >= OSPREY_VALUE_STRING && t <= OSPREY_VALUE_DOUBLE_ARRAY;
}

/* Copies the valid attributes of src into set (at most OSPREY__METRIC_ATTR_MAX), sorted by
 * key, keeping the last of duplicate keys as osprey__attrs_set would; returns the count. */
static size_t sort_attrs(const osprey_attr *src, size_t n, osprey_attr *set)
{
    size_t m = 0;
    for (size_t i = 0; src && i < n && m < OSPREY__METRIC_ATTR_MAX; i++) {
        if (!src[i].key || !attr_type_ok(src[i].type))
            continue;
        size_t j = m++;
        for (; j > 0 && strcmp(set[j - 1].key, src[i].key) > 0; j--)
            set[j] = set[j - 1];
        set[j] = src[i];
    }
    size_t out = 0;
    for (size_t i = 0; i < m; i++) {
        if (i + 1 < m && strcmp(set[i].key, set[i + 1].key) == 0)
            continue;
        set[out++] = set[i];
    }
    return out;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    s = s ? s : "";
    return fnv(h, s, strlen(s) + 1);
}

static size_t elem_size(osprey_value_type t)
{
    return t == OSPREY_VALUE_BOOL_ARRAY ? sizeof(bool) : sizeof(int64_t);
}

/* An array's length as osprey__attrs_set copies it (no items: empty). */
static size_t array_len(const osprey_attr *a)
{
    return a->v.array.items ? a->v.array.n : 0;
}

static uint64_t hash_attr(uint64_t h, const osprey_attr *a)
{
    h = fnv_str(h, a->key);
    h = fnv(h, &a->type, sizeof a->type);
    switch (a->type) {
    case OSPREY_VALUE_STRING:
        return fnv_str(h, a->v.s);
    case OSPREY_VALUE_BOOL:
        return fnv(h, &a->v.b, sizeof a->v.b);
    case OSPREY_VALUE_INT:
        return fnv(h, &a->v.i, sizeof a->v.i);
    case OSPREY_VALUE_DOUBLE:
        return fnv(h, &a->v.d, sizeof a->v.d);
    case OSPREY_VALUE_STRING_ARRAY:
        for (size_t k = 0; k < array_len(a); k++)
            h = fnv_str(h, ((const char *const *)a->v.array.items)[k]);
        return h;
    default:
        return fnv(h, a->v.array.items, array_len(a) * elem_size(a->type));
    }
}

static uint64_t hash_set(const osprey_attr *set, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = hash_attr(h, &set[i]);
    return h;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool array_matches(const osprey__kv *kv, const osprey_attr *a)
{
    size_t n = array_len(a);
    if (kv->v.array.n != n)
        return false;
    if (n == 0)
        return true;
    if (a->type != OSPREY_VALUE_STRING_ARRAY)
        return memcmp(kv->v.array.items, a->v.array.items, n * elem_size(a->type)) == 0;
    for (size_t k = 0; k < n; k++)
        if (!str_eq(((char **)kv->v.array.items)[k], ((const char *const *)a->v.array.items)[k]))
            return false;
    return true;
}

static bool kv_matches(const osprey__kv *kv, const osprey_attr *a)
{
    if (kv->type != a->type || strcmp(kv->key, a->key) != 0)
        return false;
    switch (a->type) {
    case OSPREY_VALUE_STRING:
        return str_eq(kv->v.s, a->v.s);
    case OSPREY_VALUE_BOOL:
        return kv->v.b == a->v.b;
    case OSPREY_VALUE_INT:
        return kv->v.i == a->v.i;
    case OSPREY_VALUE_DOUBLE:
        return memcmp(&kv->v.d, &a->v.d, sizeof a->v.d) == 0;
    default:
        return array_matches(kv, a);
    }
}

static bool agg_matches(const osprey__agg *g, const osprey_attr *set, size_t n, uint64_t h)
{
    if (g->hash != h || g->attrs.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!kv_matches(&g->attrs.items[i], &set[i]))
            return false;
    return true;
}

/* ---- Aggregates (all under the instrument's lock) ----------------------------------------- */

static size_t agg_nbuckets(const osprey_instrument *i)
{
    return i->kind == OSPREY__INST_HISTOGRAM ? i->nbounds + 1 : 0;
}

static void agg_free(osprey__agg *g)
{
    if (g) {
        osprey__attrs_cleanup(&g->attrs);
        osp_free(g);
    }
}

static osprey__agg *agg_new(const osprey_instrument *i, const osprey_attr *set, size_t n,
                            uint64_t h)
{
    osprey__agg *g = osp_calloc(1, sizeof *g + agg_nbuckets(i) * sizeof(uint64_t));
    if (!g)
        return NULL;
    g->hash = h;
    if (n && osprey__attrs_set(&g->attrs, set, n, 0) != 0) {
        agg_free(g);
        return NULL;
    }
    return g;
}

static osprey__agg *agg_find(const osprey_instrument *i, const osprey_attr *set, size_t n,
                             uint64_t h)
{
    if (!i->nslots)
        return NULL;
    size_t mask = i->nslots - 1;
    for (size_t s = h & mask; i->slots[s]; s = (s + 1) & mask)
        if (agg_matches(i->slots[s], set, n, h))
            return i->slots[s];
    return NULL;
}

static void slot_insert(osprey__agg **slots, size_t nslots, osprey__agg *g)
{
    size_t s = g->hash & (nslots - 1);
    while (slots[s])
        s = (s + 1) & (nslots - 1);
    slots[s] = g;
}

/* Keeps the table at most half full. 0 or OSPREY_ENOMEM. */
static int slots_reserve(osprey_instrument *i)
{
    if ((i->naggs + 1) * 2 <= i->nslots)
        return 0;
    size_t n = i->nslots ? i->nslots * 2 : 16;
    osprey__agg **slots = osp_calloc(n, sizeof *slots);
    if (!slots)
        return OSPREY_ENOMEM;
    for (size_t k = 0; k < i->naggs; k++)
        if (i->aggs[k] != i->overflow)
            slot_insert(slots, n, i->aggs[k]);
    osp_free(i->slots);
    i->slots = slots;
    i->nslots = n;
    return 0;
}

/* Appends g to the creation-order list; frees it and returns NULL when out of memory. */
static osprey__agg *agg_push(osprey_instrument *i, osprey__agg *g)
{
    osprey__agg **slot =
        g ? osp_array_push((void **)&i->aggs, &i->naggs, &i->cap_aggs, sizeof *slot) : NULL;
    if (!slot) {
        agg_free(g);
        return NULL;
    }
    *slot = g;
    return g;
}

static osprey__agg *agg_overflow(osprey_instrument *i)
{
    if (!i->overflow) {
        osprey_attr a = OSPREY_BOOL("otel.metric.overflow", true);
        i->overflow = agg_push(i, agg_new(i, &a, 1, hash_set(&a, 1)));
    }
    return i->overflow;
}

/* The aggregate of set, created when new; NULL when out of memory. */
static osprey__agg *agg_get(osprey_instrument *i, const osprey_attr *set, size_t n, uint64_t h)
{
    osprey__agg *g = agg_find(i, set, n, h);
    if (g)
        return g;
    if (i->naggs - (i->overflow != NULL) >= OSPREY__METRIC_SET_LIMIT)
        return agg_overflow(i);
    if (slots_reserve(i) != 0)
        return NULL;
    g = agg_push(i, agg_new(i, set, n, h));
    if (g)
        slot_insert(i->slots, i->nslots, g);
    return g;
}

/* The index of the first bound >= v, or nbounds. */
static size_t bucket_index(const double *bounds, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void agg_update(osprey_instrument *i, osprey__agg *g, double v)
{
    switch (i->kind) {
    case OSPREY__INST_COUNTER:
    case OSPREY__INST_UPDOWN:
        g->value += v;
        break;
    case OSPREY__INST_HISTOGRAM:
        g->buckets[bucket_index(i->bounds, i->nbounds, v)]++;
        g->min = g->count == 0 || v < g->min ? v : g->min;
        g->max = g->count == 0 || v > g->max ? v : g->max;
        g->count++;
        g->sum += v;
        break;
    default: /* gauges and observables: the last value */
        g->value = v;
        g->epoch = i->epoch;
        break;
    }
}

/* Adds v for the attribute set src[0..n) to i. */
static void aggregate(osprey_instrument *i, double v, const osprey_attr *src, size_t n)
{
    osprey_attr set[OSPREY__METRIC_ATTR_MAX];
    size_t m = sort_attrs(src, n, set);
    uint64_t h = hash_set(set, m);
    pthread_mutex_lock(&i->lock);
    osprey__agg *g = agg_get(i, set, m, h);
    if (g)
        agg_update(i, g, v);
    pthread_mutex_unlock(&i->lock);
}

void osprey_record(osprey_instrument *i, double v, const osprey_attr *attrs, size_t n)
{
    if (!i || inst_is_observable(i->kind) || !isfinite(v))
        return;
    if (i->kind == OSPREY__INST_COUNTER && v < 0)
        return;
    aggregate(i, v, attrs, n);
}

void osprey_observe(osprey_observer *o, double v, const osprey_attr *attrs, size_t n)
{
    if (o && o->inst && isfinite(v))
        aggregate(o->inst, v, attrs, n);
}

/* ---- Meters and instruments --------------------------------------------------------------- */

static bool name_valid(const char *name)
{
    size_t n = name ? strnlen(name, OSPREY__METRIC_NAME_MAX + 1) : 0;
    if (n == 0 || n > OSPREY__METRIC_NAME_MAX || !isalpha((unsigned char)name[0]))
        return false;
    for (size_t k = 1; k < n; k++) {
        unsigned char c = (unsigned char)name[k];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-' && c != '/')
            return false;
    }
    return true;
}

static bool unit_valid(const char *unit)
{
    size_t n = unit ? strnlen(unit, OSPREY__METRIC_UNIT_MAX + 1) : 0;
    if (n > OSPREY__METRIC_UNIT_MAX)
        return false;
    for (size_t k = 0; k < n; k++)
        if (unit[k] < 0x20 || unit[k] > 0x7e)
            return false;
    return true;
}

static bool bounds_valid(const double *b, size_t n)
{
    if (n > OSPREY__METRIC_BOUNDS_MAX || (n && !b))
        return false;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(b[k]) || (k && b[k] <= b[k - 1]))
            return false;
    return true;
}

static void inst_free(osprey_instrument *i)
{
    for (size_t k = 0; k < i->naggs; k++)
        agg_free(i->aggs[k]);
    osp_free(i->aggs);
    osp_free(i->slots);
    osp_free(i->bounds);
    osp_free(i->name);
    osp_free(i->unit);
    osp_free(i->description);
    pthread_mutex_destroy(&i->lock);
    osp_free(i);
}

static osprey_instrument *inst_new(osprey_meter *m, const inst_spec *s)
{
    osprey_instrument *i = osp_calloc(1, sizeof *i);
    if (!i)
        return NULL;
    pthread_mutex_init(&i->lock, NULL);
    i->meter = m;
    i->kind = s->kind;
    i->cb = s->cb;
    i->cb_arg = s->arg;
    i->nbounds = s->nbounds;
    const char *desc = s->description ? s->description : "";
    i->name = osp_strdup(s->name);
    i->unit = osp_strdup(s->unit ? s->unit : "");
    i->description = osp_strndup(desc, strnlen(desc, OSPREY__METRIC_DESC_MAX));
    i->bounds = s->nbounds ? osp_malloc(s->nbounds * sizeof(double)) : NULL;
    if (!i->name || !i->unit || !i->description || (s->nbounds && !i->bounds)) {
        inst_free(i);
        return NULL;
    }
    if (s->nbounds)
        memcpy(i->bounds, s->bounds, s->nbounds * sizeof(double));
    return i;
}

/* The meter's instrument named name (case-insensitive, as OTel compares them), or NULL. */
static osprey_instrument *inst_find(osprey_meter *m, const char *name, osprey_instrument ***tail)
{
    osprey_instrument **pp = &m->insts;
    for (; *pp; pp = &(*pp)->next)
        if (strcasecmp((*pp)->name, name) == 0)
            return *pp;
    *tail = pp;
    return NULL;
}

static void warn_conflict(osprey_instrument *i, const inst_spec *s)
{
    bool differs = i->kind != s->kind || strcmp(i->unit, s->unit ? s->unit : "") != 0;
    if (differs && !atomic_exchange(&i->warned, true))
        fprintf(stderr,
                "osprey: instrument %s already exists with another kind or unit; "
                "using the existing one\n",
                i->name);
}

static osprey_instrument *inst_get(osprey_meter *m, const inst_spec *s)
{
    if (!m || !name_valid(s->name) || !unit_valid(s->unit))
        return NULL;
    osprey__metrics *r = m->metrics;
    osprey_instrument **tail = NULL;
    pthread_mutex_lock(&r->lock);
    osprey_instrument *i = inst_find(m, s->name, &tail);
    if (i)
        warn_conflict(i, s);
    else if ((i = inst_new(m, s)))
        *tail = i;
    pthread_mutex_unlock(&r->lock);
    return i;
}

osprey_instrument *osprey_counter(osprey_meter *m, const char *name, const char *unit,
                                  const char *description)
{
    inst_spec s = {
        .kind = OSPREY__INST_COUNTER, .name = name, .unit = unit, .description = description};
    return inst_get(m, &s);
}

osprey_instrument *osprey_updown_counter(osprey_meter *m, const char *name, const char *unit,
                                         const char *description)
{
    inst_spec s = {
        .kind = OSPREY__INST_UPDOWN, .name = name, .unit = unit, .description = description};
    return inst_get(m, &s);
}

osprey_instrument *osprey_gauge(osprey_meter *m, const char *name, const char *unit,
                                const char *description)
{
    inst_spec s = {
        .kind = OSPREY__INST_GAUGE, .name = name, .unit = unit, .description = description};
    return inst_get(m, &s);
}

osprey_instrument *osprey_histogram(osprey_meter *m, const char *name, const char *unit,
                                    const char *description, const double *bounds, size_t nbounds)
{
    if (!bounds) {
        bounds = default_bounds;
        nbounds = sizeof default_bounds / sizeof default_bounds[0];
    }
    if (!bounds_valid(bounds, nbounds))
        return NULL;
    inst_spec s = {.kind = OSPREY__INST_HISTOGRAM,
                   .name = name,
                   .unit = unit,
                   .description = description,
                   .bounds = bounds,
                   .nbounds = nbounds};
    return inst_get(m, &s);
}

osprey_instrument *osprey_observable(osprey_meter *m, osprey_observable_kind kind, const char *name,
                                     const char *unit, const char *description,
                                     osprey_observe_fn cb, void *arg)
{
    static const osprey__inst_kind kinds[] = {
        [OSPREY_OBSERVABLE_COUNTER] = OSPREY__INST_OBS_COUNTER,
        [OSPREY_OBSERVABLE_UPDOWN_COUNTER] = OSPREY__INST_OBS_UPDOWN,
        [OSPREY_OBSERVABLE_GAUGE] = OSPREY__INST_OBS_GAUGE,
    };
    if (!cb || (unsigned)kind > OSPREY_OBSERVABLE_GAUGE)
        return NULL;
    inst_spec s = {.kind = kinds[kind],
                   .name = name,
                   .unit = unit,
                   .description = description,
                   .cb = cb,
                   .arg = arg};
    return inst_get(m, &s);
}

static void meter_free(osprey_meter *m)
{
    while (m->insts) {
        osprey_instrument *i = m->insts;
        m->insts = i->next;
        inst_free(i);
    }
    osp_free(m->name);
    osp_free(m->version);
    osp_free(m);
}

static osprey_meter *meter_new(osprey__metrics *r, const char *name, const char *version)
{
    osprey_meter *m = osp_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->metrics = r;
    m->name = osp_strdup(name);
    m->version = osp_strdup(version);
    if (!m->name || !m->version) {
        meter_free(m);
        return NULL;
    }
    return m;
}

osprey_meter *osprey_meter_get(osprey_provider *p, const char *name, const char *version)
{
    if (!p || !p->metrics || !name)
        return NULL;
    osprey__metrics *r = p->metrics;
    version = version ? version : "";
    pthread_mutex_lock(&r->lock);
    osprey_meter **pp = &r->meters;
    while (*pp && (strcmp((*pp)->name, name) != 0 || strcmp((*pp)->version, version) != 0))
        pp = &(*pp)->next;
    if (!*pp)
        *pp = meter_new(r, name, version);
    osprey_meter *m = *pp;
    pthread_mutex_unlock(&r->lock);
    return m;
}

/* ---- Collection --------------------------------------------------------------------------- */

/* Every instrument, in meter then creation order, into a new array. 0 or OSPREY_ENOMEM. */
static int list_insts(osprey__metrics *r, osprey_instrument ***out, size_t *n)
{
    int rc = 0;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&r->lock);
    for (osprey_meter *m = r->meters; m && rc == 0; m = m->next) {
        for (osprey_instrument *i = m->insts; i && rc == 0; i = i->next) {
            osprey_instrument **slot = osp_array_push((void **)out, n, &cap, sizeof *slot);
            if (slot)
                *slot = i;
            else
                rc = OSPREY_ENOMEM;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static void run_callback(osprey_instrument *i)
{
    pthread_mutex_lock(&i->lock);
    i->epoch++;
    pthread_mutex_unlock(&i->lock);
    osprey_observer o = {i};
    i->cb(&o, i->cb_arg);
}

static void copy_point(const osprey_instrument *i, const osprey__agg *g, osprey__mpoint *p,
                       uint64_t *buckets)
{
    *p = (osprey__mpoint){&g->attrs, g->value, g->count, g->sum, g->min, g->max, NULL};
    size_t nb = agg_nbuckets(i);
    if (nb) {
        memcpy(buckets, g->buckets, nb * sizeof *buckets);
        p->buckets = buckets;
    }
}

/* Snapshots i's current points into s (points and bucket counts in one allocation). */
static int snapshot(osprey_instrument *i, osprey__mstream *s)
{
    pthread_mutex_lock(&i->lock);
    size_t n = i->naggs;
    pthread_mutex_unlock(&i->lock);
    *s = (osprey__mstream){i, NULL, 0};
    if (n == 0)
        return 0;
    size_t nb = agg_nbuckets(i);
    s->points = osp_malloc(n * (sizeof(osprey__mpoint) + nb * sizeof(uint64_t)));
    if (!s->points)
        return OSPREY_ENOMEM;
    uint64_t *buckets = (uint64_t *)(s->points + n);
    bool observable = inst_is_observable(i->kind);
    pthread_mutex_lock(&i->lock);
    for (size_t k = 0; k < n; k++) {
        const osprey__agg *g = i->aggs[k];
        if (!observable || g->epoch == i->epoch)
            copy_point(i, g, &s->points[s->npoints++], buckets + k * nb);
    }
    pthread_mutex_unlock(&i->lock);
    return 0;
}

/* Appends i's snapshot to c when it has points. */
static int collect_inst(osprey_instrument *i, osprey__collection *c, size_t *cap)
{
    if (inst_is_observable(i->kind))
        run_callback(i);
    osprey__mstream s;
    int rc = snapshot(i, &s);
    if (rc != 0 || s.npoints == 0) {
        osp_free(s.points);
        return rc;
    }
    osprey__mstream *slot = osp_array_push((void **)&c->streams, &c->n, cap, sizeof *slot);
    if (!slot) {
        osp_free(s.points);
        return OSPREY_ENOMEM;
    }
    *slot = s;
    return 0;
}

int osprey__metrics_collect(osprey__metrics *r, osprey__collection *out)
{
    osprey_instrument **insts = NULL;
    size_t n = 0, cap = 0;
    *out =
        (osprey__collection){.start_ns = r->provider->start_ns, .resource = &r->provider->resource};
    pthread_mutex_lock(&r->collect_lock);
    int rc = list_insts(r, &insts, &n);
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = collect_inst(insts[k], out, &cap);
    out->time_ns = osprey_now_ns();
    pthread_mutex_unlock(&r->collect_lock);
    osp_free(insts);
    return rc;
}

void osprey__collection_cleanup(osprey__collection *c)
{
    for (size_t k = 0; k < c->n; k++)
        osp_free(c->streams[k].points);
    osp_free(c->streams);
    c->streams = NULL;
    c->n = 0;
}

/* ---- Export --------------------------------------------------------------------------------- */

static osprey_exporter_kind exporter_of(const osprey__metrics *r)
{
    return r->provider->config.exporter[OSPREY__METRICS];
}

/* Sends one encoded collection by the configured exporter. */
static int deliver(osprey__metrics *r, const osprey__collection *c, uint32_t timeout_ms)
{
    osprey_provider *p = r->provider;
    osp_buf b;
    osp_buf_init(&b, 0);
    int rc;
    if (exporter_of(r) == OSPREY_EXPORTER_CONSOLE) {
        rc = osprey__encode_metrics_json(&b, c);
        if (rc == 0 && fwrite(b.data, 1, b.len, stderr) != b.len)
            rc = OSPREY_EIO;
    } else {
        rc = osprey__encode_metrics(&b, c);
        if (rc == 0 && p->transport[OSPREY__METRICS])
            rc = osprey__transport_post(p->transport[OSPREY__METRICS], b.data, b.len,
                                        osprey__mono_ns() + (uint64_t)timeout_ms * 1000000u);
    }
    osp_buf_cleanup(&b);
    return rc;
}

/* Waits until a millisecond has passed since the last exported collection: backends that
 * keep millisecond timestamps (Prometheus, Osprey) reject two different values of a series
 * at the same time, which a flush right before shutdown would otherwise send. */
static void after_last_export(const osprey__metrics *r)
{
    uint64_t now = osprey_now_ns();
    if (r->last_export_ns && now >= r->last_export_ns && now < r->last_export_ns + 1000000u) {
        uint64_t wait = r->last_export_ns + 1000000u - now;
        nanosleep(&(struct timespec){0, (long)wait}, NULL);
    }
}

/* Collects and exports once, within timeout_ms (OSPREY_ETIMEDOUT when the export running
 * on the thread holds on past it). */
static int export_once(osprey__metrics *r, uint32_t timeout_ms)
{
    osprey__collection c;
    uint32_t limit = r->provider->config.metric_timeout_ms;
    if (limit && limit < timeout_ms)
        timeout_ms = limit;
    uint64_t until = osprey_now_ns() + (uint64_t)timeout_ms * 1000000u; /* POSIX: realtime */
    struct timespec ts = {(time_t)(until / 1000000000u), (long)(until % 1000000000u)};
    if (pthread_mutex_timedlock(&r->export_lock, &ts) != 0)
        return OSPREY_ETIMEDOUT;
    after_last_export(r);
    int rc = osprey__metrics_collect(r, &c);
    if (rc == 0 && c.n)
        rc = deliver(r, &c, timeout_ms);
    if (rc == 0 && c.n) {
        atomic_fetch_add(&r->provider->stats.metric_exports, 1);
        r->last_export_ns = c.time_ns;
    }
    pthread_mutex_unlock(&r->export_lock);
    osprey__collection_cleanup(&c);
    return rc;
}

static struct timespec mono_after(uint32_t ms)
{
    uint64_t t = osprey__mono_ns() + (uint64_t)ms * 1000000u;
    return (struct timespec){(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
}

static void *export_main(void *arg)
{
    osprey__metrics *r = arg;
    uint32_t interval = r->provider->config.metric_interval_ms;
    uint32_t timeout = r->provider->config.metric_timeout_ms;
    interval = interval ? interval : 60000;
    pthread_mutex_lock(&r->wait_lock);
    while (!r->stop) {
        struct timespec ts = mono_after(interval);
        int w = 0;
        while (!r->stop && w != ETIMEDOUT)
            w = pthread_cond_timedwait(&r->cond, &r->wait_lock, &ts);
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->wait_lock);
        export_once(r, timeout ? timeout : 30000);
        pthread_mutex_lock(&r->wait_lock);
    }
    pthread_mutex_unlock(&r->wait_lock);
    return NULL;
}

static int start_thread(osprey__metrics *r)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (exporter_of(r) == OSPREY_EXPORTER_NONE)
        return 0;
    if (pthread_create(&r->thread, NULL, export_main, r) != 0)
        return OSPREY_ENOMEM;
    r->has_thread = true;
    return 0;
}

int osprey__metrics_create(osprey_provider *p, osprey__metrics **out)
{
    osprey__metrics *r = osp_calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return OSPREY_ENOMEM;
    r->provider = p;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->collect_lock, NULL);
    pthread_mutex_init(&r->export_lock, NULL);
    pthread_mutex_init(&r->wait_lock, NULL);
    int rc = start_thread(r);
    if (rc != 0) {
        osprey__metrics_destroy(r, 0);
        return rc;
    }
    *out = r;
    return 0;
}

int osprey__metrics_flush(osprey__metrics *r, uint32_t timeout_ms)
{
    if (!r || exporter_of(r) == OSPREY_EXPORTER_NONE)
        return 0;
    return export_once(r, timeout_ms);
}

int osprey__metrics_on_destroy(osprey__metrics *r, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&r->lock);
    cleanup_hook *h = osp_array_push((void **)&r->hooks, &r->nhooks, &r->cap_hooks, sizeof *h);
    if (h)
        *h = (cleanup_hook){fn, arg};
    pthread_mutex_unlock(&r->lock);
    return h ? 0 : OSPREY_ENOMEM;
}

static void stop_thread(osprey__metrics *r)
{
    if (!r->has_thread)
        return;
    pthread_mutex_lock(&r->wait_lock);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->wait_lock);
    pthread_join(r->thread, NULL);
}

void osprey__metrics_destroy(osprey__metrics *r, uint32_t timeout_ms)
{
    if (!r)
        return;
    stop_thread(r);
    if (r->has_thread)
        export_once(r, timeout_ms);
    for (size_t k = r->nhooks; k > 0; k--)
        r->hooks[k - 1].fn(r->hooks[k - 1].arg);
    osp_free(r->hooks);
    while (r->meters) {
        osprey_meter *m = r->meters;
        r->meters = m->next;
        meter_free(m);
    }
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->wait_lock);
    pthread_mutex_destroy(&r->export_lock);
    pthread_mutex_destroy(&r->collect_lock);
    pthread_mutex_destroy(&r->lock);
    osp_free(r);
}
