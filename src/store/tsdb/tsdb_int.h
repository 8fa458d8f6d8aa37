/* Internals of the time-series engine shared by its files (tsdb.c, tsdb_read.c,
 * tsdb_blocks.c, tsdb_maint.c, head.c, meta.c), and test hooks. */
#ifndef OSP_STORE_TSDB_TSDB_INT_H
#define OSP_STORE_TSDB_TSDB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "store/embedded/wal.h"
#include "store/tsdb/block.h"
#include "store/tsdb/chunk.h"
#include "store/tsdb/hchunk.h"
#include "store/tsdb/keymap.h"
#include "store/tsdb/tsdb.h"

#define OSP_HEAD_STRIPES 256 /* series locks, by id */

/* A finished head chunk (chunk.h format). */
typedef struct osp__hchunk {
    struct osp__hchunk *next;
    uint32_t len;
    uint8_t b[];
} osp__hchunk;

/* One series' histogram samples in one head generation, ascending (histograms are never
 * out of order). */
typedef struct osp__hhist {
    osp__hchunk *full;      /* finished chunks (hchunk.h format), newest first */
    osp_hchunk_writer open; /* the chunk being appended to */
} osp__hhist;

/* What a generation holds for a series besides its in-order float chunks, allocated on the
 * first such sample, so float series without out-of-order samples pay nothing for it. */
typedef struct osp__hmore {
    osp__hhist *hist; /* histogram samples, or NULL */
    uint32_t n, cap;  /* float samples in a[] that arrived behind the series' newest one
                       * (within the window), unsorted */
    osp_sample a[];
} osp__hmore;

/* One series' samples in one head generation. */
typedef struct osp__hdata {
    osp_chunk_stream open; /* the float chunk being appended to */
    osp__hchunk *full;     /* finished float chunks, newest first */
    osp__hmore *more;      /* out-of-order floats and histograms, or NULL */
    int64_t mint, maxt;    /* over every sample here, of both kinds */
    uint32_t nsamples;     /* floats and histograms */
} osp__hdata;

/* Per-series state, kept for every series id the index assigned. */
typedef struct osp__hseries {
    int64_t last_t;     /* newest accepted timestamp, float or histogram; INT64_MIN: none */
    uint64_t last_v;    /* bits of its value when a float */
    osp__hdata *d[2];   /* samples per head generation; NULL: none */
    uint32_t wal_epoch; /* epoch in which its definition was last logged */
    uint8_t last_hist;  /* the sample at last_t is a histogram (in the padding) */
    uint8_t removed;    /* swept from the index (osp__tsdb_sweep_series); set under rw
                           exclusive, so rw shared is enough to read it */
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

/* A float or histogram sample with the rank of its source: a higher rank is a newer
 * write. */
typedef struct osp__rsample {
    int64_t t;
    union {
        double v;               /* a float */
        const osp_histogram *h; /* a histogram; NULL when read without decoding */
    };
    uint32_t rank;
    uint8_t hist; /* 1: h, 0: v */
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
/* Starts loading what an append to series id in generation gen touches, one level per
 * stage: 0 its entry, 1 its samples, 2 the end of its open chunk. A stage pays off when
 * the one before ran a few series earlier. Takes no lock: it only reads pointers that the
 * caller's shared hold on the engine keeps valid, and follows them with prefetches. */
void osp__head_prefetch(osp__head *h, uint64_t id, int gen, int stage);
static inline pthread_mutex_t *osp__head_lock(osp__head *h, uint64_t id)
{
    return &h->stripe[id % OSP_HEAD_STRIPES];
}

/* Stores an accepted float sample in generation data *d (allocated when NULL), in order
 * when in_order (t above every float of the stream), as out-of-order otherwise. Counts
 * into g. 0 or OSP_ENOMEM. Caller holds the series' stripe lock. */
int osp__hdata_add(osp__hdata **d, osp__hgen *g, int64_t t, double v, bool in_order);
/* Stores an accepted histogram sample, t above every histogram of *d, given as its
 * osp_hist_encode record (len bytes, copied). As osp__hdata_add otherwise. */
int osp__hdata_hadd(osp__hdata **d, osp__hgen *g, int64_t t, const void *rec, size_t len);
/* What osp__hdata_find finds at a timestamp. */
enum { OSP__AT_NONE, OSP__AT_FLOAT, OSP__AT_HIST };
/* What d holds at t, looking at the open float chunk, the out-of-order floats and the open
 * histogram chunk only: OSP__AT_FLOAT (*v gets its bits), OSP__AT_HIST or OSP__AT_NONE. */
int osp__hdata_find(const osp__hdata *d, int64_t t, uint64_t *v);
/* Decodes d's histogram at t from its open histogram chunk into *out (arrays in arena): 1,
 * 0 when there is none, OSP_ENOMEM, OSP_ECORRUPT. */
int osp__hdata_hfind(const osp__hdata *d, int64_t t, osp_arena *arena, osp_histogram *out);
/* Appends d's samples in [mint, maxt] to out, unsorted, in-order ones with rank and
 * out-of-order ones with rank + 1; histograms decoded into arena, or left NULL when arena
 * is NULL. 0, OSP_ENOMEM, OSP_ECORRUPT. */
int osp__hdata_collect(const osp__hdata *d, int64_t mint, int64_t maxt, uint32_t rank,
                       osp_arena *arena, osp__svec *out);
/* Frees d and everything it holds; returns the heap bytes released. */
size_t osp__hdata_free(osp__hdata *d);

int osp__svec_push(osp__svec *v, int64_t t, double val, uint32_t rank);
int osp__svec_push_hist(osp__svec *v, int64_t t, const osp_histogram *h, uint32_t rank);
/* Sorts by time and keeps, per timestamp, the sample of the highest rank, whatever its
 * kind. */
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

/* ---- the engine handle (tsdb.c, tsdb_read.c, tsdb_blocks.c, tsdb_maint.c) -------------- */

/* A loaded block file and its series mapped to index ids. */
typedef struct osp__blk {
    osp_block *b;
    char *path;
    uint64_t seq;
    uint32_t *gid;    /* per block series: series id in the index */
    uint32_t *by_gid; /* block series numbers sorted by gid */
} osp__blk;

struct osp_tsdb {
    osp_tsdb_options opt;
    char *dir, *qdir, *waldir;
    osp_series_index *idx;
    osp_keymap *keys; /* label sets as senders encoded them -> series id */
    osp_wal *wal;
    osp__head head;
    osp__hgen g[2];
    osp__meta_map meta;

    pthread_rwlock_t rw; /* shared: appends, reads; exclusive: cuts, block list changes */
    _Atomic int gen;     /* active head generation (changes under rw exclusive) */
    _Atomic int frozen;  /* the other generation is being written out (ditto) */
    uint64_t frozen_lsn; /* WAL position of the cut (flush_mu) */
    uint32_t epoch;      /* bumped per cut: series definitions are logged once per epoch */
    osp__blk **blocks;   /* ascending by age (rw) */
    size_t nblocks, blocks_cap;
    _Atomic uint64_t next_seq;

    pthread_mutex_t flush_mu; /* one cut and block write at a time */
    pthread_mutex_t maint_mu; /* merges and retention */
    pthread_mutex_t mu;       /* thread wake-ups */
    pthread_cond_t cv, maint_cv;
    int stop, threads;
    pthread_t flusher, maintainer;

    struct remap_slot *remap; /* WAL replay: ref of the writing session -> id (hash table) */
    size_t nremap, remap_cap; /* entries; slots (0 or a power of two) */
};

/* Wall-clock time in milliseconds (retention horizons). */
static inline int64_t osp__tsdb_now_ms(void)
{
    return osp_clock_ms(CLOCK_REALTIME);
}

/* Empties generation g's counters. */
static inline void osp__hgen_reset(osp__hgen *g)
{
    atomic_store(&g->bytes, 0);
    atomic_store(&g->samples, 0);
    atomic_store(&g->series, 0);
    atomic_store(&g->mint, INT64_MAX);
    atomic_store(&g->maxt, INT64_MIN);
}

/* Heap bytes of both head generations (the backpressure measure). */
static inline size_t osp__tsdb_unflushed_bytes(osp_tsdb *db)
{
    return atomic_load(&db->g[0].bytes) + atomic_load(&db->g[1].bytes);
}

/* The write order of k's samples (block.h's age). */
static inline uint64_t osp__blk_age(const osp__blk *k)
{
    return osp_block_get_info(k->b)->age;
}

/* Ids the index assigned, removed series included: every series id is below (tsdb.c). */
uint64_t osp__tsdb_nseries(osp_tsdb *db);

/* Block list (tsdb_blocks.c). */

/* Closes k's block and frees k. Safe with NULL; does not unlink the file. */
void osp__blk_free(osp__blk *k);
/* The block series number of index id in k, or -1. */
int64_t osp__blk_find(const osp__blk *k, uint64_t id);
/* Inserts k into db->blocks keeping it ascending by age; the list takes k. 0 or
 * OSP_ENOMEM (k not taken). Caller holds rw exclusively (or is opening). */
int osp__tsdb_blocks_insert(osp_tsdb *db, osp__blk *k);
/* Removes k from db->blocks without freeing it; no-op when absent. Caller holds rw
 * exclusively (or is opening). */
void osp__tsdb_blocks_remove(osp_tsdb *db, const osp__blk *k);
/* DIR/<seq, 16 hex>.blk, or with tmp .blk.tmp; caller frees. NULL when out of memory. */
char *osp__tsdb_block_path(osp_tsdb *db, uint64_t seq, int tmp);
/* Renames the finished temporary block seq into place (fsyncing the directory) and loads
 * it as *out, not yet in the list. 0, OSP_EIO (temporary file removed, or the new file
 * was corrupt and quarantined), OSP_ENOMEM. */
int osp__tsdb_publish(osp_tsdb *db, uint64_t seq, osp__blk **out);
/* Loads every block file of db->dir into the list at open: removes interrupted writes,
 * quarantines corrupt files, drops blocks a merged block replaces, restores series'
 * newest samples, advances next_seq. 0, OSP_EIO, OSP_ENOMEM. */
int osp__tsdb_load_blocks(osp_tsdb *db);

/* Appends the float and histogram samples of series i of block b in [mint, maxt] to v with
 * rank, histograms decoded into arena (NULL: not decoded). 0, OSP_ENOMEM, OSP_ECORRUPT. */
int osp__push_block_series(const osp_block *b, size_t i, int64_t mint, int64_t maxt, uint32_t rank,
                           osp_arena *arena, osp__svec *v);

/* Maintenance (tsdb_maint.c). */

/* Whether the active generation should be cut now (past head_bytes or spanning block_ms).
 * Reads gen racily: a hint. */
int osp__tsdb_flush_due(osp_tsdb *db);
/* Finishes a pending block write, then (force, or when due) cuts the head and writes the
 * cut generation as a block. Takes flush_mu; caller holds no engine lock. 0, OSP_EIO,
 * OSP_ENOMEM (the head keeps the data). */
int osp__tsdb_flush_once(osp_tsdb *db, int force);
/* Thread bodies started by osp_tsdb_open (arg is the osp_tsdb); they return once db->stop
 * is set under db->mu and cv / maint_cv broadcast. */
void *osp__tsdb_flusher_main(void *arg);
void *osp__tsdb_maintainer_main(void *arg);

/* Test hooks (tsdb_maint.c, tsdb_read.c). Runs one merge round now (0 when there was
 * nothing to merge). */
int osp__tsdb_merge(osp_tsdb *db);
/* Drops blocks whose newest sample is older than now_ms - retention_ms, then sweeps the
 * series they held last (osp__tsdb_sweep_series). */
int osp__tsdb_retention(osp_tsdb *db, int64_t now_ms);
/* Removes from the index, the key map and the head the series that hold no sample in the
 * head or in any block, marking their head entries removed: an append that found one
 * before the sweep resolves its labels again and gets a new id. Caller holds flush_mu
 * and rw exclusively. Returns how many were removed (0 as well when out of memory). */
size_t osp__tsdb_sweep_series(osp_tsdb *db);
/* Heap bytes of the head: series table, generation data (excludes the index). */
size_t osp__tsdb_head_heap(osp_tsdb *db);

#endif
