/* Log store flushes: the buffer swapped out, its records sorted by (day, stream label
 * set, time) and written as one part per day, published and swapped in for the buffer in
 * one step; and the flusher thread that runs them (README.md, "Flush"). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/cond.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "model/logstream.h"
#include "store/logs/logstore_int.h"

#define MOD OSP_LOGSTORE_MODULE
#define FLUSH_AGE_NS 30000000000ull /* flush a buffer holding records this long */
#define FLUSHER_TICK_MS 1000        /* how often the flusher looks at the clock */

/* A buffered record on its way into a part. */
typedef struct flush_row {
    const osp_log_batch *b;
    size_t i;
    uint64_t stream, time;
    uint32_t day, rank; /* rank: the stream's position in label-set order */
    size_t seq;         /* arrival order in the buffer */
} flush_row;

typedef struct flush_rows {
    flush_row *a;
    size_t n, cap;
} flush_rows;

static int collect_row(const osp_log_batch *b, size_t i, uint64_t stream, void *ctx)
{
    flush_rows *rows = ctx;
    flush_row *r = osp_array_push((void **)&rows->a, &rows->n, &rows->cap, sizeof *rows->a);
    if (!r)
        return OSP_ENOMEM;
    uint64_t t = osp_log_time(&b->records[i]);
    *r = (flush_row){b, i, stream, t, osp__log_day(t), 0, 0};
    return 0;
}

/* The label sets of the streams a flush writes, sorted. */
typedef struct stream_set {
    uint64_t *ids; /* distinct, ascending */
    size_t n;
    osp_label **labels;
    size_t *nlabels;
    uint32_t *rank; /* of ids[i] */
} stream_set;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_by_labels(const void *a, const void *b, void *ctx)
{
    const stream_set *ss = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return osp_logpart_labels_cmp(ss->labels[x], ss->nlabels[x], ss->labels[y], ss->nlabels[y]);
}

/* Sorts v[0..n) and drops repeats; returns how many distinct values are left. */
static size_t sort_distinct(uint64_t *v, size_t n)
{
    size_t k = 0;
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    return k;
}

static size_t stream_pos(const stream_set *ss, uint64_t id)
{
    const uint64_t *p = bsearch(&id, ss->ids, ss->n, sizeof id, cmp_u64);
    return (size_t)(p - ss->ids);
}

/* Fills ss with the streams of rows (labels in arena) and the rows' ranks. */
static int rank_streams(osp_logstore *s, flush_rows *rows, stream_set *ss, osp_arena *arena)
{
    size_t *order = NULL;
    int rc = OSP_ENOMEM;
    if (!(ss->ids = osp_arena_alloc(arena, (rows->n + 1) * sizeof *ss->ids)))
        return rc;
    size_t nruns = 0; /* a stream's rows mostly come in runs: one id per run is enough */
    for (size_t i = 0; i < rows->n; i++)
        if (i == 0 || rows->a[i].stream != rows->a[i - 1].stream)
            ss->ids[nruns++] = rows->a[i].stream;
    ss->n = sort_distinct(ss->ids, nruns);
    ss->labels = osp_arena_alloc(arena, (ss->n + 1) * sizeof *ss->labels);
    ss->nlabels = osp_arena_alloc(arena, (ss->n + 1) * sizeof *ss->nlabels);
    ss->rank = osp_arena_alloc(arena, (ss->n + 1) * sizeof *ss->rank);
    order = osp_malloc((ss->n + 1) * sizeof *order);
    if (!ss->labels || !ss->nlabels || !ss->rank || !order)
        goto out;
    rc = 0;
    for (size_t i = 0; i < ss->n && rc == 0; i++) {
        order[i] = i;
        rc = osp_series_labels(s->index, ss->ids[i], arena, &ss->labels[i], &ss->nlabels[i]);
    }
    if (rc)
        goto out;
    qsort_r(order, ss->n, sizeof *order, cmp_by_labels, ss);
    for (size_t i = 0; i < ss->n; i++)
        ss->rank[order[i]] = (uint32_t)i;
    for (size_t i = 0; i < rows->n; i++)
        rows->a[i].rank = i && rows->a[i].stream == rows->a[i - 1].stream
                              ? rows->a[i - 1].rank
                              : ss->rank[stream_pos(ss, rows->a[i].stream)];
out:
    osp_free(order);
    return rc;
}

/* Rows of one (day, rank) bucket: by time, then arrival. */
static int cmp_time_then_arrival(const void *pa, const void *pb)
{
    const flush_row *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static uint64_t bucket_key(const flush_row *r)
{
    return (uint64_t)r->day << 32 | r->rank;
}

/* Sorts rows into part order: day, stream label set (rank), time, then arrival. A
 * counting sort on (day, rank), of which a flush holds few, then a sort by time of only
 * the buckets whose rows did not arrive in time order (most do). */
static int sort_rows(flush_rows *rows)
{
    size_t n = rows->n, nkeys = 0;
    uint64_t *keys = osp_malloc((n + 1) * sizeof *keys);
    size_t *at = osp_calloc(n + 2, sizeof *at), *bucket = osp_malloc((n + 1) * sizeof *bucket);
    flush_row *out = osp_malloc((n + 1) * sizeof *out);
    if (!keys || !at || !bucket || !out) {
        osp_free(keys);
        osp_free(at);
        osp_free(bucket);
        osp_free(out);
        return OSP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) { /* one key per run of a bucket */
        rows->a[i].seq = i;
        if (i == 0 || bucket_key(&rows->a[i]) != bucket_key(&rows->a[i - 1]))
            keys[nkeys++] = bucket_key(&rows->a[i]);
    }
    nkeys = sort_distinct(keys, nkeys);
    for (size_t i = 0; i < n; i++) { /* at[k + 1]: rows in bucket k */
        uint64_t key = bucket_key(&rows->a[i]);
        bucket[i] =
            i && key == bucket_key(&rows->a[i - 1])
                ? bucket[i - 1]
                : (size_t)((uint64_t *)bsearch(&key, keys, nkeys, sizeof key, cmp_u64) - keys);
        at[bucket[i] + 1]++;
    }
    for (size_t k = 0; k < nkeys; k++)
        at[k + 1] += at[k];
    for (size_t i = 0; i < n; i++)
        out[at[bucket[i]]++] = rows->a[i]; /* at[k] ends as the start of bucket k + 1 */
    for (size_t k = 0, from = 0; k < nkeys; from = at[k++])
        for (size_t i = from + 1; i < at[k]; i++)
            if (out[i].time < out[i - 1].time) {
                qsort(out + from, at[k] - from, sizeof *out, cmp_time_then_arrival);
                break;
            }
    osp_free(rows->a);
    rows->a = out;
    rows->cap = n + 1;
    osp_free(bucket);
    osp_free(at);
    osp_free(keys);
    return 0;
}

/* 1 when row k equals an earlier row of the same stream and time (a client retry). */
static int repeats_earlier(const flush_rows *rows, size_t k)
{
    const flush_row *r = &rows->a[k];
    for (size_t j = k; j-- > 0;) {
        const flush_row *q = &rows->a[j];
        if (q->day != r->day || q->rank != r->rank || q->time != r->time)
            break;
        if (osp_log_record_equal(q->b, q->i, r->b, r->i))
            return 1;
    }
    return 0;
}

/* Writes sorted rows into one part per day; pend[] gets the finished parts. Only the last
 * day's part records lsn, the others the position parts already covered (prev_lsn): parts
 * are published in order, so if the process dies between two renames the WAL is replayed
 * over the whole flush again (records already published come back as exact duplicates,
 * which merges drop) instead of being skipped. */
static int write_days(osp_logstore *s, const flush_rows *rows, const stream_set *ss, uint64_t lsn,
                      uint64_t prev_lsn, osp__lpending *pend, size_t *npend)
{
    osp_logpart_writer_options opt = {.wal_lsn = prev_lsn};
    size_t pos = 0; /* of stream pos_of, the last one written */
    uint64_t pos_of = 0;
    int rc = 0;
    for (size_t k = 0; k < rows->n && rc == 0; k++) {
        const flush_row *r = &rows->a[k];
        if (k == 0 || r->day != rows->a[k - 1].day) {
            if (r->day == rows->a[rows->n - 1].day)
                opt.wal_lsn = lsn;
            if (*npend && (rc = osp__lpending_finish(&pend[*npend - 1])) != 0)
                break;
            if ((rc = osp__lpending_start(s, &pend[(*npend)++], r->day, &opt)) != 0)
                break;
        } else if (repeats_earlier(rows, k)) {
            continue;
        }
        int same = k > 0 && r->stream == pos_of && r->day == rows->a[k - 1].day;
        if (!same)
            pos = stream_pos(ss, pos_of = r->stream);
        rc = osp_logpart_writer_add(pend[*npend - 1].w, same ? NULL : ss->labels[pos],
                                    ss->nlabels[pos], r->b, r->i);
    }
    if (rc == 0 && *npend)
        rc = osp__lpending_finish(&pend[*npend - 1]);
    return rc;
}

/* Publishes finished parts and, in one step under s->mu, puts them in the list and takes
 * m out of service (clearing s->flushing): all of them or, on failure, none (their files
 * removed, so that a retry does not store the records twice). */
static int publish_flush(osp_logstore *s, osp__lpending *pend, size_t n)
{
    osp_partref **refs = osp_calloc(n + 1, sizeof *refs);
    size_t pushed = 0;
    int rc = refs ? 0 : OSP_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = osp__lpending_publish(s, &pend[i], &refs[i]);
    pthread_mutex_lock(&s->mu);
    for (; pushed < n && rc == 0; pushed++)
        rc = osp_partlist_push(&s->parts, refs[pushed]);
    for (size_t i = 0; rc && i < pushed; i++)
        osp_partlist_remove(&s->parts, refs[i]);
    if (rc == 0)
        s->flushing = NULL;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; rc && refs && i < n; i++)
        if (refs[i])
            osp_partref_discard(refs[i]);
    osp_free(refs);
    return rc;
}

/* Writes s->flushing to parts and takes it out of service. Under flush_mu. */
static int write_flushing(osp_logstore *s)
{
    osp_logmem *m = s->flushing;
    flush_rows rows = {0};
    stream_set ss = {0};
    osp_arena arena;
    osp__lpending *pend = NULL;
    size_t npend = 0;
    osp_arena_init(&arena, 0, 0);
    int rc = osp_array_reserve((void **)&rows.a, 0, &rows.cap, osp_logmem_nrecords(m) + 1,
                               sizeof *rows.a); /* sized once, not regrown row by row */
    if (rc == 0)
        rc = osp_logmem_visit(m, NULL, 0, 0, 0, collect_row, &rows);
    if (rc == 0 && rows.n == 0) {
        pthread_mutex_lock(&s->mu);
        s->flushing = NULL;
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    if (rc == 0)
        rc = rank_streams(s, &rows, &ss, &arena);
    if (rc == 0 && !(pend = osp_calloc(rows.n + 1, sizeof *pend)))
        rc = OSP_ENOMEM;
    if (rc == 0)
        rc = sort_rows(&rows);
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        uint64_t prev_lsn = s->parts.max_lsn;
        pthread_mutex_unlock(&s->mu);
        rc = write_days(s, &rows, &ss, osp_logmem_max_lsn(m), prev_lsn, pend, &npend);
    }
    if (rc == 0)
        rc = publish_flush(s, pend, npend);
out:
    for (size_t i = 0; i < npend; i++)
        osp__lpending_cleanup(&pend[i]);
    osp_free(pend);
    osp_free(rows.a);
    osp_arena_cleanup(&arena);
    return rc;
}

/* Makes the active buffer the flushing one (there must be none) and starts a new one. */
static int swap_buffers(osp_logstore *s)
{
    osp_logmem *fresh;
    int rc = osp_logmem_create(&fresh);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&s->append_lock);
    pthread_mutex_lock(&s->mu);
    if (osp_logmem_nrecords(s->active)) {
        s->flushing = s->active;
        s->active = fresh;
        fresh = NULL;
        atomic_store(&s->flushing_bytes, osp_logmem_bytes(s->flushing));
        if (s->wal)
            osp_wal_rotate(s->wal);
    }
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->append_lock);
    osp_logmem_release(fresh);
    return 0;
}

/* Under mu: whether the flusher has work. */
static int flush_due(osp_logstore *s);

/* Flushes; with only_if_due, only when the buffers still need it once this flush's turn
 * comes (another flush may have done the work meanwhile). */
static int flush(osp_logstore *s, int only_if_due)
{
    int rc = 0;
    pthread_mutex_lock(&s->flush_mu);
    pthread_mutex_lock(&s->mu);
    int skip = only_if_due && !flush_due(s);
    pthread_mutex_unlock(&s->mu);
    if (skip) {
        pthread_mutex_unlock(&s->flush_mu);
        return 0;
    }
    /* Only flush_now changes s->flushing, under flush_mu: reading it here is safe. */
    int rounds = s->flushing ? 2 : 1;
    for (int round = 0; round < rounds && rc == 0; round++) {
        if (!s->flushing && (rc = swap_buffers(s)) != 0)
            break;
        osp_logmem *m = s->flushing;
        if (!m || (rc = write_flushing(s)) != 0)
            break;
        if (s->wal && osp_wal_truncate_before(s->wal, osp_logmem_max_lsn(m)))
            osp_warn(MOD, "write-ahead log segments kept; retried after the next flush");
        atomic_store(&s->flushing_bytes, 0);
        osp_logmem_release(m);
    }
    pthread_mutex_unlock(&s->flush_mu);
    return rc;
}

int osp__logstore_flush_now(osp_logstore *s)
{
    return flush(s, 0);
}

int osp_logstore_flush(osp_logstore *s)
{
    return osp__logstore_flush_now(s);
}

static int flush_due(osp_logstore *s)
{
    if (s->flushing)
        return 1;
    if (!osp_logmem_nrecords(s->active))
        return 0; /* nothing to write, whatever the bound (which may be 0) */
    uint64_t first = osp_logmem_first_insert_ns(s->active);
    return osp_logmem_bytes(s->active) >= s->memtable_bytes ||
           (first && osp_clock_ns(CLOCK_MONOTONIC) - first >= FLUSH_AGE_NS);
}

void *osp__logstore_flusher_main(void *arg)
{
    osp_logstore *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (!flush_due(s) || osp__logstore_merges_behind(s)) {
            osp_cond_wait_ms(&s->cv, &s->mu, FLUSHER_TICK_MS);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        int rc = flush(s, 1);
        pthread_mutex_lock(&s->mu);
        if (rc == 0)
            continue;
        osp_error(MOD, "flushing logs failed: %s; the write-ahead log keeps them",
                  osp_strerror(rc));
        if (!s->stop)
            osp_cond_wait_ms(&s->cv, &s->mu, FLUSHER_TICK_MS);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}
