/* Internals of the time-series engine shared by tsdb.c and head.c, and test hooks. */
#ifndef OSP_STORE_TSDB_TSDB_INT_H
#define OSP_STORE_TSDB_TSDB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/tsdb/chunk.h"
#include "store/tsdb/tsdb.h"

#define OSP_HEAD_STRIPES 256 /* series locks, by id */

/* A finished head chunk (chunk.h format). */
typedef struct osp__hchunk {
    struct osp__hchunk *next;
    uint32_t len;
    uint8_t b[];
} osp__hchunk;

/* Samples that arrived behind a series' newest one (within the window), unsorted. */
typedef struct osp__hooo {
    uint32_t n, cap;
    osp_sample a[];
} osp__hooo;

/* One series' samples in one head generation. */
typedef struct osp__hdata {
    osp_chunk_stream open; /* the chunk being appended to */
    osp__hchunk *full;     /* finished chunks, newest first */
    osp__hooo *ooo;        /* out-of-order samples, or NULL */
    int64_t mint, maxt;    /* over every sample here */
    uint32_t nsamples;
} osp__hdata;

/* Per-series state, kept for every series of the index. */
typedef struct osp__hseries {
    int64_t last_t;     /* newest accepted timestamp; INT64_MIN: none */
    uint64_t last_v;    /* bits of its value */
    osp__hdata *d[2];   /* samples per head generation; NULL: none */
    uint32_t wal_epoch; /* epoch in which its definition was last logged */
} osp__hseries;

/* Series table (three-level radix by id, lock-free lookups) and the stripe locks. */
typedef struct osp__head {
    _Atomic(_Atomic(osp__hseries *) *) top[1u << 10];
    pthread_mutex_t grow;                     /* allocates pages */
    pthread_mutex_t stripe[OSP_HEAD_STRIPES]; /* guard hseries fields and d[active] */
    atomic_size_t table_bytes;                /* pages */
} osp__head;

/* Per-generation counters. */
typedef struct osp__hgen {
    atomic_size_t bytes; /* heap bytes of its osp__hdata and buffers */
    atomic_uint_fast64_t samples, series;
    _Atomic int64_t mint, maxt; /* INT64_MAX / INT64_MIN when empty */
} osp__hgen;

/* A sample with the rank of its source: a higher rank is a newer write. */
typedef struct osp__rsample {
    int64_t t;
    double v;
    uint32_t rank;
} osp__rsample;

typedef struct osp__svec {
    osp__rsample *a;
    size_t n, cap;
} osp__svec;

int osp__head_init(osp__head *h);
void osp__head_cleanup(osp__head *h);
/* The series' state, NULL when its page does not exist and create is false (or out of
 * memory). */
osp__hseries *osp__head_get(osp__head *h, uint64_t id, bool create);
static inline pthread_mutex_t *osp__head_lock(osp__head *h, uint64_t id)
{
    return &h->stripe[id % OSP_HEAD_STRIPES];
}

/* Stores an accepted sample in generation data *d (allocated when NULL), in order when
 * in_order (t above every sample of the stream), as out-of-order otherwise. Counts into g.
 * 0 or OSP_ENOMEM. Caller holds the series' stripe lock. */
int osp__hdata_add(osp__hdata **d, osp__hgen *g, int64_t t, double v, bool in_order);
/* Whether d holds a sample at t; *v gets its bits. Looks at the open chunk and the
 * out-of-order samples only. */
bool osp__hdata_find(const osp__hdata *d, int64_t t, uint64_t *v);
/* Appends d's samples in [mint, maxt] to out, unsorted, in-order ones with rank and
 * out-of-order ones with rank + 1. 0, OSP_ENOMEM, OSP_ECORRUPT. */
int osp__hdata_collect(const osp__hdata *d, int64_t mint, int64_t maxt, uint32_t rank,
                       osp__svec *out);
/* Frees d and everything it holds; returns the heap bytes released. */
size_t osp__hdata_free(osp__hdata *d);

int osp__svec_push(osp__svec *v, int64_t t, double val, uint32_t rank);
/* Sorts by time and keeps, per timestamp, the sample of the highest rank. */
void osp__svec_settle(osp__svec *v);

/* Metric metadata, the latest per family (meta.c). */
typedef struct osp__meta_map {
    pthread_mutex_t mu;
    struct osp__meta_ent *a; /* sorted by family */
    size_t n, cap;
} osp__meta_map;

void osp__meta_init(osp__meta_map *m);
void osp__meta_cleanup(osp__meta_map *m);
/* Stores e unless the family already holds the same entry: 1 stored, 0 unchanged,
 * OSP_ENOMEM. */
int osp__meta_put(osp__meta_map *m, const osp_metric_meta *e);
/* Entries of family (empty: all), sorted, copied into arena. */
int osp__meta_list(osp__meta_map *m, osp_str family, osp_arena *arena, osp_metric_meta **out,
                   size_t *n);
/* Writes every entry to DIR/metadata (temporary file, fsync, rename). 0, OSP_EIO,
 * OSP_ENOMEM. */
int osp__meta_save(osp__meta_map *m, const char *dir);
/* Loads DIR/metadata when present; a corrupt file is logged and ignored. 0, OSP_ENOMEM. */
int osp__meta_load(osp__meta_map *m, const char *dir);
/* Encodes e as in the WAL record and the metadata file (README.md). */
int osp__meta_encode(osp_buf *b, const osp_metric_meta *e);
/* Decodes one entry at *p (slices into the input); OSP_ECORRUPT. */
int osp__meta_decode(const uint8_t **p, const uint8_t *end, osp_metric_meta *e);

/* Test hooks. Runs one merge round now (0 when there was nothing to merge). */
int osp__tsdb_merge(osp_tsdb *db);
/* Drops blocks whose newest sample is older than now_ms - retention_ms. */
int osp__tsdb_retention(osp_tsdb *db, int64_t now_ms);
/* Heap bytes of the head: series table, generation data (excludes the index). */
size_t osp__tsdb_head_heap(osp_tsdb *db);

#endif
