/* Delta-to-cumulative accumulation for OTLP delta sums, histograms and exponential
 * histograms (model/otlp_prom.h). Streams live in a chained hash table keyed by XXH3 of the
 * caller's key, and on a doubly linked list from most to least recently updated; one mutex
 * guards the whole state. An exponential stream keeps dense positive and negative bucket
 * arrays at one scale, re-bucketed when a coarser point arrives. */
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
    uint64_t *buckets; /* classic: nbuckets, then the bounds (nbuckets - 1 doubles);
                          exponential: the npos positive counts, then the nneg negative */
    int is_exp;
    int32_t scale, pos_offset, neg_offset;
    size_t npos, nneg;
    uint64_t zero_count;
    double zero_threshold;
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

/* One side of an exponential histogram: counts[i] for index offset + i at scale. */
typedef struct side {
    int32_t scale;
    int64_t offset;
    const uint64_t *counts;
    size_t n;
} side;

/* The index range [*lo, *hi] of s's non-zero buckets at scale to (coarser or equal);
 * 0 when it has none. */
static int side_range(const side *s, int32_t to, int64_t *lo, int64_t *hi)
{
    size_t a = 0, b = s->n;
    while (a < b && s->counts[a] == 0)
        a++;
    while (b > a && s->counts[b - 1] == 0)
        b--;
    if (a == b)
        return 0;
    *lo = osp_exp_downscale(s->offset + (int64_t)a, s->scale - to);
    *hi = osp_exp_downscale(s->offset + (int64_t)b - 1, s->scale - to);
    return 1;
}

/* Adds s's buckets, downscaled to scale to, to out (index lo at out[0]). */
static void side_add(const side *s, int32_t to, int64_t lo, uint64_t *out)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->counts[i])
            out[osp_exp_downscale(s->offset + (int64_t)i, s->scale - to) - lo] += s->counts[i];
}

/* Merges the stream's exponential buckets (none when fresh) with p's at the coarsest of
 * their scales and OSP_PROM_EXP_SCALE; the stream's arrays are replaced. */
static int merge_exp(stream *st, const osp_exp_buckets *e, int fresh)
{
    int32_t to = e->scale < OSP_PROM_EXP_SCALE ? e->scale : OSP_PROM_EXP_SCALE;
    if (!fresh && st->scale < to)
        to = st->scale;
    side sides[2][2] = {
        {{st->scale, st->pos_offset, st->buckets, fresh ? 0 : st->npos},
         {e->scale, e->pos_offset, e->pos, e->npos}},
        {{st->scale, st->neg_offset, fresh || !st->nneg ? NULL : st->buckets + st->npos,
          fresh ? 0 : st->nneg},
         {e->scale, e->neg_offset, e->neg, e->nneg}},
    };
    int64_t lo[2] = {0, 0}, hi[2] = {-1, -1};
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++) {
            int64_t a, b;
            if (!side_range(&sides[k][j], to, &a, &b))
                continue;
            if (hi[k] < lo[k] || a < lo[k])
                lo[k] = a;
            if (hi[k] < lo[k] || b > hi[k])
                hi[k] = b;
        }
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        n[k] = hi[k] >= lo[k] ? (size_t)(hi[k] - lo[k] + 1) : 0;
        if ((uint64_t)n[k] > ((uint64_t)OSP_PROM_EXP_MAX_GRID >> (OSP_PROM_EXP_SCALE - to)))
            return OSP_ETOOBIG;
    }
    uint64_t *counts = n[0] + n[1] ? osp_calloc(n[0] + n[1], sizeof *counts) : NULL;
    if (n[0] + n[1] && !counts)
        return OSP_ENOMEM;
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
            if (n[k])
                side_add(&sides[k][j], to, lo[k], counts + (k ? n[0] : 0));
    osp_free(st->buckets);
    st->buckets = counts;
    st->nbuckets = n[0] + n[1];
    st->npos = n[0];
    st->nneg = n[1];
    st->pos_offset = (int32_t)lo[0];
    st->neg_offset = (int32_t)lo[1];
    st->scale = to;
    st->zero_count = (fresh ? 0 : st->zero_count) + e->zero_count;
    if (fresh || e->zero_threshold > st->zero_threshold)
        st->zero_threshold = e->zero_threshold;
    return 0;
}

/* Makes st's totals p's (histogram arrays reallocated to p's shape). */
static int restart(stream *st, const osp_delta_point *p)
{
    int rc = 0;
    if (p->is_exp) {
        rc = merge_exp(st, &p->exp, 1);
    } else if (st->nbuckets != p->nbuckets || st->is_exp) {
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
    if (rc)
        return rc;
    if (p->nbuckets && !p->is_exp) {
        memcpy(st->buckets, p->buckets, p->nbuckets * sizeof(uint64_t));
        memcpy(st->buckets + p->nbuckets, p->bounds, (p->nbuckets - 1) * sizeof(double));
    }
    st->is_exp = p->is_exp;
    st->start_ns = p->start_ns ? p->start_ns : p->time_ns;
    st->value = p->value;
    st->count = p->count;
    st->sum = p->sum;
    return 0;
}

/* 1 when the point's histogram shape is the stream's (exponential ones always merge). */
static int same_shape(const stream *st, const osp_delta_point *p)
{
    if (st->is_exp || p->is_exp)
        return st->is_exp == p->is_exp;
    return st->nbuckets == p->nbuckets &&
           (p->nbuckets == 0 ||
            memcmp(st->buckets + p->nbuckets, p->bounds, (p->nbuckets - 1) * sizeof(double)) == 0);
}

/* Writes st's totals for p to *cum, counts copied into scratch. */
static int totals(const stream *st, const osp_delta_point *p, osp_delta_point *cum,
                  osp_buf *scratch)
{
    osp_buf_reset(scratch);
    if (st->nbuckets && osp_buf_append(scratch, st->buckets, st->nbuckets * sizeof(uint64_t)))
        return OSP_ENOMEM;
    const uint64_t *counts = st->nbuckets ? (const uint64_t *)(void *)scratch->data : NULL;
    *cum = (osp_delta_point){.start_ns = st->start_ns,
                             .time_ns = p->time_ns,
                             .value = st->value,
                             .count = st->count,
                             .sum = st->sum,
                             .is_exp = st->is_exp};
    if (st->is_exp) {
        cum->exp = (osp_exp_buckets){.scale = st->scale,
                                     .pos_offset = st->pos_offset,
                                     .neg_offset = st->neg_offset,
                                     .pos = st->npos ? counts : NULL,
                                     .neg = st->nneg ? counts + st->npos : NULL,
                                     .npos = st->npos,
                                     .nneg = st->nneg,
                                     .zero_count = st->zero_count,
                                     .zero_threshold = st->zero_threshold};
    } else {
        cum->buckets = counts;
        cum->bounds = p->bounds;
        cum->nbuckets = st->nbuckets;
    }
    return 0;
}

int osp_delta_add(osp_delta_state *s, osp_str key, const osp_delta_point *p, osp_delta_point *cum,
                  osp_buf *scratch)
{
    uint64_t h = XXH3_64bits(key.p ? key.p : "", key.n);
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
        int r = restart(st, p);
        if (r < 0) {
            drop(s, find(s, key, h));
            rc = r;
            goto out;
        }
    } else {
        if (p->is_exp && (rc = merge_exp(st, &p->exp, 0)) < 0)
            goto out;
        st->value += p->value;
        st->count += p->count;
        st->sum += p->sum;
        for (size_t i = 0; !p->is_exp && i < p->nbuckets; i++)
            st->buckets[i] += p->buckets[i];
    }
    st->last_ns = p->time_ns;
    unlink_recent(s, st);
    link_newest(s, st);
    if (totals(st, p, cum, scratch) < 0)
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
