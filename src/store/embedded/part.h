/* One part file of the embedded trace store: a streaming writer that produces it and a
 * reader that serves trace lookups, searches and merges from it (layout: format.h). */
#ifndef OSP_STORE_EMBEDDED_PART_H
#define OSP_STORE_EMBEDDED_PART_H

#include <stddef.h>
#include <stdint.h>

#include "model/span.h"
#include "store/embedded/parts.h"
#include "store/store.h"

typedef struct osp_part osp_part;
typedef struct osp_part_writer osp_part_writer;

typedef struct osp_part_info {
    uint64_t nrows;
    uint64_t min_start, max_start; /* span start range (0, 0 when empty) */
    uint64_t wal_lsn;
    uint64_t bytes;           /* file size */
    const uint64_t *replaces; /* seqs of the parts this one was merged from */
    size_t nreplaces;
    size_t ngranules;
} osp_part_info;

typedef struct osp_part_writer_options {
    uint64_t wal_lsn;         /* recorded in the index */
    const uint64_t *replaces; /* seqs of merged inputs, recorded in the index (copied) */
    size_t nreplaces;
    int zstd_level; /* 0 picks OSP_PART_ZSTD_LEVEL */
} osp_part_writer_options;

/* Starts writing a part at tmp_path (created exclusively, so it must not exist).
 * 0, OSP_EIO (errno logged) or OSP_ENOMEM. */
int osp_part_writer_create(const char *tmp_path, const osp_part_writer_options *opt,
                           osp_part_writer **out);

/* Adds span i of b. Rows must come in (trace id, start, span id) order: OSP_EINVAL
 * otherwise. b is only read during the call. 0, OSP_EINVAL, OSP_EIO or OSP_ENOMEM; after
 * an OSP_EIO or OSP_ENOMEM the writer only fails (finish reports it). */
int osp_part_writer_add(osp_part_writer *w, const osp_span_batch *b, size_t i);

/* Writes the index and footer, fsyncs and closes the temporary file; *bytes gets its
 * size. Destroys w in every case; on failure the temporary file is removed. 0, OSP_EIO
 * or OSP_ENOMEM. */
int osp_part_writer_finish(osp_part_writer *w, uint64_t *bytes);

/* Destroys w and removes its temporary file; safe with NULL. */
void osp_part_writer_abort(osp_part_writer *w);

/* Renames a finished temporary file to its final path and fsyncs the directory, so the
 * part is durable and visible. 0 or OSP_EIO. */
int osp_part_publish(const char *tmp_path, const char *path);

/* Opens a part and verifies its header, footer and index (checksums and structure); the
 * index stays in memory, blocks are read on demand. 0, OSP_ECORRUPT (the reason is
 * logged with the file name), OSP_EIO or OSP_ENOMEM. */
int osp_part_open(const char *path, osp_part **out);
/* Closes the file and frees the index; safe with NULL. */
void osp_part_close(osp_part *p);

const osp_part_info *osp_part_get_info(const osp_part *p);

/* 0 when the bloom filter rules the trace out, 1 when the part may hold it. */
int osp_part_may_contain(const osp_part *p, const uint8_t trace_id[16]);

/* Appends every span of the trace to out (deep copies into out's arena), reading only
 * the granules the sparse index points at. flags: enum osp_get_trace_flags; with
 * OSP_TRACE_NO_DETAIL only the columns up to OSP_COL_PARENT are read and the detail
 * fields stay empty. Returns the number of spans appended, or OSP_ECORRUPT when a block
 * fails its checksum or does not decode (logged with the file name), OSP_EIO,
 * OSP_ENOMEM. Thread-safe. */
int osp_part_get_trace(osp_part *p, const uint8_t trace_id[16], unsigned flags,
                       osp_span_batch *out);

/* Calls fn(ctx) for traces with spans matching q, as osp_span_matches would decide: the
 * cheap columns are filtered column by column, attributes decoded only for rows that pass
 * them (and then osp_span_matches is the final check). Granules outside q's time range
 * are not read. floor (NULL for none) is asked before each granule; spans starting before
 * what it returns are ignored and granules ending before it are not read. 0 or as
 * osp_part_get_trace. Thread-safe. */
int osp_part_search(osp_part *p, const osp_trace_query *q, osp_hit_fn fn, osp_floor_fn floor,
                    void *ctx);

/* Calls fn for every distinct (service, span name, kind) of the part, from the index.
 * 0 or OSP_ECORRUPT. */
int osp_part_catalogue(osp_part *p, osp_catalogue_fn fn, void *ctx);

/* Appends every row of granule g (g < ngranules), in order, to out (deep copies). For
 * merges. Returns the number of rows appended or an error as osp_part_get_trace. */
int osp_part_read_granule(osp_part *p, size_t g, osp_span_batch *out);

/* Merge support: a cursor walks a part's rows in order and either copies the current row
 * into a writer as it is encoded (dictionary ids remapped, nothing re-verified) or reads
 * it as a canonical row (to compare rows for de-duplication). The part must outlive it. */
typedef struct osp_part_cursor osp_part_cursor;

/* Opens a cursor on the first row. 0, OSP_ECORRUPT, OSP_EIO or OSP_ENOMEM. */
int osp_part_cursor_open(osp_part *p, osp_part_cursor **out);
/* Safe with NULL. */
void osp_part_cursor_close(osp_part_cursor *c);
/* The current row's trace id, start and span id (other fields unset), or NULL at the end.
 * Valid until the cursor moves. */
const osp_span *osp_part_cursor_key(const osp_part_cursor *c);
/* Writes the current row to w and moves on. 0, OSP_EINVAL (out of order for w, nothing
 * written), OSP_ECORRUPT (the part; w then only fails), or w's errors. */
int osp_part_cursor_copy(osp_part_cursor *c, osp_part_writer *w);
/* Appends the current row to out (deep copy) and moves on. 0 or as osp_part_get_trace. */
int osp_part_cursor_read(osp_part_cursor *c, osp_span_batch *out);

/* Orders two rows by (trace id, start, span id): <0, 0, >0. */
int osp_part_row_cmp(const osp_span *a, const osp_span *b);

#endif
