/* A table of cumulative derived series of one metric family: counters, or classic
 * histograms (_bucket with le, _sum, _count), keyed by their label values, with the latest
 * exemplar of each series. Derivers add observations span by span and flush the whole
 * table as series samples at the flush time. Not thread-safe (derivers run under the
 * pipeline's lock). */
#ifndef OSP_ANALYTICS_SERIESTAB_H
#define OSP_ANALYTICS_SERIESTAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "model/series.h"

/* The most series one table keeps; observations of further label sets go to one series
 * whose label values are all "__overflow__" (and are counted in osprey self-metrics). */
#define OSP_SERIESTAB_MAX_SERIES 20000

typedef struct osp_family {
    const char *name; /* counters: with _total; histograms: the base name */
    int kind;         /* OSP_KIND_COUNTER or OSP_KIND_HISTOGRAM (model/series.h) */
    const char *help, *unit;
    const char *const *labels; /* label names, fixed order, sorted or not */
    size_t nlabels;
    const double *buckets; /* histograms: upper bounds, strictly increasing, +Inf implied */
    size_t nbuckets;
    /* Histograms, optional: also a counter family of this name (with _total) and help, whose
     * series count each histogram series' observations, as if every observation had also
     * been added to it as 1 (one table serves both: calls and their durations). */
    const char *count_name, *count_help;
} osp_family;

typedef struct osp_seriestab osp_seriestab;

/* A table for family f (f and what it points to must outlive the table). NULL on ENOMEM. */
osp_seriestab *osp_seriestab_create(const osp_family *f);
void osp_seriestab_destroy(osp_seriestab *t);

/* Adds v to the series whose label values are values[0..f->nlabels) (copied; an empty
 * value leaves that label out of the series): a counter increment, or a histogram
 * observation. trace_id (16 bytes, may be NULL) becomes the series' exemplar
 * {trace_id="<hex>"} with value v at t_ms. 0 or OSP_ENOMEM. */
int osp_seriestab_add(osp_seriestab *t, const osp_str *values, double v, const uint8_t *trace_id,
                      int64_t t_ms);

/* The running hash of label values, for adding one observation to several tables of
 * families with the same label values (or values sharing a prefix) while hashing them
 * once: start from OSP_SERIESTAB_KEY_INIT, push the values in label order, copy the key to
 * share a prefix. */
typedef struct osp_seriestab_key {
    uint64_t hash;
    size_t n; /* values pushed */
} osp_seriestab_key;
#define OSP_SERIESTAB_KEY_INIT ((osp_seriestab_key){0, 0})

/* Pushes the next n label values onto k. */
void osp_seriestab_key_push(osp_seriestab_key *k, const osp_str *values, size_t n);

/* osp_seriestab_add for values whose key k holds exactly f->nlabels pushed values, in
 * order (asserted). 0 or OSP_ENOMEM. */
int osp_seriestab_add_key(osp_seriestab *t, const osp_str *values, const osp_seriestab_key *k,
                          double v, const uint8_t *trace_id, int64_t t_ms);

/* Appends every series of the table with one sample at t_ms (cumulative values), the
 * family's metadata, and each series' latest exemplar (on the bucket series it fell in,
 * for histograms) to out; with a count family, its series and metadata first (their
 * exemplars with value 1). Names and label values point into t: use out before destroying t.
 * 0 or OSP_ENOMEM. */
int osp_seriestab_flush(osp_seriestab *t, int64_t t_ms, osp_series_batch *out);

/* Series in the table. */
size_t osp_seriestab_size(const osp_seriestab *t);

#endif
