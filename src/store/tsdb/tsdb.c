/* The time-series engine: appends into the head and the WAL, blocks on disk, background
 * flushes, merges and retention, and the read paths over all of them. Design: README.md. */
#include "store/tsdb/tsdb.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cond.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "store/embedded/wal.h"
#include "store/tsdb/block.h"
#include "store/tsdb/tsdb_int.h"

#define MOD "tsdb"
#define DEFAULT_HEAD_BYTES ((size_t)128 << 20)
#define DEFAULT_BLOCK_MS (2 * 3600 * 1000LL)
#define BUSY_FACTOR 4                         /* unflushed cap: head_bytes times this */
#define MERGE_MAX_BYTES ((uint64_t)512 << 20) /* merged blocks stay below this */
#define MERGE_MIN_BLOCKS 4                    /* small blocks that start a merge */
#define MERGE_MAX_INPUTS 8
#define FLUSH_POLL_MS 1000
#define MAINT_POLL_MS 5000
#define REC_APPEND 1  /* WAL record kinds */
#define REC_SESSION 2 /* written at open: series refs of earlier sessions end here */

typedef struct blk {
    osp_block *b;
    char *path;
    uint64_t seq;
    uint32_t *gid;    /* per block series: series id in the index */
    uint32_t *by_gid; /* block series numbers sorted by gid */
} blk;

struct osp_tsdb {
    osp_tsdb_options opt;
    char *dir, *qdir, *waldir;
    osp_series_index *idx;
    osp_wal *wal;
    osp__head head;
    osp__hgen g[2];
    osp__meta_map meta;

    pthread_rwlock_t rw; /* shared: appends, reads; exclusive: cuts, block list changes */
    _Atomic int gen;     /* active head generation (changes under rw exclusive) */
    _Atomic int frozen;  /* the other generation is being written out (ditto) */
    uint64_t frozen_lsn; /* WAL position of the cut (flush_mu) */
    uint32_t epoch;      /* bumped per cut: series definitions are logged once per epoch */
    blk **blocks;        /* ascending by age (rw) */
    size_t nblocks, blocks_cap;
    _Atomic uint64_t next_seq;

    pthread_mutex_t flush_mu; /* one cut and block write at a time */
    pthread_mutex_t maint_mu; /* merges and retention */
    pthread_mutex_t mu;       /* thread wake-ups */
    pthread_cond_t cv, maint_cv;
    int stop, threads;
    pthread_t flusher, maintainer;

    struct remap_slot *remap; /* WAL replay: ref of the writing session -> id (hash table) */
    size_t nremap, remap_cap; /* entries; slots (0 or a power of two) */
};

/* One entry of the replay's ref map; key 0 is a free slot. Refs are any 32-bit value, so
 * the map is a hash table: its size follows the definitions read, not the largest ref. */
typedef struct remap_slot {
    uint64_t key; /* ref + 1 */
    uint64_t id;
} remap_slot;

/* ---- helpers ---------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void gen_reset(osp__hgen *g)
{
    atomic_store(&g->bytes, 0);
    atomic_store(&g->samples, 0);
    atomic_store(&g->series, 0);
    atomic_store(&g->mint, INT64_MAX);
    atomic_store(&g->maxt, INT64_MIN);
}

static size_t unflushed_bytes(osp_tsdb *db)
{
    return atomic_load(&db->g[0].bytes) + atomic_load(&db->g[1].bytes);
}

/* Whether the active generation should be cut now. Reads gen racily: a hint. */
static int flush_due(osp_tsdb *db)
{
    osp__hgen *g = &db->g[db->gen];
    if (atomic_load(&g->samples) == 0)
        return 0;
    int64_t mint = atomic_load(&g->mint), maxt = atomic_load(&g->maxt);
    /* The span in unsigned arithmetic: it may pass INT64_MAX. */
    return atomic_load(&g->bytes) > db->opt.head_bytes ||
           (maxt >= mint && (uint64_t)maxt - (uint64_t)mint >= (uint64_t)db->opt.block_ms);
}

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

/* name{a="b",...} into out, truncated to cap. */
static void fmt_series(char *out, size_t cap, const osp_label *l, size_t n)
{
    size_t k = 0;
    osp_str name = osp_labels_get(l, n, OSP_STR_LIT(OSP_METRIC_NAME_LABEL));
    k += (size_t)snprintf(out, cap, "%.*s{", OSP_STR_FMT(name));
    int first = 1;
    for (size_t i = 0; i < n && k < cap; i++) {
        if (osp_str_eqz(l[i].name, OSP_METRIC_NAME_LABEL))
            continue;
        k += (size_t)snprintf(out + k, cap - k, "%s%.*s=\"%.*s\"", first ? "" : ",",
                              OSP_STR_FMT(l[i].name), OSP_STR_FMT(l[i].value));
        first = 0;
    }
    if (k < cap)
        snprintf(out + k, cap - k, "}");
}

static void reject(osp_tsdb_append_report *rep, const char *what, const osp_series *s)
{
    if (rep->error[0])
        return;
    char ser[200];
    fmt_series(ser, sizeof ser, s->labels, s->nlabels);
    snprintf(rep->error, sizeof rep->error, "%s for series %s", what, ser);
}

/* ---- sample admission ---------------------------------------------------------------------- */

enum { ADMIT_STORE, ADMIT_NOOP, ADMIT_OOO, ADMIT_DUP, ADMIT_OLD };

/* Decides what happens to sample (t, v) of series h. Caller holds its stripe lock and rw. */
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
        return bits == h->last_v ? ADMIT_NOOP : ADMIT_DUP;
    if ((uint64_t)h->last_t - (uint64_t)t > (uint64_t)window)
        return ADMIT_OOO;
    if (osp__hdata_find(h->d[db->gen], t, &old) ||
        (db->frozen && osp__hdata_find(h->d[!db->gen], t, &old)))
        return old == bits ? ADMIT_NOOP : ADMIT_DUP;
    return ADMIT_STORE;
}

/* Stores an admitted sample. */
static int store(osp_tsdb *db, osp__hseries *h, int64_t t, double v, int in_order)
{
    int rc = osp__hdata_add(&h->d[db->gen], &db->g[db->gen], t, v, in_order);
    if (rc == 0 && in_order) {
        h->last_t = t;
        h->last_v = osp_pb_double_bits(v);
    }
    return rc;
}

/* ---- WAL records (format: README.md) ----------------------------------------------------- */

typedef struct rec {
    osp_buf defs, meta, groups, tmp, out;
    uint64_t ndefs, nmeta, ngroups;
    uint64_t *def_ids;
    size_t ndef_ids, def_cap;
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    osp_buf_init(&r->defs, 0);
    osp_buf_init(&r->meta, 0);
    osp_buf_init(&r->groups, 0);
    osp_buf_init(&r->tmp, 0);
    osp_buf_init(&r->out, OSP_WAL_MAX_RECORD);
}

static void rec_cleanup(rec *r)
{
    osp_buf_cleanup(&r->defs);
    osp_buf_cleanup(&r->meta);
    osp_buf_cleanup(&r->groups);
    osp_buf_cleanup(&r->tmp);
    osp_buf_cleanup(&r->out);
    osp_free(r->def_ids);
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

static int rec_sample(rec *r, int64_t *prev, int64_t t, double v)
{
    uint8_t b[8];
    int rc =
        osp_pb_put_varint(&r->tmp, osp_pb_zigzag_encode((int64_t)((uint64_t)t - (uint64_t)*prev)));
    osp_put_le64(b, osp_pb_double_bits(v));
    *prev = t;
    return rc ? rc : osp_buf_append(&r->tmp, b, 8);
}

static int rec_group_end(rec *r, uint64_t id, uint64_t n)
{
    int rc;
    if (n == 0)
        return 0;
    if ((rc = osp_pb_put_varint(&r->groups, id)) || (rc = osp_pb_put_varint(&r->groups, n)) ||
        (rc = osp_buf_append(&r->groups, r->tmp.data, r->tmp.len)))
        return rc;
    r->ngroups++;
    return 0;
}

static int rec_finish(rec *r)
{
    uint8_t kind = REC_APPEND;
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

/* Appends the samples of s in the order given, as Prometheus appends a request's samples:
 * one older than an earlier one of the same series is out of order. */
static int append_series(osp_tsdb *db, const osp_series *s, int64_t horizon, rec *r,
                         osp_tsdb_append_report *rep)
{
    uint64_t id, stored = 0;
    int rc;
    if (s->nsamples == 0)
        return 0;
    if (!labels_valid(s->labels, s->nlabels)) {
        rep->invalid += s->nsamples;
        reject(rep, "invalid label set (names and values must be non-empty, sorted, unique)", s);
        return 0;
    }
    rc = osp_series_index_get_or_create(db->idx, s->labels, s->nlabels, &id, NULL);
    if (rc == OSP_ETOOBIG) {
        rep->limited += s->nsamples;
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
        rep->invalid += s->nsamples;
        reject(rep, "invalid label set", s);
        return 0;
    }
    if (rc)
        return rc;
    osp__hseries *h = osp__head_get(&db->head, id, true);
    if (!h)
        return OSP_ENOMEM;
    osp_buf_reset(&r->tmp);
    int64_t prev = 0;
    pthread_mutex_t *lock = osp__head_lock(&db->head, id);
    pthread_mutex_lock(lock);
    for (size_t i = 0; i < s->nsamples && rc == 0; i++) {
        int64_t t = s->samples[i].t_ms;
        double v = s->samples[i].v;
        int in_order;
        switch (admit(db, h, t, v, horizon, db->opt.ooo_window_ms, &in_order)) {
        case ADMIT_STORE:
            if ((rc = store(db, h, t, v, in_order)) == 0 && (rc = rec_sample(r, &prev, t, v)) == 0)
                stored++;
            rep->accepted++;
            break;
        case ADMIT_NOOP:
            rep->accepted++;
            break;
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
    if (rc == 0 && stored && h->wal_epoch != db->epoch)
        rc = rec_def(r, id, s->labels, s->nlabels);
    pthread_mutex_unlock(lock);
    if (rc == 0)
        rc = rec_group_end(r, id, stored);
    return rc;
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
    if (unflushed_bytes(db) > db->opt.head_bytes * BUSY_FACTOR) {
        pthread_cond_signal(&db->cv);
        return OSP_EBUSY;
    }
    int64_t horizon = db->opt.retention_ms > 0 ? now_ms() - db->opt.retention_ms : INT64_MIN;
    rec_init(&r);
    pthread_rwlock_rdlock(&db->rw);
    for (size_t i = 0; i < b->nseries && rc == 0; i++)
        rc = append_series(db, &b->series[i], horizon, &r, rep);
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
    rec_cleanup(&r);
    if (flush_due(db))
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

static int replay_group(osp_tsdb *db, osp_pb_reader *r)
{
    uint64_t ref, n, z;
    int64_t t = 0;
    if (osp_pb_read_varint(r, &ref) || osp_pb_read_varint(r, &n))
        return OSP_ECORRUPT;
    uint64_t id;
    int known = remap_get(db, ref, &id);
    osp__hseries *h = known ? osp__head_get(&db->head, id, true) : NULL;
    if (known && !h)
        return OSP_ENOMEM;
    if (!known)
        osp_warn(MOD, "write-ahead log: samples of an undefined series %" PRIu64 " dropped", ref);
    for (uint64_t i = 0; i < n; i++) {
        int in_order, rc;
        if (osp_pb_read_varint(r, &z) || r->end - r->p < 8)
            return OSP_ECORRUPT;
        t = (int64_t)((uint64_t)t + (uint64_t)osp_pb_zigzag_decode(z));
        double v = osp_pb_as_double(osp_get_le64(r->p));
        r->p += 8;
        if (h && admit(db, h, t, v, INT64_MIN, INT64_MAX, &in_order) == ADMIT_STORE &&
            (rc = store(db, h, t, v, in_order)) != 0)
            return rc;
    }
    return 0;
}

static int replay_record(uint64_t lsn, osp_str payload, void *ctx)
{
    osp_tsdb *db = ctx;
    osp_pb_reader r = osp_pb_reader_make(payload.p, payload.n);
    uint64_t n;
    int rc = 0;
    if (payload.n && (uint8_t)payload.p[0] == REC_SESSION) {
        remap_clear(db);
        return 0;
    }
    if (payload.n == 0 || (uint8_t)payload.p[0] != REC_APPEND)
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
        rc = replay_group(db, &r);
    if (rc == OSP_ENOMEM)
        return rc;
    if (rc == 0 && r.p == r.end)
        return 0;
corrupt:
    osp_error(MOD, "write-ahead log record %" PRIu64 " is malformed, skipped", lsn);
    return 0;
}

/* ---- blocks ----------------------------------------------------------------------------- */

static void blk_free(blk *k)
{
    if (!k)
        return;
    osp_block_close(k->b);
    osp_free(k->path);
    osp_free(k->gid);
    osp_free(k->by_gid);
    osp_free(k);
}

static int cmp_by_gid(const void *pa, const void *pb, void *ctx)
{
    const uint32_t *gid = ctx;
    uint32_t a = gid[*(const uint32_t *)pa], b = gid[*(const uint32_t *)pb];
    return a < b ? -1 : a > b;
}

/* The block series number of id in k, or -1. */
static int64_t blk_find(const blk *k, uint64_t id)
{
    size_t lo = 0, hi = osp_block_get_info(k->b)->nseries;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t g = k->gid[k->by_gid[mid]];
        if (g == id)
            return k->by_gid[mid];
        if (g < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void quarantine(osp_tsdb *db, const char *path)
{
    const char *base = strrchr(path, '/');
    char *dest = osp_path_join(db->qdir, base ? base + 1 : path);
    if (dest && rename(path, dest) == 0)
        osp_error(MOD, "%s: corrupt block quarantined as %s", path, dest);
    else
        osp_error(MOD, "%s: corrupt block could not be quarantined: %s", path,
                  dest ? strerror(errno) : "out of memory");
    osp_free(dest);
}

/* Opens block file path (taken) as *out and maps its series to ids, creating them in the
 * index. With init_last, series state takes the block's newest samples. A corrupt file
 * is quarantined: *out NULL, 0. */
static int blk_load(osp_tsdb *db, char *path, uint64_t seq, int init_last, blk **out)
{
    osp_label l[OSP_BLOCK_MAX_LABELS];
    *out = NULL;
    blk *k = osp_calloc(1, sizeof *k);
    if (!k) {
        osp_free(path);
        return OSP_ENOMEM;
    }
    k->path = path;
    k->seq = seq;
    int rc = osp_block_open(path, &k->b);
    if (rc == OSP_ECORRUPT) {
        quarantine(db, path);
        blk_free(k);
        return 0;
    }
    if (rc)
        goto fail;
    uint64_t n = osp_block_get_info(k->b)->nseries;
    k->gid = osp_malloc((n ? n : 1) * sizeof *k->gid);
    k->by_gid = osp_malloc((n ? n : 1) * sizeof *k->by_gid);
    rc = OSP_ENOMEM;
    if (!k->gid || !k->by_gid)
        goto fail;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id;
        size_t nl = osp_block_series_labels(k->b, i, l);
        if ((rc = osp_series_index_get_or_create(db->idx, l, nl, &id, NULL)) != 0)
            goto fail;
        k->gid[i] = (uint32_t)id;
        k->by_gid[i] = (uint32_t)i;
        if (!init_last)
            continue;
        const osp_block_series *bs = osp_block_get_series(k->b, i);
        osp__hseries *h = osp__head_get(&db->head, id, true);
        if (!h)
            goto fail;
        if (h->last_t == INT64_MIN || bs->maxt >= h->last_t) {
            h->last_t = bs->maxt;
            h->last_v = bs->last_v;
        }
    }
    qsort_r(k->by_gid, n, sizeof *k->by_gid, cmp_by_gid, k->gid);
    *out = k;
    return 0;
fail:
    blk_free(k);
    return rc;
}

static uint64_t blk_age(const blk *k)
{
    return osp_block_get_info(k->b)->age;
}

/* Inserts k keeping the list ascending by age. Caller holds rw exclusively. */
static int blocks_insert(osp_tsdb *db, blk *k)
{
    if (db->nblocks == db->blocks_cap) {
        size_t cap = db->blocks_cap ? db->blocks_cap * 2 : 16;
        blk **a = osp_realloc(db->blocks, cap * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        db->blocks = a;
        db->blocks_cap = cap;
    }
    size_t i = db->nblocks;
    while (i > 0 && blk_age(db->blocks[i - 1]) > blk_age(k)) {
        db->blocks[i] = db->blocks[i - 1];
        i--;
    }
    db->blocks[i] = k;
    db->nblocks++;
    return 0;
}

static void blocks_remove(osp_tsdb *db, const blk *k)
{
    for (size_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i] == k) {
            memmove(&db->blocks[i], &db->blocks[i + 1], (db->nblocks - i - 1) * sizeof *db->blocks);
            db->nblocks--;
            return;
        }
}

static char *block_path(osp_tsdb *db, uint64_t seq, int tmp)
{
    char name[64];
    snprintf(name, sizeof name, "%016" PRIx64 ".blk%s", seq, tmp ? ".tmp" : "");
    return osp_path_join(db->dir, name);
}

/* Renames a finished temporary block into place and loads it. */
static int publish(osp_tsdb *db, uint64_t seq, blk **out)
{
    char *tmp = block_path(db, seq, 1), *path = block_path(db, seq, 0);
    int rc = OSP_ENOMEM;
    if (tmp && path) {
        rc = OSP_EIO;
        if (rename(tmp, path) != 0 || osp_fsync_dir(db->dir) != 0) {
            osp_error(MOD, "%s: rename: %s", tmp, strerror(errno));
            unlink(tmp);
        } else {
            rc = blk_load(db, path, seq, 0, out);
            path = NULL;
            if (rc == 0 && !*out)
                rc = OSP_EIO;
        }
    }
    osp_free(tmp);
    osp_free(path);
    return rc;
}

/* Appends svec samples to a plain sample array (reused). */
static int plain(const osp__svec *v, osp_sample **a, size_t *cap)
{
    if (v->n > *cap) {
        osp_sample *na = osp_realloc(*a, v->n * sizeof *na);
        if (!na)
            return OSP_ENOMEM;
        *a = na;
        *cap = v->n;
    }
    for (size_t i = 0; i < v->n; i++)
        (*a)[i] = (osp_sample){v->a[i].t, v->a[i].v};
    return 0;
}

/* ---- flush ------------------------------------------------------------------------------ */

typedef struct lab_id {
    osp_label *l;
    size_t n;
    uint64_t id;
} lab_id;

static int cmp_lab_id(const void *pa, const void *pb)
{
    const lab_id *a = pa, *b = pb;
    return osp_labels_compare(a->l, a->n, b->l, b->n);
}

static uint64_t nseries(osp_tsdb *db)
{
    osp_series_index_stats st;
    osp_series_index_get_stats(db->idx, &st);
    return st.nseries;
}

/* Writes the frozen generation as a block, publishes it and frees the generation.
 * Caller holds flush_mu; db->frozen is set. */
static int write_frozen(osp_tsdb *db)
{
    int fg = !db->gen, rc = 0;
    uint64_t n = nseries(db), seq = 0;
    osp_arena arena;
    lab_id *ids = NULL;
    size_t nids = 0, cap = 0, scap = 0;
    osp__svec v = {0};
    osp_sample *s = NULL;
    osp_block_writer *w = NULL;
    blk *k = NULL;
    char *tmp = NULL;
    osp_arena_init(&arena, 0, 0);
    for (uint64_t id = 0; id < n && rc == 0; id++) {
        osp__hseries *h = osp__head_get(&db->head, id, false);
        if (!h || !h->d[fg] || !h->d[fg]->nsamples)
            continue;
        lab_id *e = osp_array_push((void **)&ids, &nids, &cap, sizeof *e);
        if (!e)
            rc = OSP_ENOMEM;
        else if ((rc = osp_series_labels(db->idx, id, &arena, &e->l, &e->n)) == 0)
            e->id = id;
    }
    if (rc || nids == 0)
        goto meta;
    qsort(ids, nids, sizeof *ids, cmp_lab_id);
    seq = atomic_fetch_add(&db->next_seq, 1);
    if (!(tmp = block_path(db, seq, 1))) {
        rc = OSP_ENOMEM;
        goto out;
    }
    if ((rc = osp_block_writer_create(tmp, &w)) != 0)
        goto out;
    for (size_t i = 0; i < nids && rc == 0; i++) {
        osp__hseries *h = osp__head_get(&db->head, ids[i].id, false);
        v.n = 0;
        if ((rc = osp__hdata_collect(h->d[fg], INT64_MIN, INT64_MAX, 0, &v)) != 0)
            break;
        osp__svec_settle(&v);
        if ((rc = plain(&v, &s, &scap)) == 0)
            rc = osp_block_writer_add(w, ids[i].l, ids[i].n, s, v.n);
    }
    if (rc == 0) {
        osp_block_writer *fw = w;
        w = NULL;
        rc = osp_block_writer_finish(fw, db->frozen_lsn, seq, NULL, 0, NULL);
    }
    if (rc == 0)
        rc = publish(db, seq, &k);
meta:
    if (rc == 0)
        rc = osp__meta_save(&db->meta, db->dir);
    if (rc)
        goto out;
    pthread_rwlock_wrlock(&db->rw);
    if (k && (rc = blocks_insert(db, k)) == 0)
        k = NULL;
    if (rc == 0)
        db->frozen = 0;
    pthread_rwlock_unlock(&db->rw);
    if (rc)
        goto out;
    for (uint64_t id = 0; id < n; id++) {
        osp__hseries *h = osp__head_get(&db->head, id, false);
        if (h && h->d[fg]) {
            osp__hdata_free(h->d[fg]);
            h->d[fg] = NULL;
        }
    }
    gen_reset(&db->g[fg]);
    if (osp_wal_truncate_before(db->wal, db->frozen_lsn) != 0)
        osp_warn(MOD, "write-ahead log segments could not be removed; retrying later");
out:
    if (rc)
        osp_error(MOD, "writing a block failed: %s; the head keeps the data", osp_strerror(rc));
    osp_block_writer_abort(w);
    if (k) {
        unlink(k->path);
        blk_free(k);
    }
    osp_free(tmp);
    osp_free(ids);
    osp_free(v.a);
    osp_free(s);
    osp_arena_cleanup(&arena);
    return rc;
}

/* Finishes a pending block write, then (force, or when due) cuts the head and writes it. */
static int flush_once(osp_tsdb *db, int force)
{
    int rc = 0;
    pthread_mutex_lock(&db->flush_mu);
    if (db->frozen)
        rc = write_frozen(db);
    if (rc == 0 && (force || flush_due(db))) {
        pthread_rwlock_wrlock(&db->rw);
        db->frozen_lsn = osp_wal_last_lsn(db->wal);
        osp_wal_rotate(db->wal);
        db->epoch++;
        db->gen = !db->gen;
        db->frozen = 1;
        pthread_rwlock_unlock(&db->rw);
        rc = write_frozen(db);
    }
    pthread_mutex_unlock(&db->flush_mu);
    return rc;
}

int osp_tsdb_flush(osp_tsdb *db)
{
    return db ? flush_once(db, 1) : OSP_EINVAL;
}

/* ---- merges and retention ---------------------------------------------------------------- */

typedef struct push_ctx {
    osp__svec *v;
    uint32_t rank;
} push_ctx;

static int push_sample(void *ctx, int64_t t, double v)
{
    push_ctx *p = ctx;
    return osp__svec_push(p->v, t, v, p->rank);
}

static int cmp_blk_mint(const void *pa, const void *pb)
{
    int64_t a = osp_block_get_info((*(blk *const *)pa)->b)->mint;
    int64_t b = osp_block_get_info((*(blk *const *)pb)->b)->mint;
    return a < b ? -1 : a > b;
}

static int cmp_blk_age(const void *pa, const void *pb)
{
    uint64_t a = blk_age(*(blk *const *)pa), b = blk_age(*(blk *const *)pb);
    return a < b ? -1 : a > b;
}

/* Picks blocks to merge into in[] (ascending by age): a run, in time order, of small
 * blocks when some overlap or there are MERGE_MIN_BLOCKS of them. */
static size_t pick_merge(osp_tsdb *db, blk **in)
{
    blk *c[256];
    size_t nc = 0, k = 0, overlap = 0;
    uint64_t total = 0;
    pthread_rwlock_rdlock(&db->rw);
    for (size_t i = 0; i < db->nblocks && nc < 256; i++)
        if (osp_block_get_info(db->blocks[i]->b)->bytes < MERGE_MAX_BYTES / 2)
            c[nc++] = db->blocks[i];
    pthread_rwlock_unlock(&db->rw);
    qsort(c, nc, sizeof *c, cmp_blk_mint);
    for (size_t i = 1; i < nc; i++)
        overlap |= osp_block_get_info(c[i]->b)->mint <= osp_block_get_info(c[i - 1]->b)->maxt;
    if (nc < 2 || (!overlap && nc < MERGE_MIN_BLOCKS))
        return 0;
    for (size_t i = 0; i < nc && k < MERGE_MAX_INPUTS; i++) {
        uint64_t bytes = osp_block_get_info(c[i]->b)->bytes;
        if (k >= 2 && total + bytes > MERGE_MAX_BYTES)
            break;
        total += bytes;
        in[k++] = c[i];
    }
    qsort(in, k, sizeof *in, cmp_blk_age);
    return k;
}

/* Writes the union of in[0..n) (ascending by age) to a new block file numbered seq. */
static int write_merged(osp_tsdb *db, blk **in, size_t n, uint64_t seq)
{
    size_t pos[MERGE_MAX_INPUTS] = {0}, nl[MERGE_MAX_INPUTS] = {0}, scap = 0;
    osp_label *lab = osp_malloc(n * OSP_BLOCK_MAX_LABELS * sizeof *lab);
    uint64_t rep[MERGE_MAX_INPUTS], lsn = 0, age = 0;
    osp__svec v = {0};
    osp_sample *s = NULL;
    osp_block_writer *w = NULL;
    char *tmp = block_path(db, seq, 1);
    int rc = lab && tmp ? osp_block_writer_create(tmp, &w) : OSP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const osp_block_info *bi = osp_block_get_info(in[i]->b);
        rep[i] = in[i]->seq;
        lsn = bi->wal_lsn > lsn ? bi->wal_lsn : lsn;
        age = bi->age > age ? bi->age : age;
        if (rc == 0 && bi->nseries)
            nl[i] = osp_block_series_labels(in[i]->b, 0, lab + i * OSP_BLOCK_MAX_LABELS);
    }
    while (rc == 0) {
        osp_label *min = NULL;
        size_t nmin = 0;
        for (size_t i = 0; i < n; i++) {
            osp_label *li = lab + i * OSP_BLOCK_MAX_LABELS;
            if (pos[i] < osp_block_get_info(in[i]->b)->nseries &&
                (!min || osp_labels_compare(li, nl[i], min, nmin) < 0)) {
                min = li;
                nmin = nl[i];
            }
        }
        if (!min)
            break;
        v.n = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            osp_label *li = lab + i * OSP_BLOCK_MAX_LABELS;
            if (li == min || pos[i] >= osp_block_get_info(in[i]->b)->nseries ||
                osp_labels_compare(li, nl[i], min, nmin) != 0)
                continue;
            push_ctx pc = {&v, (uint32_t)i};
            rc = osp_block_series_samples(in[i]->b, pos[i], INT64_MIN, INT64_MAX, push_sample, &pc);
            pos[i]++;
            if (pos[i] < osp_block_get_info(in[i]->b)->nseries)
                nl[i] = osp_block_series_labels(in[i]->b, pos[i], li);
        }
        size_t mi = (size_t)(min - lab) / OSP_BLOCK_MAX_LABELS;
        if (rc == 0) {
            push_ctx pc = {&v, (uint32_t)mi};
            rc = osp_block_series_samples(in[mi]->b, pos[mi], INT64_MIN, INT64_MAX, push_sample,
                                          &pc);
        }
        osp__svec_settle(&v);
        if (rc == 0 && (rc = plain(&v, &s, &scap)) == 0)
            rc = osp_block_writer_add(w, min, nmin, s, v.n);
        pos[mi]++;
        if (pos[mi] < osp_block_get_info(in[mi]->b)->nseries)
            nl[mi] = osp_block_series_labels(in[mi]->b, pos[mi], min);
    }
    if (rc == 0) {
        osp_block_writer *fw = w;
        w = NULL;
        rc = osp_block_writer_finish(fw, lsn, age, rep, n, NULL);
    }
    osp_block_writer_abort(w);
    osp_free(lab);
    osp_free(tmp);
    osp_free(v.a);
    osp_free(s);
    return rc;
}

int osp__tsdb_merge(osp_tsdb *db)
{
    blk *in[MERGE_MAX_INPUTS], *k = NULL;
    int rc = 0;
    pthread_mutex_lock(&db->maint_mu);
    size_t n = pick_merge(db, in);
    if (n < 2)
        goto out;
    uint64_t seq = atomic_fetch_add(&db->next_seq, 1);
    if ((rc = write_merged(db, in, n, seq)) != 0 || (rc = publish(db, seq, &k)) != 0)
        goto out;
    pthread_rwlock_wrlock(&db->rw);
    rc = blocks_insert(db, k);
    if (rc == 0)
        for (size_t i = 0; i < n; i++)
            blocks_remove(db, in[i]);
    pthread_rwlock_unlock(&db->rw);
    if (rc) {
        unlink(k->path);
        blk_free(k);
        goto out;
    }
    osp_info(MOD, "merged %zu blocks into %s", n, k->path);
    for (size_t i = 0; i < n; i++) {
        unlink(in[i]->path);
        blk_free(in[i]);
    }
out:
    if (rc)
        osp_error(MOD, "merging blocks failed: %s", osp_strerror(rc));
    pthread_mutex_unlock(&db->maint_mu);
    return rc;
}

int osp__tsdb_retention(osp_tsdb *db, int64_t now)
{
    blk *gone[256];
    size_t n = 0;
    if (db->opt.retention_ms <= 0)
        return 0;
    pthread_mutex_lock(&db->maint_mu);
    pthread_rwlock_wrlock(&db->rw);
    for (size_t i = 0; i < db->nblocks && n < 256;) {
        if (osp_block_get_info(db->blocks[i]->b)->maxt < now - db->opt.retention_ms) {
            gone[n++] = db->blocks[i];
            blocks_remove(db, db->blocks[i]);
        } else {
            i++;
        }
    }
    pthread_rwlock_unlock(&db->rw);
    for (size_t i = 0; i < n; i++) {
        osp_info(MOD, "%s: past retention, removed", gone[i]->path);
        if (unlink(gone[i]->path) != 0)
            osp_warn(MOD, "%s: unlink: %s", gone[i]->path, strerror(errno));
        blk_free(gone[i]);
    }
    pthread_mutex_unlock(&db->maint_mu);
    return 0;
}

/* ---- background threads ----------------------------------------------------------------- */

static void *flusher_main(void *arg)
{
    osp_tsdb *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->stop) {
        osp_cond_wait_ms(&db->cv, &db->mu, FLUSH_POLL_MS);
        if (db->stop)
            break;
        pthread_mutex_unlock(&db->mu);
        if (db->frozen || flush_due(db))
            flush_once(db, 0);
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

static void *maintainer_main(void *arg)
{
    osp_tsdb *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->stop) {
        osp_cond_wait_ms(&db->maint_cv, &db->mu, MAINT_POLL_MS);
        if (db->stop)
            break;
        pthread_mutex_unlock(&db->mu);
        osp__tsdb_retention(db, now_ms());
        osp__tsdb_merge(db);
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

/* ---- open and close ---------------------------------------------------------------------- */

static int parse_block_name(const char *name, uint64_t *seq, int *tmp)
{
    char *end;
    size_t n = strlen(name);
    if (n < 20 || name[16] != '.')
        return 0;
    *seq = strtoull(name, &end, 16);
    if (end != name + 16)
        return 0;
    *tmp = !strcmp(name + 16, ".blk.tmp");
    return *tmp || !strcmp(name + 16, ".blk");
}

/* Removes blocks that a merged block lists as replaced (a crash between a merge's
 * publish and its unlinks). */
static void drop_replaced(osp_tsdb *db)
{
    for (size_t j = 0; j < db->nblocks;) {
        blk *old = db->blocks[j];
        int replaced = 0;
        for (size_t i = 0; i < db->nblocks && !replaced; i++) {
            const osp_block_info *bi = osp_block_get_info(db->blocks[i]->b);
            for (size_t r = 0; r < bi->nreplaces && i != j; r++)
                replaced |= bi->replaces[r] == old->seq;
        }
        if (!replaced) {
            j++;
            continue;
        }
        osp_info(MOD, "%s: already merged into another block, removing", old->path);
        blocks_remove(db, old);
        unlink(old->path);
        blk_free(old);
    }
}

static int load_blocks(osp_tsdb *db)
{
    DIR *d = opendir(db->dir);
    struct dirent *de;
    int rc = 0;
    if (!d) {
        osp_error(MOD, "%s: opendir: %s", db->dir, strerror(errno));
        return OSP_EIO;
    }
    while (rc == 0 && (de = readdir(d))) {
        uint64_t seq;
        int tmp;
        blk *k;
        if (!parse_block_name(de->d_name, &seq, &tmp))
            continue;
        char *path = osp_path_join(db->dir, de->d_name);
        if (!path) {
            rc = OSP_ENOMEM;
            break;
        }
        if (seq >= atomic_load(&db->next_seq))
            atomic_store(&db->next_seq, seq + 1);
        if (tmp) {
            osp_info(MOD, "%s: removing an interrupted block write", path);
            unlink(path);
            osp_free(path);
            continue;
        }
        if ((rc = blk_load(db, path, seq, 1, &k)) == 0 && k && (rc = blocks_insert(db, k)) != 0)
            blk_free(k);
    }
    closedir(d);
    for (size_t i = 0; i < db->nblocks; i++) {
        const osp_block_info *bi = osp_block_get_info(db->blocks[i]->b);
        for (size_t r = 0; r < bi->nreplaces; r++)
            if (bi->replaces[r] >= atomic_load(&db->next_seq))
                atomic_store(&db->next_seq, bi->replaces[r] + 1);
    }
    if (rc == 0)
        drop_replaced(db);
    return rc;
}

static void destroy(osp_tsdb *db)
{
    osp_wal_close(db->wal);
    for (size_t i = 0; i < db->nblocks; i++)
        blk_free(db->blocks[i]);
    osp_free(db->blocks);
    osp__head_cleanup(&db->head);
    osp__meta_cleanup(&db->meta);
    osp_series_index_destroy(db->idx);
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
        db->opt.head_bytes = DEFAULT_HEAD_BYTES;
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
    gen_reset(&db->g[0]);
    gen_reset(&db->g[1]);
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
    if ((rc = osp_series_index_create(NULL, &db->idx)) || (rc = load_blocks(db)) ||
        (rc = osp__meta_load(&db->meta, db->dir)))
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
    if (pthread_create(&db->flusher, NULL, flusher_main, db) != 0) {
        rc = OSP_ENOMEM;
        goto fail;
    }
    db->threads = 1;
    if (pthread_create(&db->maintainer, NULL, maintainer_main, db) != 0) {
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
    if (db->threads == 2 && flush_once(db, 1) != 0)
        osp_error(MOD, "final flush failed; the write-ahead log keeps the data");
    destroy(db);
}

/* ---- reads ------------------------------------------------------------------------------- */

/* Every sample of series id in [mint, maxt], one per timestamp, newest write winning.
 * Caller holds rw shared. */
static int gather(osp_tsdb *db, uint64_t id, int64_t mint, int64_t maxt, osp__svec *v)
{
    int rc = 0;
    v->n = 0;
    for (size_t i = 0; i < db->nblocks && rc == 0; i++) {
        blk *k = db->blocks[i];
        const osp_block_info *bi = osp_block_get_info(k->b);
        if (bi->maxt < mint || bi->mint > maxt)
            continue;
        int64_t j = blk_find(k, id);
        push_ctx pc = {v, (uint32_t)(2 * i)};
        if (j >= 0)
            rc = osp_block_series_samples(k->b, (size_t)j, mint, maxt, push_sample, &pc);
        if (rc == OSP_ECORRUPT)
            osp_error(MOD, "%s: corrupt chunk", k->path);
    }
    osp__hseries *h = rc ? NULL : osp__head_get(&db->head, id, false);
    if (h) {
        uint32_t base = (uint32_t)(2 * db->nblocks);
        pthread_mutex_t *lock = osp__head_lock(&db->head, id);
        pthread_mutex_lock(lock);
        if (db->frozen)
            rc = osp__hdata_collect(h->d[!db->gen], mint, maxt, base, v);
        if (rc == 0)
            rc = osp__hdata_collect(h->d[db->gen], mint, maxt, base + 2, v);
        pthread_mutex_unlock(lock);
    }
    osp__svec_settle(v);
    return rc;
}

static int cmp_series(const void *pa, const void *pb)
{
    const osp_series *a = pa, *b = pb;
    return osp_labels_compare(a->labels, a->nlabels, b->labels, b->nlabels);
}

/* Ids the matchers select; every series when n == 0. Caller holds rw shared. */
static int select_ids(osp_tsdb *db, const osp_label_matcher *m, size_t n, osp_arena *arena,
                      uint64_t **ids, size_t *nids)
{
    if (n)
        return osp_series_select(db->idx, m, n, arena, ids, nids);
    uint64_t ns = nseries(db);
    *ids = osp_arena_alloc(arena, (ns ? ns : 1) * sizeof **ids);
    if (!*ids)
        return OSP_ENOMEM;
    for (uint64_t i = 0; i < ns; i++)
        (*ids)[i] = i;
    *nids = (size_t)ns;
    return 0;
}

static int do_select(osp_tsdb *db, const osp_label_matcher *m, size_t n, int all, int64_t mint,
                     int64_t maxt, int samples, osp_arena *arena, osp_series **out, size_t *nout)
{
    uint64_t *ids;
    size_t nids = 0, k = 0;
    osp__svec v = {0};
    *out = NULL;
    *nout = 0;
    if (!db || !arena)
        return OSP_EINVAL;
    if ((n == 0 && !all) || mint > maxt)
        return 0;
    pthread_rwlock_rdlock(&db->rw);
    int rc = select_ids(db, m, n, arena, &ids, &nids);
    osp_series *res = rc ? NULL : osp_arena_calloc(arena, nids ? nids : 1, sizeof *res);
    if (!rc && !res)
        rc = OSP_ENOMEM;
    for (size_t i = 0; i < nids && rc == 0; i++) {
        if ((rc = gather(db, ids[i], mint, maxt, &v)) != 0 || v.n == 0)
            continue;
        osp_series *s = &res[k];
        if ((rc = osp_series_labels(db->idx, ids[i], arena, &s->labels, &s->nlabels)) != 0)
            break;
        for (size_t j = 0; j < s->nlabels && rc == 0; j++) {
            s->labels[j].name = osp_arena_strdup(arena, s->labels[j].name);
            s->labels[j].value = osp_arena_strdup(arena, s->labels[j].value);
            if (!s->labels[j].name.p || !s->labels[j].value.p)
                rc = OSP_ENOMEM;
        }
        if (samples && rc == 0) {
            s->samples = osp_arena_alloc(arena, v.n * sizeof *s->samples);
            if (!s->samples)
                rc = OSP_ENOMEM;
            for (size_t j = 0; j < v.n && rc == 0; j++)
                s->samples[j] = (osp_sample){v.a[j].t, v.a[j].v};
            s->nsamples = v.n;
        }
        k++;
    }
    pthread_rwlock_unlock(&db->rw);
    osp_free(v.a);
    if (rc)
        return rc;
    qsort(res, k, sizeof *res, cmp_series);
    *out = res;
    *nout = k;
    return 0;
}

int osp_tsdb_select(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                    int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout)
{
    return do_select(db, m, n, 0, mint_ms, maxt_ms, 1, arena, out, nout);
}

int osp_tsdb_series(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                    int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout)
{
    return do_select(db, m, n, 0, mint_ms, maxt_ms, 0, arena, out, nout);
}

/* Whether [mint, maxt] covers every stored sample. */
static int covers_all(osp_tsdb *db, int64_t mint, int64_t maxt)
{
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    return (st.block_samples == 0 && st.head_samples == 0) ||
           (mint <= st.min_time_ms && maxt >= st.max_time_ms);
}

static int cmp_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

/* Sorts and deduplicates a[0..n); returns the new count. */
static size_t sort_unique(osp_str *a, size_t n)
{
    size_t k = 0;
    qsort(a, n, sizeof *a, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || !osp_str_eq(a[k - 1], a[i]))
            a[k++] = a[i];
    return k;
}

/* Names (name.p == NULL) or values of name over the selected series. */
static int collect_labels(osp_tsdb *db, osp_str name, const osp_label_matcher *m, size_t n,
                          int64_t mint, int64_t maxt, osp_arena *arena, osp_str **out, size_t *nout)
{
    osp_series *s;
    size_t ns, total = 0, k = 0;
    *out = NULL;
    *nout = 0;
    int rc = do_select(db, m, n, 1, mint, maxt, 0, arena, &s, &ns);
    if (rc)
        return rc;
    for (size_t i = 0; i < ns; i++)
        total += s[i].nlabels;
    osp_str *a = osp_arena_alloc(arena, (total ? total : 1) * sizeof *a);
    if (!a)
        return OSP_ENOMEM;
    for (size_t i = 0; i < ns; i++) {
        if (!name.p) {
            for (size_t j = 0; j < s[i].nlabels; j++)
                a[k++] = s[i].labels[j].name;
        } else {
            osp_str v = osp_labels_get(s[i].labels, s[i].nlabels, name);
            if (v.n)
                a[k++] = v;
        }
    }
    *out = a;
    *nout = sort_unique(a, k);
    return 0;
}

int osp_tsdb_label_names(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                         int64_t maxt_ms, osp_arena *arena, osp_str **names, size_t *nnames)
{
    if (!db || !arena)
        return OSP_EINVAL;
    if (n == 0 && covers_all(db, mint_ms, maxt_ms))
        return osp_series_label_names(db->idx, arena, names, nnames);
    return collect_labels(db, OSP_STR_NULL, m, n, mint_ms, maxt_ms, arena, names, nnames);
}

int osp_tsdb_label_values(osp_tsdb *db, osp_str name, const osp_label_matcher *m, size_t n,
                          int64_t mint_ms, int64_t maxt_ms, osp_arena *arena, osp_str **values,
                          size_t *nvalues)
{
    if (!db || !arena || name.n == 0)
        return OSP_EINVAL;
    if (n == 0 && covers_all(db, mint_ms, maxt_ms))
        return osp_series_label_values(db->idx, name, arena, values, nvalues);
    return collect_labels(db, name, m, n, mint_ms, maxt_ms, arena, values, nvalues);
}

int osp_tsdb_metadata(osp_tsdb *db, osp_str family, osp_arena *arena, osp_metric_meta **out,
                      size_t *nout)
{
    if (!db || !arena)
        return OSP_EINVAL;
    return osp__meta_list(&db->meta, family, arena, out, nout);
}

size_t osp__tsdb_head_heap(osp_tsdb *db)
{
    return atomic_load(&db->head.table_bytes) + unflushed_bytes(db);
}

void osp_tsdb_get_stats(osp_tsdb *db, osp_tsdb_stats *st)
{
    osp_series_index_stats is;
    memset(st, 0, sizeof *st);
    if (!db)
        return;
    osp_series_index_get_stats(db->idx, &is);
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    pthread_rwlock_rdlock(&db->rw);
    st->series = is.nseries;
    for (int g = 0; g < 2; g++) {
        st->head_series += atomic_load(&db->g[g].series);
        st->head_samples += atomic_load(&db->g[g].samples);
        if (atomic_load(&db->g[g].samples)) {
            int64_t a = atomic_load(&db->g[g].mint), b = atomic_load(&db->g[g].maxt);
            mint = a < mint ? a : mint;
            maxt = b > maxt ? b : maxt;
        }
    }
    st->head_bytes = osp__tsdb_head_heap(db) + is.bytes;
    st->blocks = db->nblocks;
    for (size_t i = 0; i < db->nblocks; i++) {
        const osp_block_info *bi = osp_block_get_info(db->blocks[i]->b);
        st->block_samples += bi->nsamples;
        st->block_bytes += bi->bytes;
        if (bi->nsamples) {
            mint = bi->mint < mint ? bi->mint : mint;
            maxt = bi->maxt > maxt ? bi->maxt : maxt;
        }
    }
    pthread_rwlock_unlock(&db->rw);
    if (mint <= maxt) {
        st->min_time_ms = mint;
        st->max_time_ms = maxt;
    }
}
