/* The time-series engine's core: open and close, appends into the head and the WAL, and
 * WAL replay. Reads are in tsdb_read.c, the block list in tsdb_blocks.c, flushes, merges,
 * retention and the background threads in tsdb_maint.c. Design: README.md. */
#include "store/tsdb/tsdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/cond.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "core/thread.h"
#include "model/histogram.h"
#include "store/embedded/wal.h"
#include "store/tsdb/block.h"
#include "store/tsdb/hchunk.h"
#include "store/tsdb/tsdb_int.h"

#define MOD "tsdb"
#define MIN_HEAD_BYTES ((size_t)128 << 20)
#define MAX_HEAD_BYTES ((size_t)4 << 30)
#define DEFAULT_BLOCK_MS (2 * 3600 * 1000LL)
#define BUSY_FACTOR 4  /* unflushed cap: head_bytes times this */
#define REC_APPEND 1   /* WAL record kinds: float samples only (earlier releases) */
#define REC_SESSION 2  /* written at open: series refs of earlier sessions end here */
#define REC_APPEND_H 3 /* float and histogram sample groups */

/* One entry of the replay's ref map; key 0 is a free slot. Refs are any 32-bit value, so
 * the map is a hash table: its size follows the definitions read, not the largest ref. */
typedef struct remap_slot {
    uint64_t key; /* ref + 1 */
    uint64_t id;
} remap_slot;

/* ---- label sets -------------------------------------------------------------------------- */

static int labels_valid(const osp_label *l, size_t n)
{
    if (n == 0 || n > OSP_BLOCK_MAX_LABELS)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].name.n == 0 || l[i].value.n == 0)
            return 0;
        if (i && osp_str_cmp(l[i - 1].name, l[i].name) >= 0)
            return 0;
    }
    return 1;
}

static void reject(osp_tsdb_append_report *rep, const char *what, const osp_series *s)
{
    if (rep->error[0])
        return;
    int k = snprintf(rep->error, sizeof rep->error, "%s for series ", what);
    if (k > 0 && (size_t)k < sizeof rep->error)
        osp_labels_format(rep->error + k, sizeof rep->error - (size_t)k, s->labels, s->nlabels);
}

/* ---- sample admission ---------------------------------------------------------------------- */

enum { ADMIT_STORE, ADMIT_NOOP, ADMIT_OOO, ADMIT_DUP, ADMIT_OLD };

/* Decides what happens to float sample (t, v) of series h. Caller holds its stripe lock and
 * rw. */
static int admit(osp_tsdb *db, const osp__hseries *h, int64_t t, double v, int64_t horizon,
                 int64_t window, int *in_order)
{
    uint64_t bits = osp_pb_double_bits(v), old;
    *in_order = 0;
    if (t < horizon)
        return ADMIT_OLD;
    if (h->last_t == INT64_MIN || t > h->last_t) {
        *in_order = 1;
        return ADMIT_STORE;
    }
    if (t == h->last_t)
        return !h->last_hist && bits == h->last_v ? ADMIT_NOOP : ADMIT_DUP;
    if ((uint64_t)h->last_t - (uint64_t)t > (uint64_t)window)
        return ADMIT_OOO;
    int at = osp__hdata_find(h->d[db->gen], t, &old);
    if (at == OSP__AT_NONE && db->frozen)
        at = osp__hdata_find(h->d[!db->gen], t, &old);
    if (at == OSP__AT_NONE)
        return ADMIT_STORE;
    return at == OSP__AT_FLOAT && old == bits ? ADMIT_NOOP : ADMIT_DUP;
}

static int take_hist(void *ctx, int64_t t, const osp_histogram *h)
{
    (void)t;
    *(const osp_histogram **)ctx = h;
    return 1;
}

/* Decodes into *out the histogram series id holds at t, its newest timestamp: from the head,
 * else from the newest block that has one. 1, 0 when none is found, OSP_ENOMEM. Caller holds
 * the series' stripe lock and rw. */
static int newest_hist(osp_tsdb *db, uint64_t id, const osp__hseries *h, int64_t t,
                       osp_arena *arena, osp_histogram *out)
{
    int rc = osp__hdata_hfind(h->d[db->gen], t, arena, out);
    if (rc == 0 && db->frozen)
        rc = osp__hdata_hfind(h->d[!db->gen], t, arena, out);
    for (size_t i = db->nblocks; rc == 0 && i-- > 0;) {
        const osp_histogram *got = NULL;
        int64_t j = osp__blk_find(db->blocks[i], id);
        if (j < 0)
            continue;
        rc = osp_block_series_hsamples(db->blocks[i]->b, (size_t)j, t, t, arena, take_hist, &got);
        if (rc == 1)
            *out = *got;
        else if (rc == OSP_ECORRUPT)
            osp_error(MOD, "%s: corrupt chunk", db->blocks[i]->path);
    }
    return rc == OSP_ENOMEM ? rc : rc == 1;
}

/* Decides what happens to histogram sample (t, hist) of series id: histograms are in order
 * or nothing, whatever the window; at the newest timestamp only an equal histogram is a
 * duplicate to ignore. An ADMIT_ value or OSP_ENOMEM. Caller holds the stripe lock and rw. */
static int admit_hist(osp_tsdb *db, uint64_t id, const osp__hseries *h, int64_t t,
                      const osp_histogram *hist, int64_t horizon, osp_arena *scratch)
{
    osp_histogram newest;
    if (t < horizon)
        return ADMIT_OLD;
    if (h->last_t == INT64_MIN || t > h->last_t)
        return ADMIT_STORE;
    if (t < h->last_t)
        return ADMIT_OOO;
    if (!h->last_hist)
        return ADMIT_DUP;
    int rc = newest_hist(db, id, h, t, scratch, &newest);
    if (rc < 0)
        return rc;
    return rc && osp_hist_equal(&newest, hist) ? ADMIT_NOOP : ADMIT_DUP;
}

/* Stores an admitted float sample. */
static int store(osp_tsdb *db, osp__hseries *h, int64_t t, double v, int in_order)
{
    int rc = osp__hdata_add(&h->d[db->gen], &db->g[db->gen], t, v, in_order);
    if (rc == 0 && in_order) {
        h->last_t = t;
        h->last_v = osp_pb_double_bits(v);
        h->last_hist = 0;
    }
    return rc;
}

/* Stores an admitted histogram sample given as its encoding (len bytes). */
static int store_hist(osp_tsdb *db, osp__hseries *h, int64_t t, const void *enc, size_t len)
{
    int rc = osp__hdata_hadd(&h->d[db->gen], &db->g[db->gen], t, enc, len);
    if (rc == 0) {
        h->last_t = t;
        h->last_v = 0;
        h->last_hist = 1;
    }
    return rc;
}

/* Admits and stores histogram sample (t, hist) whose encoding is enc (len bytes): an
 * ADMIT_ value, OSP_ENOMEM. */
static int put_hist(osp_tsdb *db, uint64_t id, osp__hseries *h, int64_t t,
                    const osp_histogram *hist, const void *enc, size_t len, int64_t horizon,
                    osp_arena *scratch)
{
    int a = admit_hist(db, id, h, t, hist, horizon, scratch);
    int rc = a == ADMIT_STORE ? store_hist(db, h, t, enc, len) : 0;
    return rc ? rc : a;
}

/* Whether a float sample is a stale marker for a series whose newest sample is a
 * histogram: Prometheus stores it as a stale histogram, which PromQL needs to end the
 * histogram series. */
static int stale_for_hist(const osp__hseries *h, double v)
{
    return h->last_hist && osp_is_stale_nan(v);
}

/* The stale histogram that stands for a float stale marker (as Prometheus writes it: every
 * count 0, schema 0, the stale NaN as sum). */
static osp_histogram stale_hist(void)
{
    osp_histogram sh;
    memset(&sh, 0, sizeof sh);
    sh.sum = osp_stale_nan();
    return sh;
}

/* ---- WAL records (format: README.md) ----------------------------------------------------- */

enum { KIND_FLOAT, KIND_HIST }; /* of a sample group */

typedef struct rec {
    osp_buf defs, meta, groups, tmp, enc, out;
    uint64_t ndefs, nmeta, ngroups;
    uint64_t *def_ids;
    size_t ndef_ids, def_cap;
    int kind;          /* of the group being built in tmp */
    uint64_t n;        /* its samples */
    int64_t prev;      /* its last timestamp (0 before the first) */
    osp_arena scratch; /* histograms decoded to tell duplicates */
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    osp_buf_init(&r->defs, 0);
    osp_buf_init(&r->meta, 0);
    osp_buf_init(&r->groups, 0);
    osp_buf_init(&r->tmp, 0);
    osp_buf_init(&r->enc, 0);
    osp_buf_init(&r->out, OSP_WAL_MAX_RECORD);
    osp_arena_init(&r->scratch, 0, 0);
}

static void rec_cleanup(rec *r)
{
    osp_buf_cleanup(&r->defs);
    osp_buf_cleanup(&r->meta);
    osp_buf_cleanup(&r->groups);
    osp_buf_cleanup(&r->tmp);
    osp_buf_cleanup(&r->enc);
    osp_buf_cleanup(&r->out);
    osp_free(r->def_ids);
    osp_arena_cleanup(&r->scratch);
}

static int rec_def(rec *r, uint64_t id, const osp_label *l, size_t n)
{
    int rc;
    uint64_t *slot = osp_array_push((void **)&r->def_ids, &r->ndef_ids, &r->def_cap, sizeof *slot);
    if (!slot)
        return OSP_ENOMEM;
    *slot = id;
    if ((rc = osp_pb_put_varint(&r->defs, id)) || (rc = osp_pb_put_varint(&r->defs, n)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = osp_pb_put_lenstr(&r->defs, l[i].name)) ||
            (rc = osp_pb_put_lenstr(&r->defs, l[i].value)))
            return rc;
    r->ndefs++;
    return 0;
}

/* Ends the group of series id being built, if any. */
static int rec_group_end(rec *r, uint64_t id)
{
    int rc;
    if (r->n == 0)
        return 0;
    if ((rc = osp_pb_put_varint(&r->groups, id)) ||
        (rc = osp_pb_put_varint(&r->groups, 2 * r->n + (uint64_t)r->kind)) ||
        (rc = osp_buf_append(&r->groups, r->tmp.data, r->tmp.len)))
        return rc;
    r->ngroups++;
    r->n = 0;
    r->prev = 0;
    osp_buf_reset(&r->tmp);
    return 0;
}

/* Starts a sample of kind for series id: a group holds one kind, so a change of kind ends
 * the group and the next sample starts another, keeping the order of a series' samples. */
static inline int rec_sample_start(rec *r, uint64_t id, int kind, int64_t t)
{
    int rc = r->kind != kind ? rec_group_end(r, id) : 0;
    r->kind = kind;
    if (rc == 0)
        rc = osp_pb_put_varint(&r->tmp,
                               osp_pb_zigzag_encode((int64_t)((uint64_t)t - (uint64_t)r->prev)));
    r->prev = t;
    r->n += rc == 0;
    return rc;
}

static int rec_sample(rec *r, uint64_t id, int64_t t, double v)
{
    uint8_t b[8];
    int rc = rec_sample_start(r, id, KIND_FLOAT, t);
    osp_put_le64(b, osp_pb_double_bits(v));
    return rc ? rc : osp_buf_append(&r->tmp, b, 8);
}

static int rec_hsample(rec *r, uint64_t id, int64_t t, const void *enc, size_t len)
{
    int rc = rec_sample_start(r, id, KIND_HIST, t);
    return rc ? rc : osp_pb_put_lenbytes(&r->tmp, enc, len);
}

static int rec_finish(rec *r)
{
    uint8_t kind = REC_APPEND_H;
    int rc;
    if ((rc = osp_buf_append(&r->out, &kind, 1)) || (rc = osp_pb_put_varint(&r->out, r->ndefs)) ||
        (rc = osp_buf_append(&r->out, r->defs.data, r->defs.len)) ||
        (rc = osp_pb_put_varint(&r->out, r->nmeta)) ||
        (rc = osp_buf_append(&r->out, r->meta.data, r->meta.len)) ||
        (rc = osp_pb_put_varint(&r->out, r->ngroups)) ||
        (rc = osp_buf_append(&r->out, r->groups.data, r->groups.len)))
        return rc;
    return 0;
}

/* ---- append ------------------------------------------------------------------------------- */

/* Counts a sample admission refused (at t, of series s), with the first message. */
static void tally_rejected(osp_tsdb_append_report *rep, int admitted, int64_t t,
                           const osp_series *s)
{
    switch (admitted) {
    case ADMIT_OOO:
        rep->out_of_order++;
        reject(rep, "out of order sample", s);
        break;
    case ADMIT_DUP:
        rep->duplicate++;
        if (!rep->error[0]) {
            char what[80];
            snprintf(what, sizeof what, "duplicate sample for timestamp %" PRId64, t);
            reject(rep, what, s);
        }
        break;
    default:
        rep->too_old++;
        reject(rep, "sample older than the retention period", s);
    }
}

/* Counts what admission decided for the sample at t of series s (inline: the hot path). */
static inline void tally(osp_tsdb_append_report *rep, int admitted, int64_t t, const osp_series *s)
{
    if (admitted == ADMIT_STORE || admitted == ADMIT_NOOP)
        rep->accepted++;
    else
        tally_rejected(rep, admitted, t, s);
}

/* Appends histogram sample (t, hist) of series s (id, state h): checked, admitted, stored
 * and logged in r. *stored counts it when stored. 0, OSP_ENOMEM. */
static int append_hist(osp_tsdb *db, uint64_t id, osp__hseries *h, const osp_series *s, int64_t t,
                       const osp_histogram *hist, int64_t horizon, rec *r,
                       osp_tsdb_append_report *rep, uint64_t *stored)
{
    const char *bad = osp_hist_check(hist);
    int rc;
    if (bad) {
        char what[160];
        rep->invalid++;
        snprintf(what, sizeof what, "invalid histogram (%s)", bad);
        reject(rep, what, s);
        return 0;
    }
    osp_buf_reset(&r->enc);
    if ((rc = osp_hist_encode(&r->enc, hist)) != 0)
        return rc;
    int admitted = put_hist(db, id, h, t, hist, r->enc.data, r->enc.len, horizon, &r->scratch);
    if (admitted < 0)
        return admitted;
    tally(rep, admitted, t, s);
    if (admitted != ADMIT_STORE)
        return 0;
    (*stored)++;
    return rec_hsample(r, id, t, r->enc.data, r->enc.len);
}

/* Appends the samples of s, floats then histograms (as Prometheus's remote-write handler
 * appends a series), each kind in the order given: one older than an earlier one of the
 * same series is out of order. */
static int append_series(osp_tsdb *db, const osp_series *s, uint64_t known, int64_t horizon, rec *r,
                         osp_tsdb_append_report *rep, uint64_t *found)
{
    uint64_t id = known, stored = 0, total = s->nsamples + s->nhsamples;
    int rc;
    *found = UINT64_MAX;
    if (total == 0)
        return 0;
    rc = 0;
    if (id != UINT64_MAX) {
        const osp__hseries *was = osp__head_get(&db->head, id, false);
        if (was && was->removed)
            id = UINT64_MAX; /* found before a sweep removed it: the set gets a new id */
    }
    if (id == UINT64_MAX) { /* a set found in the index is one that passed these checks */
        if (!labels_valid(s->labels, s->nlabels)) {
            rep->invalid += total;
            reject(rep, "invalid label set (names and values must be non-empty, sorted, unique)",
                   s);
            return 0;
        }
        rc = osp_series_index_get_or_create(db->idx, s->labels, s->nlabels, &id, NULL);
    }
    if (rc == OSP_ETOOBIG) {
        rep->limited += total;
        if (!rep->error[0]) {
            osp_str name =
                osp_labels_get(s->labels, s->nlabels, OSP_STR_LIT(OSP_METRIC_NAME_LABEL));
            snprintf(rep->error, sizeof rep->error,
                     "too many series for metric %.*s (limit %" PRIu64 ")", OSP_STR_FMT(name),
                     db->opt.max_series_per_metric);
        }
        return 0;
    }
    if (rc == OSP_EINVAL) {
        rep->invalid += total;
        reject(rep, "invalid label set", s);
        return 0;
    }
    if (rc)
        return rc;
    *found = id;
    osp__hseries *h = osp__head_get(&db->head, id, true);
    if (!h)
        return OSP_ENOMEM;
    pthread_mutex_t *lock = osp__head_lock(&db->head, id);
    pthread_mutex_lock(lock);
    for (size_t i = 0; i < s->nsamples && rc == 0; i++) {
        int64_t t = s->samples[i].t_ms;
        double v = s->samples[i].v;
        int in_order;
        if (stale_for_hist(h, v)) {
            osp_histogram stale = stale_hist();
            rc = append_hist(db, id, h, s, t, &stale, horizon, r, rep, &stored);
            continue;
        }
        int admitted = admit(db, h, t, v, horizon, db->opt.ooo_window_ms, &in_order);
        if (admitted == ADMIT_STORE && (rc = store(db, h, t, v, in_order)) == 0 &&
            (rc = rec_sample(r, id, t, v)) == 0)
            stored++;
        tally(rep, admitted, t, s);
    }
    for (size_t i = 0; i < s->nhsamples && rc == 0; i++)
        rc = append_hist(db, id, h, s, s->hsamples[i].t_ms, s->hsamples[i].h, horizon, r, rep,
                         &stored);
    if (rc == 0 && stored && h->wal_epoch != db->epoch)
        rc = rec_def(r, id, s->labels, s->nlabels);
    pthread_mutex_unlock(lock);
    if (rc == 0)
        rc = rec_group_end(r, id);
    return rc;
}

/* ids[i] = the index id of b's series i, or UINT64_MAX when it is not known yet: its ref
 * when it has one, else found in one pass over the index. */
static int known_ids(osp_tsdb *db, const osp_series_batch *b, uint64_t *ids)
{
    size_t unref = 0;
    for (size_t i = 0; i < b->nseries; i++)
        unref += b->series[i].ref == 0;
    if (unref == b->nseries) {
        osp_series_index_lookup_batch(db->idx, b->series, b->nseries, ids);
        return 0;
    }
    osp_series *look = unref ? osp_malloc(unref * sizeof *look) : NULL;
    uint64_t *got = unref ? osp_malloc(unref * sizeof *got) : NULL;
    if (unref && (!look || !got)) {
        osp_free(look);
        osp_free(got);
        return OSP_ENOMEM;
    }
    for (size_t i = 0, k = 0; i < b->nseries; i++)
        if (!b->series[i].ref)
            look[k++] = b->series[i];
    if (unref)
        osp_series_index_lookup_batch(db->idx, look, unref, got);
    for (size_t i = 0, k = 0; i < b->nseries; i++)
        ids[i] = b->series[i].ref ? b->series[i].ref - 1 : got[k++];
    osp_free(look);
    osp_free(got);
    return 0;
}

/* Remembers the keys of b's series found by labels (ids[i], UINT64_MAX for none), in at
 * most twice as many entries as there are series: one label set a few ways encoded. */
static void remember_keys(osp_tsdb *db, const osp_series_batch *b, uint64_t *ids)
{
    size_t n = 0;
    osp_series_key *keys = NULL;
    for (size_t i = 0; i < b->nseries; i++) {
        const osp_series *s = &b->series[i];
        if ((s->ref && ids[i] == s->ref - 1) || (s->key.lo | s->key.hi) == 0 ||
            ids[i] == UINT64_MAX)
            continue; /* found by its ref (unless a sweep made it a new id), or not kept */
        if (!keys && !(keys = osp_malloc(b->nseries * sizeof *keys)))
            return; /* a key not remembered only costs a lookup */
        keys[n] = s->key;
        ids[n++] = ids[i];
    }
    if (n) {
        uint64_t live;
        osp_series_index_counts(db->idx, NULL, &live);
        osp_keymap_add(db->keys, keys, ids, n, 2 * live + 1024);
    }
    osp_free(keys);
}

void osp_tsdb_known_series(osp_tsdb *db, const osp_series_key *keys, size_t n, uint64_t *refs)
{
    osp_keymap_lookup(db->keys, keys, n, refs);
    for (size_t i = 0; i < n; i++)
        refs[i] = refs[i] == UINT64_MAX ? 0 : refs[i] + 1;
}

int osp_tsdb_append(osp_tsdb *db, const osp_series_batch *b, osp_tsdb_append_report *rep)
{
    osp_tsdb_append_report local;
    rec r;
    int rc = 0;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (!db || !b)
        return OSP_EINVAL;
    if (osp__tsdb_unflushed_bytes(db) > db->opt.head_bytes * BUSY_FACTOR) {
        pthread_cond_signal(&db->cv);
        return OSP_EBUSY;
    }
    int64_t horizon =
        db->opt.retention_ms > 0 ? osp__tsdb_now_ms() - db->opt.retention_ms : INT64_MIN;
    rec_init(&r);
    uint64_t *ids = b->nseries ? osp_malloc(b->nseries * sizeof *ids) : NULL;
    if (b->nseries && (!ids || known_ids(db, b, ids))) {
        osp_free(ids);
        rec_cleanup(&r);
        return OSP_ENOMEM;
    }
    pthread_rwlock_rdlock(&db->rw);
    for (size_t i = 0; i < b->nseries && rc == 0; i++) {
        /* the head memory of known series a few places ahead, level by level */
        for (int stage = 0; stage < 3; stage++) {
            size_t ahead = i + (size_t)(6 - 2 * stage);
            if (ahead < b->nseries && ids[ahead] != UINT64_MAX)
                osp__head_prefetch(&db->head, ids[ahead], db->gen, stage);
        }
        rc = append_series(db, &b->series[i], ids[i], horizon, &r, rep, &ids[i]);
    }
    for (size_t i = 0; i < b->nmeta && rc == 0; i++) {
        int changed = osp__meta_put(&db->meta, &b->meta[i]);
        if (changed < 0)
            rc = changed;
        else if (changed && (rc = osp__meta_encode(&r.meta, &b->meta[i])) == 0)
            r.nmeta++;
    }
    if (rc == 0 && (r.ngroups || r.nmeta)) {
        uint64_t lsn;
        if ((rc = rec_finish(&r)) == 0)
            rc = osp_wal_append(db->wal, osp_buf_str(&r.out), &lsn);
        if (rc && rc != OSP_ENOMEM)
            rc = OSP_EIO;
    }
    /* Definitions count as logged once their record has an lsn: a later record that
     * leaves them out has a higher one. */
    for (size_t i = 0; i < r.ndef_ids && rc == 0; i++) {
        pthread_mutex_t *lock = osp__head_lock(&db->head, r.def_ids[i]);
        pthread_mutex_lock(lock);
        osp__head_get(&db->head, r.def_ids[i], false)->wal_epoch = db->epoch;
        pthread_mutex_unlock(lock);
    }
    pthread_rwlock_unlock(&db->rw);
    if (rc == 0)
        remember_keys(db, b, ids);
    osp_free(ids);
    rec_cleanup(&r);
    if (osp__tsdb_flush_due(db))
        pthread_cond_signal(&db->cv);
    return rc;
}

/* ---- WAL replay ------------------------------------------------------------------------- */

static int get_str(osp_pb_reader *r, osp_str *s)
{
    return osp_pb_read_lenbytes(r, s) ? OSP_ECORRUPT : 0;
}

static size_t remap_home(uint64_t ref, size_t cap)
{
    return (size_t)((ref * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void remap_clear(osp_tsdb *db)
{
    osp_free(db->remap);
    db->remap = NULL;
    db->nremap = db->remap_cap = 0;
}

/* The id that ref was defined as in this session: 1 and *id, or 0 when undefined. */
static int remap_get(const osp_tsdb *db, uint64_t ref, uint64_t *id)
{
    for (size_t i = db->remap_cap ? remap_home(ref, db->remap_cap) : 0; db->remap_cap;
         i = (i + 1) & (db->remap_cap - 1)) {
        if (db->remap[i].key == 0)
            return 0;
        if (db->remap[i].key == ref + 1) {
            *id = db->remap[i].id;
            return 1;
        }
    }
    return 0;
}

/* Maps ref to id (replacing an earlier definition). 0 or OSP_ENOMEM. */
static int remap_put(osp_tsdb *db, uint64_t ref, uint64_t id)
{
    if ((db->nremap + 1) * 4 > db->remap_cap * 3) { /* load stays under 3/4 */
        size_t cap = db->remap_cap ? db->remap_cap * 2 : 1024;
        remap_slot *a = osp_calloc(cap, sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        for (size_t k = 0; k < db->remap_cap; k++) {
            if (db->remap[k].key == 0)
                continue;
            size_t i = remap_home(db->remap[k].key - 1, cap);
            while (a[i].key)
                i = (i + 1) & (cap - 1);
            a[i] = db->remap[k];
        }
        osp_free(db->remap);
        db->remap = a;
        db->remap_cap = cap;
    }
    size_t i = remap_home(ref, db->remap_cap);
    while (db->remap[i].key && db->remap[i].key != ref + 1)
        i = (i + 1) & (db->remap_cap - 1);
    db->nremap += db->remap[i].key == 0;
    db->remap[i] = (remap_slot){ref + 1, id};
    return 0;
}

static int replay_def(osp_tsdb *db, osp_pb_reader *r)
{
    uint64_t ref, n, id;
    osp_label l[OSP_BLOCK_MAX_LABELS];
    if (osp_pb_read_varint(r, &ref) || osp_pb_read_varint(r, &n) || n > OSP_BLOCK_MAX_LABELS ||
        ref > UINT32_MAX)
        return OSP_ECORRUPT;
    for (uint64_t i = 0; i < n; i++)
        if (get_str(r, &l[i].name) || get_str(r, &l[i].value))
            return OSP_ECORRUPT;
    if (!labels_valid(l, (size_t)n))
        return OSP_ECORRUPT;
    int rc = osp_series_index_get_or_create(db->idx, l, (size_t)n, &id, NULL);
    if (rc)
        return rc == OSP_ENOMEM ? rc : OSP_ECORRUPT;
    return remap_put(db, ref, id);
}

/* Replays histogram sample (t, hist), encoded as enc (len bytes), of series id (state h;
 * NULL: undefined, dropped). 0 or OSP_ENOMEM. */
static int replay_hist(osp_tsdb *db, uint64_t id, osp__hseries *h, int64_t t,
                       const osp_histogram *hist, const void *enc, size_t len, osp_arena *arena)
{
    int rc = h ? put_hist(db, id, h, t, hist, enc, len, INT64_MIN, arena) : 0;
    return rc < 0 ? rc : 0;
}

/* Replays one sample group; kinds: the record's groups say their kind (REC_APPEND_H). Samples
 * go through admission as when they were appended, bypassing the window and retention. 0,
 * OSP_ECORRUPT, OSP_ENOMEM. */
static int replay_group(osp_tsdb *db, osp_pb_reader *r, int kinds, osp_arena *arena, osp_buf *enc)
{
    uint64_t ref, n, z, id = 0;
    int64_t t = 0;
    int rc = 0;
    if (osp_pb_read_varint(r, &ref) || osp_pb_read_varint(r, &n))
        return OSP_ECORRUPT;
    int kind = kinds ? (int)(n & 1) : KIND_FLOAT;
    n = kinds ? n >> 1 : n;
    int known = remap_get(db, ref, &id);
    osp__hseries *h = known ? osp__head_get(&db->head, id, true) : NULL;
    if (known && !h)
        return OSP_ENOMEM;
    if (!known)
        osp_warn(MOD, "write-ahead log: samples of an undefined series %" PRIu64 " dropped", ref);
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        osp_histogram hist;
        osp_str b;
        int in_order;
        if (osp_pb_read_varint(r, &z))
            return OSP_ECORRUPT;
        t = (int64_t)((uint64_t)t + (uint64_t)osp_pb_zigzag_decode(z));
        if (kind == KIND_HIST) {
            if (osp_pb_read_lenbytes(r, &b))
                return OSP_ECORRUPT;
            if ((rc = osp_hchunk_decode((const uint8_t *)b.p, b.n, arena, &hist)) == 0)
                rc = replay_hist(db, id, h, t, &hist, b.p, b.n, arena);
            continue;
        }
        if (r->end - r->p < 8)
            return OSP_ECORRUPT;
        double v = osp_pb_as_double(osp_get_le64(r->p));
        r->p += 8;
        if (h && stale_for_hist(h, v)) {
            hist = stale_hist();
            osp_buf_reset(enc);
            if ((rc = osp_hist_encode(enc, &hist)) == 0)
                rc = replay_hist(db, id, h, t, &hist, enc->data, enc->len, arena);
        } else if (h && admit(db, h, t, v, INT64_MIN, INT64_MAX, &in_order) == ADMIT_STORE) {
            rc = store(db, h, t, v, in_order);
        }
    }
    return rc;
}

static int replay_record(uint64_t lsn, osp_str payload, void *ctx)
{
    osp_tsdb *db = ctx;
    osp_pb_reader r = osp_pb_reader_make(payload.p, payload.n);
    osp_arena arena; /* the record's histograms */
    osp_buf enc;
    uint64_t n;
    int rc = 0, kind = payload.n ? (uint8_t)payload.p[0] : 0;
    if (kind == REC_SESSION) {
        remap_clear(db);
        return 0;
    }
    osp_arena_init(&arena, 0, 0);
    osp_buf_init(&enc, 0);
    if (kind != REC_APPEND && kind != REC_APPEND_H)
        goto corrupt;
    r.p++;
    if (osp_pb_read_varint(&r, &n))
        goto corrupt;
    for (uint64_t i = 0; i < n && rc == 0; i++)
        rc = replay_def(db, &r);
    if (rc == 0 && osp_pb_read_varint(&r, &n))
        goto corrupt;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        osp_metric_meta e;
        rc = osp__meta_decode(&r.p, r.end, &e);
        if (rc == 0 && osp__meta_put(&db->meta, &e) < 0)
            rc = OSP_ENOMEM;
    }
    if (rc == 0 && osp_pb_read_varint(&r, &n))
        goto corrupt;
    for (uint64_t i = 0; i < n && rc == 0; i++)
        rc = replay_group(db, &r, kind == REC_APPEND_H, &arena, &enc);
    if (rc == OSP_ENOMEM)
        goto out;
    if (rc == 0 && r.p == r.end)
        goto out;
corrupt:
    rc = 0;
    osp_error(MOD, "write-ahead log record %" PRIu64 " is malformed, skipped", lsn);
out:
    osp_arena_cleanup(&arena);
    osp_buf_cleanup(&enc);
    return rc;
}

/* ---- open and close ---------------------------------------------------------------------- */

uint64_t osp__tsdb_nseries(osp_tsdb *db)
{
    uint64_t n;
    osp_series_index_counts(db->idx, &n, NULL);
    return n;
}

static void destroy(osp_tsdb *db)
{
    osp_wal_close(db->wal);
    for (size_t i = 0; i < db->nblocks; i++)
        osp__blk_free(db->blocks[i]);
    osp_free(db->blocks);
    osp__head_cleanup(&db->head);
    osp__meta_cleanup(&db->meta);
    osp_series_index_destroy(db->idx);
    osp_keymap_destroy(db->keys);
    pthread_rwlock_destroy(&db->rw);
    pthread_mutex_destroy(&db->flush_mu);
    pthread_mutex_destroy(&db->maint_mu);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    pthread_cond_destroy(&db->maint_cv);
    osp_free(db->remap);
    osp_free(db->dir);
    osp_free(db->qdir);
    osp_free(db->waldir);
    osp_free(db);
}

/* A sixteenth of physical memory, within [MIN_HEAD_BYTES, MAX_HEAD_BYTES]: a head cut
 * writes every active series out, so cutting by a small byte figure makes many small
 * blocks (each holding every series' labels) where many series are active. */
static size_t default_head_bytes(void)
{
    return osp_mem_share(16, MIN_HEAD_BYTES, MAX_HEAD_BYTES);
}

int osp_tsdb_open(const osp_tsdb_options *opt, osp_tsdb **out)
{
    pthread_rwlockattr_t ra;
    int rc = OSP_ENOMEM;
    if (!opt || !opt->dir || !out || opt->retention_ms < 0 || opt->ooo_window_ms < 0)
        return OSP_EINVAL;
    osp_tsdb *db = osp_calloc(1, sizeof *db);
    if (!db)
        return OSP_ENOMEM;
    db->opt = *opt;
    if (!db->opt.head_bytes)
        db->opt.head_bytes = default_head_bytes();
    if (db->opt.block_ms <= 0)
        db->opt.block_ms = DEFAULT_BLOCK_MS;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&db->rw, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&db->flush_mu, NULL);
    pthread_mutex_init(&db->maint_mu, NULL);
    pthread_mutex_init(&db->mu, NULL);
    osp_cond_init_monotonic(&db->cv);
    osp_cond_init_monotonic(&db->maint_cv);
    osp__head_init(&db->head);
    osp__meta_init(&db->meta);
    osp__hgen_reset(&db->g[0]);
    osp__hgen_reset(&db->g[1]);
    db->epoch = 1;
    atomic_store(&db->next_seq, 1);
    db->dir = osp_strdup(opt->dir);
    db->qdir = osp_path_join(opt->dir, "quarantine");
    db->waldir = osp_path_join(opt->dir, "wal");
    if (!db->dir || !db->qdir || !db->waldir)
        goto fail;
    if ((rc = osp_mkdirs(db->dir, MOD)) || (rc = osp_mkdirs(db->qdir, MOD)) ||
        (rc = osp_mkdirs(db->waldir, MOD)))
        goto fail;
    if ((rc = osp_series_index_create(NULL, &db->idx)) || (rc = osp_keymap_create(&db->keys)) ||
        (rc = osp__tsdb_load_blocks(db)) || (rc = osp__meta_load(&db->meta, db->dir)))
        goto fail;
    uint64_t skip = 0;
    for (size_t i = 0; i < db->nblocks; i++) {
        uint64_t l = osp_block_get_info(db->blocks[i]->b)->wal_lsn;
        skip = l > skip ? l : skip;
    }
    osp_wal_options wo = {.dir = db->waldir,
                          .fsync_policy = opt->fsync_policy,
                          .fsync_interval_ms = opt->fsync_interval_ms};
    if ((rc = osp_wal_open(&wo, skip, replay_record, db, &db->wal)) != 0)
        goto fail;
    remap_clear(db);
    uint8_t session = REC_SESSION;
    uint64_t lsn;
    if ((rc = osp_wal_append(db->wal, osp_str_make((const char *)&session, 1), &lsn)) != 0)
        goto fail;
    osp_series_index_set_limit(db->idx, opt->max_series_per_metric);
    if (osp_thread_start(&db->flusher, "osp-tsdb-flush", osp__tsdb_flusher_main, db) != 0) {
        rc = OSP_ENOMEM;
        goto fail;
    }
    db->threads = 1;
    if (osp_thread_start(&db->maintainer, "osp-tsdb-maint", osp__tsdb_maintainer_main, db) != 0) {
        rc = OSP_ENOMEM;
        goto fail;
    }
    db->threads = 2;
    *out = db;
    return 0;
fail:
    osp_tsdb_close(db);
    return rc == OSP_EINVAL ? OSP_EIO : rc;
}

void osp_tsdb_close(osp_tsdb *db)
{
    if (!db)
        return;
    pthread_mutex_lock(&db->mu);
    db->stop = 1;
    pthread_cond_broadcast(&db->cv);
    pthread_cond_broadcast(&db->maint_cv);
    pthread_mutex_unlock(&db->mu);
    if (db->threads >= 1)
        pthread_join(db->flusher, NULL);
    if (db->threads >= 2)
        pthread_join(db->maintainer, NULL);
    if (db->threads == 2 && osp__tsdb_flush_once(db, 1) != 0)
        osp_error(MOD, "final flush failed; the write-ahead log keeps the data");
    destroy(db);
}
