/* In-memory buffer of the embedded store: spans appended since the last flush, indexed by
 * trace id and catalogued by (service, span name, kind), until they are written to parts.
 * Also home of the trace-id hash map the engine uses to aggregate search hits. */
#ifndef OSP_STORE_EMBEDDED_MEMTABLE_H
#define OSP_STORE_EMBEDDED_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "model/span.h"
#include "store/embedded/parts.h"
#include "store/store.h"

/* ---- Trace-id hash map: 16-byte trace id -> uint64 value, open addressing. ---- */

typedef struct osp_tidmap_slot osp_tidmap_slot;

typedef struct osp_tidmap {
    osp_tidmap_slot *slots;
    size_t cap, n; /* slots (a power of two, or 0) and entries */
    size_t max;    /* entries allowed; 0 = no cap */
    uint64_t seed; /* per-map hash seed */
} osp_tidmap;

/* Initializes an empty map holding at most max entries (0 = no cap). */
void osp_tidmap_init(osp_tidmap *m, size_t max);
void osp_tidmap_cleanup(osp_tidmap *m);
/* Makes room for extra more entries, so that many osp_tidmap_put calls of new ids cannot
 * fail. 0, OSP_ENOMEM, or OSP_ETOOBIG past the cap. */
int osp_tidmap_reserve(osp_tidmap *m, size_t extra);
/* Finds id or adds it with value 0. *val points at its value until the next put, reserve
 * or remove. Returns 1 when found, 0 when added, or an osp_tidmap_reserve error. */
int osp_tidmap_put(osp_tidmap *m, const uint8_t id[16], uint64_t **val);
/* The value of id, or NULL when absent (valid until the next change). */
uint64_t *osp_tidmap_find(const osp_tidmap *m, const uint8_t id[16]);
/* Removes id if present. */
void osp_tidmap_remove(osp_tidmap *m, const uint8_t id[16]);

/* ---- Memtable ---- */

typedef struct osp_memtable osp_memtable;

/* Creates an empty memtable with one reference. 0 or OSP_ENOMEM. */
int osp_memtable_create(osp_memtable **out);
/* Reference counting: readers acquire a memtable for as long as they use it; the last
 * release frees it and everything it holds. */
void osp_memtable_acquire(osp_memtable *m);
void osp_memtable_release(osp_memtable *m);

/* Adds the spans of one row-codec record (see rowcodec.h) that the write-ahead log holds
 * as lsn. Takes ownership of record (allocated with osp_malloc) in every case; the rows
 * point into it. Thread-safe; decoding runs outside the memtable's lock. Returns 0,
 * OSP_ECORRUPT (not a valid record; nothing added) or OSP_ENOMEM (nothing added). */
int osp_memtable_insert(osp_memtable *m, char *record, size_t len, uint64_t lsn);

/* Approximate memory held, in bytes. */
size_t osp_memtable_bytes(const osp_memtable *m);
size_t osp_memtable_nspans(const osp_memtable *m);
/* Highest lsn inserted (0 when empty). */
uint64_t osp_memtable_max_lsn(const osp_memtable *m);
/* CLOCK_MONOTONIC time of the first insert in nanoseconds (0 when empty). */
uint64_t osp_memtable_first_insert_ns(const osp_memtable *m);

/* Appends a copy of every span of the trace to out (into out's arena). Returns the number
 * of spans appended (>= 0) or OSP_ENOMEM. */
int osp_memtable_get_trace(osp_memtable *m, const uint8_t trace_id[16], osp_span_batch *out);

/* Calls fn for every span matching q (see match.h) with its trace id and start time.
 * Inserts are not blocked while it runs. Returns 0. */
int osp_memtable_search(osp_memtable *m, const osp_trace_query *q, osp_hit_fn fn, void *ctx);

/* Calls fn once for every distinct (service, span name, kind); the strings live as long as
 * the memtable. Returns 0. */
int osp_memtable_catalogue(osp_memtable *m, osp_catalogue_fn fn, void *ctx);

/* Appends a copy of every span to out (for writing a part). 0 or OSP_ENOMEM. */
int osp_memtable_rows(osp_memtable *m, osp_span_batch *out);

#endif
