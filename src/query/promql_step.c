/* PromQL engine plumbing (promql_eval_int.h): limits, label-set maps, output matrices and
 * per-step gathering. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "core/clock.h"
#include "core/err.h"
#include "query/promql_eval_int.h"

#define TICKS_PER_CHECK 4096u

int osp__pq_fail(osp__pq_query *q, int rc, const char *fmt, ...)
{
    if (q->err && q->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(q->err, q->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int osp__pq_hold(osp__pq_query *q, uint64_t n)
{
    q->samples += n;
    if (q->samples > q->max_samples)
        return osp__pq_fail(q, OSP_EEXEC,
                            "query processing would load too many samples into "
                            "memory in query execution");
    return 0;
}

void osp__pq_release(osp__pq_query *q, const osp__pq_mat *m)
{
    uint64_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->s[i].nsamples + m->s[i].nhsamples;
    q->samples = n > q->samples ? 0 : q->samples - n;
}

int osp__pq_tick(osp__pq_query *q)
{
    if (++q->ticks < TICKS_PER_CHECK || q->deadline_ms == 0)
        return 0;
    q->ticks = 0;
    if (osp_clock_ms(CLOCK_MONOTONIC) < q->deadline_ms)
        return 0;
    return osp__pq_fail(q, OSP_ETIMEDOUT, "query timed out in expression evaluation");
}

/* ---- label sets ---- */

uint64_t osp__pq_labels_hash(const osp_label *l, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h = XXH3_64bits_withSeed(l[i].name.p, l[i].name.n, h);
        h = XXH3_64bits_withSeed(l[i].value.p, l[i].value.n, h ^ 0xff51afd7ed558ccdull);
    }
    return h;
}

/* Appends s quoted as Go's strconv.Quote does for printable UTF-8. */
static size_t put_quoted(char *buf, size_t cap, size_t at, osp_str s)
{
    at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, "\"");
    for (size_t i = 0; i < s.n && at < cap; i++) {
        unsigned char c = (unsigned char)s.p[i];
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            break;
        }
        if (esc)
            at += (size_t)snprintf(buf + at, cap - at, "%s", esc);
        else if (c < 0x20 || c == 0x7f)
            at += (size_t)snprintf(buf + at, cap - at, "\\x%02x", c);
        else
            at += (size_t)snprintf(buf + at, cap - at, "%c", c);
    }
    if (at < cap)
        at += (size_t)snprintf(buf + at, cap - at, "\"");
    return at;
}

void osp__pq_labels_fmt(char *buf, size_t cap, const osp_label *l, size_t n)
{
    size_t at = 0;
    if (cap == 0)
        return;
    buf[0] = 0;
    at += (size_t)snprintf(buf, cap, "{");
    for (size_t i = 0; i < n && at < cap; i++) {
        at +=
            (size_t)snprintf(buf + at, cap - at, "%s%.*s=", i ? ", " : "", OSP_STR_FMT(l[i].name));
        if (at < cap)
            at = put_quoted(buf, cap, at, l[i].value);
    }
    if (at < cap)
        snprintf(buf + at, cap - at, "}");
}

void osp__pq_quote(char *buf, size_t cap, osp_str s)
{
    if (cap == 0)
        return;
    buf[0] = 0;
    put_quoted(buf, cap, 0, s);
}

static int in_names(const osp_promql_labels *names, osp_str name)
{
    for (size_t i = 0; i < names->n; i++)
        if (osp_str_eq(names->a[i], name))
            return 1;
    return 0;
}

osp_label *osp__pq_labels_subset(osp_arena *a, const osp_label *l, size_t n,
                                 const osp_promql_labels *names, int on, size_t *nout)
{
    osp_label *out = osp_arena_alloc(a, n * sizeof *out + 1);
    size_t k = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int listed = in_names(names, l[i].name);
        if (on ? listed : !listed && !osp_str_eqz(l[i].name, OSP_METRIC_NAME_LABEL))
            out[k++] = l[i];
    }
    *nout = k;
    return out;
}

/* ---- label-set map ---- */

int osp__pq_lmap_init(osp__pq_lmap *m, osp_arena *a, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    memset(m, 0, sizeof *m);
    m->hash = osp_arena_alloc(a, cap * sizeof *m->hash);
    m->id = osp_arena_alloc(a, cap * sizeof *m->id);
    m->cap = cap / 2;
    m->lbl = osp_arena_alloc(a, m->cap * sizeof *m->lbl);
    m->nlbl = osp_arena_alloc(a, m->cap * sizeof *m->nlbl);
    if (!m->hash || !m->id || !m->lbl || !m->nlbl)
        return OSP_ENOMEM;
    memset(m->id, 0xff, cap * sizeof *m->id);
    m->mask = cap - 1;
    return 0;
}

static int lmap_grow(osp__pq_lmap *m, osp_arena *a)
{
    size_t cap = (m->mask + 1) * 2;
    uint64_t *hash = osp_arena_alloc(a, cap * sizeof *hash);
    uint32_t *id = osp_arena_alloc(a, cap * sizeof *id);
    const osp_label **lbl = osp_arena_alloc(a, cap / 2 * sizeof *lbl);
    size_t *nlbl = osp_arena_alloc(a, cap / 2 * sizeof *nlbl);
    if (!hash || !id || !lbl || !nlbl)
        return OSP_ENOMEM;
    memset(id, 0xff, cap * sizeof *id);
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->id[i] == UINT32_MAX)
            continue;
        size_t j = m->hash[i] & (cap - 1);
        while (id[j] != UINT32_MAX)
            j = (j + 1) & (cap - 1);
        id[j] = m->id[i];
        hash[j] = m->hash[i];
    }
    memcpy(lbl, m->lbl, m->n * sizeof *lbl);
    memcpy(nlbl, m->nlbl, m->n * sizeof *nlbl);
    m->hash = hash;
    m->id = id;
    m->lbl = lbl;
    m->nlbl = nlbl;
    m->mask = cap - 1;
    m->cap = cap / 2;
    return 0;
}

int osp__pq_lmap_put(osp__pq_lmap *m, osp_arena *a, const osp_label *l, size_t n, uint32_t *id,
                     int *added)
{
    uint64_t h = osp__pq_labels_hash(l, n);
    size_t i = h & m->mask;
    *added = 0;
    for (; m->id[i] != UINT32_MAX; i = (i + 1) & m->mask) {
        uint32_t k = m->id[i];
        if (m->hash[i] == h && osp_labels_compare(m->lbl[k], m->nlbl[k], l, n) == 0) {
            *id = k;
            return 0;
        }
    }
    if (m->n >= m->cap) {
        int rc = lmap_grow(m, a);
        if (rc)
            return rc;
        for (i = h & m->mask; m->id[i] != UINT32_MAX; i = (i + 1) & m->mask)
            ;
    }
    m->id[i] = (uint32_t)m->n;
    m->hash[i] = h;
    m->lbl[m->n] = l;
    m->nlbl[m->n] = n;
    *id = (uint32_t)m->n++;
    *added = 1;
    return 0;
}

/* ---- output matrices ---- */

int osp__pq_out_init(osp__pq_out *o, osp__pq_ev *ev, size_t n)
{
    memset(o, 0, sizeof *o);
    o->ev = ev;
    return osp__pq_lmap_init(&o->map, ev->q->arena, n);
}

int osp__pq_out_series(osp__pq_out *o, const osp_label *l, size_t n, uint32_t *idx)
{
    osp_arena *a = o->ev->q->arena;
    int added, rc = osp__pq_lmap_put(&o->map, a, l, n, idx, &added);
    if (rc || !added)
        return rc;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        osp_series *s = osp_arena_alloc(a, cap * sizeof *s);
        size_t *scap = osp_arena_alloc(a, cap * sizeof *scap);
        size_t *hcap = osp_arena_alloc(a, cap * sizeof *hcap);
        int64_t *last = osp_arena_alloc(a, cap * sizeof *last);
        if (!s || !scap || !hcap || !last)
            return OSP_ENOMEM;
        if (o->n) {
            memcpy(s, o->s, o->n * sizeof *s);
            memcpy(scap, o->scap, o->n * sizeof *scap);
            memcpy(hcap, o->hcap, o->n * sizeof *hcap);
            memcpy(last, o->last, o->n * sizeof *last);
        }
        o->s = s;
        o->scap = scap;
        o->hcap = hcap;
        o->last = last;
        o->cap = cap;
    }
    o->s[o->n] = (osp_series){.labels = (osp_label *)l, .nlabels = n};
    o->scap[o->n] = 0;
    o->hcap[o->n] = 0;
    o->last[o->n] = INT64_MIN;
    o->n++;
    return 0;
}

int osp__pq_out_series_copy(osp__pq_out *o, const osp_label *l, size_t n, uint32_t *idx)
{
    size_t before = o->n, bytes = 0;
    int rc = osp__pq_out_series(o, l, n, idx);
    if (rc || o->n == before)
        return rc;
    for (size_t i = 0; i < n; i++)
        bytes += l[i].name.n + l[i].value.n;
    osp_label *c = osp_arena_alloc(o->ev->q->arena, n * sizeof *c + bytes + 1);
    if (!c)
        return OSP_ENOMEM;
    char *p = (char *)(c + n);
    for (size_t i = 0; i < n; i++) {
        if (l[i].name.n)
            memcpy(p, l[i].name.p, l[i].name.n);
        c[i].name = (osp_str){p, l[i].name.n};
        p += l[i].name.n;
        if (l[i].value.n)
            memcpy(p, l[i].value.p, l[i].value.n);
        c[i].value = (osp_str){p, l[i].value.n};
        p += l[i].value.n;
    }
    o->s[*idx].labels = c;
    o->map.lbl[*idx] = c;
    return 0;
}

/* A copy of the n elements (elem bytes each) at old with room for every step left from ts
 * on, as most series have a value at every step; *cap gets its capacity. NULL when out of
 * memory. */
static void *out_grow(osp__pq_out *o, const void *old, size_t n, size_t elem, int64_t ts,
                      size_t *cap)
{
    size_t want = n + (size_t)((o->ev->end - ts) / o->ev->step) + 1;
    void *p = osp_arena_alloc(o->ev->q->arena, want * elem);
    if (p && n)
        memcpy(p, old, n * elem);
    *cap = p ? want : *cap;
    return p;
}

int osp__pq_out_add(osp__pq_out *o, uint32_t idx, int64_t ts, double v)
{
    osp_series *s = &o->s[idx];
    if (o->last[idx] == ts)
        return osp__pq_fail(o->ev->q, OSP_EEXEC,
                            "vector cannot contain metrics with the same labelset");
    if (s->nsamples == o->scap[idx] &&
        !(s->samples = out_grow(o, s->samples, s->nsamples, sizeof *s->samples, ts, &o->scap[idx])))
        return OSP_ENOMEM;
    s->samples[s->nsamples++] = (osp_sample){ts, v};
    o->last[idx] = ts;
    return osp__pq_hold(o->ev->q, 1);
}

int osp__pq_out_add_hist(osp__pq_out *o, uint32_t idx, int64_t ts, const osp_histogram *h)
{
    osp_series *s = &o->s[idx];
    if (o->last[idx] == ts)
        return osp__pq_fail(o->ev->q, OSP_EEXEC,
                            "vector cannot contain metrics with the same labelset");
    if (s->nhsamples == o->hcap[idx] &&
        !(s->hsamples =
              out_grow(o, s->hsamples, s->nhsamples, sizeof *s->hsamples, ts, &o->hcap[idx])))
        return OSP_ENOMEM;
    s->hsamples[s->nhsamples++] = (osp_hsample){ts, h};
    o->last[idx] = ts;
    return osp__pq_hold(o->ev->q, 1);
}

osp__pq_mat osp__pq_out_done(osp__pq_out *o)
{
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++)
        if (o->s[i].nsamples || o->s[i].nhsamples)
            o->s[k++] = o->s[i];
    return (osp__pq_mat){o->s, k};
}

/* ---- gathering ---- */

int osp__pq_cursor_init(osp__pq_cursor *c, osp_arena *a, const osp__pq_mat *m)
{
    c->m = m;
    c->hist = 0;
    c->hpos = NULL;
    for (size_t i = 0; i < m->n && !c->hist; i++)
        c->hist = m->s[i].nhsamples > 0;
    c->pos = osp_arena_calloc(a, m->n + 1, sizeof *c->pos);
    if (c->hist)
        c->hpos = osp_arena_calloc(a, m->n + 1, sizeof *c->hpos);
    return c->pos && (c->hpos || !c->hist) ? 0 : OSP_ENOMEM;
}

size_t osp__pq_gather(osp__pq_cursor *c, int64_t ts, uint32_t *sidx, double *v)
{
    size_t k = 0;
    for (size_t i = 0; i < c->m->n; i++) {
        const osp_series *s = &c->m->s[i];
        size_t p = c->pos[i];
        if (p < s->nsamples && s->samples[p].t_ms == ts) {
            sidx[k] = (uint32_t)i;
            v[k++] = s->samples[p].v;
            c->pos[i] = p + 1;
        }
    }
    return k;
}

size_t osp__pq_hgather(osp__pq_cursor *c, int64_t ts, uint32_t *sidx, const osp_histogram **h)
{
    size_t k = 0;
    for (size_t i = 0; c->hist && i < c->m->n; i++) {
        const osp_series *s = &c->m->s[i];
        size_t p = c->hpos[i];
        if (p < s->nhsamples && s->hsamples[p].t_ms == ts) {
            sidx[k] = (uint32_t)i;
            h[k++] = s->hsamples[p].h;
            c->hpos[i] = p + 1;
        }
    }
    return k;
}

double osp__pq_scalar_at(osp__pq_cursor *c, int64_t ts)
{
    uint32_t i;
    double v;
    if (c->m->n == 1 && osp__pq_gather(c, ts, &i, &v) == 1)
        return v;
    return NAN;
}
