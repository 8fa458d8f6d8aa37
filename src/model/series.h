/* Series with samples: what metric receivers hand to the time-series store and what the
 * store hands back to queries. A series is a label set plus samples; metadata describes a
 * metric family (type, help, unit) as Prometheus exposes it. */
#ifndef OSP_MODEL_SERIES_H
#define OSP_MODEL_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/histogram.h"
#include "model/labels.h"

/* The stale marker: the NaN Prometheus writes when a series disappears. Compare bits with
 * osp_is_stale_nan, never with ==. */
#define OSP_STALE_NAN_BITS 0x7ff0000000000002ull

/* True when v is exactly the stale marker (bitwise). */
int osp_is_stale_nan(double v);
/* The stale marker as a double. */
double osp_stale_nan(void);

/* A label set as one sender encoded it: a keyed 128-bit hash of the protocol bytes that
 * carry a series' labels (remote write's Label fields, say). Equal bytes of one encoding
 * give equal keys within one process; the hash key is random per process, so keys are never
 * persisted or sent, and senders cannot craft collisions. The zero key means "none". */
typedef struct osp_series_key {
    uint64_t lo, hi;
} osp_series_key;

/* Encodings that key label sets, kept apart so that equal bytes of two never collide. */
enum osp_key_encoding {
    OSP_KEY_REMOTE_WRITE = 1, /* a TimeSeries' adjacent Label fields, tags included */
};

/* The key of bytes p[0..n) in encoding enc (never the zero key). */
osp_series_key osp_series_key_of(enum osp_key_encoding enc, const void *p, size_t n);

typedef struct osp_series {
    osp_label *labels; /* sorted by name, names unique, values non-empty, __name__ included */
    size_t nlabels;
    osp_sample *samples; /* float samples, ascending by time when from the store */
    size_t nsamples;
    osp_hsample *hsamples; /* native histogram samples, ditto; a store read never gives a
                            * float and a histogram at the same time */
    size_t nhsamples;
    /* Appends only, both optional: how the sender encoded labels, and the store's id of
     * that key (store/tsdb/keymap.h) plus one when the store already knew it (0: not
     * known). A series with a ref is one whose labels passed validation before. */
    osp_series_key key;
    uint64_t ref;
} osp_series;

/* Metric family types, as Prometheus's metadata API names them. */
enum osp_metric_kind {
    OSP_KIND_UNKNOWN = 0,
    OSP_KIND_COUNTER,
    OSP_KIND_GAUGE,
    OSP_KIND_HISTOGRAM,
    OSP_KIND_GAUGEHISTOGRAM,
    OSP_KIND_SUMMARY,
    OSP_KIND_INFO,
    OSP_KIND_STATESET,
};

/* "unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info",
 * "stateset"; "unknown" for values out of range. */
const char *osp_metric_kind_name(int kind);

typedef struct osp_metric_meta {
    osp_str family; /* metric family name (without _total/_bucket/... suffixes) */
    int kind;       /* enum osp_metric_kind */
    osp_str help, unit;
} osp_metric_meta;

/* Most UTF-8 characters of an exemplar's label names and values together (Prometheus's
 * exemplar.ExemplarMaxLabelSetLength). */
#define OSP_EXEMPLAR_MAX_LABEL_CHARS 128

/* An exemplar as Prometheus keeps it: its own labels (trace_id, span_id, ...), a value
 * and a time, attached to a series. */
typedef struct osp_prom_exemplar {
    osp_label *labels; /* as given; the store sorts them and drops empty values */
    size_t nlabels;
    double value;
    int64_t t_ms;
} osp_prom_exemplar;

/* An exemplar of one series of a batch. */
typedef struct osp_batch_exemplar {
    size_t series; /* index into the batch's series */
    osp_prom_exemplar ex;
} osp_batch_exemplar;

/* The exemplars of one series, as a query returns them. */
typedef struct osp_series_exemplars {
    osp_label *labels; /* the series' label set, sorted by name */
    size_t nlabels;
    osp_prom_exemplar *exemplars; /* ascending by time */
    size_t nexemplars;
} osp_series_exemplars;

/* A batch of series for one append. Series, metadata and exemplars may point into memory
 * the producer owns (a decoded request) or into the batch's arena. */
typedef struct osp_series_batch {
    osp_arena arena;
    osp_series *series;
    size_t nseries, series_cap;
    osp_metric_meta *meta;
    size_t nmeta, meta_cap;
    osp_batch_exemplar *exemplars; /* in the order they were added */
    size_t nexemplars, exemplars_cap;
} osp_series_batch;

/* Initializes an empty batch. */
void osp_series_batch_init(osp_series_batch *b);
/* Frees the arrays and the arena. */
void osp_series_batch_cleanup(osp_series_batch *b);
/* Empties the batch, freeing the arena's contents. */
void osp_series_batch_reset(osp_series_batch *b);
/* Adds a zeroed series and returns it (NULL when out of memory). The pointer is valid
 * until the next add. */
osp_series *osp_series_batch_add(osp_series_batch *b);
/* Adds a zeroed metadata entry (NULL when out of memory). */
osp_metric_meta *osp_series_batch_add_meta(osp_series_batch *b);
/* Adds a zeroed exemplar entry (NULL when out of memory). */
osp_batch_exemplar *osp_series_batch_add_exemplar(osp_series_batch *b);
/* Total samples in the batch, float and histogram. */
size_t osp_series_batch_samples(const osp_series_batch *b);

/* Sorts labels by name (bytewise) in place. */
void osp_labels_sort(osp_label *labels, size_t n);
/* Bytewise comparison of two sorted label sets: by name, then value, pair by pair; the
 * shorter set first when one is a prefix of the other (Prometheus's labels.Compare). */
int osp_labels_compare(const osp_label *a, size_t na, const osp_label *b, size_t nb);
/* The value of label name, or an empty slice when absent. */
osp_str osp_labels_get(const osp_label *labels, size_t n, osp_str name);
/* Writes a label set as PromQL shows a series, name{a="b",...}, into out (cap bytes,
 * NUL-terminated, cut short when it does not fit; cap > 0), for messages. */
void osp_labels_format(char *out, size_t cap, const osp_label *labels, size_t n);

#endif
