/* The embedded store engine: write-ahead log -> memtables -> parts, behind store.h.
 *
 * Write path: an append encodes its batch (no lock held), then, holding the append lock
 * shared, writes it to the WAL and inserts it into the active memtable. A flush swaps the
 * active memtable out holding the append lock exclusively, so every record up to the
 * swapped memtable's highest lsn is in it; the flusher thread then writes it to parts with
 * that lsn, truncates the WAL and drops it. Recovery replays WAL records above the parts'
 * highest lsn, so nothing is lost or applied twice.
 *
 * Read path: readers take references to the memtables first and read parts after, so a
 * span moving from a memtable to parts meanwhile is seen twice (and de-duplicated) rather
 * than missed. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/cond.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/thread.h"
#include "store/aicalls/aicalls.h"
#include "store/embedded/memtable.h"
#include "store/embedded/parts.h"
#include "store/embedded/rowcodec.h"
#include "store/embedded/wal.h"
#include "store/logs/logstore.h"
#include "store/partlist.h"
#include "store/store.h"
#include "store/tsdb/exemplars.h"
#include "store/tsdb/tsdb.h"

#define MODULE "store"
#define DEFAULT_MEMTABLE_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_PENDING ((size_t)512 << 20)
#define FLUSH_AGE_NS 10000000000ull /* flush a memtable holding data this long */
#define FLUSHER_TICK_MS 1000        /* how often the flusher looks at the clock */
#define MAINTAIN_EVERY_MS 5000      /* parts maintenance period */
#define MAINTAIN_NICE 19            /* its niceness where SCHED_IDLE is refused */
#define DEFAULT_SEARCH_LIMIT 20

/* One (service, span name, kind) of the catalogue. */
typedef struct cat_row {
    osp_str service, name;
    int32_t kind;
} cat_row;

/* The parts' catalogue, cached; replaced whole after flushes and merges. */
typedef struct catalogue {
    osp_arena arena; /* the strings */
    cat_row *rows;
    size_t n, cap;
    int err;
} catalogue;

typedef struct engine {
    size_t memtable_bytes, max_pending, max_merge_backlog;
    osp_parts *parts;
    osp_wal *wal;
    osp_tsdb *tsdb; /* metrics, in DATA_DIR/metrics */
    int lock_fd;    /* holds DATA_DIR/LOCK: one process per data directory; -1 before */
    osp_exemplar_store *exemplars; /* in DATA_DIR/metrics/exemplars */
    osp_logstore *logs;            /* in DATA_DIR/logs */
    osp_aicalls *aicalls;          /* in DATA_DIR/aicalls */

    pthread_rwlock_t append_lock; /* appends shared; memtable swap exclusive */
    pthread_mutex_t mu;           /* guards the fields below */
    pthread_cond_t cv;            /* flusher wake-ups, flush completions */
    pthread_cond_t maint_cv;      /* wakes the maintenance thread to stop */
    osp_memtable *active;         /* changes only under mu and append_lock exclusive */
    osp_memtable *flushing;       /* immutable; NULL when none */
    uint64_t gen_active, gen_flushing, gen_flushed; /* memtable generations */
    uint64_t flush_wanted;   /* generation osp_store_flush callers wait for */
    uint64_t flush_failures; /* failed flush attempts so far */
    int flush_err;           /* error of the last failed attempt */
    int stop;
    atomic_size_t flushing_bytes;
    pthread_t flusher, maintainer;
    int flusher_started, maintainer_started;

    pthread_mutex_t cat_mu; /* guards cat */
    catalogue *cat;

    osp_metric *m_spans, *m_bytes, *m_flushes, *m_rejected;
} engine;

/* ---- Helpers ---- */

/* active_bytes: the active memtable's size, read where e->active is stable. */
static void update_bytes_gauge(engine *e, size_t active_bytes)
{
    osp_gauge_set(e->m_bytes, (double)(active_bytes + atomic_load_explicit(&e->flushing_bytes,
                                                                           memory_order_relaxed)));
}

/* The memtables to read, each acquired; returns how many (0..2). */
static size_t snapshot(engine *e, osp_memtable *out[2])
{
    size_t n = 0;
    pthread_mutex_lock(&e->mu);
    out[n++] = e->active;
    if (e->flushing)
        out[n++] = e->flushing;
    for (size_t i = 0; i < n; i++)
        osp_memtable_acquire(out[i]);
    pthread_mutex_unlock(&e->mu);
    return n;
}

static void release_all(osp_memtable **m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osp_memtable_release(m[i]);
}

/* ---- Catalogue cache ---- */

static int cat_add(catalogue *c, osp_str service, osp_str name, int32_t kind, osp_arena *arena)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cat_row *rows = osp_realloc(c->rows, cap * sizeof *rows);
        if (!rows)
            return OSP_ENOMEM;
        c->rows = rows;
        c->cap = cap;
    }
    cat_row r = {service, name, kind};
    if (arena) {
        r.service = osp_arena_strdup(arena, service);
        r.name = osp_arena_strdup(arena, name);
        if (!r.service.p || !r.name.p)
            return OSP_ENOMEM;
    }
    c->rows[c->n++] = r;
    return 0;
}

/* Catalogue callback copying into the catalogue's own arena. */
static void cat_collect_copy(osp_str service, osp_str name, int32_t kind, void *ctx)
{
    catalogue *c = ctx;
    if (!c->err)
        c->err = cat_add(c, service, name, kind, &c->arena);
}

/* Catalogue callback keeping the caller's strings (memtable or cache memory). */
static void cat_collect_ref(osp_str service, osp_str name, int32_t kind, void *ctx)
{
    catalogue *c = ctx;
    if (!c->err)
        c->err = cat_add(c, service, name, kind, NULL);
}

static void cat_destroy(catalogue *c)
{
    if (!c)
        return;
    osp_arena_cleanup(&c->arena);
    osp_free(c->rows);
    osp_free(c);
}

/* Rebuilds the cached parts catalogue; on failure the old cache stays. */
static void refresh_catalogue(engine *e)
{
    catalogue *c = osp_calloc(1, sizeof *c);
    if (!c)
        return;
    osp_arena_init(&c->arena, 0, 0);
    int rc = osp_parts_catalogue(e->parts, cat_collect_copy, c);
    if (rc || c->err) {
        osp_warn(MODULE, "refreshing the service catalogue: %s", osp_strerror(rc ? rc : c->err));
        cat_destroy(c);
        return;
    }
    pthread_mutex_lock(&e->cat_mu);
    catalogue *old = e->cat;
    e->cat = c;
    pthread_mutex_unlock(&e->cat_mu);
    cat_destroy(old);
}

/* ---- Flushing ---- */

/* Writes m to parts with its highest lsn. */
static int write_memtable(engine *e, osp_memtable *m)
{
    osp_span_batch rows;
    osp_span_batch_init(&rows);
    int rc = osp_memtable_rows(m, &rows);
    if (rc == 0)
        rc = osp_parts_add(e->parts, &rows, osp_memtable_max_lsn(m));
    osp_span_batch_cleanup(&rows);
    if (rc == 0) {
        osp_counter_inc(e->m_flushes);
        refresh_catalogue(e);
    }
    return rc;
}

/* Makes the active memtable the flushing one (there must be none) and starts a new one. */
static int swap_memtables(engine *e)
{
    osp_memtable *fresh;
    int rc = osp_memtable_create(&fresh);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&e->append_lock);
    pthread_mutex_lock(&e->mu);
    assert(!e->flushing);
    if (osp_memtable_nspans(e->active)) {
        e->flushing = e->active;
        e->gen_flushing = e->gen_active++;
        e->active = fresh;
        fresh = NULL;
        atomic_store(&e->flushing_bytes, osp_memtable_bytes(e->flushing));
        osp_wal_rotate(e->wal);
    }
    pthread_mutex_unlock(&e->mu);
    pthread_rwlock_unlock(&e->append_lock);
    osp_memtable_release(fresh);
    return 0;
}

/* One flush step: swap if nothing is flushing, then write the flushing memtable out,
 * truncate the WAL and drop the memtable (after the catalogue cache has its entries).
 * Runs on the flusher thread, the only one that changes e->active after open. */
static int flush_step(engine *e)
{
    pthread_mutex_lock(&e->mu);
    int need_swap = !e->flushing;
    pthread_mutex_unlock(&e->mu);
    int rc = need_swap ? swap_memtables(e) : 0;
    if (rc)
        return rc;
    pthread_mutex_lock(&e->mu);
    osp_memtable *m = e->flushing;
    pthread_mutex_unlock(&e->mu);
    if (!m)
        return 0;
    /* Only this thread clears e->flushing, so m stays valid here. */
    if ((rc = write_memtable(e, m)) != 0)
        return rc;
    if (osp_wal_truncate_before(e->wal, osp_memtable_max_lsn(m)))
        osp_warn(MODULE, "write-ahead log segments kept; retried after the next flush");
    pthread_mutex_lock(&e->mu);
    e->flushing = NULL;
    e->gen_flushed = e->gen_flushing;
    atomic_store(&e->flushing_bytes, 0);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    osp_memtable_release(m);
    update_bytes_gauge(e, osp_memtable_bytes(e->active));
    return 0;
}

/* Under mu: whether the flusher has work. Unless asked to flush, it waits while merges
 * are behind; appends meanwhile fill the pending bytes, then get busy. */
static int flush_due(engine *e)
{
    if (e->flushing)
        return 1;
    if (!osp_memtable_nspans(e->active))
        return 0;
    if (!e->stop && e->flush_wanted < e->gen_active &&
        osp_parts_merges_behind(e->parts, e->max_merge_backlog))
        return 0;
    uint64_t first = osp_memtable_first_insert_ns(e->active);
    return e->stop || e->flush_wanted >= e->gen_active ||
           osp_memtable_bytes(e->active) >= e->memtable_bytes ||
           (first && osp_clock_ns(CLOCK_MONOTONIC) - first >= FLUSH_AGE_NS);
}

static void *flusher_main(void *arg)
{
    engine *e = arg;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        if (!flush_due(e)) {
            if (e->stop)
                break;
            osp_cond_wait_ms(&e->cv, &e->mu, FLUSHER_TICK_MS);
            continue;
        }
        pthread_mutex_unlock(&e->mu);
        int rc = flush_step(e);
        pthread_mutex_lock(&e->mu);
        if (rc == 0)
            continue;
        osp_error(MODULE, "flushing the memtable failed: %s; the write-ahead log keeps the data",
                  osp_strerror(rc));
        e->flush_err = rc;
        e->flush_failures++;
        pthread_cond_broadcast(&e->cv);
        if (e->stop)
            break;
        osp_cond_wait_ms(&e->cv, &e->mu, FLUSHER_TICK_MS);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* Runs the calling thread (and the threads it starts) under SCHED_IDLE: it gets a core
 * only when no other thread wants it, and never delays a waking ingest thread. Where that
 * is refused, at the lowest niceness. (Neither can be undone without privilege.) */
static void run_when_idle(void)
{
    struct sched_param none = {0};
    int rc = pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
    if (rc == 0)
        return;
    osp_debug(MODULE, "maintenance is not SCHED_IDLE: %s", strerror(rc));
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), MAINTAIN_NICE) != 0)
        osp_debug(MODULE, "maintenance keeps the normal priority: %s", strerror(errno));
}

/* Merges and retention for traces, logs and AI calls. The thread runs when the cores are
 * idle, so that merges take the CPU ingest and queries leave: under a heavy load they wait
 * and catch up after it instead of slowing the writes down. A load that never leaves the
 * cores idle makes the flushers wait once merges are too far behind (flush_due), and that
 * frees the CPU for them. A round that merged goes straight on to the next. */
static void *maintainer_main(void *arg)
{
    engine *e = arg;
    int merged = 0;
    run_when_idle();
    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        if (!merged)
            osp_cond_wait_ms(&e->maint_cv, &e->mu, MAINTAIN_EVERY_MS);
        if (e->stop)
            break;
        pthread_mutex_unlock(&e->mu);
        osp_parts_stats before, after;
        osp_logstore_stats logs_before, logs_after;
        osp_parts_get_stats(e->parts, &before);
        osp_logstore_get_stats(e->logs, &logs_before);
        int rc = osp_parts_maintain(e->parts, osp_clock_ns(CLOCK_REALTIME));
        if (rc)
            osp_warn(MODULE, "parts maintenance: %s", osp_strerror(rc));
        if ((rc = osp_logstore_maintain(e->logs, osp_clock_ns(CLOCK_REALTIME))) != 0)
            osp_warn(MODULE, "log parts maintenance: %s", osp_strerror(rc));
        if ((rc = osp_aicalls_maintain(e->aicalls, osp_clock_ns(CLOCK_REALTIME))) != 0)
            osp_warn(MODULE, "AI call index retention: %s", osp_strerror(rc));
        osp_parts_get_stats(e->parts, &after);
        osp_logstore_get_stats(e->logs, &logs_after);
        if (after.nparts != before.nparts || after.merges != before.merges)
            refresh_catalogue(e);
        merged = after.merges != before.merges || logs_after.merges != logs_before.merges;
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* ---- Open and close ---- */

static void engine_destroy(engine *e)
{
    osp_aicalls_close(e->aicalls);
    osp_logstore_close(e->logs);
    osp_exemplar_store_close(e->exemplars);
    osp_tsdb_close(e->tsdb);
    osp_wal_close(e->wal);
    if (e->parts)
        osp_parts_close(e->parts);
    osp_memtable_release(e->active);
    osp_memtable_release(e->flushing);
    cat_destroy(e->cat);
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    pthread_cond_destroy(&e->maint_cv);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->cat_mu);
    pthread_mutex_destroy(&e->mu);
    pthread_rwlock_destroy(&e->append_lock);
    osp_free(e);
}

/* WAL replay into the active memtable; a full memtable goes straight to parts. */
static int replay_record(uint64_t lsn, osp_str payload, void *ctx)
{
    engine *e = ctx;
    char *copy = osp_malloc(payload.n);
    if (!copy)
        return OSP_ENOMEM;
    memcpy(copy, payload.p, payload.n);
    int rc = osp_memtable_insert(e->active, copy, payload.n, lsn);
    if (rc == OSP_ECORRUPT) {
        osp_error(MODULE, "write-ahead log record %llu does not decode; skipped",
                  (unsigned long long)lsn);
        return 0;
    }
    if (rc || osp_memtable_bytes(e->active) < e->memtable_bytes)
        return rc;
    osp_memtable *fresh;
    if ((rc = write_memtable(e, e->active)) != 0 || (rc = osp_memtable_create(&fresh)) != 0)
        return rc;
    osp_memtable_release(e->active);
    e->active = fresh;
    return 0;
}

static int engine_open(const osp_store_options *opt, void **impl)
{
    char traces[PATH_MAX], wal_dir[PATH_MAX], metrics[PATH_MAX], exemplars[PATH_MAX];
    char logs[PATH_MAX], aicalls[PATH_MAX];
    if (!opt->data_dir ||
        snprintf(logs, sizeof logs, "%s/logs", opt->data_dir) >= (int)sizeof logs ||
        snprintf(aicalls, sizeof aicalls, "%s/aicalls", opt->data_dir) >= (int)sizeof aicalls ||
        snprintf(traces, sizeof traces, "%s/traces", opt->data_dir) >= (int)sizeof traces ||
        snprintf(metrics, sizeof metrics, "%s/metrics", opt->data_dir) >= (int)sizeof metrics ||
        snprintf(exemplars, sizeof exemplars, "%s/exemplars", metrics) >= (int)sizeof exemplars)
        return OSP_EINVAL;
    snprintf(wal_dir, sizeof wal_dir, "%s/wal", opt->data_dir);
    engine *e = osp_calloc(1, sizeof *e);
    if (!e)
        return OSP_ENOMEM;
    e->lock_fd = -1;
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* The flusher's swap must not starve behind a steady stream of appends. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&e->append_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->cat_mu, NULL);
    osp_cond_init_monotonic(&e->cv);
    osp_cond_init_monotonic(&e->maint_cv);
    e->max_pending = opt->max_pending_bytes ? opt->max_pending_bytes : DEFAULT_MAX_PENDING;
    e->memtable_bytes = opt->memtable_bytes ? opt->memtable_bytes : DEFAULT_MEMTABLE_BYTES;
    if (e->memtable_bytes > e->max_pending / 2) /* leave room to fill one while one flushes */
        e->memtable_bytes = e->max_pending / 2;
    e->max_merge_backlog =
        opt->max_merge_backlog ? opt->max_merge_backlog : OSP_DEFAULT_MERGE_BACKLOG;
    e->gen_active = 1;
    e->m_spans = osp_counter("osprey_store_spans_appended_total",
                             "Spans appended to the store (in the write-ahead log).", "");
    e->m_bytes = osp_gauge("osprey_store_memtable_bytes",
                           "Bytes held by memtables not yet written to parts.", "");
    e->m_flushes = osp_counter("osprey_store_flushes_total", "Memtables written to parts.", "");
    e->m_rejected = osp_counter("osprey_store_appends_rejected_total",
                                "Appends refused with busy because flushing fell behind.", "");

    osp_parts_options popt = {.dir = traces, .retention_ns = opt->retention_ns};
    osp_wal_options wopt = {.dir = wal_dir,
                            .fsync_policy = opt->fsync_policy,
                            .fsync_interval_ms = opt->fsync_interval_ms};
    int rc;
    if ((rc = osp_mkdirs(opt->data_dir, MODULE)) != 0)
        goto out;
    if ((rc = osp_lock_dir(opt->data_dir, &e->lock_fd)) != 0) {
        if (rc == OSP_EBUSY)
            osp_error(MODULE, "%s is in use by another process (it holds %s/LOCK)", opt->data_dir,
                      opt->data_dir);
        goto out;
    }
    if ((rc = osp_parts_open(&popt, &e->parts)) != 0 || (rc = osp_memtable_create(&e->active)) != 0)
        goto out;
    if ((rc = osp_wal_open(&wopt, osp_parts_max_lsn(e->parts), replay_record, e, &e->wal)) != 0)
        goto out;
    osp_wal_truncate_before(e->wal, osp_parts_max_lsn(e->parts));
    osp_tsdb_options topt = {.dir = metrics,
                             .fsync_policy = opt->fsync_policy,
                             .fsync_interval_ms = opt->fsync_interval_ms,
                             .retention_ms = (int64_t)(opt->retention_ns / 1000000),
                             .ooo_window_ms = opt->ooo_window_ms,
                             .max_series_per_metric = opt->max_series_per_metric};
    if ((rc = osp_tsdb_open(&topt, &e->tsdb)) != 0)
        goto out;
    osp_exemplar_store_options xopt = {.dir = exemplars,
                                       .capacity = opt->max_exemplars,
                                       .fsync_policy = opt->fsync_policy,
                                       .fsync_interval_ms = opt->fsync_interval_ms};
    if ((rc = osp_exemplar_store_open(&xopt, &e->exemplars)) != 0)
        goto out;
    osp_logstore_options lopt = {.dir = logs,
                                 .fsync_policy = opt->fsync_policy,
                                 .fsync_interval_ms = opt->fsync_interval_ms,
                                 .retention_ns = opt->retention_ns,
                                 .memtable_bytes = opt->memtable_bytes,
                                 .max_pending_bytes = opt->max_pending_bytes,
                                 .max_merge_backlog = e->max_merge_backlog};
    if ((rc = osp_logstore_open(&lopt, &e->logs)) != 0)
        goto out;
    osp_aicalls_options aopt = {.dir = aicalls,
                                .retention_ns = opt->retention_ns,
                                .memory_bytes = opt->aicalls_memory_bytes,
                                .fsync_policy = opt->fsync_policy,
                                .fsync_interval_ms = opt->fsync_interval_ms};
    if ((rc = osp_aicalls_open(&aopt, &e->aicalls)) != 0)
        goto out;
    if (osp_memtable_nspans(e->active))
        osp_info(MODULE, "recovered %zu spans from the write-ahead log",
                 osp_memtable_nspans(e->active));
    refresh_catalogue(e);
    update_bytes_gauge(e, osp_memtable_bytes(e->active));
    rc = OSP_ENOMEM;
    if (osp_thread_start(&e->flusher, "osp-span-flush", flusher_main, e))
        goto out;
    e->flusher_started = 1;
    if (osp_thread_start(&e->maintainer, "osp-maintain", maintainer_main, e))
        goto out;
    e->maintainer_started = 1;
    rc = 0;
out:
    if (rc) {
        osp_error(MODULE, "opening the store in %s: %s", opt->data_dir, osp_strerror(rc));
        if (e->flusher_started) {
            pthread_mutex_lock(&e->mu);
            e->stop = 1;
            pthread_cond_broadcast(&e->cv);
            pthread_mutex_unlock(&e->mu);
            pthread_join(e->flusher, NULL);
        }
        engine_destroy(e);
        return rc;
    }
    *impl = e;
    return 0;
}

static void engine_close(void *impl)
{
    engine *e = impl;
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_cond_broadcast(&e->maint_cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->maintainer, NULL);
    pthread_join(e->flusher, NULL); /* it flushes what is left before it exits */
    engine_destroy(e);
}

/* ---- Write path ---- */

static int engine_append(void *impl, const osp_span_batch *b)
{
    engine *e = impl;
    osp_buf rec;
    uint64_t lsn;
    if (b->nspans == 0)
        return 0;
    osp_buf_init(&rec, OSP_WAL_MAX_RECORD);
    int rc = osp_rowcodec_encode(b, &rec);
    if (rc)
        goto out;
    pthread_rwlock_rdlock(&e->append_lock);
    size_t pending = osp_memtable_bytes(e->active) +
                     atomic_load_explicit(&e->flushing_bytes, memory_order_relaxed);
    if (pending >= e->max_pending) {
        rc = OSP_EBUSY;
        osp_counter_inc(e->m_rejected);
    } else if ((rc = osp_wal_append(e->wal, osp_buf_str(&rec), &lsn)) == 0) {
        size_t len;
        char *data = osp_buf_steal(&rec, &len), *trimmed = osp_realloc(data, len);
        rc = osp_memtable_insert(e->active, trimmed ? trimmed : data, len, lsn);
    }
    size_t active = osp_memtable_bytes(e->active);
    pthread_rwlock_unlock(&e->append_lock);
    if (rc)
        goto out;
    osp_counter_add(e->m_spans, b->nspans);
    update_bytes_gauge(e, active);
    if (active >= e->memtable_bytes) {
        pthread_mutex_lock(&e->mu);
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
    }
out:
    osp_buf_cleanup(&rec);
    return rc;
}

static int engine_flush(void *impl)
{
    engine *e = impl;
    int rc = osp_tsdb_flush(e->tsdb);
    int lrc = osp_logstore_flush(e->logs);
    if (rc == 0)
        rc = lrc;
    pthread_mutex_lock(&e->mu);
    uint64_t target = osp_memtable_nspans(e->active) ? e->gen_active
                      : e->flushing                  ? e->gen_flushing
                                                     : e->gen_flushed;
    uint64_t failures = e->flush_failures;
    if (target > e->flush_wanted)
        e->flush_wanted = target;
    pthread_cond_broadcast(&e->cv);
    while (e->gen_flushed < target && e->flush_failures == failures)
        pthread_cond_wait(&e->cv, &e->mu);
    if (e->gen_flushed < target && rc == 0)
        rc = e->flush_err;
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- Metrics: the time-series engine ---- */

static int engine_append_series(void *impl, const osp_series_batch *b, osp_tsdb_append_report *rep)
{
    return osp_tsdb_append(((engine *)impl)->tsdb, b, rep);
}

static void engine_known_series(void *impl, const osp_series_key *keys, size_t n, uint64_t *refs)
{
    osp_tsdb_known_series(((engine *)impl)->tsdb, keys, n, refs);
}

static int engine_select_series(void *impl, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                                int64_t maxt_ms, int with_samples, osp_arena *arena,
                                osp_series **out, size_t *nout)
{
    osp_tsdb *db = ((engine *)impl)->tsdb;
    return with_samples ? osp_tsdb_select(db, m, n, mint_ms, maxt_ms, arena, out, nout)
                        : osp_tsdb_series(db, m, n, mint_ms, maxt_ms, arena, out, nout);
}

static int engine_label_names(void *impl, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                              int64_t maxt_ms, osp_arena *arena, osp_str **names, size_t *nnames)
{
    return osp_tsdb_label_names(((engine *)impl)->tsdb, m, n, mint_ms, maxt_ms, arena, names,
                                nnames);
}

static int engine_label_values(void *impl, osp_str name, const osp_label_matcher *m, size_t n,
                               int64_t mint_ms, int64_t maxt_ms, osp_arena *arena, osp_str **values,
                               size_t *nvalues)
{
    return osp_tsdb_label_values(((engine *)impl)->tsdb, name, m, n, mint_ms, maxt_ms, arena,
                                 values, nvalues);
}

static int engine_metadata(void *impl, osp_str family, osp_arena *arena, osp_metric_meta **out,
                           size_t *nout)
{
    return osp_tsdb_metadata(((engine *)impl)->tsdb, family, arena, out, nout);
}

static int engine_append_exemplars(void *impl, const osp_series_batch *b, osp_exemplar_report *rep)
{
    return osp_exemplar_store_append(((engine *)impl)->exemplars, b, rep);
}

static int engine_select_exemplars(void *impl, const osp_matcher_set *sets, size_t nsets,
                                   int64_t mint_ms, int64_t maxt_ms, osp_arena *arena,
                                   osp_series_exemplars **out, size_t *nout)
{
    return osp_exemplar_store_select(((engine *)impl)->exemplars, sets, nsets, mint_ms, maxt_ms,
                                     arena, out, nout);
}

/* ---- Trace fetch ---- */

/* Orders span indexes of a batch by start time, then span id, then position. */
static int cmp_span(const void *pa, const void *pb, void *ctx)
{
    const osp_span_batch *b = ctx;
    size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
    const osp_span *x = &b->spans[ia], *y = &b->spans[ib];
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    int c = memcmp(x->span_id, y->span_id, 8);
    if (c)
        return c;
    return ia < ib ? -1 : ia > ib;
}

/* Copies the spans of all into out in start order, leaving out exact duplicates (the
 * same span stored twice: a client retry after a crash, or a read racing a flush). */
static int sorted_unique(const osp_span_batch *all, osp_span_batch *out)
{
    size_t *idx = osp_malloc(all->nspans * sizeof *idx), nkept = 0;
    int rc = 0;
    if (!idx)
        return OSP_ENOMEM;
    for (size_t i = 0; i < all->nspans; i++)
        idx[i] = i;
    qsort_r(idx, all->nspans, sizeof *idx, cmp_span, (void *)all);
    for (size_t i = 0; i < all->nspans && rc == 0; i++) {
        const osp_span *s = &all->spans[idx[i]];
        int dup = 0;
        /* Kept spans with the same start and span id sit just before. */
        for (size_t k = nkept; k-- > 0 && !dup;) {
            const osp_span *t = &all->spans[idx[k]];
            if (t->start_ns != s->start_ns || memcmp(t->span_id, s->span_id, 8))
                break;
            dup = osp_span_equal(all, idx[k], all, idx[i]);
        }
        if (!dup) {
            idx[nkept++] = idx[i];
            rc = osp_span_batch_copy_span(out, all, idx[i]);
        }
    }
    osp_free(idx);
    return rc;
}

/* Empties the detail fields (OSP_TRACE_NO_DETAIL) of b's spans, as parts leave them, so
 * that a span read from a memtable and from a part still compares equal. */
static void drop_detail(osp_span_batch *b)
{
    for (size_t i = 0; i < b->nspans; i++) {
        osp_span *s = &b->spans[i];
        s->attributes = s->events = s->links = OSP_STR_NULL;
        s->trace_state = s->status_message = OSP_STR_NULL;
    }
}

static int engine_get_trace(void *impl, const uint8_t trace_id[16], unsigned flags,
                            osp_span_batch *out)
{
    engine *e = impl;
    osp_memtable *mts[2];
    osp_span_batch all;
    int rc = 0;
    size_t nm = snapshot(e, mts);
    osp_span_batch_init(&all);
    for (size_t i = 0; i < nm && rc >= 0; i++)
        rc = osp_memtable_get_trace(mts[i], trace_id, &all);
    if (rc >= 0 && (flags & OSP_TRACE_NO_DETAIL))
        drop_detail(&all);
    if (rc >= 0)
        rc = osp_parts_get_trace(e->parts, trace_id, flags, &all);
    if (rc >= 0)
        rc = all.nspans ? sorted_unique(&all, out) : OSP_ENOTFOUND;
    osp_span_batch_cleanup(&all);
    release_all(mts, nm);
    return rc;
}

/* ---- Search ---- */

/* The newest `limit` traces by their newest matching span: a min-heap on newest_start_ns
 * plus a map from trace id to heap position. Memory stays O(limit) however many spans
 * match. */
typedef struct topk {
    osp_trace_hit *heap;
    size_t n, cap, limit;
    osp_tidmap pos;
    int err;
} topk;

static int hit_less(const osp_trace_hit *a, const osp_trace_hit *b)
{
    if (a->newest_start_ns != b->newest_start_ns)
        return a->newest_start_ns < b->newest_start_ns;
    return memcmp(a->trace_id, b->trace_id, 16) > 0;
}

static void topk_set(topk *t, size_t i, const osp_trace_hit *h)
{
    t->heap[i] = *h;
    *osp_tidmap_find(&t->pos, h->trace_id) = i;
}

static void topk_sift_down(topk *t, size_t i)
{
    osp_trace_hit h = t->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->n)
            break;
        if (c + 1 < t->n && hit_less(&t->heap[c + 1], &t->heap[c]))
            c++;
        if (!hit_less(&t->heap[c], &h))
            break;
        topk_set(t, i, &t->heap[c]);
        i = c;
    }
    topk_set(t, i, &h);
}

static void topk_sift_up(topk *t, size_t i)
{
    osp_trace_hit h = t->heap[i];
    while (i > 0 && hit_less(&h, &t->heap[(i - 1) / 2])) {
        topk_set(t, i, &t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    topk_set(t, i, &h);
}

static void topk_offer(const uint8_t trace_id[16], uint64_t start, void *ctx)
{
    topk *t = ctx;
    osp_trace_hit h;
    memcpy(h.trace_id, trace_id, 16);
    h.newest_start_ns = start;
    uint64_t *at = osp_tidmap_find(&t->pos, trace_id), *slot;
    if (at) { /* a newer span of a trace already in: its key grows, move it down */
        if (start > t->heap[*at].newest_start_ns) {
            t->heap[*at].newest_start_ns = start;
            topk_sift_down(t, (size_t)*at);
        }
        return;
    }
    if (t->err || (t->n == t->limit && !hit_less(&t->heap[0], &h)))
        return;
    if (t->n == t->limit) { /* evict the oldest */
        osp_tidmap_remove(&t->pos, t->heap[0].trace_id);
        if ((t->err = osp_tidmap_put(&t->pos, trace_id, &slot)) < 0)
            return;
        topk_set(t, 0, &h);
        topk_sift_down(t, 0);
        return;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        cap = cap < t->limit ? cap : t->limit;
        osp_trace_hit *heap = osp_realloc(t->heap, cap * sizeof *heap);
        if (!heap) {
            t->err = OSP_ENOMEM;
            return;
        }
        t->heap = heap;
        t->cap = cap;
    }
    if ((t->err = osp_tidmap_put(&t->pos, trace_id, &slot)) < 0)
        return;
    t->heap[t->n] = h;
    *slot = t->n++;
    topk_sift_up(t, t->n - 1);
}

/* Once the heap is full, hits older than its oldest cannot get in (osp_floor_fn). */
static uint64_t topk_floor(void *ctx)
{
    const topk *t = ctx;
    return t->n == t->limit ? t->heap[0].newest_start_ns : 0;
}

static int cmp_hit_newest(const void *a, const void *b)
{
    return hit_less(b, a) ? -1 : hit_less(a, b);
}

static int engine_search(void *impl, const osp_trace_query *q, osp_arena *arena,
                         osp_trace_hit **hits, size_t *nhits)
{
    engine *e = impl;
    osp_memtable *mts[2];
    topk t = {.limit = q->limit ? q->limit : DEFAULT_SEARCH_LIMIT};
    int rc = 0;
    osp_tidmap_init(&t.pos, 0);
    size_t nm = snapshot(e, mts);
    /* The memtables hold the newest spans: searching them first raises the floor early,
     * so that the parts, visited newest first, can stop as soon as they are older. */
    for (size_t i = 0; i < nm && rc == 0; i++)
        rc = osp_memtable_search(mts[i], q, topk_offer, &t);
    if (rc == 0)
        rc = osp_parts_search(e->parts, q, topk_offer, topk_floor, &t);
    if (rc == 0)
        rc = t.err;
    if (rc == 0) {
        if (t.n)
            qsort(t.heap, t.n, sizeof *t.heap, cmp_hit_newest);
        *hits = osp_arena_memdup(arena, t.heap, t.n * sizeof *t.heap);
        *nhits = t.n;
        rc = *hits ? 0 : OSP_ENOMEM;
    }
    release_all(mts, nm);
    osp_tidmap_cleanup(&t.pos);
    osp_free(t.heap);
    return rc;
}

/* ---- Catalogue ---- */

static int cmp_cat(const void *pa, const void *pb)
{
    const cat_row *a = pa, *b = pb;
    int c = osp_str_cmp(a->service, b->service);
    if (c == 0)
        c = osp_str_cmp(a->name, b->name);
    return c ? c : (a->kind > b->kind) - (a->kind < b->kind);
}

/* Calls fn with the sorted, distinct union of the parts' catalogue and the memtables'.
 * The rows passed to fn are only valid during the call. */
static int with_catalogue(engine *e, int (*fn)(const catalogue *c, void *ctx), void *ctx)
{
    osp_memtable *mts[2];
    catalogue all = {0};
    size_t nm = snapshot(e, mts);
    pthread_mutex_lock(&e->cat_mu);
    for (size_t i = 0; e->cat && i < e->cat->n && !all.err; i++)
        all.err = cat_add(&all, e->cat->rows[i].service, e->cat->rows[i].name, e->cat->rows[i].kind,
                          NULL);
    for (size_t i = 0; i < nm && !all.err; i++)
        osp_memtable_catalogue(mts[i], cat_collect_ref, &all);
    int rc = all.err;
    if (rc == 0) {
        if (all.n)
            qsort(all.rows, all.n, sizeof *all.rows, cmp_cat);
        size_t k = 0;
        for (size_t i = 0; i < all.n; i++)
            if (k == 0 || cmp_cat(&all.rows[k - 1], &all.rows[i]))
                all.rows[k++] = all.rows[i];
        all.n = k;
        rc = fn(&all, ctx);
    }
    pthread_mutex_unlock(&e->cat_mu);
    release_all(mts, nm);
    osp_free(all.rows);
    return rc;
}

typedef struct names_out {
    osp_arena *arena;
    osp_str **names;
    size_t *n;
} names_out;

static int emit_services(const catalogue *c, void *ctx)
{
    names_out *o = ctx;
    osp_str *names = osp_arena_alloc(o->arena, (c->n ? c->n : 1) * sizeof *names);
    size_t n = 0;
    if (!names)
        return OSP_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        if (n && osp_str_eq(names[n - 1], c->rows[i].service))
            continue;
        names[n] = osp_arena_strdup(o->arena, c->rows[i].service);
        if (!names[n++].p)
            return OSP_ENOMEM;
    }
    *o->names = names;
    *o->n = n;
    return 0;
}

static int engine_services(void *impl, osp_arena *arena, osp_str **names, size_t *n)
{
    names_out o = {arena, names, n};
    return with_catalogue(impl, emit_services, &o);
}

typedef struct ops_out {
    osp_str service;
    osp_arena *arena;
    osp_operation **ops;
    size_t *n;
} ops_out;

static int emit_operations(const catalogue *c, void *ctx)
{
    ops_out *o = ctx;
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += osp_str_eq(c->rows[i].service, o->service);
    osp_operation *ops = osp_arena_alloc(o->arena, (n ? n : 1) * sizeof *ops);
    if (!ops)
        return OSP_ENOMEM;
    n = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!osp_str_eq(c->rows[i].service, o->service))
            continue;
        ops[n] = (osp_operation){osp_arena_strdup(o->arena, c->rows[i].name), c->rows[i].kind};
        if (!ops[n++].name.p)
            return OSP_ENOMEM;
    }
    *o->ops = ops;
    *o->n = n;
    return 0;
}

static int engine_operations(void *impl, osp_str service, osp_arena *arena, osp_operation **ops,
                             size_t *n)
{
    ops_out o = {service, arena, ops, n};
    return with_catalogue(impl, emit_operations, &o);
}

/* ---- Logs: the log store ---- */

static int engine_append_logs(void *impl, const osp_log_batch *b)
{
    return osp_logstore_append(((engine *)impl)->logs, b);
}

static int engine_scan_logs(void *impl, const osp_log_query *q, osp_log_fn fn, void *ctx)
{
    return osp_logstore_scan(((engine *)impl)->logs, q, fn, ctx);
}

static int engine_select_logs(void *impl, const osp_log_query *q, osp_log_keep_fn keep, void *ctx,
                              osp_log_batch *out, uint64_t **streams)
{
    return osp_logstore_select(((engine *)impl)->logs, q, keep, ctx, out, streams);
}

static int engine_log_streams(void *impl, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                              uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids)
{
    return osp_logstore_streams(((engine *)impl)->logs, m, n, start_ns, end_ns, arena, ids, nids);
}

static int engine_log_stream_labels(void *impl, uint64_t stream, osp_arena *arena,
                                    osp_label **labels, size_t *n)
{
    return osp_logstore_stream_labels(((engine *)impl)->logs, stream, arena, labels, n);
}

static int engine_log_label_names(void *impl, const osp_label_matcher *m, size_t n,
                                  uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                                  osp_str **names, size_t *nnames)
{
    return osp_logstore_label_names(((engine *)impl)->logs, m, n, start_ns, end_ns, arena, names,
                                    nnames);
}

static int engine_log_label_values(void *impl, osp_str name, const osp_label_matcher *m, size_t n,
                                   uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                                   osp_str **values, size_t *nvalues)
{
    return osp_logstore_label_values(((engine *)impl)->logs, name, m, n, start_ns, end_ns, arena,
                                     values, nvalues);
}

/* ---- AI calls: the session and agent index ---- */

static int engine_append_aicalls(void *impl, const osp_aicall *calls, size_t n)
{
    return osp_aicalls_append(((engine *)impl)->aicalls, calls, n);
}

static int engine_select_aicalls(void *impl, const osp_aicall_query *q, osp_arena *arena,
                                 osp_aicall **out, size_t *n)
{
    return osp_aicalls_select(((engine *)impl)->aicalls, q, arena, out, n);
}

static int engine_scan_aicalls(void *impl, const osp_aicall_query *q, osp_aicall_trace_fn fn,
                               void *ctx)
{
    return osp_aicalls_scan(((engine *)impl)->aicalls, q, fn, ctx);
}

static uint64_t engine_aicalls_indexed_from(void *impl)
{
    return osp_aicalls_indexed_from(((engine *)impl)->aicalls);
}

static int engine_aicall_bounds(void *impl, enum osp_aicall_key key, uint64_t start_ns,
                                uint64_t end_ns, osp_arena *arena, osp_aicall_bound **out,
                                size_t *n)
{
    return osp_aicalls_bounds(((engine *)impl)->aicalls, key, start_ns, end_ns, arena, out, n);
}

/* The embedded engine's descriptor, picked by store.c for engine "embedded" (the
 * default). */
const osp_store_engine osp_embedded_engine = {
    .name = "embedded",
    .open = engine_open,
    .close = engine_close,
    .append_spans = engine_append,
    .get_trace = engine_get_trace,
    .search_traces = engine_search,
    .services = engine_services,
    .operations = engine_operations,
    .flush = engine_flush,
    .append_series = engine_append_series,
    .known_series = engine_known_series,
    .select_series = engine_select_series,
    .label_names = engine_label_names,
    .label_values = engine_label_values,
    .metadata = engine_metadata,
    .append_exemplars = engine_append_exemplars,
    .select_exemplars = engine_select_exemplars,
    .append_logs = engine_append_logs,
    .scan_logs = engine_scan_logs,
    .select_logs = engine_select_logs,
    .log_streams = engine_log_streams,
    .log_stream_labels = engine_log_stream_labels,
    .log_label_names = engine_log_label_names,
    .log_label_values = engine_log_label_values,
    .append_aicalls = engine_append_aicalls,
    .select_aicalls = engine_select_aicalls,
    .scan_aicalls = engine_scan_aicalls,
    .aicall_bounds = engine_aicall_bounds,
    .aicalls_indexed_from = engine_aicalls_indexed_from,
};
