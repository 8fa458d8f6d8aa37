/* The on-disk part set of the embedded trace store: immutable, time-partitioned columnar
 * parts, their per-part indexes, background merges, retention and quarantine of corrupt
 * parts. The engine (engine.c) puts flushed memtables here and reads through it.
 * Format: see format.h and README.md beside this file. Thread-safe. */
#ifndef OSP_STORE_EMBEDDED_PARTS_H
#define OSP_STORE_EMBEDDED_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "model/span.h"
#include "store/store.h"

typedef struct osp_parts osp_parts;

typedef struct osp_parts_options {
    const char *dir;       /* e.g. DATA/traces; created if missing */
    uint64_t retention_ns; /* 0 = keep forever */
} osp_parts_options;

/* Opens every part under dir, verifying checksums of headers and indexes. A part that
 * fails is logged with its file name and moved into dir/quarantine/; the rest open.
 * Leftover temporary files from an interrupted write or merge are removed. */
int osp_parts_open(const osp_parts_options *opt, osp_parts **out);
void osp_parts_close(osp_parts *ps);

/* Writes rows as new part(s), one per time partition, durably (file and directory
 * fsynced, then renamed into place) and makes them visible to readers. wal_lsn is the
 * highest write-ahead-log sequence number the rows came from; it is recorded in the
 * part so recovery can skip WAL records already in parts. 0, OSP_EIO, OSP_ENOMEM, or
 * OSP_EINVAL when a row's resource or scope index is out of range. */
int osp_parts_add(osp_parts *ps, const osp_span_batch *rows, uint64_t wal_lsn);

/* Highest wal_lsn recorded by any part (0 when none). */
uint64_t osp_parts_max_lsn(osp_parts *ps);

/* Appends every span with this trace id to out; flags as for osp_store_get_trace. Parts
 * whose bloom filter rules the id out are not read. A block failing its checksum is
 * logged, its part quarantined, and the read goes on with the other parts. Returns the
 * number of spans appended (>= 0) or a negative error. */
int osp_parts_get_trace(osp_parts *ps, const uint8_t trace_id[16], unsigned flags,
                        osp_span_batch *out);

/* Receives matching traces. newest_start_ns is the newest matching span's start. */
typedef void (*osp_hit_fn)(const uint8_t trace_id[16], uint64_t newest_start_ns, void *ctx);

/* For searches that keep only the newest hits: the start time below which a hit can no
 * longer change the caller's result (0 while every hit still counts). It may only grow
 * during a search. */
typedef uint64_t (*osp_floor_fn)(void *ctx);

/* Calls fn(ctx) for every trace with a span matching q (see osp_span_matches in
 * match.h); a trace may be reported more than once. Parts outside q's time range are
 * skipped. Parts are visited newest first (by their newest span); with a floor (NULL for
 * none), spans starting before floor(ctx) may be left out, and once a part's newest span
 * is older than the floor the search stops. 0 or a negative error. */
int osp_parts_search(osp_parts *ps, const osp_trace_query *q, osp_hit_fn fn, osp_floor_fn floor,
                     void *ctx);

/* Calls fn for every distinct (service, span name, kind) stored in parts. */
typedef void (*osp_catalogue_fn)(osp_str service, osp_str name, int32_t kind, void *ctx);
int osp_parts_catalogue(osp_parts *ps, osp_catalogue_fn fn, void *ctx);

/* One round of maintenance: merge small parts of a partition into larger ones (removing
 * exact duplicate spans), and drop whole partitions older than the retention. Safe to
 * call concurrently with reads and adds (readers keep the parts they hold). */
int osp_parts_maintain(osp_parts *ps, uint64_t now_ns);

/* 1 when a day holds more than max parts awaiting merges, so the flusher should wait for
 * them (osp_partlist_merges_behind; the change is logged). */
int osp_parts_merges_behind(osp_parts *ps, size_t max);

typedef struct osp_parts_stats {
    uint64_t nparts, nspans, bytes_on_disk, merges, quarantined;
} osp_parts_stats;
void osp_parts_get_stats(osp_parts *ps, osp_parts_stats *st);

#endif
