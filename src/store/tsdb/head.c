/* The in-memory head of the time-series engine: per-series state and unflushed samples. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "store/tsdb/tsdb_int.h"

#define MID_BITS 11
#define LEAF_BITS 11
#define MID_N (1u << MID_BITS)
#define LEAF_N (1u << LEAF_BITS)

int osp__head_init(osp__head *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->grow, NULL);
    for (size_t i = 0; i < OSP_HEAD_STRIPES; i++)
        pthread_mutex_init(&h->stripe[i], NULL);
    return 0;
}

void osp__head_cleanup(osp__head *h)
{
    for (size_t i = 0; i < sizeof h->top / sizeof h->top[0]; i++) {
        _Atomic(osp__hseries *) *mid = atomic_load(&h->top[i]);
        if (!mid)
            continue;
        for (size_t j = 0; j < MID_N; j++) {
            osp__hseries *leaf = atomic_load(&mid[j]);
            if (!leaf)
                continue;
            for (size_t k = 0; k < LEAF_N; k++) {
                osp__hdata_free(leaf[k].d[0]);
                osp__hdata_free(leaf[k].d[1]);
            }
            osp_free(leaf);
        }
        osp_free(mid);
    }
    pthread_mutex_destroy(&h->grow);
    for (size_t i = 0; i < OSP_HEAD_STRIPES; i++)
        pthread_mutex_destroy(&h->stripe[i]);
}

osp__hseries *osp__head_get(osp__head *h, uint64_t id, bool create)
{
    size_t t = (size_t)(id >> (MID_BITS + LEAF_BITS)), m = (size_t)(id >> LEAF_BITS) & (MID_N - 1);
    if (t >= sizeof h->top / sizeof h->top[0])
        return NULL;
    _Atomic(osp__hseries *) *mid = atomic_load_explicit(&h->top[t], memory_order_acquire);
    osp__hseries *leaf = mid ? atomic_load_explicit(&mid[m], memory_order_acquire) : NULL;
    if (leaf || !create)
        return leaf ? &leaf[id & (LEAF_N - 1)] : NULL;
    pthread_mutex_lock(&h->grow);
    if (!(mid = atomic_load(&h->top[t]))) {
        mid = osp_calloc(MID_N, sizeof *mid);
        if (mid) {
            atomic_fetch_add(&h->table_bytes, MID_N * sizeof *mid);
            atomic_store_explicit(&h->top[t], mid, memory_order_release);
        }
    }
    if (mid && !(leaf = atomic_load(&mid[m]))) {
        leaf = osp_calloc(LEAF_N, sizeof *leaf);
        if (leaf) {
            for (size_t k = 0; k < LEAF_N; k++)
                leaf[k].last_t = INT64_MIN;
            atomic_fetch_add(&h->table_bytes, LEAF_N * sizeof *leaf);
            atomic_store_explicit(&mid[m], leaf, memory_order_release);
        }
    }
    pthread_mutex_unlock(&h->grow);
    return leaf ? &leaf[id & (LEAF_N - 1)] : NULL;
}

void osp__head_prefetch(osp__head *h, uint64_t id, int gen, int stage)
{
    osp__hseries *hs = osp__head_get(h, id, false);
    if (!hs)
        return;
    if (stage == 0) {
        __builtin_prefetch(hs);
        return;
    }
    osp__hdata *d = __atomic_load_n(&hs->d[gen], __ATOMIC_RELAXED);
    if (!d)
        return;
    if (stage == 1) {
        __builtin_prefetch(d);
        return;
    }
    uint8_t *buf = __atomic_load_n(&d->open.buf, __ATOMIC_RELAXED);
    if (buf)
        __builtin_prefetch(buf + __atomic_load_n(&d->open.nbits, __ATOMIC_RELAXED) / 8, 1);
}

static void gen_range(osp__hgen *g, int64_t t)
{
    int64_t cur = atomic_load(&g->mint);
    while (t < cur && !atomic_compare_exchange_weak(&g->mint, &cur, t))
        ;
    cur = atomic_load(&g->maxt);
    while (t > cur && !atomic_compare_exchange_weak(&g->maxt, &cur, t))
        ;
}

/* Moves the open chunk into the finished list. */
static int seal(osp__hdata *d, size_t *grown)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    size_t before = osp_chunk_stream_heap(&d->open);
    int rc = osp_chunk_stream_finish(&d->open, &b);
    osp__hchunk *c = rc ? NULL : osp_malloc(sizeof *c + b.len);
    if (!rc && !c)
        rc = OSP_ENOMEM;
    if (rc) {
        osp_buf_cleanup(&b);
        return rc;
    }
    c->len = (uint32_t)b.len;
    memcpy(c->b, b.data, b.len);
    osp_buf_cleanup(&b);
    c->next = d->full;
    d->full = c;
    *grown += sizeof *c + c->len;
    *grown -= before;
    return 0;
}

/* A new generation data for a series' first sample t here, counted into g. */
static osp__hdata *hdata_new(osp__hgen *g, int64_t t, size_t *grown)
{
    osp__hdata *d = osp_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    osp_chunk_stream_init(&d->open);
    d->mint = d->maxt = t;
    *grown += sizeof *d;
    atomic_fetch_add(&g->series, 1);
    return d;
}

/* d->more, allocated when missing, with room for one more out-of-order float when ooo;
 * NULL when out of memory. */
static osp__hmore *more_room(osp__hdata *d, bool ooo, size_t *grown)
{
    osp__hmore *o = d->more;
    if (o && (!ooo || o->n < o->cap))
        return o;
    uint32_t old = o ? o->cap : 0, cap = !ooo ? 0 : old ? old * 2 : 4;
    osp__hmore *no = osp_realloc(o, sizeof *no + cap * sizeof no->a[0]);
    if (!no)
        return NULL;
    if (!o) {
        no->hist = NULL;
        no->n = 0;
        *grown += sizeof *no;
    }
    *grown += (cap - old) * sizeof no->a[0];
    no->cap = cap;
    return d->more = no;
}

/* d's histogram samples, created when missing; NULL when out of memory. */
static osp__hhist *hist_of(osp__hdata *d, size_t *grown)
{
    osp__hmore *o = more_room(d, false, grown);
    if (o && !o->hist && (o->hist = osp_calloc(1, sizeof *o->hist))) {
        osp_hchunk_writer_init(&o->hist->open);
        *grown += sizeof *o->hist;
    }
    return o ? o->hist : NULL;
}

/* Counts sample t into d and g. */
static inline void count_sample(osp__hdata *d, osp__hgen *g, int64_t t, size_t grown)
{
    if (t < d->mint)
        d->mint = t;
    if (t > d->maxt)
        d->maxt = t;
    d->nsamples++;
    atomic_fetch_add(&g->bytes, grown);
    atomic_fetch_add(&g->samples, 1);
    gen_range(g, t);
}

int osp__hdata_add(osp__hdata **dp, osp__hgen *g, int64_t t, double v, bool in_order)
{
    osp__hdata *d = *dp;
    size_t grown = 0;
    int rc;
    if (!d && !(d = *dp = hdata_new(g, t, &grown)))
        return OSP_ENOMEM;
    if (in_order) {
        size_t before = osp_chunk_stream_heap(&d->open);
        rc = osp_chunk_stream_append(&d->open, t, v);
        if (rc == OSP_ETOOBIG && (rc = seal(d, &grown)) == 0) {
            before = 0;
            rc = osp_chunk_stream_append(&d->open, t, v);
        }
        if (rc) {
            atomic_fetch_add(&g->bytes, grown);
            return rc;
        }
        grown += osp_chunk_stream_heap(&d->open) - before;
    } else {
        osp__hmore *o = more_room(d, true, &grown);
        if (!o) {
            atomic_fetch_add(&g->bytes, grown);
            return OSP_ENOMEM;
        }
        o->a[o->n++] = (osp_sample){t, v};
    }
    count_sample(d, g, t, grown);
    return 0;
}

/* Moves the open histogram chunk into the finished list (the buffer stays for the next). */
static int hseal(osp__hhist *hh, size_t *grown)
{
    osp__hchunk *c = osp_malloc(sizeof *c + hh->open.b.len);
    if (!c)
        return OSP_ENOMEM;
    c->len = (uint32_t)hh->open.b.len;
    memcpy(c->b, hh->open.b.data, c->len);
    c->next = hh->full;
    hh->full = c;
    *grown += sizeof *c + c->len;
    osp_hchunk_writer_reset(&hh->open);
    return 0;
}

int osp__hdata_hadd(osp__hdata **dp, osp__hgen *g, int64_t t, const void *rec, size_t len)
{
    osp__hdata *d = *dp;
    size_t grown = 0;
    int rc = OSP_ENOMEM;
    if (!d && !(d = *dp = hdata_new(g, t, &grown)))
        return OSP_ENOMEM;
    osp__hhist *hh = hist_of(d, &grown);
    if (hh) {
        size_t before = hh->open.b.cap;
        rc = osp_hchunk_writer_append(&hh->open, t, rec, len);
        if (rc == OSP_ETOOBIG && (rc = hseal(hh, &grown)) == 0)
            rc = osp_hchunk_writer_append(&hh->open, t, rec, len);
        grown += hh->open.b.cap - before;
    }
    if (rc) {
        atomic_fetch_add(&g->bytes, grown);
        return rc;
    }
    count_sample(d, g, t, grown);
    return 0;
}

int osp__hdata_find(const osp__hdata *d, int64_t t, uint64_t *v)
{
    if (!d)
        return OSP__AT_NONE;
    for (uint32_t i = 0; d->more && i < d->more->n; i++)
        if (d->more->a[i].t_ms == t) {
            memcpy(v, &d->more->a[i].v, sizeof *v);
            return OSP__AT_FLOAT;
        }
    if (d->more && d->more->hist) {
        osp_hchunk_iter it;
        const osp_hchunk_writer *w = &d->more->hist->open;
        const uint8_t *rec;
        size_t len;
        int64_t ht;
        osp_hchunk_iter_init(&it, w->b.data, w->b.len);
        while (w->b.len && t <= w->tlast && osp_hchunk_iter_next(&it, &ht, &rec, &len) && ht <= t)
            if (ht == t)
                return OSP__AT_HIST;
    }
    if (d->open.n == 0 || t < d->open.t0 || t > d->open.tlast)
        return OSP__AT_NONE;
    osp_chunk_iter it;
    osp_sample s;
    osp_chunk_iter_init_stream(&it, &d->open);
    while (osp_chunk_iter_next(&it, &s) && s.t_ms <= t)
        if (s.t_ms == t) {
            memcpy(v, &s.v, sizeof *v);
            return OSP__AT_FLOAT;
        }
    return OSP__AT_NONE;
}

int osp__hdata_hfind(const osp__hdata *d, int64_t t, osp_arena *arena, osp_histogram *out)
{
    if (!d || !d->more || !d->more->hist)
        return 0;
    const osp_hchunk_writer *w = &d->more->hist->open;
    osp_hchunk_iter it;
    const uint8_t *rec;
    size_t len;
    int64_t ht;
    if (w->b.len == 0 || t > w->tlast)
        return 0;
    osp_hchunk_iter_init(&it, w->b.data, w->b.len);
    while (osp_hchunk_iter_next(&it, &ht, &rec, &len) && ht <= t)
        if (ht == t) {
            int rc = osp_hchunk_decode(rec, len, arena, out);
            return rc ? rc : 1;
        }
    return osp_hchunk_iter_err(&it);
}

static int collect_iter(osp_chunk_iter *it, int64_t mint, int64_t maxt, uint32_t rank,
                        osp__svec *out)
{
    osp_sample a[OSP_CHUNK_MAX_SAMPLES];
    size_t n = osp_chunk_iter_read(it, a, OSP_CHUNK_MAX_SAMPLES);
    for (size_t j = 0; j < n; j++) {
        if (a[j].t_ms > maxt)
            return 0;
        if (a[j].t_ms >= mint && osp__svec_push(out, a[j].t_ms, a[j].v, rank))
            return OSP_ENOMEM;
    }
    return osp_chunk_iter_err(it);
}

/* Appends the histograms of chunk [p, p+n) in [mint, maxt] to out, decoded into arena
 * (not decoded when NULL). */
static int collect_hchunk(const void *p, size_t n, int64_t mint, int64_t maxt, uint32_t rank,
                          osp_arena *arena, osp__svec *out)
{
    osp_hchunk_iter it;
    const uint8_t *rec;
    size_t len;
    int64_t t;
    osp_hchunk_iter_init(&it, p, n);
    while (osp_hchunk_iter_next(&it, &t, &rec, &len)) {
        osp_histogram *h = NULL;
        int rc = 0;
        if (t > maxt)
            return 0;
        if (t < mint)
            continue;
        if (arena && !(h = osp_arena_alloc(arena, sizeof *h)))
            return OSP_ENOMEM;
        if ((h && (rc = osp_hchunk_decode(rec, len, arena, h)) != 0) ||
            (rc = osp__svec_push_hist(out, t, h, rank)) != 0)
            return rc;
    }
    return osp_hchunk_iter_err(&it);
}

int osp__hdata_collect(const osp__hdata *d, int64_t mint, int64_t maxt, uint32_t rank,
                       osp_arena *arena, osp__svec *out)
{
    osp_chunk_iter it;
    int rc = 0;
    if (!d || d->maxt < mint || d->mint > maxt)
        return 0;
    for (const osp__hchunk *c = d->full; c && !rc; c = c->next) {
        osp_chunk_iter_init(&it, c->b, c->len);
        rc = collect_iter(&it, mint, maxt, rank, out);
    }
    if (!rc && d->open.n) {
        osp_chunk_iter_init_stream(&it, &d->open);
        rc = collect_iter(&it, mint, maxt, rank, out);
    }
    const osp__hmore *o = d->more;
    for (uint32_t i = 0; !rc && o && i < o->n; i++)
        if (o->a[i].t_ms >= mint && o->a[i].t_ms <= maxt)
            rc = osp__svec_push(out, o->a[i].t_ms, o->a[i].v, rank + 1);
    const osp__hhist *hh = o ? o->hist : NULL;
    for (const osp__hchunk *c = hh ? hh->full : NULL; c && !rc; c = c->next)
        rc = collect_hchunk(c->b, c->len, mint, maxt, rank, arena, out);
    if (!rc && hh && hh->open.b.len)
        rc = collect_hchunk(hh->open.b.data, hh->open.b.len, mint, maxt, rank, arena, out);
    return rc;
}

size_t osp__hdata_free(osp__hdata *d)
{
    if (!d)
        return 0;
    size_t n = sizeof *d + osp_chunk_stream_heap(&d->open);
    osp_chunk_stream_cleanup(&d->open);
    for (osp__hchunk *c = d->full, *next; c; c = next) {
        next = c->next;
        n += sizeof *c + c->len;
        osp_free(c);
    }
    osp__hmore *o = d->more;
    if (o && o->hist) {
        for (osp__hchunk *c = o->hist->full, *next; c; c = next) {
            next = c->next;
            n += sizeof *c + c->len;
            osp_free(c);
        }
        n += sizeof *o->hist + o->hist->open.b.cap;
        osp_hchunk_writer_cleanup(&o->hist->open);
        osp_free(o->hist);
    }
    if (o)
        n += sizeof *o + o->cap * sizeof o->a[0];
    osp_free(o);
    osp_free(d);
    return n;
}

int osp__svec_push(osp__svec *v, int64_t t, double val, uint32_t rank)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        osp__rsample *a = osp_realloc(v->a, cap * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        v->a = a;
        v->cap = cap;
    }
    v->a[v->n++] = (osp__rsample){.t = t, .v = val, .rank = rank};
    return 0;
}

int osp__svec_push_hist(osp__svec *v, int64_t t, const osp_histogram *h, uint32_t rank)
{
    int rc = osp__svec_push(v, t, 0, rank);
    if (rc == 0) {
        v->a[v->n - 1].h = h;
        v->a[v->n - 1].hist = 1;
    }
    return rc;
}

static int cmp_rsample(const void *pa, const void *pb)
{
    const osp__rsample *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->rank > b->rank ? -1 : a->rank < b->rank;
}

void osp__svec_settle(osp__svec *v)
{
    size_t sorted = 1;
    for (size_t i = 1; i < v->n && sorted; i++)
        sorted = v->a[i - 1].t < v->a[i].t;
    if (sorted)
        return;
    qsort(v->a, v->n, sizeof *v->a, cmp_rsample);
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++)
        if (k == 0 || v->a[k - 1].t != v->a[i].t)
            v->a[k++] = v->a[i];
    v->n = k;
}
