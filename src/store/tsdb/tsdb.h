/* The time-series engine: series index, compressed sample chunks, a write-ahead log and
 * immutable blocks on disk, behind one handle. Design and on-disk format: README.md.
 *
 * Threading: every function may be called from any thread concurrently except
 * osp_tsdb_close. Calls block (they run on worker threads, never on the network loop). */
#ifndef OSP_STORE_TSDB_TSDB_H
#define OSP_STORE_TSDB_TSDB_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/series.h"
#include "store/store.h"
#include "store/tsdb/index.h"

typedef struct osp_tsdb osp_tsdb;

typedef struct osp_tsdb_options {
    const char *dir; /* created if missing (the server uses DATA_DIR/metrics) */
    enum osp_fsync_policy fsync_policy;
    uint32_t fsync_interval_ms;     /* for OSP_FSYNC_INTERVAL; 0 picks 1000 */
    int64_t retention_ms;           /* drop blocks whose newest sample is older; 0 = forever */
    int64_t ooo_window_ms;          /* accept float samples up to this far behind a series'
                                     * newest sample; 0 rejects every out-of-order sample (as
                                     * Prometheus does by default). Histograms are never
                                     * taken out of order (as Prometheus 2.42) */
    uint64_t max_series_per_metric; /* new series allowed per metric name; 0 = no limit */
    size_t head_bytes;              /* cut the in-memory head to a block past this; 0 = a
                                     * sixteenth of physical memory, 128 MiB to 4 GiB */
    int64_t block_ms;               /* and at least this often (head time span); 0 = 2h */
} osp_tsdb_options;

/* What an append did with each sample. Every sample lands in exactly one counter. */
typedef struct osp_tsdb_append_report {
    uint64_t accepted;     /* stored (includes exact duplicates, which Prometheus ignores) */
    uint64_t out_of_order; /* older than the series' newest sample by more than the window */
    uint64_t duplicate;    /* same timestamp as a stored sample, different value */
    uint64_t too_old;      /* older than the retention horizon */
    uint64_t limited;      /* its series would pass max_series_per_metric */
    uint64_t invalid;      /* malformed label set (unsorted, empty name or value), or a
                            * histogram osp_hist_check refuses */
    char error[256];       /* "" or the first rejection, worded for users, e.g.
                            * "out of order sample for series up{job=\"a\"}" or
                            * "too many series for metric http_requests_total (limit 1000)" */
} osp_tsdb_append_report;

typedef struct osp_tsdb_stats {
    uint64_t series;                  /* series in the index */
    uint64_t head_series;             /* series with samples in the in-memory head */
    uint64_t head_samples;            /* samples in the head, floats and histograms */
    uint64_t head_bytes;              /* heap bytes held by the head and the index */
    uint64_t blocks;                  /* blocks on disk */
    uint64_t block_samples;           /* samples in blocks, floats and histograms */
    uint64_t block_bytes;             /* bytes of block files */
    int64_t min_time_ms, max_time_ms; /* over everything stored; 0, 0 when empty */
} osp_tsdb_stats;

/* Opens the engine in opt->dir: loads blocks (a block whose checksums fail is logged by
 * file name and moved aside, the rest keep serving) and replays the write-ahead log so
 * every acknowledged sample is back. 0, OSP_EINVAL, OSP_EIO, OSP_ENOMEM. */
int osp_tsdb_open(const osp_tsdb_options *opt, osp_tsdb **out);

/* Writes the head out as a block and closes. Safe with NULL. */
void osp_tsdb_close(osp_tsdb *db);

/* Appends every series of b (labels as model/series.h requires), float samples and native
 * histograms, and its metadata. Samples are taken in the order given, as Prometheus appends
 * a request, a series' floats before its histograms: one older than the series' newest
 * (stored or earlier in b, of either kind) is out of order; at the newest timestamp only an
 * identical sample of the same kind is an accepted duplicate. Returns 0 once the accepted
 * samples are in the write-ahead log (fsynced per policy), with rep (may be NULL) saying
 * what happened to each sample; rejected samples do not fail the call. OSP_EBUSY when
 * unflushed data passes its cap (retry later; nothing was stored), OSP_EIO, OSP_ENOMEM.
 * A series with a ref (model/series.h) goes to that series, its labels taken as they are
 * (they only serve to log its definition); a keyed series without one is found by labels
 * and its key remembered for osp_tsdb_known_series. A ref must come from
 * osp_tsdb_known_series on the same db. */
int osp_tsdb_append(osp_tsdb *db, const osp_series_batch *b, osp_tsdb_append_report *rep);

/* refs[i] = the id (plus one) of the series whose labels were appended before with key
 * keys[i], or 0: what a receiver puts in osp_series.ref. */
void osp_tsdb_known_series(osp_tsdb *db, const osp_series_key *keys, size_t n, uint64_t *refs);

/* The series that every matcher selects (Prometheus semantics; see index.h) with at least
 * one sample in [mint_ms, maxt_ms], each with its samples in that range, ascending, one
 * per timestamp, either a float (samples) or a histogram (hsamples). Labels, samples and
 * histograms live in arena; *out is sorted by label set (osp_labels_compare). n == 0
 * selects nothing. 0, OSP_EINVAL, OSP_EPARSE (bad regex), OSP_ENOMEM, OSP_EIO/OSP_ECORRUPT
 * (a block could not be read). */
int osp_tsdb_select(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                    int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout);

/* As osp_tsdb_select without samples (nsamples and nhsamples 0): the series with data of
 * either kind in the range. */
int osp_tsdb_series(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                    int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout);

/* Label names (sorted, unique) of the series the matchers select with data in the range;
 * n == 0 means every series. */
int osp_tsdb_label_names(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                         int64_t maxt_ms, osp_arena *arena, osp_str **names, size_t *nnames);

/* Values (sorted, unique) of label name over the same selection. */
int osp_tsdb_label_values(osp_tsdb *db, osp_str name, const osp_label_matcher *m, size_t n,
                          int64_t mint_ms, int64_t maxt_ms, osp_arena *arena, osp_str **values,
                          size_t *nvalues);

/* Metadata of metric family `family` (empty: every family), sorted by family name, the
 * latest received per family. */
int osp_tsdb_metadata(osp_tsdb *db, osp_str family, osp_arena *arena, osp_metric_meta **out,
                      size_t *nout);

/* Writes the head out as a block now (tests, shutdown). 0, OSP_EIO, OSP_ENOMEM. */
int osp_tsdb_flush(osp_tsdb *db);

/* Counts and sizes. */
void osp_tsdb_get_stats(osp_tsdb *db, osp_tsdb_stats *st);

#endif
