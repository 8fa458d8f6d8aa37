/* In-memory buffer of the log store: records appended since the last flush, as decoded
 * write-ahead-log records, with the stream each record is filed under and a per-stream
 * list of records, until they are written to parts. Refcounted for readers, like the
 * trace store's memtable (store/embedded/memtable.h). */
#ifndef OSP_STORE_LOGS_LOGMEM_H
#define OSP_STORE_LOGS_LOGMEM_H

#include <stddef.h>
#include <stdint.h>

#include "model/log.h"

typedef struct osp_logmem osp_logmem;

/* Creates an empty buffer with one reference. 0 or OSP_ENOMEM. */
int osp_logmem_create(osp_logmem **out);
/* Reference counting: readers acquire a buffer for as long as they use it; the last
 * release frees it and everything it holds. Release is safe with NULL. */
void osp_logmem_acquire(osp_logmem *m);
void osp_logmem_release(osp_logmem *m);

/* Adds the records of one log-codec record (logcodec.h) that the write-ahead log holds as
 * lsn; record i is filed under stream streams[i] (nstreams must equal the record count).
 * Takes ownership of record and streams (both from osp_malloc) in every case; the rows
 * point into record. Thread-safe; decoding runs outside the buffer's lock. Returns 0,
 * OSP_ECORRUPT (not a valid record, or a stream count that does not match; nothing
 * added) or OSP_ENOMEM (nothing added). */
int osp_logmem_insert(osp_logmem *m, char *record, size_t len, uint64_t *streams, size_t nstreams,
                      uint64_t lsn);

/* Approximate memory held, in bytes. */
size_t osp_logmem_bytes(const osp_logmem *m);
size_t osp_logmem_nrecords(const osp_logmem *m);
/* Highest lsn inserted (0 when empty). */
uint64_t osp_logmem_max_lsn(const osp_logmem *m);
/* CLOCK_MONOTONIC time of the first insert in nanoseconds (0 when empty). */
uint64_t osp_logmem_first_insert_ns(const osp_logmem *m);
/* The osp_log_time range of the records (0, 0 when empty). */
void osp_logmem_time_range(osp_logmem *m, uint64_t *min_time, uint64_t *max_time);

/* 1 when a record is filed under stream, 0 otherwise. */
int osp_logmem_has_stream(osp_logmem *m, uint64_t stream);

/* Receives one record: record i of b, filed under stream. b stays valid as long as the
 * caller holds the buffer. A non-zero return stops the visit and becomes its result. */
typedef int (*osp_logmem_fn)(const osp_log_batch *b, size_t i, uint64_t stream, void *ctx);

/* Calls fn for every record filed under one of the streams ids[0..nids) (NULL: every
 * record, in insertion order) whose osp_log_time is in [start_ns, end_ns) (end_ns 0 =
 * unbounded). fn runs without the buffer's lock, so inserts go on meanwhile (and records
 * inserted after the call began may be left out). Returns 0, fn's result or OSP_ENOMEM. */
int osp_logmem_visit(osp_logmem *m, const uint64_t *ids, size_t nids, uint64_t start_ns,
                     uint64_t end_ns, osp_logmem_fn fn, void *ctx);

#endif
