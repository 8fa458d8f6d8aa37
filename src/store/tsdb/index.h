/* In-memory series index: label set -> dense series id, interned strings, postings and
 * label matchers (Prometheus semantics). Design and figures: README.md. */
#ifndef OSP_STORE_TSDB_INDEX_H
#define OSP_STORE_TSDB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/labels.h"
#include "model/series.h"

typedef struct osp_series_index osp_series_index;

typedef struct osp_series_index_config {
    uint64_t max_series_per_metric; /* new series allowed per __name__ value; 0 = no limit */
} osp_series_index_config;

/* Label matcher types, as PromQL's =, !=, =~, !~. */
enum {
    OSP_MATCH_EQ = 0,
    OSP_MATCH_NEQ = 1,
    OSP_MATCH_RE = 2,  /* fully anchored POSIX extended regex; see README.md for RE2 gaps */
    OSP_MATCH_NRE = 3, /* negation of OSP_MATCH_RE */
};

typedef struct osp_label_matcher {
    int type;      /* OSP_MATCH_* */
    osp_str name;  /* label name, non-empty */
    osp_str value; /* value or regex */
} osp_label_matcher;

typedef struct osp_series_index_stats {
    uint64_t nseries;  /* series created (ids assigned) */
    uint64_t nremoved; /* of which removed */
    uint64_t nstrings; /* distinct interned label names and values */
    uint64_t npairs;   /* distinct (name, value) postings lists */
    size_t bytes;      /* heap bytes held by the index (capacity, not just use) */
} osp_series_index_stats;

/* Creates an empty index. cfg may be NULL (no limit). 0, OSP_ENOMEM. Thread-safe after
 * creation: every function below may be called concurrently except destroy. */
int osp_series_index_create(const osp_series_index_config *cfg, osp_series_index **out);
/* Frees the index and every string and list it holds. NULL is a no-op. */
void osp_series_index_destroy(osp_series_index *idx);
/* Changes the per-metric limit for series created from now on (0 = none). */
void osp_series_index_set_limit(osp_series_index *idx, uint64_t max_series_per_metric);

/* Looks up the series with this label set, creating it when absent. labels must be sorted
 * by name, names unique and non-empty, values non-empty (Prometheus drops empty-valued
 * labels before this point); the index copies what it keeps. *series_id gets the id (dense,
 * from 0, in creation order); *created (may be NULL) 1 if it was created now. Returns 0;
 * OSP_EINVAL for a malformed set; OSP_ETOOBIG when the set's metric (__name__) already has
 * max_series_per_metric series (the caller words the error, e.g. "too many series for
 * metric X, limit N") or the index is full (2^32-1 series); OSP_ENOMEM (the index is
 * unchanged apart from strings interned ahead of the failure). Series without __name__ are
 * not limited. */
int osp_series_index_get_or_create(osp_series_index *idx, const osp_label *labels, size_t n,
                                   uint64_t *series_id, int *created);

/* Removes the series ids[0..n) (ids never assigned or already removed are skipped): their
 * label sets no longer resolve, no matcher selects them, label listings leave out names and
 * values only they held, and osp_series_labels answers OSP_ENOTFOUND for them. Ids are
 * never reused: a removed label set that comes back gets a new id. The strings they
 * interned stay, so slices handed out stay valid. Rebuilds the postings and the hash table
 * under the write lock, in time proportional to every series' labels: meant for rare,
 * batched removals (retention). 0, or OSP_ENOMEM with nothing removed. */
int osp_series_index_remove(osp_series_index *idx, const uint64_t *ids, size_t n);

/* Looks up the label sets of series[0..n) (samples ignored) under one read lock, with
 * the table probes of later sets prefetched while earlier ones are compared; creates
 * nothing. ids[i] gets the id, or UINT64_MAX when the set is absent or malformed (the
 * caller then goes through osp_series_index_get_or_create, which creates it or says why
 * not). ids has room for n. */
void osp_series_index_lookup_batch(osp_series_index *idx, const osp_series *series, size_t n,
                                   uint64_t *ids);

/* Ids of the series that every matcher selects, ascending, in *ids (arena memory, valid
 * until the arena is cleaned up); *nids their count. A matcher that matches the empty
 * string also selects series without the label. With no positive matcher the base set is
 * every series (PromQL's rule that one matcher must not match "" is the caller's to
 * enforce). Returns 0; OSP_EINVAL for n == 0, an unknown type or an empty name;
 * OSP_EPARSE for a regex that does not compile; OSP_ENOMEM. */
int osp_series_select(osp_series_index *idx, const osp_label_matcher *m, size_t n, osp_arena *arena,
                      uint64_t **ids, size_t *nids);

/* The label set of series id, sorted by name, in *labels (array in the arena; the slices
 * point into the index and stay valid until it is destroyed). OSP_ENOTFOUND for an id
 * never assigned or removed; OSP_ENOMEM. */
int osp_series_labels(osp_series_index *idx, uint64_t id, osp_arena *arena, osp_label **labels,
                      size_t *n);

/* Every label name in use, sorted (bytewise), as slices into the index; array in arena. */
int osp_series_label_names(osp_series_index *idx, osp_arena *arena, osp_str **names, size_t *n);
/* Every value of label name in use, sorted; none (n = 0) for an unknown name. */
int osp_series_label_values(osp_series_index *idx, osp_str name, osp_arena *arena, osp_str **values,
                            size_t *n);

/* The ids assigned so far (every id is below) and the series live among them; cheap,
 * unlike osp_series_index_get_stats. Either pointer may be NULL. */
void osp_series_index_counts(osp_series_index *idx, uint64_t *assigned, uint64_t *live);

/* Counts and memory of the index. */
void osp_series_index_get_stats(osp_series_index *idx, osp_series_index_stats *st);

/* Test hook: masks the label-set hash so sets collide (mask 0: every set collides). Only
 * on an empty index. */
void osp__series_index_set_hash_mask(osp_series_index *idx, uint64_t mask);

#endif
