/* The engine's block list: loading block files (at open and after a write), quarantining
 * corrupt ones, finding a series in a block, and keeping the list ordered by age. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/tsdb/block.h"
#include "store/tsdb/tsdb_int.h"

#define MOD "tsdb"

/* ---- blocks ----------------------------------------------------------------------------- */

void osp__blk_free(osp__blk *k)
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
int64_t osp__blk_find(const osp__blk *k, uint64_t id)
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

/* Opens block file path (taken) as *out and maps its series to ids, creating them in the
 * index. With init_last, series state takes the block's newest samples. A corrupt file
 * is quarantined: *out NULL, 0. */
static int blk_load(osp_tsdb *db, char *path, uint64_t seq, int init_last, osp__blk **out)
{
    osp_label l[OSP_BLOCK_MAX_LABELS];
    *out = NULL;
    osp__blk *k = osp_calloc(1, sizeof *k);
    if (!k) {
        osp_free(path);
        return OSP_ENOMEM;
    }
    k->path = path;
    k->seq = seq;
    int rc = osp_block_open(path, &k->b);
    if (rc == OSP_ECORRUPT) {
        osp_quarantine(path, db->qdir, NULL, "block", MOD);
        osp__blk_free(k);
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
        const osp_block_hist *hs = osp_block_series_hist(k->b, i);
        osp__hseries *h = osp__head_get(&db->head, id, true);
        if (!h)
            goto fail;
        if (h->last_t == INT64_MIN || bs->maxt >= h->last_t) {
            h->last_t = bs->maxt;
            h->last_v = bs->last_v;
            h->last_hist = hs && hs->maxt == bs->maxt;
        }
    }
    qsort_r(k->by_gid, n, sizeof *k->by_gid, cmp_by_gid, k->gid);
    *out = k;
    return 0;
fail:
    osp__blk_free(k);
    return rc;
}

/* Inserts k keeping the list ascending by age. Caller holds rw exclusively. */
int osp__tsdb_blocks_insert(osp_tsdb *db, osp__blk *k)
{
    if (db->nblocks == db->blocks_cap) {
        size_t cap = db->blocks_cap ? db->blocks_cap * 2 : 16;
        osp__blk **a = osp_realloc(db->blocks, cap * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        db->blocks = a;
        db->blocks_cap = cap;
    }
    size_t i = db->nblocks;
    while (i > 0 && osp__blk_age(db->blocks[i - 1]) > osp__blk_age(k)) {
        db->blocks[i] = db->blocks[i - 1];
        i--;
    }
    db->blocks[i] = k;
    db->nblocks++;
    return 0;
}

void osp__tsdb_blocks_remove(osp_tsdb *db, const osp__blk *k)
{
    for (size_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i] == k) {
            memmove(&db->blocks[i], &db->blocks[i + 1], (db->nblocks - i - 1) * sizeof *db->blocks);
            db->nblocks--;
            return;
        }
}

char *osp__tsdb_block_path(osp_tsdb *db, uint64_t seq, int tmp)
{
    char name[64];
    snprintf(name, sizeof name, "%016" PRIx64 ".blk%s", seq, tmp ? ".tmp" : "");
    return osp_path_join(db->dir, name);
}

/* Renames a finished temporary block into place and loads it. */
int osp__tsdb_publish(osp_tsdb *db, uint64_t seq, osp__blk **out)
{
    char *tmp = osp__tsdb_block_path(db, seq, 1), *path = osp__tsdb_block_path(db, seq, 0);
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

/* Where push_sample and push_hsample put the samples of a block series: into v with rank. */
typedef struct push_ctx {
    osp__svec *v;
    uint32_t rank;
} push_ctx;

static int push_sample(void *ctx, int64_t t, double v)
{
    push_ctx *p = ctx;
    return osp__svec_push(p->v, t, v, p->rank);
}

static int push_hsample(void *ctx, int64_t t, const osp_histogram *h)
{
    push_ctx *p = ctx;
    return osp__svec_push_hist(p->v, t, h, p->rank);
}

int osp__push_block_series(const osp_block *b, size_t i, int64_t mint, int64_t maxt, uint32_t rank,
                           osp_arena *arena, osp__svec *v)
{
    push_ctx pc = {v, rank};
    int rc = osp_block_series_samples(b, i, mint, maxt, push_sample, &pc);
    return rc ? rc : osp_block_series_hsamples(b, i, mint, maxt, arena, push_hsample, &pc);
}

/* ---- loading at open --------------------------------------------------------------------- */

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
        osp__blk *old = db->blocks[j];
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
        osp__tsdb_blocks_remove(db, old);
        unlink(old->path);
        osp__blk_free(old);
    }
}

int osp__tsdb_load_blocks(osp_tsdb *db)
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
        osp__blk *k;
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
        if ((rc = blk_load(db, path, seq, 1, &k)) == 0 && k &&
            (rc = osp__tsdb_blocks_insert(db, k)) != 0)
            osp__blk_free(k);
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
