/* The log store: open and recovery, the write path (streams, WAL, buffer, flush) and the
 * part set (refcounted parts, publishing, quarantine). Flushes are in logstore_flush.c,
 * merges and retention in logstore_merge.c, queries in logstore_read.c; README.md beside
 * this file explains the design.
 *
 * Write path: an append resolves each record's stream (label set -> id in the stream
 * index), encodes the batch (no lock held), then, holding the append lock shared, writes
 * it to the WAL and inserts it into the active buffer. A flush swaps the active buffer out
 * holding the append lock exclusively, so every record up to the swapped buffer's highest
 * lsn is in it; it is then written to parts recording that lsn, and the parts replace the
 * buffer in one step under s->mu, so a reader snapshot sees each record exactly once.
 * Recovery replays WAL records above the parts' highest lsn. */
#include "store/logs/logstore.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/cond.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/thread.h"
#include "model/logstream.h"
#include "store/blockfile.h"
#include "store/logs/logcodec.h"
#include "store/logs/logstore_int.h"
#include "store/partdir.h"
#include "store/partlist.h"

#define MOD OSP_LOGSTORE_MODULE
#define DEFAULT_MEMTABLE_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_PENDING ((size_t)512 << 20)
#define NO_STREAM UINT64_MAX

osp_metric *osp__log_m_parts, *osp__log_m_bytes, *osp__log_m_records, *osp__log_m_streams,
    *osp__log_m_merges, *osp__log_m_quarantined;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;
void (*osp__logstore_resolved_hook)(osp_logstore *s);

static void metrics_init(void)
{
    osp__log_m_parts = osp_gauge("osprey_log_parts", "Log parts currently served.", "");
    osp__log_m_bytes =
        osp_gauge("osprey_log_part_bytes", "Bytes on disk of the log parts served.", "");
    osp__log_m_records = osp_counter("osprey_log_records_total",
                                     "Log records appended to the log store (in its WAL).", "");
    osp__log_m_streams =
        osp_gauge("osprey_log_streams", "Log streams (distinct stream label sets) known.", "");
    osp__log_m_merges = osp_counter("osprey_log_merges_total", "Log part merges completed.", "");
    osp__log_m_quarantined =
        osp_counter("osprey_log_parts_quarantined_total",
                    "Log parts moved to quarantine after failing verification.", "");
}

/* ---- Small helpers ------------------------------------------------------------------- */

uint32_t osp__log_day(uint64_t time_ns)
{
    return (uint32_t)(time_ns / OSP_PART_NS_PER_DAY);
}

void osp__log_batch_reset(osp_log_batch *b)
{
    osp_arena_cleanup(&b->arena);
    b->nrecords = b->nresources = b->nscopes = 0;
}

/* Copies the non-empty slices *s[0..n) into the arena, pointing them at the copies. */
static int dup_slices(osp_arena *a, osp_str *const *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i]->n == 0) {
            *s[i] = OSP_STR_NULL;
            continue;
        }
        const char *p = osp_arena_memdup(a, s[i]->p, s[i]->n);
        if (!p)
            return OSP_ENOMEM;
        s[i]->p = p;
    }
    return 0;
}

int osp__log_copy_record(osp_log_batch *dst, const osp_log_batch *src, size_t i)
{
    osp_log_record rec = src->records[i];
    osp_resource res = src->resources[rec.resource];
    osp_scope sc = src->scopes[rec.scope];
    int new_res =
        !(dst->nresources && osp_resource_equal(&dst->resources[dst->nresources - 1], &res));
    int new_sc = !(dst->nscopes && osp_scope_equal(&dst->scopes[dst->nscopes - 1], &sc));
    osp_str *rs[] = {&rec.body, &rec.severity_text, &rec.event_name, &rec.attributes};
    osp_str *ress[] = {&res.attributes, &res.entity_refs, &res.schema_url, &res.service_name};
    osp_str *scs[] = {&sc.name, &sc.version, &sc.attributes, &sc.schema_url};
    int rc = dup_slices(&dst->arena, rs, 4);
    if (rc == 0 && new_res)
        rc = dup_slices(&dst->arena, ress, 4);
    if (rc == 0 && new_sc)
        rc = dup_slices(&dst->arena, scs, 4);
    osp_resource *r = NULL;
    osp_scope *s = NULL;
    osp_log_record *d = NULL;
    if (rc || (new_res && !(r = osp_log_batch_add_resource(dst))) ||
        (new_sc && !(s = osp_log_batch_add_scope(dst))) || !(d = osp_log_batch_add_record(dst))) {
        dst->nresources -= r != NULL; /* leave dst as it was */
        dst->nscopes -= s != NULL;
        return OSP_ENOMEM;
    }
    if (r)
        *r = res;
    if (s)
        *s = sc;
    *d = rec;
    d->resource = (uint32_t)(dst->nresources - 1);
    d->scope = (uint32_t)(dst->nscopes - 1);
    return 0;
}

/* ---- Streams ------------------------------------------------------------------------- */

/* Makes room in the time table for stream ids below n. 0 or OSP_ENOMEM. */
static int times_reserve(osp_logstore *s, uint64_t n)
{
    int rc = 0;
    pthread_mutex_lock(&s->times_mu);
    if (n > s->times_cap) {
        size_t cap = s->times_cap ? s->times_cap : 64;
        while (cap < n)
            cap *= 2;
        osp__stream_time *t = osp_realloc(s->times, cap * sizeof *t);
        if (t) {
            s->times = t;
            s->times_cap = cap;
        } else {
            rc = OSP_ENOMEM;
        }
    }
    for (; rc == 0 && s->ntimes < n; s->ntimes++)
        s->times[s->ntimes] = (osp__stream_time){.min_time = UINT64_MAX};
    pthread_mutex_unlock(&s->times_mu);
    return rc;
}

/* Widens a stream's time range; room was reserved. */
static void note_time(osp_logstore *s, uint64_t stream, uint64_t min_time, uint64_t max_time)
{
    pthread_mutex_lock(&s->times_mu);
    osp__stream_time *t = &s->times[stream];
    t->min_time = min_time < t->min_time ? min_time : t->min_time;
    t->max_time = max_time > t->max_time ? max_time : t->max_time;
    pthread_mutex_unlock(&s->times_mu);
}

/* The id of a label set in the stream index, created when new. */
static int stream_id(osp_logstore *s, const osp_label *labels, size_t n, uint64_t *id)
{
    int created = 0;
    int rc = osp_series_index_get_or_create(s->index, labels, n, id, &created);
    if (rc == 0 && created)
        osp_gauge_add(osp__log_m_streams, 1);
    return rc ? rc : times_reserve(s, *id + 1);
}

/* ids[i] = the stream of record i of b (computed once per resource and labels_from). */
static int resolve_streams(osp_logstore *s, const osp_log_batch *b, uint64_t *ids)
{
    osp_arena arena;
    uint64_t *cache = osp_malloc((b->nresources * 2 + 1) * sizeof *cache);
    int rc = cache ? 0 : OSP_ENOMEM;
    osp_arena_init(&arena, 0, 0);
    for (size_t i = 0; cache && i < b->nresources * 2; i++)
        cache[i] = NO_STREAM;
    for (size_t i = 0; i < b->nrecords && rc == 0; i++) {
        const osp_log_record *r = &b->records[i];
        uint64_t *slot = r->labels_from <= 1 ? &cache[r->resource * 2 + r->labels_from] : NULL;
        osp_label *labels;
        size_t n;
        if (slot && *slot != NO_STREAM) {
            ids[i] = *slot;
            continue;
        }
        rc = osp_log_stream_labels(&b->resources[r->resource], r->labels_from, &arena, &labels, &n);
        if (rc == 0)
            rc = stream_id(s, labels, n, &ids[i]);
        if (rc == 0 && slot)
            *slot = ids[i];
    }
    osp_arena_cleanup(&arena);
    osp_free(cache);
    return rc;
}

/* Widens the time ranges of the streams of b's records. */
static void note_times(osp_logstore *s, const osp_log_batch *b, const uint64_t *ids)
{
    for (size_t i = 0; i < b->nrecords; i++) {
        uint64_t t = osp_log_time(&b->records[i]);
        note_time(s, ids[i], t, t);
    }
}

/* 1 when a buffer holds records of stream. Under s->mu. */
static int buffered_stream(osp_logstore *s, uint64_t stream)
{
    return osp_logmem_has_stream(s->active, stream) ||
           (s->flushing && osp_logmem_has_stream(s->flushing, stream));
}

int osp__logstore_narrow_times(osp_logstore *s)
{
    uint64_t buf_min = UINT64_MAX;
    pthread_rwlock_wrlock(&s->append_lock); /* no append between noting and buffering */
    pthread_mutex_lock(&s->mu);
    osp_logmem *bufs[2] = {s->active, s->flushing};
    for (int i = 0; i < 2; i++) {
        uint64_t lo, hi;
        if (!bufs[i] || !osp_logmem_nrecords(bufs[i]))
            continue;
        osp_logmem_time_range(bufs[i], &lo, &hi);
        buf_min = lo < buf_min ? lo : buf_min;
    }
    pthread_mutex_lock(&s->times_mu);
    uint64_t *low = osp_malloc((s->ntimes + 1) * sizeof *low);
    for (size_t id = 0; low && id < s->ntimes; id++)
        low[id] = UINT64_MAX;
    for (size_t i = 0; low && i < s->parts.n; i++) {
        osp__lpart *p = osp__lpart_of(s->parts.a[i]);
        for (size_t k = 0; k < osp_logpart_get_info(p->ref.part)->nstreams; k++) {
            uint64_t lo, hi;
            osp_logpart_stream_time(p->ref.part, k, &lo, &hi);
            if (lo < low[p->gids[k]])
                low[p->gids[k]] = lo;
        }
    }
    for (size_t id = 0; low && id < s->ntimes; id++) {
        osp__stream_time *t = &s->times[id];
        uint64_t lo = low[id];
        if (buffered_stream(s, id) && buf_min < lo)
            lo = buf_min;
        if (lo == UINT64_MAX) { /* nothing served holds it: listed no more */
            t->min_time = UINT64_MAX;
            t->max_time = 0;
        } else if (lo > t->min_time) {
            t->min_time = lo;
        }
    }
    pthread_mutex_unlock(&s->times_mu);
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->append_lock);
    int rc = low ? 0 : OSP_ENOMEM;
    osp_free(low);
    return rc;
}

/* 1 when stream t lost its last part less than the grace before now_ns. */
static int in_grace(const osp__stream_time *t, uint64_t now_ns)
{
    return t->orphaned_ns && now_ns < t->orphaned_ns + OSP__STREAM_SWEEP_GRACE_NS;
}

int osp__logstore_sweep_streams(osp_logstore *s, uint64_t now_ns)
{
    uint64_t *gone = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, waiting = 0, due = 0;
    pthread_mutex_lock(&s->times_mu); /* is a stream past its grace? (no append lock yet) */
    for (size_t id = 0; s->orphans && id < s->ntimes && !due; id++) {
        const osp__stream_time *t = &s->times[id];
        due = !t->parts && !t->removed && t->orphaned_ns && !in_grace(t, now_ns);
    }
    pthread_mutex_unlock(&s->times_mu);
    if (!due)
        return 0;
    /* Appends resolve their streams before taking the append lock; holding it exclusively
     * and counting the sweep makes those that raced this one resolve theirs again. */
    pthread_rwlock_wrlock(&s->append_lock);
    pthread_mutex_lock(&s->mu);
    pthread_mutex_lock(&s->times_mu);
    for (size_t id = 0; id < s->ntimes && rc == 0; id++) {
        const osp__stream_time *t = &s->times[id];
        if (t->parts || t->removed || buffered_stream(s, id))
            continue;
        if (in_grace(t, now_ns)) {
            waiting = 1;
            continue;
        }
        uint64_t *slot = osp_array_push((void **)&gone, &n, &cap, sizeof *gone);
        if (slot)
            *slot = id;
        else
            rc = OSP_ENOMEM;
    }
    if (rc == 0 && n)
        rc = osp_series_index_remove(s->index, gone, n);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            s->times[gone[i]] = (osp__stream_time){.min_time = UINT64_MAX, .removed = 1};
        s->orphans = waiting;
        atomic_fetch_add(&s->streams_swept, 1);
    }
    pthread_mutex_unlock(&s->times_mu);
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->append_lock);
    if (rc == 0 && n) {
        osp_gauge_add(osp__log_m_streams, -(double)n);
        osp_info(MOD, "removed %zu log streams that no part or buffer holds any more", n);
    }
    osp_free(gone);
    return rc;
}

/* ---- The part list ------------------------------------------------------------------- */

/* Counts a part's streams in (delta 1) or out (-1) of the stream table; a stream left with
 * no part awaits a sweep. */
static void count_part_streams(osp_logstore *s, const osp__lpart *p, int delta)
{
    size_t n = osp_logpart_get_info(p->ref.part)->nstreams;
    uint64_t now = osp_clock_ns(CLOCK_REALTIME);
    pthread_mutex_lock(&s->times_mu);
    for (size_t k = 0; k < n; k++) {
        osp__stream_time *t = &s->times[p->gids[k]];
        t->parts += delta;
        t->orphaned_ns = t->parts ? 0 : now;
        s->orphans |= t->parts == 0;
    }
    pthread_mutex_unlock(&s->times_mu);
}

static void lpart_close(osp_partref *r)
{
    osp__lpart *p = osp__lpart_of(r);
    if (p->store)
        count_part_streams(p->store, p, -1);
    osp_logpart_close(r->part);
    osp_free(p->gids);
}

static const osp_partref_type lpart_type = {
    .size = sizeof(osp__lpart), .close = lpart_close, .log_module = MOD};

/* Wraps an open part in a reference (count 1, owned by the caller) and files its streams
 * in the stream index. Takes part and path on success only. */
static int lpart_create(osp_logstore *s, osp_logpart *part, char *path, uint32_t day, uint64_t seq,
                        osp_partref **out)
{
    const osp_logpart_info *info = osp_logpart_get_info(part);
    uint64_t *gids = osp_malloc((info->nstreams + 1) * sizeof *gids);
    int rc = gids ? 0 : OSP_ENOMEM;
    for (size_t k = 0; k < info->nstreams && rc == 0; k++) {
        const osp_label *labels;
        size_t n;
        uint64_t lo, hi;
        osp_logpart_stream(part, k, &labels, &n);
        osp_logpart_stream_time(part, k, &lo, &hi);
        if ((rc = stream_id(s, labels, n, &gids[k])) == 0)
            note_time(s, gids[k], lo, hi);
        else if (rc == OSP_EINVAL)
            rc = OSP_ECORRUPT; /* a label set the index refuses: not one a writer wrote */
    }
    osp_partref_info ri = {.day = day,
                           .seq = seq,
                           .rows = info->nrows,
                           .min_time = info->min_time,
                           .max_time = info->max_time,
                           .bytes = info->bytes,
                           .wal_lsn = info->wal_lsn,
                           .replaces = info->replaces,
                           .nreplaces = info->nreplaces};
    if (rc == 0 && (rc = osp_partref_create(&lpart_type, part, path, &ri, out)) == 0) {
        osp__lpart *lp = osp__lpart_of(*out);
        lp->gids = gids;
        lp->store = s;
        count_part_streams(s, lp, 1);
    } else {
        osp_free(gids);
    }
    return rc;
}

static void count_quarantined(osp_logstore *s)
{
    atomic_fetch_add(&s->quarantined, 1);
    osp_counter_inc(osp__log_m_quarantined);
}

/* Moves a part file into the quarantine directory as <day>-<name>. */
static void quarantine_file(osp_logstore *s, const char *path, uint32_t day)
{
    osp_partdir_quarantine(path, s->qdir, day, "log part", MOD);
    count_quarantined(s);
}

void osp__logstore_quarantine(osp_logstore *s, osp_partref *p)
{
    if (osp_partlist_quarantine(&s->parts, &s->mu, p, s->qdir, "log part"))
        count_quarantined(s);
}

int osp__logstore_snapshot(osp_logstore *s, osp__lsnap *snap)
{
    int rc = 0;
    memset(snap, 0, sizeof *snap);
    pthread_mutex_lock(&s->mu);
    snap->mem[snap->nmem++] = s->active;
    if (s->flushing)
        snap->mem[snap->nmem++] = s->flushing;
    for (size_t i = 0; i < snap->nmem; i++)
        osp_logmem_acquire(snap->mem[i]);
    rc = osp_partlist_snapshot(&s->parts, &snap->parts, &snap->nparts);
    pthread_mutex_unlock(&s->mu);
    if (rc)
        osp__logstore_snapshot_release(snap);
    return rc;
}

void osp__logstore_snapshot_release(osp__lsnap *snap)
{
    for (size_t i = 0; i < snap->nmem; i++)
        osp_logmem_release(snap->mem[i]);
    osp_partlist_snapshot_release(snap->parts, snap->nparts);
    memset(snap, 0, sizeof *snap);
}

/* ---- Writing parts ------------------------------------------------------------------- */

void osp__lpending_cleanup(osp__lpending *p)
{
    if (p->w)
        osp_logpart_writer_abort(p->w); /* removes the temporary file */
    else if (p->tmp)
        unlink(p->tmp); /* finished but maybe not published (ENOENT once renamed) */
    osp_free(p->tmp);
    osp_free(p->path);
    memset(p, 0, sizeof *p);
}

int osp__lpending_start(osp_logstore *s, osp__lpending *p, uint32_t day,
                        const osp_logpart_writer_options *opt)
{
    int rc;
    memset(p, 0, sizeof *p);
    p->day = day;
    pthread_mutex_lock(&s->mu); /* against a retention round removing the directory */
    p->seq = s->next_seq++;
    if ((rc = osp_partdir_new_part(s->dir, day, p->seq, &p->tmp, &p->path, MOD)) == 0)
        rc = osp_logpart_writer_create(p->tmp, opt, &p->w);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int osp__lpending_finish(osp__lpending *p)
{
    uint64_t bytes;
    osp_logpart_writer *w = p->w;
    p->w = NULL;
    return osp_logpart_writer_finish(w, &bytes);
}

int osp__lpending_publish(osp_logstore *s, osp__lpending *p, osp_partref **out)
{
    osp_logpart *part = NULL;
    int rc = osp_blockfile_publish(p->tmp, p->path, MOD);
    if (rc == 0 && (rc = osp_logpart_open(p->path, &part)) == 0 &&
        (rc = lpart_create(s, part, p->path, p->day, p->seq, out)) == 0) {
        p->path = NULL; /* the reference owns it */
        return 0;
    }
    osp_logpart_close(part);
    unlink(p->path);
    return rc;
}

/* ---- Write path ---------------------------------------------------------------------- */

int osp_logstore_append(osp_logstore *s, const osp_log_batch *b)
{
    osp_buf rec;
    uint64_t lsn, *ids = NULL;
    size_t n = b->nrecords;
    int rc = 0;
    if (n == 0)
        return 0;
    osp_buf_init(&rec, OSP_WAL_MAX_RECORD);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (b->records[i].resource >= b->nresources || b->records[i].scope >= b->nscopes)
            rc = OSP_EINVAL;
    if (rc == 0 && !(ids = osp_malloc(n * sizeof *ids)))
        rc = OSP_ENOMEM;
    uint64_t sweeps = atomic_load(&s->streams_swept);
    if (rc == 0)
        rc = resolve_streams(s, b, ids);
    if (rc == 0)
        rc = osp_logcodec_encode(b, &rec);
    if (rc)
        goto out;
    if (osp__logstore_resolved_hook)
        osp__logstore_resolved_hook(s);
    pthread_rwlock_rdlock(&s->append_lock);
    size_t pending = osp_logmem_bytes(s->active) + atomic_load(&s->flushing_bytes);
    if (atomic_load(&s->streams_swept) != sweeps) /* a sweep may have removed a stream */
        rc = resolve_streams(s, b, ids);
    if (rc == 0 && pending >= s->max_pending) {
        rc = OSP_EBUSY;
    } else if (rc == 0 && (rc = osp_wal_append(s->wal, osp_buf_str(&rec), &lsn)) == 0) {
        size_t len;
        char *data = osp_buf_steal(&rec, &len), *trimmed = osp_realloc(data, len);
        note_times(s, b, ids);
        rc = osp_logmem_insert(s->active, trimmed ? trimmed : data, len, ids, n, lsn);
        ids = NULL; /* the buffer took it */
    }
    size_t active = osp_logmem_bytes(s->active);
    pthread_rwlock_unlock(&s->append_lock);
    if (rc)
        goto out;
    osp_counter_add(osp__log_m_records, n);
    if (active >= s->memtable_bytes) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
out:
    osp_free(ids);
    osp_buf_cleanup(&rec);
    return rc;
}

/* ---- Open and close ------------------------------------------------------------------ */

/* Opens one part file into the list, or quarantines it when it fails verification.
 * Takes path. */
static int open_one(void *ctx, char *path, uint32_t day, uint64_t seq)
{
    osp_logstore *s = ctx;
    osp_logpart *part = NULL;
    osp_partref *p = NULL;
    int rc = osp_logpart_open(path, &part);
    if (seq >= s->next_seq)
        s->next_seq = seq + 1;
    if (rc == 0 && (rc = lpart_create(s, part, path, day, seq, &p)) == 0) {
        if ((rc = osp_partlist_push(&s->parts, p)) != 0)
            osp_partref_release(p);
        return rc;
    }
    osp_logpart_close(part);
    if (rc == OSP_ECORRUPT) {
        quarantine_file(s, path, day);
        rc = 0;
    }
    osp_free(path);
    return rc;
}

/* WAL replay into the active buffer; a full buffer goes straight to parts. */
static int replay_record(uint64_t lsn, osp_str payload, void *ctx)
{
    osp_logstore *s = ctx;
    osp_log_batch b;
    uint64_t *ids = NULL;
    char *copy = NULL;
    osp_log_batch_init(&b);
    int rc = osp_logcodec_decode(payload, &b);
    if (rc == OSP_ECORRUPT) {
        osp_error(MOD, "write-ahead log record %llu does not decode; skipped",
                  (unsigned long long)lsn);
        rc = 0;
        goto out;
    }
    if (rc == 0 && b.nrecords == 0)
        goto out;
    if (rc == 0 &&
        (!(ids = osp_malloc(b.nrecords * sizeof *ids)) || !(copy = osp_malloc(payload.n))))
        rc = OSP_ENOMEM;
    if (rc == 0)
        rc = resolve_streams(s, &b, ids);
    if (rc)
        goto out;
    note_times(s, &b, ids);
    memcpy(copy, payload.p, payload.n);
    rc = osp_logmem_insert(s->active, copy, payload.n, ids, b.nrecords, lsn);
    ids = NULL;
    copy = NULL;
    if (rc == 0 && osp_logmem_bytes(s->active) >= s->memtable_bytes)
        rc = osp__logstore_flush_now(s);
out:
    osp_free(ids);
    osp_free(copy);
    osp_log_batch_cleanup(&b);
    return rc;
}

static void logstore_destroy(osp_logstore *s)
{
    osp_wal_close(s->wal);
    pthread_mutex_lock(&s->mu);
    osp_partlist_cleanup(&s->parts);
    pthread_mutex_unlock(&s->mu);
    osp_logmem_release(s->active);
    osp_logmem_release(s->flushing);
    if (s->index) {
        uint64_t live;
        osp_series_index_counts(s->index, NULL, &live);
        osp_gauge_add(osp__log_m_streams, -(double)live);
        osp_series_index_destroy(s->index);
    }
    osp_free(s->times);
    osp_free(s->dir);
    osp_free(s->qdir);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->maintain_mu);
    pthread_mutex_destroy(&s->flush_mu);
    pthread_mutex_destroy(&s->times_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->append_lock);
    osp_free(s);
}

static osp_logstore *logstore_alloc(const osp_logstore_options *opt)
{
    osp_logstore *s = osp_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* The flusher's swap must not starve behind a steady stream of appends. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->append_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->times_mu, NULL);
    pthread_mutex_init(&s->flush_mu, NULL);
    pthread_mutex_init(&s->maintain_mu, NULL);
    osp_cond_init_monotonic(&s->cv);
    osp_partlist_init(&s->parts, osp__log_m_parts, osp__log_m_bytes);
    s->retention_ns = opt->retention_ns;
    s->max_pending = opt->max_pending_bytes ? opt->max_pending_bytes : DEFAULT_MAX_PENDING;
    s->max_merge_backlog =
        opt->max_merge_backlog ? opt->max_merge_backlog : OSP_DEFAULT_MERGE_BACKLOG;
    s->memtable_bytes = opt->memtable_bytes ? opt->memtable_bytes : DEFAULT_MEMTABLE_BYTES;
    if (s->memtable_bytes > s->max_pending / 2) /* room to fill one while one flushes */
        s->memtable_bytes = s->max_pending / 2;
    s->next_seq = 1;
    s->dir = osp_strdup(opt->dir);
    s->qdir = osp_path_join(opt->dir, OSP_PART_QUARANTINE_DIR);
    return s;
}

int osp_logstore_open(const osp_logstore_options *opt, osp_logstore **out)
{
    char *wal_dir = NULL;
    if (!opt->dir || !*opt->dir)
        return OSP_EINVAL;
    pthread_once(&metrics_once, metrics_init);
    osp_logstore *s = logstore_alloc(opt);
    int rc = OSP_ENOMEM;
    if (!s)
        return rc;
    if (!s->dir || !s->qdir || !(wal_dir = osp_path_join(opt->dir, "wal")))
        goto out;
    if ((rc = osp_mkdirs(s->dir, MOD)) || (rc = osp_partdir_make_dir(s->qdir, MOD)) ||
        (rc = osp_series_index_create(NULL, &s->index)) || (rc = osp_logmem_create(&s->active)))
        goto out;
    if ((rc = osp_partdir_scan(s->dir, "wal", "log part", MOD, open_one, s)) != 0)
        goto out;
    osp_partlist_drop_replaced(&s->parts, &s->next_seq);
    osp_wal_options wopt = {.dir = wal_dir,
                            .fsync_policy = opt->fsync_policy,
                            .fsync_interval_ms = opt->fsync_interval_ms};
    if ((rc = osp_wal_open(&wopt, s->parts.max_lsn, replay_record, s, &s->wal)) != 0)
        goto out;
    osp_wal_truncate_before(s->wal, s->parts.max_lsn);
    if (osp_logmem_nrecords(s->active))
        osp_info(MOD, "recovered %zu log records from the write-ahead log",
                 osp_logmem_nrecords(s->active));
    rc = OSP_ENOMEM;
    if (osp_thread_start(&s->flusher, "osp-log-flush", osp__logstore_flusher_main, s))
        goto out;
    s->flusher_started = 1;
    rc = 0;
out:
    osp_free(wal_dir);
    if (rc) {
        osp_error(MOD, "opening the log store in %s: %s", opt->dir, osp_strerror(rc));
        logstore_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void osp_logstore_close(osp_logstore *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->flusher_started)
        pthread_join(s->flusher, NULL);
    int rc = osp__logstore_flush_now(s);
    if (rc)
        osp_error(MOD, "flushing logs at close: %s; the write-ahead log keeps them",
                  osp_strerror(rc));
    logstore_destroy(s);
}

void osp_logstore_get_stats(osp_logstore *s, osp_logstore_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&s->mu);
    st->nparts = s->parts.n;
    for (size_t i = 0; i < s->parts.n; i++) {
        const osp_logpart_info *info = osp_logpart_get_info(s->parts.a[i]->part);
        st->nrecords += info->nrows;
        st->bytes_on_disk += info->bytes;
        st->raw_bytes += info->raw_bytes;
    }
    st->buffered =
        osp_logmem_nrecords(s->active) + (s->flushing ? osp_logmem_nrecords(s->flushing) : 0);
    pthread_mutex_unlock(&s->mu);
    osp_series_index_counts(s->index, NULL, &st->nstreams);
    st->merges = atomic_load(&s->merges);
    st->quarantined = atomic_load(&s->quarantined);
}
