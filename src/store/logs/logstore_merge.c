/* Log store maintenance: tiered merges of a partition's parts (k-way, in part order,
 * dropping exact duplicate records) and retention by whole day partitions. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/mem.h"
#include "model/logstream.h"
#include "store/logs/logformat.h"
#include "store/logs/logstore_int.h"
#include "store/partdir.h"
#include "store/partlist.h"

#define MOD OSP_LOGSTORE_MODULE

/* Merge policy (store/partlist.h; not part of the format), the trace store's but for 4 Mi
 * rows at most: tiers of 64 Ki rows times 8; 8 parts of a tier in a partition merge, up to
 * 16 parts and 4 Mi rows. Parts past half of that are left alone, so parts stay local in
 * time and a newest-first select can stop early. */
static const osp_merge_policy merge_policy = {
    .base_rows = 65536, .fanin = 8, .min_parts = 8, .max_parts = 16, .max_rows = 4ull << 20};
#define MERGES_PER_ROUND 64        /* bounds one maintenance call */
#define GROUP_ARENA_MAX (4u << 20) /* the duplicate group's arena is freed past this */

/* Reads one input part granule by granule, in part order. */
typedef struct cursor {
    osp__lpart *src;
    size_t g, ngranules;
    osp_log_batch rows; /* the current granule */
    uint32_t *local;    /* local stream of each row */
    size_t nlocal, cap;
    size_t pos; /* current row; rows.nrecords when exhausted */
} cursor;

/* Moves to the next row, reading granules as needed. */
static int cursor_next(cursor *c, int advance)
{
    static const osp_logpart_filter all = {0};
    if (advance)
        c->pos++;
    while (c->pos >= c->rows.nrecords && c->g < c->ngranules) {
        osp__log_batch_reset(&c->rows);
        c->nlocal = c->pos = 0;
        int n = osp_logpart_read_granule(c->src->ref.part, c->g++, &all, &c->rows, &c->local,
                                         &c->nlocal, &c->cap);
        if (n < 0)
            return n;
    }
    return 0;
}

static int cursor_done(const cursor *c)
{
    return c->pos >= c->rows.nrecords;
}

typedef struct row_key {
    uint64_t stream, time;
    const osp_label *labels;
    size_t nlabels;
} row_key;

static row_key cursor_key(const cursor *c)
{
    row_key k;
    uint32_t local = c->local[c->pos];
    k.stream = c->src->gids[local];
    k.time = osp_log_time(&c->rows.records[c->pos]);
    osp_logpart_stream(c->src->ref.part, local, &k.labels, &k.nlabels);
    return k;
}

static int key_cmp(const row_key *a, const row_key *b)
{
    if (a->stream != b->stream) {
        int c = osp_logpart_labels_cmp(a->labels, a->nlabels, b->labels, b->nlabels);
        if (c)
            return c;
    }
    return (a->time > b->time) - (a->time < b->time);
}

/* Rows already written under the current (stream, time), kept only while another row
 * with that key may follow. */
typedef struct dup_group {
    osp_log_batch rows;
    uint64_t stream, time;
} dup_group;

/* 1 when a row with key k may still follow row `best` (the next row of best's granule,
 * or the first of its next granule, or another input's current row). */
static int key_may_repeat(cursor *cur, size_t k, size_t best, const row_key *key)
{
    const cursor *b = &cur[best];
    if (b->pos + 1 >= b->rows.nrecords
            ? b->g < b->ngranules
            : b->src->gids[b->local[b->pos + 1]] == key->stream &&
                  osp_log_time(&b->rows.records[b->pos + 1]) == key->time)
        return 1;
    for (size_t i = 0; i < k; i++) {
        if (i == best || cursor_done(&cur[i]))
            continue;
        row_key ki = cursor_key(&cur[i]);
        if (ki.stream == key->stream && ki.time == key->time)
            return 1;
    }
    return 0;
}

/* Writes row `best` unless it repeats a row written under the same key. */
static int merge_row(cursor *cur, size_t k, size_t best, dup_group *grp, osp_logpart_writer *w)
{
    cursor *c = &cur[best];
    row_key key = cursor_key(c);
    int dup = 0, rc = 0;
    if (grp->rows.nrecords && (grp->stream != key.stream || grp->time != key.time)) {
        grp->rows.nrecords = grp->rows.nresources = grp->rows.nscopes = 0;
        if (grp->rows.arena.used > GROUP_ARENA_MAX)
            osp__log_batch_reset(&grp->rows);
    }
    for (size_t j = 0; j < grp->rows.nrecords && !dup; j++)
        dup = osp_log_record_equal(&grp->rows, j, &c->rows, c->pos);
    if (dup)
        return 0;
    rc = osp_logpart_writer_add(w, key.labels, key.nlabels, &c->rows, c->pos);
    if (rc == 0 && key_may_repeat(cur, k, best, &key)) {
        grp->stream = key.stream;
        grp->time = key.time;
        rc = osp__log_copy_record(&grp->rows, &c->rows, c->pos);
    }
    return rc;
}

/* Publishes a merged part and swaps it in for its inputs (osp_partlist_replace). (After a
 * crash in between, the merged part's replaces list removes the inputs on the next open.) */
static int publish_merged(osp_logstore *s, osp__lpending *p, osp_partref **in, size_t k)
{
    osp_partref *out;
    int rc = osp__lpending_publish(s, p, &out);
    if (rc == 0)
        rc = osp_partlist_replace(&s->parts, &s->mu, out, in, k);
    if (rc == 0) {
        atomic_fetch_add(&s->merges, 1);
        osp_counter_inc(osp__log_m_merges);
    }
    return rc;
}

/* Merges k parts of one partition into a new part that replaces them. A corrupt input is
 * quarantined and the merge abandoned. */
static int merge(osp_logstore *s, osp_partref **in, size_t k)
{
    cursor *cur = osp_calloc(k, sizeof *cur);
    uint64_t *seqs = osp_calloc(k, sizeof *seqs), lsn = 0;
    dup_group grp = {0};
    size_t bad = k;
    osp__lpending p = {0};
    int rc = cur && seqs ? 0 : OSP_ENOMEM;
    osp_log_batch_init(&grp.rows);
    for (size_t i = 0; cur && i < k; i++)
        osp_log_batch_init(&cur[i].rows);
    for (size_t i = 0; i < k && rc == 0; i++) {
        seqs[i] = in[i]->info.seq;
        lsn = in[i]->info.wal_lsn > lsn ? in[i]->info.wal_lsn : lsn;
        cur[i].src = osp__lpart_of(in[i]);
        cur[i].ngranules = osp_logpart_get_info(in[i]->part)->ngranules;
        if ((rc = cursor_next(&cur[i], 0)) != 0)
            bad = i;
    }
    osp_logpart_writer_options opt = {.wal_lsn = lsn,
                                      .replaces = seqs,
                                      .nreplaces = k,
                                      .zstd_level = OSP_LOGPART_ZSTD_LEVEL_MERGED};
    if (rc == 0)
        rc = osp__lpending_start(s, &p, in[0]->info.day, &opt);
    while (rc == 0) {
        size_t best = k;
        row_key bk = {0};
        for (size_t i = 0; i < k; i++) {
            if (cursor_done(&cur[i]))
                continue;
            row_key ki = cursor_key(&cur[i]);
            if (best == k || key_cmp(&ki, &bk) < 0) {
                best = i;
                bk = ki;
            }
        }
        if (best == k)
            break;
        if ((rc = merge_row(cur, k, best, &grp, p.w)) == 0 &&
            (rc = cursor_next(&cur[best], 1)) == OSP_ECORRUPT)
            bad = best;
    }
    if (rc == 0)
        rc = osp__lpending_finish(&p);
    if (rc == 0)
        rc = publish_merged(s, &p, in, k);
    if (rc == OSP_ECORRUPT && bad < k) {
        osp__logstore_quarantine(s, in[bad]);
        rc = 0;
    }
    osp__lpending_cleanup(&p);
    for (size_t i = 0; cur && i < k; i++) {
        osp_log_batch_cleanup(&cur[i].rows);
        osp_free(cur[i].local);
    }
    osp_log_batch_cleanup(&grp.rows);
    osp_free(cur);
    osp_free(seqs);
    return rc;
}

int osp__logstore_merges_behind(osp_logstore *s)
{
    return osp_partlist_merges_behind(&merge_policy, &s->parts, s->max_merge_backlog,
                                      &s->merge_wait, MOD);
}

int osp_logstore_maintain(osp_logstore *s, uint64_t now_ns)
{
    int rc = 0, narrowed = 0;
    pthread_mutex_lock(&s->maintain_mu);
    if (osp_partlist_expire(&s->parts, &s->mu, s->retention_ns, now_ns, "log partition"))
        narrowed = osp__logstore_narrow_times(s);
    for (int round = 0; round < MERGES_PER_ROUND && rc == 0; round++) {
        osp__lsnap snap;
        size_t k, first;
        if ((rc = osp__logstore_snapshot(s, &snap)) != 0)
            break;
        if ((k = osp_partlist_pick_merge(&merge_policy, snap.parts, snap.nparts, &first)) > 0)
            rc = merge(s, &snap.parts[first], k);
        osp__logstore_snapshot_release(&snap);
        if (k == 0)
            break;
    }
    osp_partdir_remove_empty_days(s->dir, &s->mu, osp_partlist_day_used, &s->parts, MOD);
    int swept = osp__logstore_sweep_streams(s, now_ns);
    pthread_mutex_unlock(&s->maintain_mu);
    return rc ? rc : narrowed ? narrowed : swept;
}
