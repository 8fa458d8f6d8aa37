/* Prometheus remote write 1.0: a zero-copy decoder of snappy-compressed prometheus.WriteRequest
 * bodies (series with samples, exemplars and native histograms; metric metadata), and the
 * conversion of its native histograms to model/histogram.h's. */
#ifndef OSP_PROTO_REMOTE_WRITE_H
#define OSP_PROTO_REMOTE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/histogram.h"
#include "model/labels.h"
#include "model/series.h"

/* MetricMetadata.MetricType */
enum osp_rw_metric_type {
    OSP_RW_UNKNOWN = 0,
    OSP_RW_COUNTER = 1,
    OSP_RW_GAUGE = 2,
    OSP_RW_HISTOGRAM = 3,
    OSP_RW_GAUGEHISTOGRAM = 4,
    OSP_RW_SUMMARY = 5,
    OSP_RW_INFO = 6,
    OSP_RW_STATESET = 7,
};

/* Histogram.ResetHint */
enum osp_rw_reset_hint {
    OSP_RW_RESET_UNKNOWN = 0,
    OSP_RW_RESET_YES = 1,
    OSP_RW_RESET_NO = 2,
    OSP_RW_RESET_GAUGE = 3,
};

typedef struct osp_rw_exemplar {
    osp_label *labels; /* as sent, minus pairs with an empty value */
    size_t nlabels;
    double value;
    int64_t t_ms;
} osp_rw_exemplar;

typedef struct osp_rw_span {
    int32_t offset;  /* gap from the previous span; the first span's start index */
    uint32_t length; /* buckets in this span */
} osp_rw_span;

/* One native histogram sample. Integer histograms (is_float 0) carry count_int,
 * zero_count_int and *_deltas; float histograms carry the *_float counts and *_counts. */
typedef struct osp_rw_histogram {
    int is_float; /* count oneof: count_float was sent (else count_int) */
    uint64_t count_int;
    double count_float;
    double sum;
    int32_t schema; /* -4..8 exponential; -53 custom bounds (custom_values) */
    double zero_threshold;
    int zero_is_float; /* zero_count oneof: zero_count_float was sent */
    uint64_t zero_count_int;
    double zero_count_float;
    osp_rw_span *neg_spans, *pos_spans;
    size_t nneg_spans, npos_spans;
    int64_t *neg_deltas, *pos_deltas; /* first bucket vs 0, each next vs the previous */
    size_t nneg_deltas, npos_deltas;
    double *neg_counts, *pos_counts; /* absolute bucket counts */
    size_t nneg_counts, npos_counts;
    double *custom_values; /* bucket upper bounds for schema -53 */
    size_t ncustom_values;
    uint32_t reset_hint; /* enum osp_rw_reset_hint (other values kept as sent) */
    int64_t t_ms;
} osp_rw_histogram;

typedef struct osp_rw_series {
    osp_label *labels; /* sorted by name, unique, valid names, no empty values, __name__ in */
    size_t nlabels;
    osp_series_key key; /* of its Label fields when decoded with osp_rw_known and they are
                         * adjacent (zero otherwise) */
    uint64_t ref;       /* what osp_rw_known said of the key (0: not known) */
    osp_sample *samples;
    size_t nsamples;
    osp_rw_exemplar *exemplars;
    size_t nexemplars;
    osp_rw_histogram *histograms;
    size_t nhistograms;
} osp_rw_series;

typedef struct osp_rw_metadata {
    uint32_t type;  /* enum osp_rw_metric_type (other values kept as sent) */
    osp_str family; /* metric_family_name */
    osp_str help, unit;
} osp_rw_metadata;

typedef struct osp_rw_request {
    osp_str raw; /* the decompressed WriteRequest, held in the arena; every slice points here */
    osp_rw_series *series; /* the valid series, in request order */
    size_t nseries;
    size_t nrejected; /* invalid series left out */
    osp_rw_metadata *metadata;
    size_t nmetadata;
} osp_rw_request;

/* Label sets the store has taken before, by key: lookup sets refs[i] non-zero for the keys
 * it knows (osp_store_known_series). */
typedef struct osp_rw_known {
    void (*lookup)(void *ctx, const osp_series_key *keys, size_t n, uint64_t *refs);
    void *ctx;
} osp_rw_known;

/* Decodes a remote write 1.0 body: snappy block format around a prometheus.WriteRequest.
 *
 * body: the HTTP request body (borrowed; not referenced after the call).
 * max_len: cap on the uncompressed length from the snappy preamble, checked before any
 *   allocation (0 = no cap beyond snappy's own 2^32-1).
 * arena: receives the decompressed buffer and every array in *out; all slices in *out
 *   point into out->raw, so *out lives exactly as long as the arena's contents.
 * known: NULL, or the store's known label sets: each series' Label fields are keyed
 *   (osp_series_key_of, OSP_KEY_REMOTE_WRITE) and looked up in one call, and a series
 *   whose key is known gets its ref and skips the label checks below (the same bytes passed
 *   them before); only its empty values are dropped.
 * err, errlen: a NUL-terminated message (may be NULL/0 when not wanted).
 *
 * Returns:
 * - 0: decoded. Series whose labels break the remote write rules (unsorted or duplicate
 *   names, a name outside [a-zA-Z_][a-zA-Z0-9_]*, a metric name outside
 *   [a-zA-Z_:][a-zA-Z0-9_:]*, a value that is not UTF-8, no __name__) or whose native
 *   histograms are inconsistent are left out and counted in out->nrejected; err then
 *   names the first such series by index (and by its label set when the problem is in one
 *   of its histograms or exemplars) and the problem (else err is ""). Label pairs
 *   with an empty value are dropped as absent, as Prometheus does. Valid series are kept.
 * - OSP_ETOOBIG: the uncompressed length exceeds max_len ("snappy: ...").
 * - OSP_EPARSE: corrupt snappy ("snappy: ...") or malformed protobuf, including a known
 *   field with the wrong wire type ("offset N: ..." with N the byte offset in the
 *   decompressed message). Nothing in *out is usable.
 * - OSP_ENOMEM: the arena could not allocate.
 * Repeated scalars (histogram deltas, counts, custom_values) are accepted packed or not;
 * unknown fields are skipped; for scalars the last occurrence wins. */
int osp_remote_write_decode(osp_str body, size_t max_len, osp_arena *arena,
                            const osp_rw_known *known, osp_rw_request *out, char *err,
                            size_t errlen);

/* A decoded histogram as the store takes it, read as Prometheus reads one: an integer
 * histogram (is_float 0) gives count_int, zero_count_int and the deltas summed up into
 * absolute counts; a float one count_float, zero_count_float and the counts; a member of
 * the other kind reads as 0 or empty. Hint as sent (values past GAUGE: UNKNOWN).
 * out's arrays are in arena or in's (in's arena must outlive out). Returns 0 with *problem
 * NULL when the histogram can be stored; 0 with *problem saying why not (schema -53,
 * custom buckets, is not supported; else osp_hist_check's message, valid until the next
 * call in the thread); OSP_ENOMEM. */
int osp_rw_histogram_convert(const osp_rw_histogram *in, osp_arena *arena, osp_histogram *out,
                             const char **problem);

#endif
