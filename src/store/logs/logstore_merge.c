/* Log store maintenance: tiered merges of a partition's parts (k-way, in part order,
 * dropping exact duplicate records) and retention by whole day partitions. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "model/logstream.h"
#include "store/logs/logformat.h"
#include "store/logs/logstore_int.h"
#include "store/partdir.h"

#define MOD OSP_LOGSTORE_MODULE

/* Merge policy (not part of the format), as the trace store's (store/embedded/parts.c):
 * a part's tier is how many times MERGE_FANIN divides its rows over MERGE_BASE_ROWS; once
 * a partition holds MERGE_MIN_PARTS parts of one tier, the oldest of them (by first
 * record), up to MERGE_MAX_PARTS and MERGE_MAX_ROWS rows in all, are merged into one.
 * Parts past half of MERGE_MAX_ROWS are left alone, so parts stay local in time and a
 * newest-first select can stop early. */
#define MERGE_BASE_ROWS 65536
#define MERGE_FANIN 8
#define MERGE_MIN_PARTS 8
#define MERGE_MAX_PARTS 16
#define MERGE_MAX_ROWS (4ull << 20)
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
        int n = osp_logpart_read_granule(c->src->part, c->g++, &all, &c->rows, &c->local,
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
    osp_logpart_stream(c->src->part, local, &k.labels, &k.nlabels);
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

/* Publishes a merged part and swaps it in for its inputs in one step under the lock; the
 * inputs are unlinked once their last reader lets go. (After a crash in between, the
 * merged part's replaces list removes the inputs on the next open.) */
static int publish_merged(osp_logstore *s, osp__lpending *p, osp__lpart **in, size_t k)
{
    osp__lpart *out;
    uint8_t *gone = osp_calloc(k, 1);
    int rc = gone ? osp__lpending_publish(s, p, &out) : OSP_ENOMEM;
    if (rc) {
        osp_free(gone);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    rc = osp__logstore_list_push(s, out);
    for (size_t i = 0; i < k && rc == 0; i++)
        if ((gone[i] = (uint8_t)osp__logstore_list_remove(s, in[i])))
            atomic_store(&in[i]->fate, OSP_LPART_OBSOLETE);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < k; i++)
        if (gone[i])
            osp__lpart_release(in[i]);
    if (rc)
        osp__lpart_discard(out);
    else {
        atomic_fetch_add(&s->merges, 1);
        osp_counter_inc(osp__log_m_merges);
    }
    osp_free(gone);
    return rc;
}

/* Merges k parts of one partition into a new part that replaces them. A corrupt input is
 * quarantined and the merge abandoned. */
static int merge(osp_logstore *s, osp__lpart **in, size_t k)
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
        const osp_logpart_info *info = osp_logpart_get_info(in[i]->part);
        seqs[i] = in[i]->seq;
        lsn = info->wal_lsn > lsn ? info->wal_lsn : lsn;
        cur[i].src = in[i];
        cur[i].ngranules = info->ngranules;
        if ((rc = cursor_next(&cur[i], 0)) != 0)
            bad = i;
    }
    osp_logpart_writer_options opt = {.wal_lsn = lsn,
                                      .replaces = seqs,
                                      .nreplaces = k,
                                      .zstd_level = OSP_LOGPART_ZSTD_LEVEL_MERGED};
    if (rc == 0)
        rc = osp__lpending_start(s, &p, in[0]->day, &opt);
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

static int tier_of(uint64_t rows)
{
    int t = 0;
    for (rows /= MERGE_BASE_ROWS; rows; rows /= MERGE_FANIN)
        t++;
    return t;
}

/* A part's tier, or INT_MAX for parts too large to merge again. */
static int merge_tier(const osp__lpart *p)
{
    uint64_t rows = osp_logpart_get_info(p->part)->nrows;
    return rows > MERGE_MAX_ROWS / 2 ? INT_MAX : tier_of(rows);
}

/* Partition, then tier, then age (first record). */
static int cmp_day_tier_age(const void *a, const void *b)
{
    const osp__lpart *x = *(osp__lpart *const *)a, *y = *(osp__lpart *const *)b;
    int tx = merge_tier(x), ty = merge_tier(y);
    uint64_t ax = osp_logpart_get_info(x->part)->min_time;
    uint64_t ay = osp_logpart_get_info(y->part)->min_time;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return (ax > ay) - (ax < ay);
}

/* Picks parts to merge from a snapshot: the oldest parts of the lowest tier of a
 * partition that holds enough of them, as many as fit in MERGE_MAX_ROWS (at least two).
 * Sorts the snapshot's parts. Returns how many (0: nothing to do). */
static size_t pick_merge(osp__lsnap *snap, osp__lpart ***sel)
{
    osp__lpart **a = snap->parts;
    qsort(a, snap->nparts, sizeof *a, cmp_day_tier_age);
    for (size_t i = 0, j; i < snap->nparts; i = j) {
        int tier = merge_tier(a[i]);
        size_t k = 0;
        uint64_t rows = 0;
        for (j = i + 1; j < snap->nparts && a[j]->day == a[i]->day && merge_tier(a[j]) == tier;)
            j++;
        while (tier != INT_MAX && k < j - i && k < MERGE_MAX_PARTS &&
               (rows += osp_logpart_get_info(a[i + k]->part)->nrows) <= MERGE_MAX_ROWS)
            k++;
        if (j - i >= MERGE_MIN_PARTS && k >= 2) {
            *sel = &a[i];
            return k;
        }
    }
    return 0;
}

/* Takes whole partitions whose newest record is older than the retention out of
 * service; their files go when the last reader lets go. */
static void drop_expired(osp_logstore *s, uint64_t now_ns)
{
    if (!s->retention_ns || now_ns <= s->retention_ns)
        return;
    uint64_t cutoff = now_ns - s->retention_ns;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nparts;) {
        uint32_t day = s->parts[i]->day;
        uint64_t newest = 0;
        for (size_t j = 0; j < s->nparts; j++) {
            uint64_t t = osp_logpart_get_info(s->parts[j]->part)->max_time;
            if (s->parts[j]->day == day && t > newest)
                newest = t;
        }
        if (newest >= cutoff) {
            i++;
            continue;
        }
        char dname[OSP_PART_DAY_DIGITS + 1];
        osp_partdir_day_name(day, dname);
        osp_info(MOD, "log partition %s is past the retention, dropping it", dname);
        for (size_t j = s->nparts; j-- > 0;) {
            osp__lpart *p = s->parts[j];
            if (p->day != day)
                continue;
            osp__logstore_list_remove(s, p);
            osp__lpart_discard(p); /* unlinks now unless readers still hold the part */
        }
        i = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

/* 1 when a part of the list is in day (osp_partdir_remove_empty_days). */
static int day_used(void *ctx, uint32_t day)
{
    osp_logstore *s = ctx;
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i]->day == day)
            return 1;
    return 0;
}

int osp_logstore_maintain(osp_logstore *s, uint64_t now_ns)
{
    int rc = 0;
    pthread_mutex_lock(&s->maintain_mu);
    drop_expired(s, now_ns);
    for (int round = 0; round < MERGES_PER_ROUND && rc == 0; round++) {
        osp__lsnap snap;
        osp__lpart **sel;
        size_t k = 0;
        if ((rc = osp__logstore_snapshot(s, &snap)) != 0)
            break;
        if ((k = pick_merge(&snap, &sel)) > 0)
            rc = merge(s, sel, k);
        osp__logstore_snapshot_release(&snap);
        if (k == 0)
            break;
    }
    osp_partdir_remove_empty_days(s->dir, &s->mu, day_used, s, MOD);
    pthread_mutex_unlock(&s->maintain_mu);
    return rc;
}
