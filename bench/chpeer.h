/* The ClickHouse peer of the benchmark: a spans schema in the style of ClickHouse-based
 * trace stores, RowBinary encoding of canonical rows for it, and the matching queries; a
 * logs table and its searches for the logs benchmark. */
#ifndef OSP_BENCH_CHPEER_H
#define OSP_BENCH_CHPEER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "model/span.h"

/* Statement i (0-based) of the schema for database `db` into out (replacing its
 * contents): the database, the spans table, the trace-id lookup table and the
 * materialized view that fills it. Returns 1 when a statement was written, 0 past the
 * last one, or a buffer error. */
int osp_ch_schema_stmt(const char *db, int i, osp_buf *out);

/* Appends every span of b as RowBinary rows of the spans table. Attribute values are
 * stored as text (osp_value_to_text), as ClickHouse trace stores keep them. 0 or a
 * buffer error, OSP_ECORRUPT for a bad attribute blob. */
int osp_ch_rowbinary(const osp_span_batch *b, osp_buf *out);

/* Query text for one trace by id (every column, ordered by start time, one TSV line per
 * span), into out. */
int osp_ch_trace_query(const char *db, const uint8_t trace_id[16], osp_buf *out);

/* Query text for a search: newest `limit` trace ids having a span of service named
 * operation lasting at least min_duration_ns and starting within [start_ns, end_ns]
 * (end_ns 0: unbounded). */
int osp_ch_search_query(const char *db, const char *service, const char *operation,
                        uint64_t min_duration_ns, uint64_t start_ns, uint64_t end_ns,
                        unsigned limit, osp_buf *out);

/* ---- logs (bench/logs.c) ---- */

/* Statement i (0-based) of the logs schema for database `db` into out (replacing its
 * contents): the database and the logs table (ts UInt64, service, namespace, env, pod,
 * level, trace_id, span_id, line; ORDER BY (service, ts)). 18.16 has no data skipping
 * indices, so there is no token or trace-id bloom filter. Returns 1 when a statement was
 * written, 0 past the last one, or a buffer error. */
int osp_ch_logs_schema_stmt(const char *db, int i, osp_buf *out);

/* Query text, into out, for the newest `limit` lines (ts, service, pod, trace_id, line as
 * TSV) that contain the substring `needle` (NULL: any), of `service` (NULL: any) and of
 * trace `trace_hex` (NULL: any). */
int osp_ch_logs_query(const char *db, const char *needle, const char *service,
                      const char *trace_hex, unsigned limit, osp_buf *out);

#endif
