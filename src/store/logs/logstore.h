/* The embedded log store: write-ahead log -> in-memory buffer (logmem.h) -> day-partitioned
 * part files (logpart.h), with an in-memory stream index (label set -> stream id), tiered
 * merges, retention and quarantine. The embedded engine (store/embedded/engine.c) serves
 * the osp_store_*log* functions of store/store.h with it; the semantics of each function
 * below are those of its store.h counterpart. Design: README.md beside this file.
 * Thread-safe: every function but close may be called concurrently. */
#ifndef OSP_STORE_LOGS_LOGSTORE_H
#define OSP_STORE_LOGS_LOGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/log.h"
#include "store/store.h"

typedef struct osp_logstore osp_logstore;

typedef struct osp_logstore_options {
    const char *dir;                    /* e.g. DATA/logs, created if missing; WAL in dir/wal */
    enum osp_fsync_policy fsync_policy; /* of the write-ahead log (store.h) */
    uint32_t fsync_interval_ms;         /* for OSP_FSYNC_INTERVAL; 0 picks 1000 */
    uint64_t retention_ns;              /* drop days whose newest record is older; 0 = keep */
    size_t memtable_bytes;              /* flush the buffer to parts past this; 0 = 64 MiB */
    size_t max_pending_bytes; /* unflushed bytes past which appends fail OSP_EBUSY; 0 = 512 MiB */
    size_t max_merge_backlog; /* the flusher waits while a day holds more parts awaiting merges
                                 (osp_partlist_merge_backlog); 0 = 128 */
} osp_logstore_options;

/* Opens the store: opens every part (a part that fails verification is logged and moved
 * to dir/quarantine/; leftover temporary files are removed; parts another part replaces
 * are deleted), rebuilds the stream index from the parts, replays the write-ahead log
 * past the parts' highest lsn, and starts the flusher thread. 0, OSP_EINVAL (no dir),
 * OSP_EIO, OSP_ENOMEM. */
int osp_logstore_open(const osp_logstore_options *opt, osp_logstore **out);
/* Stops the flusher, writes what is buffered to parts (what fails stays in the WAL) and
 * frees s. Safe with NULL. */
void osp_logstore_close(osp_logstore *s);

int osp_logstore_append(osp_logstore *s, const osp_log_batch *b);
int osp_logstore_scan(osp_logstore *s, const osp_log_query *q, osp_log_fn fn, void *ctx);
int osp_logstore_select(osp_logstore *s, const osp_log_query *q, osp_log_keep_fn keep, void *ctx,
                        osp_log_batch *out, uint64_t **streams);
int osp_logstore_streams(osp_logstore *s, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                         uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids);
int osp_logstore_stream_labels(osp_logstore *s, uint64_t stream, osp_arena *arena,
                               osp_label **labels, size_t *n);
int osp_logstore_label_names(osp_logstore *s, const osp_label_matcher *m, size_t n,
                             uint64_t start_ns, uint64_t end_ns, osp_arena *arena, osp_str **names,
                             size_t *nnames);
int osp_logstore_label_values(osp_logstore *s, osp_str name, const osp_label_matcher *m, size_t n,
                              uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                              osp_str **values, size_t *nvalues);

/* Writes everything appended before the call to parts and truncates the WAL behind it.
 * 0, OSP_EIO, OSP_ENOMEM (the records stay buffered and in the WAL). */
int osp_logstore_flush(osp_logstore *s);

/* One round of maintenance: flushes a buffer older than the flush age, drops day
 * partitions past the retention, merges small parts. now_ns: CLOCK_REALTIME. Safe
 * concurrently with everything else. 0 or the first error. */
int osp_logstore_maintain(osp_logstore *s, uint64_t now_ns);

typedef struct osp_logstore_stats {
    uint64_t nparts, nrecords; /* parts served and the records in them */
    uint64_t bytes_on_disk, raw_bytes;
    uint64_t buffered; /* records not yet in parts */
    uint64_t nstreams, merges, quarantined;
} osp_logstore_stats;
void osp_logstore_get_stats(osp_logstore *s, osp_logstore_stats *st);

#endif
