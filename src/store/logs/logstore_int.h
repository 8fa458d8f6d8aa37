/* Internals of the log store shared by logstore.c (open, write path, part set),
 * logstore_flush.c (flushes), logstore_merge.c (merges, retention) and logstore_read.c
 * (queries). */
#ifndef OSP_STORE_LOGS_LOGSTORE_INT_H
#define OSP_STORE_LOGS_LOGSTORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"
#include "store/embedded/wal.h"
#include "store/logs/logmem.h"
#include "store/logs/logpart.h"
#include "store/logs/logstore.h"
#include "store/partlist.h"
#include "store/tsdb/index.h"

#define OSP_LOGSTORE_MODULE "logstore"

/* An open part (ref.part, an osp_logpart) in the store's list (store/partlist.h). */
typedef struct osp__lpart {
    osp_partref ref;            /* first: the list and snapshots hold &ref */
    uint64_t *gids;             /* local stream k -> global stream id */
    struct osp_logstore *store; /* whose stream table counts this part's streams */
} osp__lpart;

/* The log part a reference of the store's list stands for. */
static inline osp__lpart *osp__lpart_of(osp_partref *r)
{
    return (osp__lpart *)r;
}

/* Per stream: the osp_log_time range of its records (min > max: none yet or no more), the
 * open parts that file it, since when it has had none (CLOCK_REALTIME ns; 0: it never had
 * one) and whether it left the stream index. */
typedef struct osp__stream_time {
    uint64_t min_time, max_time;
    uint64_t orphaned_ns;
    uint32_t parts;
    uint32_t removed;
} osp__stream_time;

struct osp_logstore {
    char *dir, *qdir;
    uint64_t retention_ns;
    size_t memtable_bytes, max_pending, max_merge_backlog;
    osp_series_index *index; /* stream label sets -> dense stream ids */
    osp_wal *wal;

    pthread_mutex_t times_mu; /* guards times and orphans */
    osp__stream_time *times;  /* indexed by stream id */
    size_t ntimes, times_cap;
    int orphans;                        /* a stream lost its last part and awaits a sweep */
    atomic_uint_fast64_t streams_swept; /* sweeps run: an append that sees it change re-resolves */

    pthread_rwlock_t append_lock; /* appends shared; swapping the buffer exclusive */
    pthread_mutex_t mu;           /* guards the fields below; a reader snapshot takes the
                                     buffers and the parts under it in one step */
    pthread_cond_t cv;            /* wakes the flusher */
    osp_logmem *active;           /* takes appends */
    osp_logmem *flushing;         /* being written to parts; NULL when none */
    osp_partlist parts;           /* parts served; its max_lsn: the highest WAL position
                                     in parts */
    uint64_t next_seq;
    int stop;
    int merge_wait; /* the flusher waits for merges (osp__logstore_merges_behind) */
    atomic_size_t flushing_bytes;

    pthread_mutex_t flush_mu;    /* one flush at a time */
    pthread_mutex_t maintain_mu; /* one maintenance round at a time */
    pthread_t flusher;
    int flusher_started;
    atomic_uint_fast64_t merges, quarantined;
};

/* What a reader sees: the buffers and the parts live at one instant, each acquired. */
typedef struct osp__lsnap {
    osp_logmem *mem[2];
    size_t nmem;
    osp_partref **parts; /* of osp__lpart */
    size_t nparts;
} osp__lsnap;

/* Self-metrics (registered once). */
extern osp_metric *osp__log_m_parts, *osp__log_m_bytes, *osp__log_m_records, *osp__log_m_streams,
    *osp__log_m_merges, *osp__log_m_quarantined;

/* Under s->mu: 1 when a day holds more parts awaiting merges than s->max_merge_backlog, so
 * the flusher waits (and s->merge_wait, logged as it changes, says so). */
int osp__logstore_merges_behind(osp_logstore *s);

/* Narrows the time range of every stream to what the served parts and the buffers hold
 * (the buffers counted from their oldest record), after retention dropped parts: a stream
 * they no longer hold at all gets none, so listings leave it out at once. Takes the append
 * lock exclusively. 0 or OSP_ENOMEM (nothing narrowed). */
int osp__logstore_narrow_times(osp_logstore *s);

/* A stream stays in the index this long after its last part closed, so that a query that
 * read its records (and released the parts) can still resolve its labels. */
#define OSP__STREAM_SWEEP_GRACE_NS (300 * (uint64_t)1000000000)

/* Removes from the stream index the streams that no open part and no buffer holds: those
 * whose last part (retention, quarantine) closed at least the grace before now_ns
 * (CLOCK_REALTIME), and those that never reached a part or a buffer. Does nothing, without
 * taking a lock beyond times_mu, until some stream's grace has passed; then takes the
 * append lock exclusively. 0 or OSP_ENOMEM. */
int osp__logstore_sweep_streams(osp_logstore *s, uint64_t now_ns);

/* Test hook: when set, an append calls it between resolving its streams and taking the
 * append lock. */
extern void (*osp__logstore_resolved_hook)(osp_logstore *s);

/* Takes a snapshot (the buffers first, then the parts, under s->mu). 0 or OSP_ENOMEM. */
int osp__logstore_snapshot(osp_logstore *s, osp__lsnap *snap);
void osp__logstore_snapshot_release(osp__lsnap *snap);

/* Takes a part that failed a read out of service and moves its file to quarantine; the
 * readers that hold it finish with their own references. */
void osp__logstore_quarantine(osp_logstore *s, osp_partref *p);

/* A part being written: its writer, paths and identity. */
typedef struct osp__lpending {
    osp_logpart_writer *w;
    char *tmp, *path;
    uint32_t day;
    uint64_t seq;
} osp__lpending;

/* Allocates a seq, creates the day directory and starts a writer. */
int osp__lpending_start(osp_logstore *s, osp__lpending *p, uint32_t day,
                        const osp_logpart_writer_options *opt);
/* Finishes the writer (file fsynced, still under its temporary name). */
int osp__lpending_finish(osp__lpending *p);
/* Renames a finished part into place (directory fsynced) and opens it as a new
 * reference (not yet in the list). On failure no file is left at the final path. */
int osp__lpending_publish(osp_logstore *s, osp__lpending *p, osp_partref **out);
/* Aborts an unfinished writer or removes an unpublished file; frees the paths. */
void osp__lpending_cleanup(osp__lpending *p);

/* The partition (days since the epoch) of a record time. */
uint32_t osp__log_day(uint64_t time_ns);

/* Deep copy of record i of src with its resource and scope into dst (resources and scopes
 * de-duplicated against the last ones added). 0 or OSP_ENOMEM (dst unchanged but for
 * unused arena bytes). */
int osp__log_copy_record(osp_log_batch *dst, const osp_log_batch *src, size_t i);
/* Empties b, keeping its arrays. */
void osp__log_batch_reset(osp_log_batch *b);

/* Writes what is buffered to parts: a buffer left from a failed flush first, then the
 * active one; truncates the WAL behind them. One flush at a time (flush_mu). 0 or the
 * error of the write (what failed stays buffered and in the WAL). */
int osp__logstore_flush_now(osp_logstore *s);
/* The flusher thread: flushes a buffer past memtable_bytes or older than the flush age,
 * and retries failed flushes, until s->stop. */
void *osp__logstore_flusher_main(void *arg);

#endif
