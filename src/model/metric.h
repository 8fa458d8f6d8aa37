/* Canonical metric rows: what the OTLP metrics decoders produce, one row per data point,
 * before conversion to series and samples. A batch owns an arena; rows point into it (or,
 * for rows fresh out of a decoder, possibly into the request body, which must outlive the
 * batch's use). Resources and scopes are the trace model's rows (model/span.h). */
#ifndef OSP_MODEL_METRIC_H
#define OSP_MODEL_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "model/span.h"

/* Metric.data oneof member; the numbers are Osprey's, not OTLP field numbers. */
enum osp_metric_type {
    OSP_METRIC_GAUGE = 1,
    OSP_METRIC_SUM = 2,
    OSP_METRIC_HISTOGRAM = 3,
    OSP_METRIC_EXP_HISTOGRAM = 4,
    OSP_METRIC_SUMMARY = 5,
};

/* OTLP AggregationTemporality (same values); unknown values kept as received. */
enum osp_temporality {
    OSP_TEMPORALITY_UNSPECIFIED = 0,
    OSP_TEMPORALITY_DELTA = 1,
    OSP_TEMPORALITY_CUMULATIVE = 2,
};

/* OTLP DataPointFlags bit: the point is a staleness marker. */
#define OSP_DATA_POINT_NO_RECORDED_VALUE 1u

/* osp_metric_point.has bits: which optional parts of a point were present. */
#define OSP_POINT_VALUE 0x01     /* number point: a value was set (as_double or as_int) */
#define OSP_POINT_VALUE_INT 0x02 /* number point: the value is value.i, else value.d */
#define OSP_POINT_SUM 0x04       /* histograms: sum present (summaries always have one) */
#define OSP_POINT_MIN 0x08
#define OSP_POINT_MAX 0x10

typedef struct osp_metric {
    osp_str name, description, unit;
    osp_str metadata;    /* attrs blob (Metric.metadata) */
    int32_t type;        /* enum osp_metric_type */
    int32_t temporality; /* enum osp_temporality; 0 for gauges and summaries */
    uint8_t monotonic;   /* Sum.is_monotonic */
    uint32_t resource;   /* index into the batch's resources */
    uint32_t scope;      /* index into the batch's scopes */
} osp_metric;

typedef struct osp_quantile {
    double quantile, value;
} osp_quantile;

typedef union osp_number {
    double d;
    int64_t i;
} osp_number;

/* One data point of any kind; the fields of other kinds are zero. Arrays are aligned
 * copies in the batch arena (NULL when empty). */
typedef struct osp_metric_point {
    uint32_t metric; /* index into the batch's metrics; its type says which fields apply */
    uint32_t flags;  /* DataPointFlags as received */
    uint32_t has;    /* OSP_POINT_* bits */
    uint64_t start_ns, time_ns;
    osp_str attributes; /* attrs blob */
    osp_str exemplars;  /* exemplars blob: see osp_exemplars_* */
    osp_number value;   /* gauge, sum */
    uint64_t count;     /* histograms, summary */
    double sum, min, max;
    /* histogram: nbuckets == nbounds + 1, or both 0; bounds strictly increasing */
    const uint64_t *bucket_counts;
    const double *bounds;
    size_t nbuckets, nbounds;
    /* exponential histogram */
    int32_t scale;
    uint64_t zero_count;
    double zero_threshold;
    int32_t pos_offset, neg_offset;
    const uint64_t *pos_counts, *neg_counts;
    size_t npos, nneg;
    /* summary */
    const osp_quantile *quantiles;
    size_t nquantiles;
} osp_metric_point;

typedef struct osp_metric_batch {
    osp_arena arena; /* owns rows' bytes that were copied in */
    osp_resource *resources;
    size_t nresources, resources_cap;
    osp_scope *scopes;
    size_t nscopes, scopes_cap;
    osp_metric *metrics;
    size_t nmetrics, metrics_cap;
    osp_metric_point *points;
    size_t npoints, points_cap;
} osp_metric_batch;

/* Initializes an empty batch. */
void osp_metric_batch_init(osp_metric_batch *b);
/* Frees the arrays and the arena. */
void osp_metric_batch_cleanup(osp_metric_batch *b);
/* Empties the batch, keeping nothing. */
void osp_metric_batch_reset(osp_metric_batch *b);
/* Adds a zeroed row and returns it (NULL when out of memory). The pointer is valid until
 * the next add of the same kind; use the index (n - 1) to refer to it later. */
osp_resource *osp_metric_batch_add_resource(osp_metric_batch *b);
osp_scope *osp_metric_batch_add_scope(osp_metric_batch *b);
osp_metric *osp_metric_batch_add_metric(osp_metric_batch *b);
osp_metric_point *osp_metric_batch_add_point(osp_metric_batch *b);

/* "gauge", "sum", "histogram", "exponential_histogram", "summary" or "unknown". */
const char *osp_metric_type_name(int32_t type);

/* osp_exemplar.has bits. */
#define OSP_EXEMPLAR_VALUE 0x01     /* a value was set */
#define OSP_EXEMPLAR_VALUE_INT 0x02 /* the value is value.i, else value.d */
#define OSP_EXEMPLAR_TRACE_ID 0x04  /* trace_id present */
#define OSP_EXEMPLAR_SPAN_ID 0x08   /* span_id present */

typedef struct osp_exemplar {
    uint64_t time_ns;
    osp_number value;
    uint32_t has; /* OSP_EXEMPLAR_* bits */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    osp_str filtered_attributes; /* attrs blob */
} osp_exemplar;

/* Exemplars blob: a sequence of canonical Exemplar records (format at the top of
 * metric.c), iterated with an osp_blob_iter. next: 1 with the next element, 0 at the end,
 * OSP_ECORRUPT on bad bytes. append: 0 or the buffer's error. count: 0 if corrupt. */
int osp_exemplars_next(osp_blob_iter *it, osp_exemplar *ex);
int osp_exemplars_append(osp_buf *exemplars, const osp_exemplar *ex);
size_t osp_exemplars_count(osp_str exemplars);

#endif
