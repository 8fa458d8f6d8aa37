/* The part set: a mutex-guarded list of refcounted open parts, with adds, reads across
 * parts, tiered merges, retention and quarantine. Layout on disk: format.h. */
#include "store/embedded/parts.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/intern.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/pb.h"
#include "store/embedded/format.h"
#include "store/embedded/part.h"
#include "store/partdir.h"
#include "store/partlist.h"

#define MOD "parts"

/* Merge policy (store/partlist.h; not part of the format): tiers of 64 Ki rows times 8;
 * 8 parts of a tier in a partition merge, up to 16 parts and 1 Mi rows. A merged part holds
 * at most that many rows, so parts stay local in time and a newest-first search can stop
 * early; parts past half of it are left alone (README.md, "Merges"). */
static const osp_merge_policy merge_policy = {
    .base_rows = 65536, .fanin = 8, .min_parts = 8, .max_parts = 16, .max_rows = 1ull << 20};
#define MERGES_PER_ROUND 64 /* bounds one osp_parts_maintain call */

struct osp_parts {
    char *dir, *qdir;
    uint64_t retention_ns;
    pthread_mutex_t lock; /* the list, next_seq; creating and removing day dirs */
    osp_partlist list;    /* its max_lsn: the highest WAL position in parts */
    uint64_t next_seq;
    pthread_mutex_t maintain_lock; /* one maintenance round at a time */
    int merge_wait;                /* osp_parts_merges_behind's last answer, under lock */
    atomic_uint_fast64_t merges, quarantined;
};

/* A reader's view: the parts live when it was taken, each with a reference. */
typedef struct snapshot {
    osp_partref **a;
    size_t n;
} snapshot;

static osp_metric *m_parts, *m_bytes, *m_merges, *m_quarantined;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
    m_parts = osp_gauge("osprey_parts", "Trace parts currently served.", "");
    m_bytes = osp_gauge("osprey_part_bytes", "Bytes on disk of the trace parts served.", "");
    m_merges = osp_counter("osprey_merges_total", "Trace part merges completed.", "");
    m_quarantined = osp_counter("osprey_parts_quarantined_total",
                                "Trace parts moved to quarantine after failing verification.", "");
}

/* ---- References and the list ------------------------------------------------------------ */

static void part_close(osp_partref *r)
{
    osp_part_close(r->part);
}

static const osp_partref_type part_type = {
    .size = sizeof(osp_partref), .close = part_close, .log_module = MOD};

/* Wraps an open part in a reference (count 1, owned by the caller); takes part and path
 * on success. */
static int ref_create(osp_part *part, char *path, uint32_t day, uint64_t seq, osp_partref **out)
{
    const osp_part_info *pi = osp_part_get_info(part);
    osp_partref_info info = {.day = day,
                             .seq = seq,
                             .rows = pi->nrows,
                             .min_time = pi->min_start,
                             .max_time = pi->max_start,
                             .bytes = pi->bytes,
                             .wal_lsn = pi->wal_lsn,
                             .replaces = pi->replaces,
                             .nreplaces = pi->nreplaces};
    return osp_partref_create(&part_type, part, path, &info, out);
}

static int snapshot_take(osp_parts *ps, snapshot *s)
{
    pthread_mutex_lock(&ps->lock);
    int rc = osp_partlist_snapshot(&ps->list, &s->a, &s->n);
    pthread_mutex_unlock(&ps->lock);
    return rc;
}

static void snapshot_release(snapshot *s)
{
    osp_partlist_snapshot_release(s->a, s->n);
    s->a = NULL;
}

static void count_quarantined(osp_parts *ps)
{
    atomic_fetch_add(&ps->quarantined, 1);
    osp_counter_inc(m_quarantined);
}

/* Moves a part file into the quarantine directory as <day>-<name>. */
static void quarantine_file(osp_parts *ps, const char *path, uint32_t day)
{
    osp_partdir_quarantine(path, ps->qdir, day, "part", MOD);
    count_quarantined(ps);
}

/* Takes a part that failed a read out of service and into quarantine; the reads that
 * hold it finish with their own references. */
static void quarantine_ref(osp_parts *ps, osp_partref *r)
{
    if (osp_partlist_quarantine(&ps->list, &ps->lock, r, ps->qdir, "part"))
        count_quarantined(ps);
}

/* ---- Open and close --------------------------------------------------------------------- */

/* Opens one part file into the list, or quarantines it when it fails verification.
 * Takes path. */
static int open_one(void *ctx, char *path, uint32_t day, uint64_t seq)
{
    osp_parts *ps = ctx;
    osp_part *part = NULL;
    osp_partref *r = NULL;
    int rc = osp_part_open(path, &part);
    if (seq >= ps->next_seq)
        ps->next_seq = seq + 1;
    if (rc == OSP_ECORRUPT) {
        quarantine_file(ps, path, day);
        rc = 0;
    }
    if (part && (rc = osp_partlist_reserve(&ps->list, 1)) == 0 &&
        (rc = ref_create(part, path, day, seq, &r)) == 0) {
        osp_partlist_push(&ps->list, r); /* room was reserved */
        return 0;
    }
    osp_part_close(part);
    osp_free(path);
    return rc;
}

int osp_parts_open(const osp_parts_options *opt, osp_parts **out)
{
    int rc = OSP_ENOMEM;
    pthread_once(&metrics_once, metrics_init);
    osp_parts *ps = osp_calloc(1, sizeof *ps);
    if (!ps)
        return OSP_ENOMEM;
    pthread_mutex_init(&ps->lock, NULL);
    pthread_mutex_init(&ps->maintain_lock, NULL);
    osp_partlist_init(&ps->list, m_parts, m_bytes);
    ps->retention_ns = opt->retention_ns;
    ps->next_seq = 1;
    ps->dir = osp_strdup(opt->dir);
    ps->qdir = osp_path_join(opt->dir, OSP_PART_QUARANTINE_DIR);
    if (!ps->dir || !ps->qdir)
        goto out;
    if ((rc = osp_partdir_make_dir(ps->dir, MOD)) || (rc = osp_partdir_make_dir(ps->qdir, MOD)))
        goto out;
    rc = osp_partdir_scan(ps->dir, NULL, "part file", MOD, open_one, ps);
    if (rc == 0)
        osp_partlist_drop_replaced(&ps->list, &ps->next_seq);
out:
    if (rc)
        osp_parts_close(ps);
    else
        *out = ps;
    return rc;
}

void osp_parts_close(osp_parts *ps)
{
    if (!ps)
        return;
    osp_partlist_cleanup(&ps->list);
    pthread_mutex_destroy(&ps->lock);
    pthread_mutex_destroy(&ps->maintain_lock);
    osp_free(ps->dir);
    osp_free(ps->qdir);
    osp_free(ps);
}

/* ---- Writing ---------------------------------------------------------------------------- */

/* A part being written: its writer, paths and identity. */
typedef struct pending {
    osp_part_writer *w;
    char *tmp, *path;
    uint32_t day;
    uint64_t seq;
} pending;

static void pending_cleanup(pending *p)
{
    if (p->w)
        osp_part_writer_abort(p->w); /* removes the temporary file */
    else if (p->tmp)
        unlink(p->tmp); /* finished but maybe not published (ENOENT once renamed) */
    osp_free(p->tmp);
    osp_free(p->path);
    memset(p, 0, sizeof *p);
}

/* Allocates a seq, creates the day directory and starts a writer for it. */
static int pending_start(osp_parts *ps, pending *p, uint32_t day,
                         const osp_part_writer_options *opt)
{
    int rc;
    memset(p, 0, sizeof *p);
    p->day = day;
    pthread_mutex_lock(&ps->lock); /* against a retention round removing the directory */
    p->seq = ps->next_seq++;
    if ((rc = osp_partdir_new_part(ps->dir, day, p->seq, &p->tmp, &p->path, MOD)) == 0)
        rc = osp_part_writer_create(p->tmp, opt, &p->w);
    pthread_mutex_unlock(&ps->lock);
    return rc;
}

static int pending_finish(pending *p)
{
    uint64_t bytes;
    osp_part_writer *w = p->w;
    p->w = NULL;
    return osp_part_writer_finish(w, &bytes);
}

/* Renames a finished part into place and opens it as a new reference. On failure no
 * file is left at the final path. */
static int publish_one(pending *p, osp_partref **out)
{
    osp_part *part = NULL;
    int rc = osp_part_publish(p->tmp, p->path);
    if (rc == 0 && (rc = osp_part_open(p->path, &part)) == 0 &&
        (rc = ref_create(part, p->path, p->day, p->seq, out)) == 0) {
        p->path = NULL; /* the reference owns it */
        return 0;
    }
    osp_part_close(part);
    unlink(p->path);
    return rc;
}

/* Publishes finished parts and puts them in the list: all of them, or on failure none
 * (their files removed, so that a retry of the add does not store the rows twice). */
static int publish_all(osp_parts *ps, pending *p, size_t n)
{
    osp_partref **refs = osp_calloc(n + 1, sizeof *refs);
    int rc = refs ? 0 : OSP_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = publish_one(&p[i], &refs[i]);
    pthread_mutex_lock(&ps->lock);
    if (rc == 0)
        rc = osp_partlist_reserve(&ps->list, n);
    for (size_t i = 0; i < n && refs; i++) {
        if (rc == 0)
            osp_partlist_push(&ps->list, refs[i]); /* room was reserved */
        else if (refs[i])
            osp_partref_discard(refs[i]);
    }
    pthread_mutex_unlock(&ps->lock);
    osp_free(refs);
    return rc;
}

static uint32_t day_of(uint64_t start_ns)
{
    return (uint32_t)(start_ns / OSP_PART_NS_PER_DAY);
}

static int cmp_day_row(const void *a, const void *b, void *ctx)
{
    const osp_span_batch *batch = ctx;
    const osp_span *x = &batch->spans[*(const size_t *)a], *y = &batch->spans[*(const size_t *)b];
    uint32_t dx = day_of(x->start_ns), dy = day_of(y->start_ns);
    if (dx != dy)
        return dx < dy ? -1 : 1;
    return osp_part_row_cmp(x, y);
}

/* 1 when row order[i] of b repeats an earlier row of its key run exactly. */
static int repeats_earlier(const osp_span_batch *b, const size_t *order, size_t i)
{
    const osp_span *sp = &b->spans[order[i]];
    for (size_t j = i; j-- > 0 && osp_part_row_cmp(&b->spans[order[j]], sp) == 0;)
        if (osp_span_equal(b, order[j], b, order[i]))
            return 1;
    return 0;
}

int osp_parts_add(osp_parts *ps, const osp_span_batch *rows, uint64_t wal_lsn)
{
    size_t n = rows->nspans, nparts = 0;
    size_t *order = osp_malloc((n + 1) * sizeof *order);
    pending *parts = osp_calloc(n + 1, sizeof *parts);
    /* Only the last day's part records wal_lsn; the others the position parts already
     * covered. Parts are published in day order, so a crash between two renames makes the
     * next open replay the whole batch from the WAL (the published rows come back as
     * exact duplicates, which reads and merges drop) rather than skip the unpublished. */
    pthread_mutex_lock(&ps->lock);
    osp_part_writer_options opt = {.wal_lsn = ps->list.max_lsn};
    pthread_mutex_unlock(&ps->lock);
    int rc = order && parts ? 0 : OSP_ENOMEM;
    for (size_t i = 0; i < n && order; i++)
        order[i] = i;
    if (rc == 0)
        qsort_r(order, n, sizeof *order, cmp_day_row, (void *)rows);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const osp_span *sp = &rows->spans[order[i]];
        if (i == 0 || day_of(sp->start_ns) != day_of(rows->spans[order[i - 1]].start_ns)) {
            if (day_of(sp->start_ns) == day_of(rows->spans[order[n - 1]].start_ns))
                opt.wal_lsn = wal_lsn;
            if (nparts && (rc = pending_finish(&parts[nparts - 1])))
                break;
            if ((rc = pending_start(ps, &parts[nparts++], day_of(sp->start_ns), &opt)))
                break;
        } else if (repeats_earlier(rows, order, i)) {
            continue;
        }
        rc = osp_part_writer_add(parts[nparts - 1].w, rows, order[i]);
    }
    if (rc == 0 && nparts)
        rc = pending_finish(&parts[nparts - 1]);
    if (rc == 0)
        rc = publish_all(ps, parts, nparts);
    if (rc == 0) {
        pthread_mutex_lock(&ps->lock);
        if (wal_lsn > ps->list.max_lsn)
            ps->list.max_lsn = wal_lsn;
        pthread_mutex_unlock(&ps->lock);
    }
    for (size_t i = 0; i < nparts; i++)
        pending_cleanup(&parts[i]);
    osp_free(parts);
    osp_free(order);
    return rc;
}

uint64_t osp_parts_max_lsn(osp_parts *ps)
{
    pthread_mutex_lock(&ps->lock);
    uint64_t lsn = ps->list.max_lsn;
    pthread_mutex_unlock(&ps->lock);
    return lsn;
}

/* ---- Reading ---------------------------------------------------------------------------- */

static int cmp_rows_of(const void *a, const void *b, void *ctx)
{
    const osp_span_batch *batch = ctx;
    return osp_part_row_cmp(&batch->spans[*(const size_t *)a], &batch->spans[*(const size_t *)b]);
}

/* Removes exact duplicates among out's rows from index `from` on (a span can sit in two
 * parts until they are merged), keeping the first of each and the order. */
static int drop_duplicates(osp_span_batch *out, size_t from)
{
    size_t n = out->nspans - from, k = from;
    size_t *idx = osp_malloc((n + 1) * sizeof *idx);
    uint8_t *dup = osp_calloc(n + 1, 1);
    int rc = idx && dup ? 0 : OSP_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        idx[i] = from + i;
    if (rc == 0)
        qsort_r(idx, n, sizeof *idx, cmp_rows_of, out);
    for (size_t i = 1; i < n && rc == 0; i++)
        for (size_t j = i;
             j-- > 0 && osp_part_row_cmp(&out->spans[idx[j]], &out->spans[idx[i]]) == 0;)
            if (!dup[idx[j] - from] && osp_span_equal(out, idx[j], out, idx[i])) {
                dup[idx[i] > idx[j] ? idx[i] - from : idx[j] - from] = 1;
                break;
            }
    for (size_t i = from; i < out->nspans && rc == 0; i++)
        if (!dup[i - from])
            out->spans[k++] = out->spans[i];
    if (rc == 0)
        out->nspans = k;
    osp_free(idx);
    osp_free(dup);
    return rc;
}

int osp_parts_get_trace(osp_parts *ps, const uint8_t trace_id[16], unsigned flags,
                        osp_span_batch *out)
{
    snapshot s;
    size_t before = out->nspans;
    uint8_t id[16]; /* trace_id may point into out, which grows */
    int rc = snapshot_take(ps, &s);
    memcpy(id, trace_id, sizeof id);
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        if (!osp_part_may_contain(s.a[i]->part, id))
            continue;
        int n = osp_part_get_trace(s.a[i]->part, id, flags, out);
        if (n == OSP_ECORRUPT)
            quarantine_ref(ps, s.a[i]);
        else if (n < 0)
            rc = n;
    }
    snapshot_release(&s);
    if (rc == 0 && out->nspans - before > 1)
        rc = drop_duplicates(out, before);
    return rc ? rc : (int)(out->nspans - before);
}

/* Orders parts by their newest span, newest first. */
static int cmp_newest_first(const void *a, const void *b)
{
    uint64_t x = (*(osp_partref *const *)a)->info.max_time;
    uint64_t y = (*(osp_partref *const *)b)->info.max_time;
    return (x < y) - (x > y);
}

int osp_parts_search(osp_parts *ps, const osp_trace_query *q, osp_hit_fn fn, osp_floor_fn floor,
                     void *ctx)
{
    snapshot s;
    int rc = snapshot_take(ps, &s);
    if (rc == 0)
        qsort(s.a, s.n, sizeof *s.a, cmp_newest_first);
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        if (floor && s.a[i]->info.max_time < floor(ctx))
            break; /* this part and all older ones can no longer change the result */
        rc = osp_part_search(s.a[i]->part, q, fn, floor, ctx);
        if (rc == OSP_ECORRUPT) {
            quarantine_ref(ps, s.a[i]);
            rc = 0;
        }
    }
    snapshot_release(&s);
    return rc;
}

/* De-duplicates catalogue entries across parts before passing them on. */
typedef struct catalogue_ctx {
    osp_intern seen;
    osp_buf key;
    osp_catalogue_fn fn;
    void *ctx;
    int rc;
} catalogue_ctx;

static void catalogue_one(osp_str service, osp_str name, int32_t kind, void *arg)
{
    catalogue_ctx *c = arg;
    uint32_t before = c->seen.n, id;
    int rc;
    osp_buf_reset(&c->key);
    rc = osp_pb_put_str(&c->key, 1, service);
    if (rc == 0)
        rc = osp_pb_put_str(&c->key, 2, name);
    if (rc == 0)
        rc = osp_pb_put_uint(&c->key, 3, (uint32_t)kind);
    if (rc == 0)
        rc = osp_intern_add(&c->seen, osp_buf_str(&c->key), &id);
    if (rc)
        c->rc = rc;
    else if (c->seen.n > before)
        c->fn(service, name, kind, c->ctx);
}

int osp_parts_catalogue(osp_parts *ps, osp_catalogue_fn fn, void *ctx)
{
    snapshot s;
    catalogue_ctx c = {.fn = fn, .ctx = ctx};
    int rc = snapshot_take(ps, &s);
    osp_intern_init(&c.seen, 1);
    osp_buf_init(&c.key, 0);
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        if (osp_part_catalogue(s.a[i]->part, catalogue_one, &c) == OSP_ECORRUPT)
            quarantine_ref(ps, s.a[i]);
        rc = c.rc;
    }
    snapshot_release(&s);
    osp_intern_cleanup(&c.seen);
    osp_buf_cleanup(&c.key);
    return rc;
}

/* ---- Maintenance ------------------------------------------------------------------------ */

/* Publishes a merged part and swaps it in for its inputs in one step under the lock; the
 * inputs are unlinked once their last reader lets go. (After a crash in between, the
 * merged part's replaces list removes the inputs on the next open.) */
static int publish_merged(osp_parts *ps, pending *p, osp_partref **in, size_t k)
{
    osp_partref *r;
    int rc = publish_one(p, &r);
    if (rc == 0)
        rc = osp_partlist_replace(&ps->list, &ps->lock, r, in, k);
    if (rc == 0) {
        atomic_fetch_add(&ps->merges, 1);
        osp_counter_inc(m_merges);
    }
    return rc;
}

/* 1 when some input other than `best` is at a row with this key. */
static int key_shared(osp_part_cursor **cur, size_t k, size_t best, const osp_span *key)
{
    for (size_t i = 0; i < k; i++) {
        const osp_span *ki = osp_part_cursor_key(cur[i]);
        if (i != best && ki && osp_part_row_cmp(ki, key) == 0)
            return 1;
    }
    return 0;
}

/* Writes the next row of a merge. Rows are copied as encoded unless another input holds a
 * row with the same key: those are read as canonical rows into `group` and written only
 * when no row of the group equals them. */
static int merge_row(osp_part_cursor **cur, size_t k, size_t best, osp_span_batch *group,
                     osp_part_writer *w)
{
    const osp_span *key = osp_part_cursor_key(cur[best]);
    int in_group = group->nspans && osp_part_row_cmp(&group->spans[0], key) == 0;
    if (!in_group && group->nspans)
        osp_span_batch_reset(group);
    if (!in_group && !key_shared(cur, k, best, key))
        return osp_part_cursor_copy(cur[best], w);
    size_t n = group->nspans;
    int rc = osp_part_cursor_read(cur[best], group);
    for (size_t j = 0; j < n && rc == 0; j++)
        if (osp_span_equal(group, j, group, n)) {
            group->nspans = n; /* an exact duplicate */
            return 0;
        }
    return rc ? rc : osp_part_writer_add(w, group, n);
}

/* Merges k parts of one partition into a new part that replaces them. A corrupt input is
 * quarantined and the merge abandoned. */
static int merge(osp_parts *ps, osp_partref **refs, size_t k)
{
    osp_part_cursor **cur = osp_calloc(k, sizeof *cur);
    uint64_t *seqs = osp_calloc(k, sizeof *seqs), lsn = 0;
    osp_span_batch group;
    size_t bad = k;
    pending p = {0};
    int rc = cur && seqs ? 0 : OSP_ENOMEM;
    osp_span_batch_init(&group);
    for (size_t i = 0; i < k && rc == 0; i++) {
        seqs[i] = refs[i]->info.seq;
        lsn = refs[i]->info.wal_lsn > lsn ? refs[i]->info.wal_lsn : lsn;
        if ((rc = osp_part_cursor_open(refs[i]->part, &cur[i])) != 0)
            bad = i;
    }
    osp_part_writer_options opt = {
        .wal_lsn = lsn, .replaces = seqs, .nreplaces = k, .zstd_level = OSP_PART_ZSTD_LEVEL_MERGED};
    if (rc == 0)
        rc = pending_start(ps, &p, refs[0]->info.day, &opt);
    while (rc == 0) {
        const osp_span *key = NULL;
        size_t best = k;
        for (size_t i = 0; i < k; i++) {
            const osp_span *ki = osp_part_cursor_key(cur[i]);
            if (ki && (!key || osp_part_row_cmp(ki, key) < 0)) {
                key = ki;
                best = i;
            }
        }
        if (best == k)
            break;
        if ((rc = merge_row(cur, k, best, &group, p.w)) == OSP_ECORRUPT)
            bad = best;
    }
    if (rc == 0)
        rc = pending_finish(&p);
    if (rc == 0)
        rc = publish_merged(ps, &p, refs, k);
    if (rc == OSP_ECORRUPT && bad < k) {
        quarantine_ref(ps, refs[bad]);
        rc = 0;
    }
    pending_cleanup(&p);
    for (size_t i = 0; cur && i < k; i++)
        osp_part_cursor_close(cur[i]);
    osp_span_batch_cleanup(&group);
    osp_free(cur);
    osp_free(seqs);
    return rc;
}

int osp_parts_maintain(osp_parts *ps, uint64_t now_ns)
{
    int rc = 0;
    pthread_mutex_lock(&ps->maintain_lock);
    osp_partlist_expire(&ps->list, &ps->lock, ps->retention_ns, now_ns, "partition");
    for (int round = 0; round < MERGES_PER_ROUND && rc == 0; round++) {
        snapshot s;
        size_t k, first;
        if ((rc = snapshot_take(ps, &s)) == 0 &&
            (k = osp_partlist_pick_merge(&merge_policy, s.a, s.n, &first)) > 0)
            rc = merge(ps, &s.a[first], k);
        else
            round = MERGES_PER_ROUND;
        snapshot_release(&s);
    }
    osp_partdir_remove_empty_days(ps->dir, &ps->lock, osp_partlist_day_used, &ps->list, MOD);
    pthread_mutex_unlock(&ps->maintain_lock);
    return rc;
}

int osp_parts_merges_behind(osp_parts *ps, size_t max)
{
    pthread_mutex_lock(&ps->lock);
    int behind = osp_partlist_merges_behind(&merge_policy, &ps->list, max, &ps->merge_wait, MOD);
    pthread_mutex_unlock(&ps->lock);
    return behind;
}

void osp_parts_get_stats(osp_parts *ps, osp_parts_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&ps->lock);
    st->nparts = ps->list.n;
    for (size_t i = 0; i < ps->list.n; i++) {
        st->nspans += ps->list.a[i]->info.rows;
        st->bytes_on_disk += ps->list.a[i]->info.bytes;
    }
    pthread_mutex_unlock(&ps->lock);
    st->merges = atomic_load(&ps->merges);
    st->quarantined = atomic_load(&ps->quarantined);
}
