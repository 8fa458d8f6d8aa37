/* Engine maintenance: cutting the head and writing it out as a block, merging blocks,
 * retention, and the two background threads that run them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cond.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/embedded/wal.h"
#include "store/tsdb/block.h"
#include "store/tsdb/tsdb_int.h"

#define MOD "tsdb"
#define MERGE_MAX_BYTES ((uint64_t)512 << 20) /* merged blocks stay below this */
#define MERGE_MIN_BLOCKS 4                    /* small blocks that start a merge */
#define MERGE_MAX_INPUTS 8
#define FLUSH_POLL_MS 1000
#define MAINT_POLL_MS 5000

/* Whether the active generation should be cut now. Reads gen racily: a hint. */
int osp__tsdb_flush_due(osp_tsdb *db)
{
    osp__hgen *g = &db->g[db->gen];
    if (atomic_load(&g->samples) == 0)
        return 0;
    int64_t mint = atomic_load(&g->mint), maxt = atomic_load(&g->maxt);
    /* The span in unsigned arithmetic: it may pass INT64_MAX. */
    return atomic_load(&g->bytes) > db->opt.head_bytes ||
           (maxt >= mint && (uint64_t)maxt - (uint64_t)mint >= (uint64_t)db->opt.block_ms);
}

/* One series' samples for the block writer, floats and histograms apart (reused). */
typedef struct split_buf {
    osp_sample *s;
    osp_hsample *hs;
    size_t n, nh, cap; /* cap: of both arrays */
} split_buf;

static void split_cleanup(split_buf *o)
{
    osp_free(o->s);
    osp_free(o->hs);
}

/* Splits the settled samples of v into o. 0 or OSP_ENOMEM. */
static int split(const osp__svec *v, split_buf *o)
{
    if (v->n > o->cap) {
        osp_sample *ns = osp_realloc(o->s, v->n * sizeof *ns);
        if (ns)
            o->s = ns;
        osp_hsample *nhs = ns ? osp_realloc(o->hs, v->n * sizeof *nhs) : NULL;
        if (!nhs)
            return OSP_ENOMEM;
        o->hs = nhs;
        o->cap = v->n;
    }
    o->n = o->nh = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->a[i].hist)
            o->hs[o->nh++] = (osp_hsample){v->a[i].t, v->a[i].h};
        else
            o->s[o->n++] = (osp_sample){v->a[i].t, v->a[i].v};
    }
    return 0;
}

/* Writes one series' settled samples v to w. */
static int add_series(osp_block_writer *w, const osp_label *l, size_t nl, const osp__svec *v,
                      split_buf *o)
{
    int rc = split(v, o);
    return rc ? rc : osp_block_writer_add(w, l, nl, o->s, o->n, o->hs, o->nh);
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

/* Writes the frozen generation as a block, publishes it and frees the generation.
 * Caller holds flush_mu; db->frozen is set. */
static int write_frozen(osp_tsdb *db)
{
    int fg = !db->gen, rc = 0;
    uint64_t n = osp__tsdb_nseries(db), seq = 0;
    osp_arena arena, hists;
    lab_id *ids = NULL;
    size_t nids = 0, cap = 0;
    osp__svec v = {0};
    split_buf sb = {0};
    osp_block_writer *w = NULL;
    osp__blk *k = NULL;
    char *tmp = NULL;
    osp_arena_init(&arena, 0, 0);
    osp_arena_init(&hists, 0, 0); /* one series' histograms at a time */
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
    if (!(tmp = osp__tsdb_block_path(db, seq, 1))) {
        rc = OSP_ENOMEM;
        goto out;
    }
    if ((rc = osp_block_writer_create(tmp, &w)) != 0)
        goto out;
    for (size_t i = 0; i < nids && rc == 0; i++) {
        osp__hseries *h = osp__head_get(&db->head, ids[i].id, false);
        v.n = 0;
        if ((rc = osp__hdata_collect(h->d[fg], INT64_MIN, INT64_MAX, 0, &hists, &v)) != 0)
            break;
        osp__svec_settle(&v);
        rc = add_series(w, ids[i].l, ids[i].n, &v, &sb);
        osp_arena_cleanup(&hists);
    }
    if (rc == 0) {
        osp_block_writer *fw = w;
        w = NULL;
        rc = osp_block_writer_finish(fw, db->frozen_lsn, seq, NULL, 0, NULL);
    }
    if (rc == 0)
        rc = osp__tsdb_publish(db, seq, &k);
meta:
    if (rc == 0)
        rc = osp__meta_save(&db->meta, db->dir);
    if (rc)
        goto out;
    pthread_rwlock_wrlock(&db->rw);
    if (k && (rc = osp__tsdb_blocks_insert(db, k)) == 0)
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
    osp__hgen_reset(&db->g[fg]);
    if (osp_wal_truncate_before(db->wal, db->frozen_lsn) != 0)
        osp_warn(MOD, "write-ahead log segments could not be removed; retrying later");
out:
    if (rc)
        osp_error(MOD, "writing a block failed: %s; the head keeps the data", osp_strerror(rc));
    osp_block_writer_abort(w);
    if (k) {
        unlink(k->path);
        osp__blk_free(k);
    }
    osp_free(tmp);
    osp_free(ids);
    osp_free(v.a);
    split_cleanup(&sb);
    osp_arena_cleanup(&arena);
    osp_arena_cleanup(&hists);
    return rc;
}

/* Finishes a pending block write, then (force, or when due) cuts the head and writes it. */
int osp__tsdb_flush_once(osp_tsdb *db, int force)
{
    int rc = 0;
    pthread_mutex_lock(&db->flush_mu);
    if (db->frozen)
        rc = write_frozen(db);
    if (rc == 0 && (force || osp__tsdb_flush_due(db))) {
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
    return db ? osp__tsdb_flush_once(db, 1) : OSP_EINVAL;
}

/* ---- merges and retention ---------------------------------------------------------------- */

static int cmp_blk_mint(const void *pa, const void *pb)
{
    int64_t a = osp_block_get_info((*(osp__blk *const *)pa)->b)->mint;
    int64_t b = osp_block_get_info((*(osp__blk *const *)pb)->b)->mint;
    return a < b ? -1 : a > b;
}

static int cmp_blk_age(const void *pa, const void *pb)
{
    uint64_t a = osp__blk_age(*(osp__blk *const *)pa), b = osp__blk_age(*(osp__blk *const *)pb);
    return a < b ? -1 : a > b;
}

/* Picks blocks to merge into in[] (ascending by age): a run, in time order, of small
 * blocks when some overlap or there are MERGE_MIN_BLOCKS of them. */
static size_t pick_merge(osp_tsdb *db, osp__blk **in)
{
    osp__blk *c[256];
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
static int write_merged(osp_tsdb *db, osp__blk **in, size_t n, uint64_t seq)
{
    size_t pos[MERGE_MAX_INPUTS] = {0}, nl[MERGE_MAX_INPUTS] = {0};
    osp_label *lab = osp_malloc(n * OSP_BLOCK_MAX_LABELS * sizeof *lab);
    uint64_t rep[MERGE_MAX_INPUTS], lsn = 0, age = 0;
    osp__svec v = {0};
    split_buf sb = {0};
    osp_arena hists; /* one series' histograms at a time */
    osp_block_writer *w = NULL;
    char *tmp = osp__tsdb_block_path(db, seq, 1);
    int rc = lab && tmp ? osp_block_writer_create(tmp, &w) : OSP_ENOMEM;
    osp_arena_init(&hists, 0, 0);
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
            rc = osp__push_block_series(in[i]->b, pos[i], INT64_MIN, INT64_MAX, (uint32_t)i, &hists,
                                        &v);
            pos[i]++;
            if (pos[i] < osp_block_get_info(in[i]->b)->nseries)
                nl[i] = osp_block_series_labels(in[i]->b, pos[i], li);
        }
        size_t mi = (size_t)(min - lab) / OSP_BLOCK_MAX_LABELS;
        if (rc == 0)
            rc = osp__push_block_series(in[mi]->b, pos[mi], INT64_MIN, INT64_MAX, (uint32_t)mi,
                                        &hists, &v);
        osp__svec_settle(&v);
        if (rc == 0)
            rc = add_series(w, min, nmin, &v, &sb);
        osp_arena_cleanup(&hists);
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
    split_cleanup(&sb);
    osp_arena_cleanup(&hists);
    return rc;
}

int osp__tsdb_merge(osp_tsdb *db)
{
    osp__blk *in[MERGE_MAX_INPUTS], *k = NULL;
    int rc = 0;
    pthread_mutex_lock(&db->maint_mu);
    size_t n = pick_merge(db, in);
    if (n < 2)
        goto out;
    uint64_t seq = atomic_fetch_add(&db->next_seq, 1);
    if ((rc = write_merged(db, in, n, seq)) != 0 || (rc = osp__tsdb_publish(db, seq, &k)) != 0)
        goto out;
    pthread_rwlock_wrlock(&db->rw);
    rc = osp__tsdb_blocks_insert(db, k);
    if (rc == 0)
        for (size_t i = 0; i < n; i++)
            osp__tsdb_blocks_remove(db, in[i]);
    pthread_rwlock_unlock(&db->rw);
    if (rc) {
        unlink(k->path);
        osp__blk_free(k);
        goto out;
    }
    osp_info(MOD, "merged %zu blocks into %s", n, k->path);
    for (size_t i = 0; i < n; i++) {
        unlink(in[i]->path);
        osp__blk_free(in[i]);
    }
out:
    if (rc)
        osp_error(MOD, "merging blocks failed: %s", osp_strerror(rc));
    pthread_mutex_unlock(&db->maint_mu);
    return rc;
}

size_t osp__tsdb_sweep_series(osp_tsdb *db)
{
    size_t n = osp__tsdb_nseries(db), ngone = 0;
    uint8_t *held = osp_calloc(n + 1, 1), *gone = osp_calloc(n + 1, 1);
    uint64_t *ids = osp_malloc((n + 1) * sizeof *ids);
    if (!held || !gone || !ids)
        goto out;
    for (size_t b = 0; b < db->nblocks; b++) {
        const osp__blk *k = db->blocks[b];
        for (uint64_t i = 0; i < osp_block_get_info(k->b)->nseries; i++)
            held[k->gid[i]] = 1;
    }
    for (size_t id = 0; id < n; id++) {
        const osp__hseries *h = held[id] ? NULL : osp__head_get(&db->head, id, true);
        if (!h || h->removed || h->d[0] || h->d[1])
            continue; /* held, already gone, or (no memory for its entry) left for later */
        gone[id] = 1;
        ids[ngone++] = id;
    }
    if (ngone && osp_series_index_remove(db->idx, ids, ngone) != 0) {
        ngone = 0;
        goto out;
    }
    for (size_t i = 0; i < ngone; i++)
        *osp__head_get(&db->head, ids[i], false) =
            (osp__hseries){.last_t = INT64_MIN, .removed = 1};
    if (ngone) {
        osp_keymap_drop(db->keys, gone, n);
        osp_info(MOD, "removed %zu series that retention left without samples", ngone);
    }
out:
    osp_free(held);
    osp_free(gone);
    osp_free(ids);
    return ngone;
}

int osp__tsdb_retention(osp_tsdb *db, int64_t now)
{
    osp__blk *gone[256];
    size_t n = 0;
    if (db->opt.retention_ms <= 0)
        return 0;
    pthread_mutex_lock(&db->maint_mu);
    pthread_rwlock_wrlock(&db->rw);
    for (size_t i = 0; i < db->nblocks && n < 256;) {
        if (osp_block_get_info(db->blocks[i]->b)->maxt < now - db->opt.retention_ms) {
            gone[n++] = db->blocks[i];
            osp__tsdb_blocks_remove(db, db->blocks[i]);
        } else {
            i++;
        }
    }
    pthread_rwlock_unlock(&db->rw);
    if (n) { /* flush_mu: a block write frees the head data it wrote without rw */
        pthread_mutex_lock(&db->flush_mu);
        pthread_rwlock_wrlock(&db->rw);
        osp__tsdb_sweep_series(db);
        pthread_rwlock_unlock(&db->rw);
        pthread_mutex_unlock(&db->flush_mu);
    }
    for (size_t i = 0; i < n; i++) {
        osp_info(MOD, "%s: past retention, removed", gone[i]->path);
        if (unlink(gone[i]->path) != 0)
            osp_warn(MOD, "%s: unlink: %s", gone[i]->path, strerror(errno));
        osp__blk_free(gone[i]);
    }
    pthread_mutex_unlock(&db->maint_mu);
    return 0;
}

/* ---- background threads ----------------------------------------------------------------- */

void *osp__tsdb_flusher_main(void *arg)
{
    osp_tsdb *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->stop) {
        osp_cond_wait_ms(&db->cv, &db->mu, FLUSH_POLL_MS);
        if (db->stop)
            break;
        pthread_mutex_unlock(&db->mu);
        if (db->frozen || osp__tsdb_flush_due(db))
            osp__tsdb_flush_once(db, 0);
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

void *osp__tsdb_maintainer_main(void *arg)
{
    osp_tsdb *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->stop) {
        osp_cond_wait_ms(&db->maint_cv, &db->mu, MAINT_POLL_MS);
        if (db->stop)
            break;
        pthread_mutex_unlock(&db->mu);
        osp__tsdb_retention(db, osp__tsdb_now_ms());
        osp__tsdb_merge(db);
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}
