/* Log store queries: scan and newest-first select over the buffers and the parts, and the
 * stream catalogue (streams, their labels, label names and values) from the stream
 * index. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "model/logstream.h"
#include "store/logs/logstore_int.h"
#include "store/logs/logtoken.h"

#define DEFAULT_SELECT_LIMIT 100
#define KEYS_PER_NEEDLE 64

/* A query made ready: its streams, the bloom keys of its needles, the time window rows
 * must fall in (select narrows it as its result fills up). */
typedef struct qprep {
    const osp_log_query *q;
    uint64_t *ids; /* selected streams, ascending (arena) */
    size_t nids;
    uint64_t *keys; /* needle keys (arena) */
    size_t nkeys;
    uint64_t lo, hi; /* rows need lo <= time < hi (hi 0: unbounded) */
    osp_buf scratch; /* lines of non-string bodies */
    osp_arena arena;
} qprep;

/* Receives every row that passes the query. */
typedef int (*row_fn)(const osp_log_view *v, void *ctx);

static void prep_cleanup(qprep *p)
{
    osp_buf_cleanup(&p->scratch);
    osp_arena_cleanup(&p->arena);
}

static int prep(osp_logstore *s, const osp_log_query *q, qprep *p)
{
    memset(p, 0, sizeof *p);
    p->q = q;
    p->lo = q->start_ns;
    p->hi = q->end_ns;
    osp_buf_init(&p->scratch, 0);
    osp_arena_init(&p->arena, 0, 0);
    if (q->n == 0)
        return OSP_EINVAL;
    int rc = osp_series_select(s->index, q->m, q->n, &p->arena, &p->ids, &p->nids);
    if (rc)
        return rc;
    p->keys = osp_arena_alloc(&p->arena, (q->nneedles * KEYS_PER_NEEDLE + 1) * sizeof *p->keys);
    if (!p->keys)
        return OSP_ENOMEM;
    for (size_t i = 0; i < q->nneedles; i++)
        p->nkeys += osp_logtok_needle_keys(q->needles[i], p->keys + p->nkeys, KEYS_PER_NEEDLE);
    return 0;
}

static int in_window(const qprep *p, uint64_t t)
{
    return t >= p->lo && (!p->hi || t < p->hi);
}

/* A stream's line bytes in a part spread over its rows: each row gets each bytes, and
 * one more whenever acc (growing by rem a row) passes rows, so that all rows add up to
 * the bytes exactly. */
typedef struct spread {
    uint64_t each, rem, rows, acc, left;
    int ready;
} spread;

/* A part made ready for a query: the filter over its local streams. */
typedef struct part_q {
    osp__lpart *lp;
    uint8_t *streams; /* local stream k selected */
    osp_logpart_filter f;
    spread *sizes; /* scans with sizes that give no lines: per local stream */
} part_q;

static void part_q_cleanup(part_q *pq)
{
    osp_free(pq->streams);
    osp_free(pq->sizes);
}

/* The sizes of the next n rows passed on of local stream k (at most its rows left), where
 * the scan gives no line: the stream's line bytes in the part spread evenly over its rows
 * (parts that keep no sizes: the part's raw bytes per row), as n rows one at a time would
 * add up. */
static uint64_t estimate_n(part_q *pq, uint32_t k, uint64_t n)
{
    spread *s = &pq->sizes[k];
    if (!s->ready) {
        const osp_logpart_info *info = osp_logpart_get_info(pq->lp->ref.part);
        uint64_t rows, bytes;
        osp_logpart_stream_size(pq->lp->ref.part, k, &rows, &bytes);
        if (rows == 0) {
            rows = info->nrows ? info->nrows : 1;
            bytes = info->raw_bytes;
        }
        *s = (spread){
            .each = bytes / rows, .rem = bytes % rows, .rows = rows, .left = rows, .ready = 1};
    }
    if (n > s->left)
        n = s->left;
    s->left -= n;
    /* each row adds rem to acc and carries one byte when acc reaches rows (rem < rows) */
    uint64_t acc = s->acc + n * s->rem;
    s->acc = acc % s->rows;
    return n * s->each + acc / s->rows;
}

/* The size of the next row passed on of local stream k (estimate_n). */
static uint64_t estimate(part_q *pq, uint32_t k)
{
    return estimate_n(pq, k, 1);
}

/* Checks record i of b against the query and, when it passes, calls fn with its view;
 * pq and local: the part and local stream it comes from (pq NULL for a buffer's). */
static int check_row(qprep *p, const osp_log_batch *b, size_t i, uint64_t stream, part_q *pq,
                     uint32_t local, row_fn fn, void *ctx)
{
    const osp_log_query *q = p->q;
    const osp_log_record *r = &b->records[i];
    osp_log_view v = {.stream = stream, .batch = b, .index = i};
    if (!in_window(p, osp_log_time(r)) || (q->trace_id && memcmp(r->trace_id, q->trace_id, 16)) ||
        (q->span_id && memcmp(r->span_id, q->span_id, 8)))
        return 0;
    if (osp_log_line(r, &p->scratch, &v.line) != 0)
        v.line = OSP_STR_NULL; /* a body that does not render: an empty line */
    for (size_t k = 0; k < q->nneedles; k++)
        if (q->needles[k].n &&
            (!v.line.n || !memmem(v.line.p, v.line.n, q->needles[k].p, q->needles[k].n)))
            return 0;
    v.size = pq && pq->sizes && pq->f.no_body ? estimate(pq, local) : v.line.n;
    return fn(&v, ctx);
}

/* ---- Sources: buffers and part granules ---------------------------------------------- */

typedef struct mem_ctx {
    qprep *p;
    row_fn fn;
    void *ctx;
} mem_ctx;

static int mem_row(const osp_log_batch *b, size_t i, uint64_t stream, void *arg)
{
    mem_ctx *m = arg;
    return check_row(m->p, b, i, stream, NULL, 0, m->fn, m->ctx);
}

static int visit_mem(qprep *p, osp_logmem *m, row_fn fn, void *ctx)
{
    mem_ctx mc = {p, fn, ctx};
    return osp_logmem_visit(m, p->ids, p->nids, p->lo, p->hi, mem_row, &mc);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Fills pq for part lp; 0 with pq->streams NULL when the part cannot hold a match. */
static int part_prepare(const qprep *p, osp__lpart *lp, part_q *pq)
{
    const osp_logpart_info *info = osp_logpart_get_info(lp->ref.part);
    const osp_log_query *q = p->q;
    size_t hits = 0;
    memset(pq, 0, sizeof *pq);
    pq->lp = lp;
    if (info->nrows == 0 || info->max_time < p->lo || (p->hi && info->min_time >= p->hi))
        return 0;
    uint8_t *bits = osp_calloc(info->nstreams + 1, 1);
    if (!bits)
        return OSP_ENOMEM;
    for (size_t k = 0; k < info->nstreams; k++)
        hits += bits[k] = bsearch(&lp->gids[k], p->ids, p->nids, sizeof *p->ids, cmp_u64) != NULL;
    if (!hits) {
        osp_free(bits);
        return 0;
    }
    pq->streams = bits;
    if (q->sizes && (q->times_only || q->no_lines) &&
        !(pq->sizes = osp_calloc(info->nstreams + 1, sizeof *pq->sizes)))
        return OSP_ENOMEM;
    pq->f = (osp_logpart_filter){.streams = bits,
                                 .start_ns = p->lo,
                                 .end_ns = p->hi,
                                 .keys = p->keys,
                                 .nkeys = p->nkeys,
                                 .trace_id = q->trace_id,
                                 .span_id = q->span_id,
                                 .no_body = q->no_lines && !q->nneedles};
    return 0;
}

/* Reads granule g of a prepared part and passes its matching rows on. OSP_ECORRUPT when
 * the part fails (the caller quarantines it). */
static int visit_granule(qprep *p, part_q *pq, size_t g, osp_log_batch *rows, row_fn fn, void *ctx)
{
    uint32_t *local = NULL;
    size_t nlocal = 0, cap = 0;
    pq->f.start_ns = p->lo;
    pq->f.end_ns = p->hi;
    osp__log_batch_reset(rows);
    int n = osp_logpart_read_granule(pq->lp->ref.part, g, &pq->f, rows, &local, &nlocal, &cap);
    int rc = n < 0 ? n : 0;
    for (size_t i = 0; rc == 0 && i < rows->nrecords; i++)
        rc = check_row(p, rows, i, pq->lp->gids[local[i]], pq, local[i], fn, ctx);
    osp_free(local);
    return rc;
}

/* A times-only read of one granule: a view's record is the one record of a scratch batch,
 * holding its time alone. With the query's alike_until, consecutive rows of a stream with
 * times alike are held back as one view (pending), passed on when a row differs. */
typedef struct times_ctx {
    part_q *pq;
    osp_log_record rec;
    osp_log_batch one;
    osp_log_view v;
    row_fn fn;
    void *ctx;
    uint64_t (*until_of)(uint64_t t_ns, void *ctx); /* the query's alike_until */
    void *until_ctx;
    uint32_t stream; /* the pending view's local stream */
    uint64_t rows;   /* and its rows (0: none pending) */
    uint64_t until;  /* the last time alike with its time */
} times_ctx;

/* Passes the pending rows on as one view. */
static int flush_pending(times_ctx *tc)
{
    if (!tc->rows)
        return 0;
    tc->v.stream = tc->pq->lp->gids[tc->stream];
    tc->v.size = tc->pq->sizes ? estimate_n(tc->pq, tc->stream, tc->rows) : 0;
    tc->v.more = (uint32_t)(tc->rows - 1);
    tc->rows = 0;
    return tc->fn(&tc->v, tc->ctx);
}

static int time_row(uint32_t stream, uint64_t t_ns, void *arg)
{
    times_ctx *tc = arg;
    if (tc->rows && stream == tc->stream && t_ns <= tc->until) {
        tc->rows++;
        return 0;
    }
    int rc = flush_pending(tc);
    if (rc)
        return rc;
    tc->rec.time_ns = t_ns; /* within the window: the filter's time range holds it */
    tc->stream = stream;
    tc->rows = 1;
    if (tc->until_of) {
        tc->until = tc->until_of(t_ns, tc->until_ctx);
        return 0;
    }
    return flush_pending(tc);
}

/* A run of rows of one stream whose times (the granule's range) are alike. */
static int run_rows(uint32_t stream, uint32_t rows, void *arg)
{
    times_ctx *tc = arg;
    tc->stream = stream;
    tc->rows = rows;
    return flush_pending(tc);
}

static int visit_times(qprep *p, part_q *pq, size_t g, row_fn fn, void *ctx)
{
    const osp_logpart_granule *gr = osp_logpart_granule_at(pq->lp->ref.part, g);
    const osp_log_query *q = p->q;
    times_ctx tc = {
        .pq = pq, .fn = fn, .ctx = ctx, .until_of = q->alike_until, .until_ctx = q->alike_ctx};
    tc.rec = (osp_log_record){.resource = UINT32_MAX, .scope = UINT32_MAX};
    tc.one = (osp_log_batch){.records = &tc.rec, .nrecords = 1, .records_cap = 1};
    tc.v = (osp_log_view){.batch = &tc.one, .index = 0, .line = OSP_STR_NULL};
    pq->f.start_ns = p->lo;
    pq->f.end_ns = p->hi;
    if (tc.until_of && gr->min_time >= p->lo && (!p->hi || gr->max_time < p->hi) &&
        gr->max_time <= tc.until_of(gr->min_time, tc.until_ctx)) {
        tc.rec.time_ns = gr->min_time;
        return osp_logpart_read_runs(pq->lp->ref.part, g, &pq->f, run_rows, &tc);
    }
    int rc = osp_logpart_read_times(pq->lp->ref.part, g, &pq->f, time_row, &tc);
    return rc ? rc : flush_pending(&tc);
}

/* 1 when a scan of q may read parts' times alone (osp_log_query.times_only). */
static int times_only(const osp_log_query *q)
{
    return q->times_only && !q->nneedles && !q->trace_id && !q->span_id;
}

/* ---- Scan ---------------------------------------------------------------------------- */

typedef struct scan_ctx {
    osp_log_fn fn;
    void *ctx;
} scan_ctx;

static int scan_row(const osp_log_view *v, void *arg)
{
    scan_ctx *sc = arg;
    return sc->fn(v, sc->ctx);
}

/* Scans one part; a corrupt part is quarantined and the scan goes on. */
static int scan_part(osp_logstore *s, qprep *p, osp__lpart *lp, osp_log_batch *rows, scan_ctx *sc)
{
    part_q pq;
    int rc = part_prepare(p, lp, &pq);
    size_t ng = osp_logpart_get_info(lp->ref.part)->ngranules;
    for (size_t g = 0; rc == 0 && pq.streams && g < ng; g++)
        if (osp_logpart_granule_may_match(lp->ref.part, g, &pq.f))
            rc = times_only(p->q) ? visit_times(p, &pq, g, scan_row, sc)
                                  : visit_granule(p, &pq, g, rows, scan_row, sc);
    if (rc == OSP_ECORRUPT) {
        osp__logstore_quarantine(s, &lp->ref);
        rc = 0;
    }
    part_q_cleanup(&pq);
    return rc;
}

int osp_logstore_scan(osp_logstore *s, const osp_log_query *q, osp_log_fn fn, void *ctx)
{
    qprep p;
    osp__lsnap snap = {0};
    osp_log_batch rows;
    scan_ctx sc = {fn, ctx};
    osp_log_batch_init(&rows);
    int rc = prep(s, q, &p);
    if (rc == 0 && p.nids)
        rc = osp__logstore_snapshot(s, &snap);
    for (size_t i = 0; rc == 0 && i < snap.nmem; i++)
        rc = visit_mem(&p, snap.mem[i], scan_row, &sc);
    for (size_t i = 0; rc == 0 && i < snap.nparts; i++)
        rc = scan_part(s, &p, osp__lpart_of(snap.parts[i]), &rows, &sc);
    osp__logstore_snapshot_release(&snap);
    osp_log_batch_cleanup(&rows);
    prep_cleanup(&p);
    return rc;
}

/* ---- Select -------------------------------------------------------------------------- *
 * The best `limit` records (newest, or oldest with forward) in a bounded heap whose root
 * is the worst of them. Records are ordered by time, then stream id, line, observed time,
 * severity, attributes, trace id and span id (the same on every read of the same store);
 * a forward select is the reverse of that order. Kept records are copied into a pool
 * batch, which is compacted when evicted records pile up. */

typedef struct entry {
    uint64_t time, stream;
    osp_str line; /* in the pool's arena */
    size_t idx;   /* record in the pool */
} entry;

typedef struct selector {
    qprep *p;
    int forward;
    size_t limit;
    osp_log_keep_fn keep;
    void *keep_ctx;
    entry *heap; /* root: the worst kept record */
    size_t n;
    osp_log_batch pool;
} selector;

static int cmp_str(osp_str a, osp_str b)
{
    int c = memcmp(a.p ? a.p : "", b.p ? b.p : "", a.n < b.n ? a.n : b.n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

#define CMP_NUM(x, y)                                                                              \
    do {                                                                                           \
        if ((x) != (y))                                                                            \
            return (x) < (y) ? -1 : 1;                                                             \
    } while (0)

/* The record order (ascending: oldest first). */
static int key_cmp(uint64_t ta, uint64_t sa, osp_str la, const osp_log_record *a, uint64_t tb,
                   uint64_t sb, osp_str lb, const osp_log_record *b)
{
    int c;
    CMP_NUM(ta, tb);
    CMP_NUM(sa, sb);
    if ((c = cmp_str(la, lb)) != 0)
        return c;
    CMP_NUM(a->observed_ns, b->observed_ns);
    CMP_NUM(a->severity_number, b->severity_number);
    if ((c = cmp_str(a->attributes, b->attributes)) != 0)
        return c;
    if ((c = memcmp(a->trace_id, b->trace_id, 16)) != 0)
        return c;
    return memcmp(a->span_id, b->span_id, 8);
}

/* > 0 when entry a is better (comes earlier in the result) than entry b. */
static int better(const selector *sel, const entry *a, const entry *b)
{
    const osp_log_record *ra = &sel->pool.records[a->idx], *rb = &sel->pool.records[b->idx];
    int c = key_cmp(a->time, a->stream, a->line, ra, b->time, b->stream, b->line, rb);
    return sel->forward ? -c : c;
}

static void sift_down(selector *sel, size_t i)
{
    entry e = sel->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= sel->n)
            break;
        if (c + 1 < sel->n && better(sel, &sel->heap[c], &sel->heap[c + 1]) > 0)
            c++;
        if (better(sel, &e, &sel->heap[c]) <= 0)
            break;
        sel->heap[i] = sel->heap[c];
        i = c;
    }
    sel->heap[i] = e;
}

static void sift_up(selector *sel, size_t i)
{
    entry e = sel->heap[i];
    while (i > 0 && better(sel, &sel->heap[(i - 1) / 2], &e) > 0) {
        sel->heap[i] = sel->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sel->heap[i] = e;
}

/* Copies record i of src into dst with its line (a slice of its body, or text copied into
 * dst's arena) and fills e. */
static int pool_add(osp_log_batch *dst, const osp_log_batch *src, size_t i, osp_str line, entry *e)
{
    const osp_log_record *r = &src->records[i];
    int line_is_body = line.p == r->body.p && line.n == r->body.n;
    int rc = osp__log_copy_record(dst, src, i);
    if (rc)
        return rc;
    e->idx = dst->nrecords - 1;
    e->line = line_is_body ? dst->records[e->idx].body : osp_arena_strdup(&dst->arena, line);
    return e->line.p || !line.n ? 0 : OSP_ENOMEM;
}

/* Copies the kept records into a fresh pool once evicted ones outnumber them. */
static int pool_compact(selector *sel)
{
    osp_log_batch fresh;
    int rc = 0;
    if (sel->pool.nrecords < 4 * sel->limit + 64)
        return 0;
    osp_log_batch_init(&fresh);
    for (size_t i = 0; i < sel->n && rc == 0; i++) {
        entry *e = &sel->heap[i];
        rc = pool_add(&fresh, &sel->pool, e->idx, e->line, e);
    }
    if (rc) {
        osp_log_batch_cleanup(&fresh);
        return rc;
    }
    osp_log_batch_cleanup(&sel->pool);
    sel->pool = fresh;
    return 0;
}

/* Narrows the query window once the heap is full: rows past its worst cannot enter. */
static void narrow_window(selector *sel)
{
    qprep *p = sel->p;
    if (sel->n < sel->limit)
        return;
    uint64_t worst = sel->heap[0].time;
    if (!sel->forward && worst > p->lo)
        p->lo = worst;
    if (sel->forward && worst < UINT64_MAX && (!p->hi || worst + 1 < p->hi))
        p->hi = worst + 1;
}

static int offer(const osp_log_view *v, void *arg)
{
    selector *sel = arg;
    const osp_log_record *r = &v->batch->records[v->index];
    uint64_t t = osp_log_time(r);
    if (sel->n == sel->limit) {
        const entry *w = &sel->heap[0];
        int c = key_cmp(t, v->stream, v->line, r, w->time, w->stream, w->line,
                        &sel->pool.records[w->idx]);
        if ((sel->forward ? -c : c) <= 0)
            return 0;
    }
    int rc = sel->keep ? sel->keep(v, sel->keep_ctx) : 1;
    if (rc <= 0)
        return rc;
    entry e = {.time = t, .stream = v->stream};
    if ((rc = pool_add(&sel->pool, v->batch, v->index, v->line, &e)) != 0)
        return rc;
    if (sel->n == sel->limit) {
        sel->heap[0] = e;
        sift_down(sel, 0);
    } else {
        sel->heap[sel->n++] = e;
        sift_up(sel, sel->n - 1);
    }
    narrow_window(sel);
    return pool_compact(sel);
}

/* A place select reads from: a buffer (part NULL) or one granule of a part. */
typedef struct source {
    osp_logmem *mem;
    part_q *part;
    size_t g;
    uint64_t min_time, max_time;
} source;

static int cmp_newest_first(const void *a, const void *b)
{
    const source *x = a, *y = b;
    return (x->max_time < y->max_time) - (x->max_time > y->max_time);
}

static int cmp_oldest_first(const void *a, const void *b)
{
    const source *x = a, *y = b;
    return (x->min_time > y->min_time) - (x->min_time < y->min_time);
}

/* Lists the buffers and the granules that may hold matches. */
static int list_sources(qprep *p, osp__lsnap *snap, part_q *pqs, source **out, size_t *nout)
{
    source *a = NULL, *src;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i < snap->nmem && rc == 0; i++) {
        if (!(src = osp_array_push((void **)&a, &n, &cap, sizeof *a)))
            rc = OSP_ENOMEM;
        else {
            src->mem = snap->mem[i];
            osp_logmem_time_range(snap->mem[i], &src->min_time, &src->max_time);
        }
    }
    for (size_t i = 0; i < snap->nparts && rc == 0; i++) {
        part_q *pq = &pqs[i];
        if ((rc = part_prepare(p, osp__lpart_of(snap->parts[i]), pq)) != 0 || !pq->streams)
            continue;
        size_t ng = osp_logpart_get_info(pq->lp->ref.part)->ngranules;
        for (size_t g = 0; g < ng && rc == 0; g++) {
            if (!osp_logpart_granule_may_match(pq->lp->ref.part, g, &pq->f))
                continue;
            const osp_logpart_granule *gr = osp_logpart_granule_at(pq->lp->ref.part, g);
            if (!(src = osp_array_push((void **)&a, &n, &cap, sizeof *a)))
                rc = OSP_ENOMEM;
            else
                *src = (source){NULL, pq, g, gr->min_time, gr->max_time};
        }
    }
    *out = a;
    *nout = n;
    return rc;
}

/* 1 when no record of src can enter a full heap. */
static int cannot_beat(const selector *sel, const source *src)
{
    if (sel->n < sel->limit)
        return 0;
    uint64_t worst = sel->heap[0].time;
    return sel->forward ? src->min_time > worst : src->max_time < worst;
}

/* Visits the sources in order until the rest cannot change the result. */
static int run_select(osp_logstore *s, selector *sel, osp__lsnap *snap, part_q *pqs)
{
    source *src = NULL;
    size_t n = 0;
    osp_log_batch rows;
    osp_log_batch_init(&rows);
    int rc = list_sources(sel->p, snap, pqs, &src, &n);
    if (rc == 0 && n)
        qsort(src, n, sizeof *src, sel->forward ? cmp_oldest_first : cmp_newest_first);
    for (size_t i = 0; i < n && rc == 0 && !cannot_beat(sel, &src[i]); i++) {
        if (src[i].mem) {
            rc = visit_mem(sel->p, src[i].mem, offer, sel);
            continue;
        }
        osp__lpart *lp = src[i].part->lp;
        if (atomic_load(&lp->ref.fate) == OSP_PARTREF_QUARANTINED)
            continue;
        rc = visit_granule(sel->p, src[i].part, src[i].g, &rows, offer, sel);
        if (rc == OSP_ECORRUPT) {
            osp__logstore_quarantine(s, &lp->ref);
            rc = 0;
        }
    }
    osp_log_batch_cleanup(&rows);
    osp_free(src);
    return rc;
}

static int cmp_entries(const void *a, const void *b, void *ctx)
{
    return -better(ctx, a, b);
}

/* Appends the kept records to out, best first, and their streams to *streams. */
static int emit(selector *sel, osp_log_batch *out, uint64_t **streams)
{
    int rc = 0;
    if (sel->n)
        qsort_r(sel->heap, sel->n, sizeof *sel->heap, cmp_entries, sel);
    uint64_t *ids = osp_arena_alloc(&out->arena, (sel->n + 1) * sizeof *ids);
    if (!ids)
        return OSP_ENOMEM;
    for (size_t i = 0; i < sel->n && rc == 0; i++) {
        ids[i] = sel->heap[i].stream;
        rc = osp__log_copy_record(out, &sel->pool, sel->heap[i].idx);
    }
    if (rc == 0)
        *streams = ids;
    return rc;
}

int osp_logstore_select(osp_logstore *s, const osp_log_query *q, osp_log_keep_fn keep, void *ctx,
                        osp_log_batch *out, uint64_t **streams)
{
    qprep p;
    osp__lsnap snap = {0};
    part_q *pqs = NULL;
    selector sel = {.p = &p, .forward = q->forward, .keep = keep, .keep_ctx = ctx};
    sel.limit = q->limit ? q->limit : DEFAULT_SELECT_LIMIT;
    osp_log_batch_init(&sel.pool);
    int rc = prep(s, q, &p);
    if (rc == 0 && !(sel.heap = osp_malloc(sel.limit * sizeof *sel.heap)))
        rc = OSP_ENOMEM;
    if (rc == 0 && p.nids && (rc = osp__logstore_snapshot(s, &snap)) == 0 &&
        !(pqs = osp_calloc(snap.nparts + 1, sizeof *pqs)))
        rc = OSP_ENOMEM;
    if (rc == 0 && p.nids)
        rc = run_select(s, &sel, &snap, pqs);
    if (rc == 0)
        rc = emit(&sel, out, streams);
    for (size_t i = 0; pqs && i < snap.nparts; i++)
        part_q_cleanup(&pqs[i]);
    osp_free(pqs);
    osp__logstore_snapshot_release(&snap);
    osp_log_batch_cleanup(&sel.pool);
    osp_free(sel.heap);
    prep_cleanup(&p);
    return rc;
}

/* ---- Streams and labels -------------------------------------------------------------- */

int osp_logstore_streams(osp_logstore *s, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                         uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids)
{
    uint64_t *all = NULL;
    size_t nall = 0, k = 0;
    int rc = 0;
    if (n)
        rc = osp_series_select(s->index, m, n, arena, &all, &nall);
    pthread_mutex_lock(&s->times_mu);
    if (rc == 0 && !n) {
        nall = s->ntimes;
        if ((all = osp_arena_alloc(arena, (nall + 1) * sizeof *all)) == NULL)
            rc = OSP_ENOMEM;
        for (size_t i = 0; i < nall && all; i++)
            all[i] = i;
    }
    for (size_t i = 0; i < nall && rc == 0; i++) {
        const osp__stream_time *t = all[i] < s->ntimes ? &s->times[all[i]] : NULL;
        if (t && t->min_time <= t->max_time && t->max_time >= start_ns &&
            (!end_ns || t->min_time < end_ns))
            all[k++] = all[i];
    }
    pthread_mutex_unlock(&s->times_mu);
    if (rc == 0) {
        *ids = all;
        *nids = k;
    }
    return rc;
}

int osp_logstore_stream_labels(osp_logstore *s, uint64_t stream, osp_arena *arena,
                               osp_label **labels, size_t *n)
{
    osp_label *in;
    int rc = osp_series_labels(s->index, stream, arena, &in, n);
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        in[i].name = osp_arena_strdup(arena, in[i].name);
        in[i].value = osp_arena_strdup(arena, in[i].value);
        if (!in[i].name.p || !in[i].value.p)
            rc = OSP_ENOMEM;
    }
    if (rc == 0)
        *labels = in;
    return rc;
}

static int cmp_osp_str(const void *a, const void *b)
{
    return cmp_str(*(const osp_str *)a, *(const osp_str *)b);
}

/* Names (name NULL) or the values of label *name over the selected streams: sorted,
 * unique, copied into arena. */
static int collect_labels(osp_logstore *s, const osp_str *name, const osp_label_matcher *m,
                          size_t n, uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                          osp_str **out, size_t *nout)
{
    osp_arena tmp;
    uint64_t *ids;
    size_t nids, k = 0, cnt = 0, cap = 0;
    osp_str *v = NULL, *slot;
    osp_arena_init(&tmp, 0, 0);
    int rc = osp_logstore_streams(s, m, n, start_ns, end_ns, &tmp, &ids, &nids);
    for (size_t i = 0; i < nids && rc == 0; i++) {
        osp_label *l;
        size_t nl;
        rc = osp_series_labels(s->index, ids[i], &tmp, &l, &nl);
        if (rc == OSP_ENOTFOUND) { /* swept since it was listed: it has no records left */
            rc = 0;
            continue;
        }
        for (size_t j = 0; j < nl && rc == 0; j++) {
            if (name && !osp_str_eq(l[j].name, *name))
                continue;
            if (!(slot = osp_array_push((void **)&v, &cnt, &cap, sizeof *v)))
                rc = OSP_ENOMEM;
            else
                *slot = name ? l[j].value : l[j].name;
        }
    }
    if (rc == 0 && cnt)
        qsort(v, cnt, sizeof *v, cmp_osp_str);
    osp_str *res = rc ? NULL : osp_arena_alloc(arena, (cnt + 1) * sizeof *res);
    if (rc == 0 && !res)
        rc = OSP_ENOMEM;
    for (size_t i = 0; i < cnt && rc == 0; i++) {
        if (k && osp_str_eq(res[k - 1], v[i]))
            continue;
        res[k] = osp_arena_strdup(arena, v[i]);
        rc = res[k++].p ? 0 : OSP_ENOMEM;
    }
    if (rc == 0) {
        *out = res;
        *nout = k;
    }
    osp_free(v);
    osp_arena_cleanup(&tmp);
    return rc;
}

int osp_logstore_label_names(osp_logstore *s, const osp_label_matcher *m, size_t n,
                             uint64_t start_ns, uint64_t end_ns, osp_arena *arena, osp_str **names,
                             size_t *nnames)
{
    return collect_labels(s, NULL, m, n, start_ns, end_ns, arena, names, nnames);
}

int osp_logstore_label_values(osp_logstore *s, osp_str name, const osp_label_matcher *m, size_t n,
                              uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                              osp_str **values, size_t *nvalues)
{
    return collect_labels(s, &name, m, n, start_ns, end_ns, arena, values, nvalues);
}
