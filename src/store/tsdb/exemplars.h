/* Exemplar storage, as Prometheus's circular exemplar storage: a fixed number of exemplars
 * in one ring, the oldest overwritten first, chained per series in time order; kept
 * across restarts by a write-ahead log of its own. Design and log format: README.md
 * ("Exemplars").
 *
 * Threading: every function may be called from any thread concurrently except close.
 * Appends are serialized; selections share a read lock and run beside them. */
#ifndef OSP_STORE_TSDB_EXEMPLARS_H
#define OSP_STORE_TSDB_EXEMPLARS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/series.h"
#include "store/store.h"

#define OSP_EXEMPLARS_DEFAULT_CAPACITY 100000

typedef struct osp_exemplar_store osp_exemplar_store;

typedef struct osp_exemplar_store_options {
    const char *dir; /* the log's directory, created if missing (the server: DATA_DIR/metrics/
                      * exemplars) */
    size_t capacity; /* exemplars kept; 0 picks OSP_EXEMPLARS_DEFAULT_CAPACITY */
    enum osp_fsync_policy fsync_policy;
    uint32_t fsync_interval_ms; /* for OSP_FSYNC_INTERVAL; 0 picks 1000 */
} osp_exemplar_store_options;

/* What an append did with each exemplar. Every exemplar lands in exactly one counter. */
struct osp_exemplar_report {
    uint64_t accepted;     /* stored */
    uint64_t duplicate;    /* equal to its series' newest exemplar: ignored, not an error */
    uint64_t out_of_order; /* not newer than its series' newest exemplar */
    uint64_t too_long;     /* labels over OSP_EXEMPLAR_MAX_LABEL_CHARS characters */
    uint64_t invalid;      /* its series index is out of range or its label set malformed */
    char error[256];       /* "" or the first rejection, worded for users, e.g.
                            * "out of order exemplar for series up{job=\"a\"}" */
};

/* Opens the store whose log is in opt->dir, replaying the log so every acknowledged
 * exemplar still held is back (a record that does not decode is logged and skipped).
 * 0, OSP_EINVAL (no dir), OSP_EIO, OSP_ENOMEM. */
int osp_exemplar_store_open(const osp_exemplar_store_options *opt, osp_exemplar_store **out);

/* Syncs the log and frees everything; safe with NULL. */
void osp_exemplar_store_close(osp_exemplar_store *st);

/* Appends b's exemplars in order, each checked against its series' newest exemplar
 * (including those accepted earlier in the same call) as Prometheus does: labels are
 * sorted and empty values dropped; more than OSP_EXEMPLAR_MAX_LABEL_CHARS characters is
 * refused ("exemplar label set is too long"); an exemplar equal to the newest (time,
 * value, labels) is a duplicate and ignored; one not newer than the newest is out of
 * order. Series need not have samples. Returns 0 once the accepted exemplars are in the
 * log (fsynced per policy) and visible, rep (may be NULL) counting what happened;
 * OSP_EIO (nothing of this call is stored), OSP_ENOMEM. Nothing of b is retained. */
int osp_exemplar_store_append(osp_exemplar_store *st, const osp_series_batch *b,
                              osp_exemplar_report *rep);

/* Series the store names: those with an exemplar in the ring, and those that lost their
 * last one since the log was last rewritten (each rewrite, after twice the capacity in
 * exemplars, forgets them). */
size_t osp_exemplar_store_series(osp_exemplar_store *st);

/* The exemplars with a time in [mint_ms, maxt_ms] of the series that every matcher of at
 * least one set selects (matchers as osp_series_select has them), one entry per series
 * with exemplars in the range, sorted by label set (osp_labels_compare), exemplars
 * ascending by time, labels sorted by name. Arrays and exemplar labels live in arena;
 * series label slices stay valid until the store is closed. nsets == 0 selects nothing.
 * 0, OSP_EINVAL (a set without matchers), OSP_EPARSE (bad regex), OSP_ENOMEM. */
int osp_exemplar_store_select(osp_exemplar_store *st, const osp_matcher_set *sets, size_t nsets,
                              int64_t mint_ms, int64_t maxt_ms, osp_arena *arena,
                              osp_series_exemplars **out, size_t *nout);

#endif
