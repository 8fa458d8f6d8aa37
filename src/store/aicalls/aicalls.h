/* The AI call index of the embedded store: AI call records (model/aicall.h) in append-only
 * segment files per UTC day (format in aicseg.h, design in README.md), and in memory an
 * index of their summaries by trace, session, user and agent. One writer (the derive
 * pipeline), concurrent readers. */
#ifndef OSP_STORE_AICALLS_AICALLS_H
#define OSP_STORE_AICALLS_AICALLS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/aicall.h"
#include "store/store.h"

typedef struct osp_aicalls osp_aicalls;

typedef struct osp_aicalls_options {
    const char *dir;       /* DATA_DIR/aicalls; created if missing */
    uint64_t retention_ns; /* drop days that ended longer ago; 0 = keep forever */
    size_t memory_bytes;   /* the in-memory index's budget; 0 = none (README.md, Memory) */
    enum osp_fsync_policy fsync_policy;
    uint32_t fsync_interval_ms; /* for OSP_FSYNC_INTERVAL; 0 picks 1000 */
} osp_aicalls_options;

/* Opens the index in opt->dir, reading the segments within retention, newest day first,
 * until the index has passed opt->memory_bytes at the end of a day. A corrupt or
 * truncated record ends its segment's replay with a warning and the segment is moved to
 * the quarantine directory (its earlier records stay indexed). 0, OSP_EINVAL, OSP_ENOMEM
 * or OSP_EIO (logged). */
int osp_aicalls_open(const osp_aicalls_options *opt, osp_aicalls **out);

/* Closes the files and frees s; safe with NULL. */
void osp_aicalls_close(osp_aicalls *s);

/* Writes calls[0..n) to today's segment with one write (fsynced as the policy says) and
 * indexes them. 0; OSP_EIO (nothing indexed, the segment cut back), OSP_ENOMEM. */
int osp_aicalls_append(osp_aicalls *s, const osp_aicall *calls, size_t n);

/* The records of the traces q selects (store.h osp_aicall_query), trace after trace by
 * first start, each trace's by start time; copies in arena. 0, OSP_ETOOBIG past
 * q->max_records, OSP_ENOMEM, OSP_EIO (reading texts). */
int osp_aicalls_select(osp_aicalls *s, const osp_aicall_query *q, osp_arena *arena,
                       osp_aicall **out, size_t *n);

/* Visits the traces q selects (in the order of osp_aicalls_select; q->with_text and
 * q->max_records are ignored): fn(ctx, calls, n) once per trace with pointers to its
 * records by start time (expanded from their summaries, valid for that call), then
 * fn(ctx, NULL, 0) once at the end. Their strings stay valid until that last call returns
 * (the index is read-locked throughout).
 * 0, OSP_ENOMEM, or fn's first non-zero answer, which stops the scan. */
int osp_aicalls_scan(osp_aicalls *s, const osp_aicall_query *q, osp_aicall_trace_fn fn, void *ctx);

/* osp_store_aicall_bounds: the session or user ids whose traces reach into [start_ns,
 * end_ns] (end_ns 0: unbounded), with the latest record end of those of their traces. */
int osp_aicalls_bounds(osp_aicalls *s, enum osp_aicall_key key, uint64_t start_ns, uint64_t end_ns,
                       osp_arena *arena, osp_aicall_bound **out, size_t *n);

/* Drops the days that ended more than the retention before now_ns: their files and their
 * records. Then, while the index is over its memory budget, takes the records of its
 * oldest day out of it (not the newest day's; their files stay). 0 or OSP_ENOMEM (that
 * step not done). */
int osp_aicalls_maintain(osp_aicalls *s, uint64_t now_ns);

/* The start of the oldest day whose records are in the index, when the memory budget left
 * an older day within retention out of it; 0 when every day is in. Lists whose range
 * starts earlier miss those days. */
uint64_t osp_aicalls_indexed_from(osp_aicalls *s);

/* Records indexed now. */
size_t osp_aicalls_count(osp_aicalls *s);

#endif
