/* Delta-to-cumulative accumulation for OTLP delta sums, histograms and exponential
 * histograms (model/otlp_prom.h). Streams live in a chained hash table keyed by XXH3 of the
 * caller's key, and on a doubly linked list from most to least recently updated; one mutex
 * guards the whole state. An exponential stream keeps its running native histogram in an
 * arena of its own, replaced by a fresh one at each update. */
#include "model/otlp_prom.h"

#include <pthread.h>
#include <string.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/mem.h"

typedef struct stream {
    struct stream *hnext;       /* hash chain */
    struct stream *prev, *next; /* recency list, most recent first */
    uint64_t hash;
    uint64_t start_ns, last_ns;
    double value, sum;
    uint64_t count;
    size_t nbuckets;
    uint64_t *buckets;         /* classic: nbuckets, then the bounds (nbuckets - 1 doubles) */
    const osp_histogram *hist; /* exponential: the totals, in arena; NULL for the others */
    osp_arena arena;
    size_t keylen;
    char key[]; /* the caller's key */
} stream;

struct osp_delta_state {
    pthread_mutex_t mu;
    stream **slots; /* nslots chains */
    size_t nslots, n, max;
    stream *newest, *oldest;
};

osp_delta_state *osp_delta_state_create(size_t max_streams)
{
    osp_delta_state *s = osp_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max = max_streams ? max_streams : 100000;
    s->nslots = 16;
    while (s->nslots < s->max)
        s->nslots *= 2;
    s->slots = osp_calloc(s->nslots, sizeof *s->slots);
    if (!s->slots) {
        osp_free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void free_stream(stream *st)
{
    osp_arena_cleanup(&st->arena);
    osp_free(st->buckets);
    osp_free(st);
}

void osp_delta_state_destroy(osp_delta_state *s)
{
    if (!s)
        return;
    for (stream *st = s->newest, *next; st; st = next) {
        next = st->next;
        free_stream(st);
    }
    pthread_mutex_destroy(&s->mu);
    osp_free(s->slots);
    osp_free(s);
}

size_t osp_delta_state_streams(osp_delta_state *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static stream **find(osp_delta_state *s, osp_str key, uint64_t h)
{
    stream **pp = &s->slots[h & (s->nslots - 1)];
    while (*pp && !((*pp)->hash == h && (*pp)->keylen == key.n &&
                    (key.n == 0 || memcmp((*pp)->key, key.p, key.n) == 0)))
        pp = &(*pp)->hnext;
    return pp;
}

static void unlink_recent(osp_delta_state *s, stream *st)
{
    *(st->prev ? &st->prev->next : &s->newest) = st->next;
    *(st->next ? &st->next->prev : &s->oldest) = st->prev;
    st->prev = st->next = NULL;
}

static void link_newest(osp_delta_state *s, stream *st)
{
    st->next = s->newest;
    *(s->newest ? &s->newest->prev : &s->oldest) = st;
    s->newest = st;
}

/* Unlinks and frees the stream *pp points at. */
static void drop(osp_delta_state *s, stream **pp)
{
    stream *st = *pp;
    *pp = st->hnext;
    unlink_recent(s, st);
    free_stream(st);
    s->n--;
}

/* Makes h, reduced to at most OSP_PROM_HIST_MAX_BUCKETS buckets (in arena), the stream's
 * histogram: a copy in a fresh arena of the stream's. *total is the reduced h (h itself
 * when it fits). 0 or OSP_ENOMEM (the stream unchanged). */
static int keep_hist(stream *st, const osp_histogram *h, osp_arena *arena,
                     const osp_histogram **total)
{
    while (h->npbuckets + h->nnbuckets > OSP_PROM_HIST_MAX_BUCKETS &&
           h->schema > OSP_HIST_SCHEMA_MIN) {
        const osp_histogram coarser = {.schema = h->schema - 1,
                                       .zero_threshold = h->zero_threshold};
        if (!(h = osp_hist_add(arena, h, &coarser)))
            return OSP_ENOMEM;
    }
    osp_arena fresh; /* one chunk: the struct and its four arrays, each rounded up to 16 */
    osp_arena_init(&fresh,
                   sizeof *h + (h->npspans + h->nnspans) * sizeof *h->pspans +
                       (h->npbuckets + h->nnbuckets) * sizeof *h->pbuckets + 5 * 16,
                   0);
    const osp_histogram *copy = osp_hist_copy(&fresh, h);
    if (!copy) {
        osp_arena_cleanup(&fresh);
        return OSP_ENOMEM;
    }
    osp_arena_cleanup(&st->arena);
    st->arena = fresh;
    st->hist = copy;
    *total = h;
    return 0;
}

/* Makes st's totals p's (classic arrays reallocated to p's shape); *total as keep_hist's. */
static int restart(stream *st, const osp_delta_point *p, osp_arena *arena,
                   const osp_histogram **total)
{
    if (p->hist) {
        int rc = keep_hist(st, p->hist, arena, total);
        if (rc)
            return rc;
    } else {
        osp_arena_cleanup(&st->arena);
        st->hist = NULL;
    }
    if (st->nbuckets != p->nbuckets) {
        osp_free(st->buckets);
        st->buckets = NULL;
        st->nbuckets = 0;
        if (p->nbuckets) {
            st->buckets =
                osp_malloc(p->nbuckets * sizeof(uint64_t) + (p->nbuckets - 1) * sizeof(double));
            if (!st->buckets)
                return OSP_ENOMEM;
        }
        st->nbuckets = p->nbuckets;
    }
    if (p->nbuckets) {
        memcpy(st->buckets, p->buckets, p->nbuckets * sizeof(uint64_t));
        memcpy(st->buckets + p->nbuckets, p->bounds, (p->nbuckets - 1) * sizeof(double));
    }
    st->start_ns = p->start_ns ? p->start_ns : p->time_ns;
    st->value = p->value;
    st->count = p->count;
    st->sum = p->sum;
    return 0;
}

/* 1 when the point's histogram shape is the stream's (exponential ones always add up). */
static int same_shape(const stream *st, const osp_delta_point *p)
{
    if (st->hist || p->hist)
        return (st->hist != NULL) == (p->hist != NULL);
    return st->nbuckets == p->nbuckets &&
           (p->nbuckets == 0 ||
            memcmp(st->buckets + p->nbuckets, p->bounds, (p->nbuckets - 1) * sizeof(double)) == 0);
}

/* Writes st's totals for p to *cum, classic counts copied into arena. */
static int totals(const stream *st, const osp_delta_point *p, const osp_histogram *total,
                  osp_arena *arena, osp_delta_point *cum)
{
    const uint64_t *counts = NULL;
    if (st->nbuckets &&
        !(counts = osp_arena_memdup(arena, st->buckets, st->nbuckets * sizeof(uint64_t))))
        return OSP_ENOMEM;
    *cum = (osp_delta_point){.start_ns = st->start_ns,
                             .time_ns = p->time_ns,
                             .value = st->value,
                             .count = st->count,
                             .sum = st->sum,
                             .buckets = counts,
                             .bounds = p->bounds,
                             .nbuckets = st->nbuckets,
                             .hist = total};
    return 0;
}

int osp_delta_add(osp_delta_state *s, osp_str key, const osp_delta_point *p, osp_arena *arena,
                  osp_delta_point *cum)
{
    uint64_t h = XXH3_64bits(key.p ? key.p : "", key.n);
    const osp_histogram *total = NULL;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    stream **pp = find(s, key, h), *st = *pp;
    if (st && (p->time_ns <= st->last_ns || (p->start_ns && p->start_ns < st->last_ns))) {
        rc = OSP_EINVAL;
        goto out;
    }
    if (!st) {
        if (s->n >= s->max) {
            stream *old = s->oldest;
            drop(s, find(s, osp_str_make(old->key, old->keylen), old->hash));
            pp = find(s, key, h); /* the chain may have changed */
        }
        st = osp_calloc(1, sizeof *st + key.n);
        if (!st) {
            rc = OSP_ENOMEM;
            goto out;
        }
        osp_arena_init(&st->arena, 0, 0);
        st->hash = h;
        st->keylen = key.n;
        if (key.n)
            memcpy(st->key, key.p, key.n);
        *pp = st;
        link_newest(s, st);
        s->n++;
        rc = 1;
    } else if (!same_shape(st, p)) {
        rc = 1;
    }
    if (rc == 1) {
        int r = restart(st, p, arena, &total);
        if (r < 0) {
            drop(s, find(s, key, h));
            rc = r;
            goto out;
        }
    } else {
        const osp_histogram *sum = p->hist ? osp_hist_add(arena, st->hist, p->hist) : NULL;
        if (p->hist && (!sum || keep_hist(st, sum, arena, &total) < 0)) {
            rc = OSP_ENOMEM;
            goto out;
        }
        st->value += p->value;
        st->count += p->count;
        st->sum += p->sum;
        for (size_t i = 0; i < p->nbuckets; i++)
            st->buckets[i] += p->buckets[i];
    }
    st->last_ns = p->time_ns;
    unlink_recent(s, st);
    link_newest(s, st);
    if (totals(st, p, total, arena, cum) < 0)
        rc = OSP_ENOMEM;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void osp_delta_forget(osp_delta_state *s, osp_str key)
{
    uint64_t h = XXH3_64bits(key.p ? key.p : "", key.n);
    pthread_mutex_lock(&s->mu);
    stream **pp = find(s, key, h);
    if (*pp)
        drop(s, pp);
    pthread_mutex_unlock(&s->mu);
}
